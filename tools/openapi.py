"""The committed OpenAPI documents under ``openapi/``.

    python -m tools.openapi write    # regenerate openapi/*.json
    python -m tools.openapi check    # exit 1, with a summary, if they are stale

Each app is built with its ``create_app`` on an in-memory SQLite URL and asked
for its document (no network, no database access, no lifespan): the gateway's
own (``gateway.json``), each service's, and the merged one that the gateway
serves at ``/openapi.json`` (``aliada.json``, via ``gateway.openapi.merge_openapi``).
A service whose app cannot be imported yet is reported and left out.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "openapi"
SERVICES = ("participants", "matching", "sessions", "evaluation", "notifications")


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _service_doc(name: str) -> dict[str, Any] | None:
    try:
        main = importlib.import_module(f"services.{name}.main")
        config = importlib.import_module(f"services.{name}.config")
    except ImportError as exc:
        print(f"note: services.{name} cannot be imported yet ({exc}); left out", file=sys.stderr)
        return None
    app = main.create_app(config.Settings(database_url="sqlite://"))
    return app.openapi()


def build_documents() -> dict[str, str]:
    """File name -> rendered document."""
    from gateway.config import Settings
    from gateway.main import create_app
    from gateway.openapi import merge_openapi

    gateway_doc = create_app(Settings(database_url="sqlite://")).openapi()
    docs: dict[str, dict[str, Any]] = {"gateway": gateway_doc}
    for name in SERVICES:
        doc = _service_doc(name)
        if doc is not None:
            docs[name] = doc
    docs["aliada"] = merge_openapi(gateway_doc, {name: docs.get(name, {}) for name in SERVICES})
    return {f"{name}.json": render(doc) for name, doc in docs.items()}


def _operations(text: str) -> dict[str, str]:
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    return {
        f"{method.upper()} {path}": json.dumps(op, sort_keys=True)
        for path, item in doc.get("paths", {}).items()
        for method, op in item.items()
        if isinstance(op, dict)
    }


def _summary(name: str, old: str, new: str) -> list[str]:
    before, after = _operations(old), _operations(new)
    lines = [f"  {name}: differs"]
    for label, keys in (
        ("added", sorted(after.keys() - before.keys())),
        ("removed", sorted(before.keys() - after.keys())),
        ("changed", sorted(k for k in before.keys() & after.keys() if before[k] != after[k])),
    ):
        if keys:
            lines.append(f"    operations {label}: " + ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else ""))
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), f"committed/{name}", f"generated/{name}", lineterm="", n=1))
    lines.extend("    " + line for line in diff[:40])
    if len(diff) > 40:
        lines.append(f"    ... {len(diff) - 40} more diff lines")
    return lines


def write(out_dir: Path = OUT_DIR) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in build_documents().items():
        (out_dir / name).write_text(text, encoding="utf-8")
        print(f"wrote {out_dir / name}")
    return 0


def check(out_dir: Path = OUT_DIR) -> int:
    generated = build_documents()
    problems: list[str] = []
    for name, text in generated.items():
        path = out_dir / name
        if not path.exists():
            problems.append(f"  {name}: missing (run: python -m tools.openapi write)")
            continue
        committed = path.read_text(encoding="utf-8")
        if committed != text:
            problems.extend(_summary(name, committed, text))
    for path in sorted(out_dir.glob("*.json")):
        if path.name not in generated:
            problems.append(f"  {path.name}: committed but no longer generated")
    if problems:
        print("OpenAPI documents are stale; regenerate them with: python -m tools.openapi write", file=sys.stderr)
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"OpenAPI documents are up to date ({len(generated)} files)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.openapi", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("write", "check"))
    parser.add_argument("--dir", type=Path, default=OUT_DIR, help="where the documents live (default: openapi/)")
    args = parser.parse_args(argv)
    return write(args.dir) if args.command == "write" else check(args.dir)


if __name__ == "__main__":
    raise SystemExit(main())
