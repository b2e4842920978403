"""A webhook receiver for tests: uvicorn in a thread on 127.0.0.1, verifying
every request with the ``standardwebhooks`` package (the receiver side a
subscriber would write) and recording it. It can be stopped and started again
on the same port (a receiver that is down and comes back), told to answer with
given statuses, or to answer slowly."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    webhook_id: str | None
    headers: dict[str, str]
    body: bytes
    payload: Any  # the verified JSON body, None when verification failed
    error: str | None  # why verification failed
    status: int  # what the receiver answered


class Receiver:
    def __init__(self, secret: str | None = None, *, port: int = 0, path: str = "/hook") -> None:
        self.secret = secret
        self.path = path
        self.received: list[Received] = []
        self.statuses: deque[int] = deque()  # answered first, one each; then 200
        self.delay = 0.0
        self.in_flight = 0
        self._lock = threading.Lock()
        self.port = port or _free_port()
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.sock: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            with self._lock:
                self.in_flight += 1
            try:
                body = await request.body()
                headers = {k.lower(): v for k, v in request.headers.items()}
                payload, error = None, None
                try:
                    if self.secret is None:
                        raise WebhookVerificationError("the receiver has no secret")
                    payload = Webhook(self.secret).verify(body, headers)
                except WebhookVerificationError as exc:
                    error = str(exc)
                if self.delay:
                    await asyncio.sleep(self.delay)
                with self._lock:
                    status = self.statuses.popleft() if self.statuses else 200
                    self.received.append(Received(headers.get("webhook-id"), headers, body, payload, error, status))
                return Response(b"stored" if status < 300 else b"try later", status_code=status)
            finally:
                with self._lock:
                    self.in_flight -= 1

        return Starlette(routes=[Route(self.path, hook, methods=["POST"])])

    def start(self) -> Receiver:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        config = uvicorn.Config(self.app(), log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the webhook receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(10)
        if self.sock is not None:
            self.sock.close()
        self.server = self.thread = self.sock = None

    # -- what arrived -------------------------------------------------------------------
    def accepted(self) -> list[Received]:
        """Verified requests answered with a 2xx."""
        return [r for r in self.received if r.payload is not None and 200 <= r.status < 300]

    def accepted_counts(self) -> Counter[str]:
        return Counter(r.webhook_id for r in self.accepted() if r.webhook_id)

    def unverified(self) -> list[Received]:
        return [r for r in self.received if r.payload is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05, message: str = "condition") -> Any:  # type: ignore[no-untyped-def]
    """Poll until ``predicate()`` is truthy (returns it); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)
