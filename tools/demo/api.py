"""The demo's view of the platform: people talking to the gateway's public API
with their own tokens, and the development platform's simulation clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from servicekit import clock as platform_clock


class DemoError(RuntimeError):
    """A step of the demo that the platform refused."""


class Person:
    """Someone (or an integration) with her own gateway token."""

    def __init__(self, http: httpx.Client, token: str | None, name: str) -> None:
        self.http, self.name = http, name
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, expect: int | tuple[int, ...] = (200, 201), **kw: Any) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}
        r = self.http.request(method, path, headers=headers, **kw)
        wanted = (expect,) if isinstance(expect, int) else expect
        if r.status_code not in wanted:
            raise DemoError(f"{self.name}: {method} {path} answered {r.status_code}: {r.text[:1500]}")
        if not r.content:
            return None
        return r.json() if r.headers.get("content-type", "").split(";")[0].endswith("json") else r.content

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, json=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.call("PUT", path, json=json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.call("PATCH", path, json=json, **kw)


def log_in(http: httpx.Client, email: str, password: str, name: str) -> Person:
    r = http.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": password})
    if r.status_code != 200:
        raise DemoError(f"{name} could not log in as {email}: {r.status_code} {r.text[:300]}")
    return Person(http, r.json()["access_token"], name)


def client_token(http: httpx.Client, client_id: str, secret: str, scope: str, name: str) -> Person:
    r = http.post("/v1/auth/token", data={"grant_type": "client_credentials", "scope": scope}, auth=(client_id, secret))
    if r.status_code != 200:
        raise DemoError(f"{name} could not get a token: {r.status_code} {r.text[:300]}")
    return Person(http, r.json()["access_token"], name)


class SimulationClock:
    """The development platform's clock (servicekit.clock): the demo moves it
    forward to play months in minutes. Only ever forward."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._now = self.read()

    def read(self) -> datetime:
        return datetime.fromtimestamp(time.time() + platform_clock.offset(self.path)).astimezone()

    def now(self) -> datetime:
        return max(self._now, self.read())

    def advance_to(self, when: datetime) -> None:
        if when > self.now():
            platform_clock.set_simulated_now(self.path, when)
            self._now = when


def wait_for(check: Callable[[], Any], what: str, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(0.5)
