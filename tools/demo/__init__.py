"""``make demo``: a whole pilot played through the public API (tools/demo/play.py)."""
