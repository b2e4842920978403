"""``make run``'s launcher (tools/run.py): a busy port fails in one line that
names the port, its app and the process holding it; honcho's line for an app
that stopped is recognised (and a Ctrl-C is not taken for a crash); the ready
line waits for every app's /readyz."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tools import run

ROOT = Path(__file__).resolve().parent.parent


def test_the_procfile_names_every_app_and_its_port() -> None:
    apps = run.procfile_apps(ROOT / "Procfile")
    assert [a.name for a in apps] == ["gateway", "participants", "matching", "sessions", "evaluation", "notifications"]
    assert [a.port for a in apps] == [8000, 8001, 8002, 8003, 8004, 8005]


@pytest.fixture()
def listener() -> Iterator[int]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen()
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_busy_port_is_one_line_naming_the_port_the_app_and_the_holder(listener: int) -> None:
    free = _free_port()
    lines = run.busy_ports([run.App("gateway", free), run.App("sessions", listener)])
    assert len(lines) == 1
    assert f"port {listener} (sessions)" in lines[0]
    assert f"pid {os.getpid()}" in lines[0]  # this test process holds it
    assert "\n" not in lines[0]


def test_free_ports_pass() -> None:
    assert run.busy_ports([run.App("gateway", _free_port())]) == []


@pytest.mark.parametrize(("line", "expected"), [
    ("06:01:02 system       | sessions.1 stopped (rc=1)", ("sessions", 1)),
    ("06:01:02 system | gateway.1 stopped (rc=-15)", ("gateway", -15)),
    ("06:01:02 system       | sessions.1 started (pid=4242)", None),
    ("06:01:02 sessions.1   | stopped (rc=1) is what a log line may say", None),
])
def test_honcho_s_stopped_lines_are_recognised(line: str, expected: tuple[str, int] | None) -> None:
    assert run.stopped_app(line) == expected


def test_ctrl_c_is_told_apart_from_a_crash() -> None:
    assert run._SIGNALLED.search("06:01:02 system       | SIGINT received")
    assert not run._SIGNALLED.search("06:01:02 gateway.1 | SIGINT received")


class _Ready(BaseHTTPRequestHandler):
    ready = threading.Event()

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200 if self.path == "/readyz" and self.ready.is_set() else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_ready_only_when_every_app_answers_readyz() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        apps = [run.App("gateway", server.server_address[1])]
        assert not run.wait_until_ready(apps, threading.Event(), timeout=1.0)  # answers 503
        assert not run.wait_until_ready([*apps, run.App("down", _free_port())], threading.Event(), timeout=1.0)
        _Ready.ready.set()
        assert run.wait_until_ready(apps, threading.Event(), timeout=5.0)
        stop = threading.Event()
        stop.set()
        assert not run.wait_until_ready([run.App("down", _free_port())], stop, timeout=5.0)
    finally:
        server.shutdown()
        _Ready.ready.clear()
