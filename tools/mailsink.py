"""``make run``'s mail server: SMTP on loopback, every message kept as an ``.eml`` file.

    python -m tools.mailsink --smtp-port 8025 var/mail

The notifications service sends to it over real SMTP (its default
``NOTIFICATIONS_SMTP_PORT``). Each accepted message is written to
``<dir>/<UTC time>-<n>.eml`` (written aside, then renamed: a reader never sees
half a file); any mail client opens them, or ``python -m email`` tools parse them.
"""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.numbers = count(1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        with self.lock:
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S.%f}-{next(self.numbers):06d}.eml"
        tmp = self.directory / (name + ".tmp")
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.replace(self.directory / name)
        return "250 Message accepted"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--smtp-port", type=int, default=8025)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(Keep(args.directory), hostname=args.host, port=args.smtp_port)
    controller.start()
    print(f"mail: SMTP on {args.host}:{args.smtp_port}, messages kept under {args.directory}/", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
