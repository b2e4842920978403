"""``make run``: check the ports, start every app under honcho, say when the
platform is ready and, in one plain line, when an app dies.

- Before anything starts, each port the Procfile names must be free. A busy
  port fails the run at once with one line naming the port, the app that
  wanted it and the process holding it (no app is started).
- honcho runs the apps (``Procfile``, environment from ``var/dev.env``); its
  output passes through unchanged.
- When every app answers ``/readyz``, one line says so, with the docs URL.
- When an app stops while the platform runs, one plain line names it and its
  exit code (its own log lines above say why); honcho then stops the rest.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 120.0
_PORT = re.compile(r"--port[ =](\d+)")
# honcho's own lines: "05:59:57 system | sessions.1 stopped (rc=1)"
_STOPPED = re.compile(r"system\s*\|\s*(?P<app>[\w-]+)\.\d+ stopped \(rc=(?P<rc>-?\d+)\)")
# "... system | SIGINT received": Ctrl-C (or a TERM); the apps stopping after it is no failure.
_SIGNALLED = re.compile(r"system\s*\|\s*SIG\w+ received")


@dataclass(frozen=True)
class App:
    name: str
    port: int


def procfile_apps(path: Path) -> list[App]:
    apps = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, command = line.split(":", 1)
        port = _PORT.search(command)
        if port:
            apps.append(App(name.strip(), int(port.group(1))))
    return apps


def port_holder(port: int) -> str:
    """Who listens on ``port``: "pid 123 (uvicorn ...)", or a plain fallback."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                try:
                    proc = psutil.Process(conn.pid)
                    command = " ".join(proc.cmdline()[:4]) or proc.name()
                except psutil.Error:
                    command = "?"
                return f"pid {conn.pid} ({command[:120]})"
    except psutil.Error:
        pass
    return "another process"


def busy_ports(apps: list[App], host: str = HOST) -> list[str]:
    """One line for each app whose port is taken; empty when all are free."""
    problems = []
    for app in apps:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            # As uvicorn binds: connections of an earlier run waiting out TIME_WAIT do not hold the port.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, app.port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                problems.append(f"make run: port {app.port} ({app.name}) is in use by {port_holder(app.port)}; "
                                f"stop it and run again.")
    return problems


def stopped_app(line: str) -> tuple[str, int] | None:
    m = _STOPPED.search(line)
    return (m.group("app"), int(m.group("rc"))) if m else None


def wait_until_ready(apps: list[App], stop: threading.Event, *, host: str = HOST,
                     timeout: float = READY_TIMEOUT_SECONDS) -> bool:
    """True once every app answers /readyz with 200; False on stop or timeout."""
    pending = {a.name: a for a in apps}
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while pending and not stop.is_set() and time.monotonic() < deadline:
            for name, app in list(pending.items()):
                try:
                    if client.get(f"http://{host}:{app.port}/readyz").status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            if pending:
                stop.wait(0.5)
    return not pending


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    procfile, env_file = root / "Procfile", root / "var" / "dev.env"
    apps = procfile_apps(procfile)
    problems = busy_ports(apps)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    honcho = [str(Path(sys.executable).with_name("honcho")), "start", "-f", str(procfile), "-e", str(env_file)]
    # Ctrl-C reaches honcho (same process group), which stops the apps; this process waits for it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    proc = subprocess.Popen(honcho, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                            env=os.environ.copy())
    stopping = threading.Event()

    def forward(signum: int, _frame: object) -> None:
        """A TERM or HUP sent to this process alone stops the platform the same way."""
        stopping.set()
        proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)
    gateway = next((a for a in apps if a.name == "gateway"), apps[0])

    def announce() -> None:
        if wait_until_ready(apps, stopping):
            print(f"\n  Aliada is ready: every app answers /readyz. API docs: http://{HOST}:{gateway.port}/docs\n",
                  flush=True)
        elif not stopping.is_set():
            print(f"make run: not every app was ready after {READY_TIMEOUT_SECONDS:.0f} s; see the logs above.",
                  file=sys.stderr, flush=True)

    threading.Thread(target=announce, daemon=True).start()
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        if _SIGNALLED.search(line):
            stopping.set()
        stopped = stopped_app(line)
        if stopped and not stopping.is_set():
            stopping.set()
            app, rc = stopped
            print(f"make run: {app} stopped (exit code {rc}); its last log lines above say why. "
                  f"Stopping the platform.", file=sys.stderr, flush=True)
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
