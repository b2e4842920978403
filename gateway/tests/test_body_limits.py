"""Body limits at the gateway (servicekit.limits): its own endpoints and
everything it proxies refuse a body over GATEWAY_MAX_BODY_BYTES with a 413
problem, a declared one before anything reaches a service, a chunked one while
it streams; the roster upload route has its own, larger limit."""

from __future__ import annotations

from collections.abc import Iterator

from gateway.tests.conftest import PASSWORD, Gateway
from gateway.tests.upstream import Recorder

INST_A = "0190f1c2-0000-7000-8000-00000000000a"
MIB = 1024 * 1024


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"a" * size


def too_large(response, limit: int = MIB) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:aliada:problem:too-large" and body["max_bytes"] == limit
    assert body["request_id"] == response.headers["x-request-id"]


def test_a_proxied_body_over_the_limit_never_reaches_the_service(gw: Gateway, admin: dict[str, str], recorder: Recorder) -> None:
    assert gw.settings.max_body_bytes == MIB  # the default
    before = recorder.echo_calls
    too_large(gw.client.post("/v1/programs/echo", content=b"x" * (2 * MIB), headers=admin))
    assert recorder.echo_calls == before
    too_large(gw.client.post("/v1/programs/echo", content=chunks(4 * MIB), headers=admin))
    ok = gw.client.post("/v1/programs/echo", content=b"x" * (MIB - 1), headers=admin)
    assert ok.status_code == 200 and ok.json()["body_size"] == MIB - 1


def test_the_gateways_own_endpoints_have_the_limit_too(gw: Gateway, admin: dict[str, str]) -> None:
    padding = "x" * (2 * MIB)
    too_large(gw.client.post("/v1/auth/signup", json={"email": "a@uni.example", "password": PASSWORD, "institution_id": INST_A, "p": padding}))
    too_large(gw.client.post("/v1/auth/token", data={"grant_type": "password", "username": "a@uni.example", "password": padding}))
    too_large(gw.client.post("/v1/admin/accounts", content=chunks(2 * MIB), headers={**admin, "content-type": "application/json"}))


def test_the_roster_upload_route_takes_more(gw: Gateway, admin: dict[str, str]) -> None:
    url = f"/v1/institutions/{INST_A}/roster-imports?id_kind=sis"
    r = gw.client.post(url, content=b"a,b\n" * (3 * MIB // 4), headers={**admin, "content-type": "text/csv"})
    assert r.status_code != 413, r.text  # passed on to the service (the fake one has no such route)
    too_large(gw.client.post(url, content=b"x" * (21 * MIB), headers={**admin, "content-type": "text/csv"}), 20 * MIB + 64 * 1024)
