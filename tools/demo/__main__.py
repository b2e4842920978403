"""``python -m tools.demo [--pilot mexico|peru]``, with ``make run`` going.

Logs in as the bootstrap admin (GATEWAY_BOOTSTRAP_ADMIN_PASSWORD from
var/dev.env, which ``make run`` writes, unless --admin-password or
ALIADA_ADMIN_PASSWORD says otherwise), plays the pilot through the gateway and
writes the program's report under var/demo/: ``<pilot>-report.html``,
``<pilot>-report.pdf`` (both in Spanish) and ``<pilot>-report.json`` (the
document of ``GET /v1/reports/programs/{id}``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from tools.demo.api import DemoError
from tools.demo.pilots import PILOTS
from tools.demo.play import play
from tools.dev_env import read_env

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    dev = read_env(REPO / "var" / "dev.env")
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pilot", choices=sorted(PILOTS), default="mexico", help="which pilot to play (default: mexico)")
    parser.add_argument("--gateway", default=os.environ.get("ALIADA_GATEWAY", "http://127.0.0.1:8000"))
    parser.add_argument("--admin-email", default=os.environ.get("ALIADA_ADMIN_EMAIL", "admin@aliada.local"))
    parser.add_argument("--admin-password", default=os.environ.get("ALIADA_ADMIN_PASSWORD") or dev.get("GATEWAY_BOOTSTRAP_ADMIN_PASSWORD"))
    parser.add_argument("--clock-file", type=Path, default=Path(os.environ.get("ALIADA_CLOCK_FILE", REPO / "var" / "clock")),
                        help="the platform's simulation clock (make run: var/clock)")
    parser.add_argument("--out", type=Path, default=REPO / "var" / "demo", help="where the reports go")
    args = parser.parse_args(argv)
    if not args.admin_password:
        parser.error("no admin password: run `make run` once (it writes var/dev.env) or pass --admin-password")
    started = time.monotonic()
    try:
        play(PILOTS[args.pilot], args.gateway, args.admin_email, args.admin_password, args.clock_file, args.out,
             say=lambda line: print(line, flush=True))
    except DemoError as exc:
        print(f"demo stopped: {exc}", file=sys.stderr)
        return 1
    print(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
