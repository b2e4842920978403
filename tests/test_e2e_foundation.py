"""End to end over real HTTP: five processes, the gateway's tokens, real DBs."""

import json
import time
import uuid

import httpx
import pytest

from tools.stack import SERVICES, Stack

# Played on PostgreSQL too (scripts/run-tests): the platform's foundations (sign-up, tokens, tenancy) on the database production uses.
pytestmark = pytest.mark.production_database


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def gw(stack: Stack):
    with httpx.Client(base_url=stack.gateway, timeout=15) as client:
        yield client


def _institution(gw: httpx.Client, token: str, name: str) -> dict:
    slug = f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:6]}"
    r = gw.post("/v1/institutions", json={"name": name, "slug": slug, "country": "MX", "timezone": "America/Mexico_City"}, headers=auth(token))
    assert r.status_code == 201, r.text
    return r.json()


def _coordinator(gw: httpx.Client, admin: str, institution_id: str) -> str:
    email, password = f"coord-{uuid.uuid4().hex[:8]}@uni.test", "a long passphrase " + uuid.uuid4().hex
    r = gw.post(
        "/v1/admin/accounts",
        json={"email": email, "password": password, "roles": ["coordinator"], "institution_id": institution_id},
        headers=auth(admin),
    )
    assert r.status_code == 201, r.text
    token = gw.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": password})
    assert token.status_code == 200, token.text
    return token.json()["access_token"]


def test_platform_is_ready(gw: httpx.Client) -> None:
    r = gw.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    for svc in SERVICES:
        assert body["checks"][svc.name]["ok"] is True


def test_admin_creates_an_institution_and_a_campus_and_reads_them_back(gw: httpx.Client, admin_token: str) -> None:
    inst = _institution(gw, admin_token, "Universidad Norte")
    campus = gw.post(
        f"/v1/institutions/{inst['id']}/campuses", json={"name": "Campus Centro", "city": "Monterrey"}, headers=auth(admin_token)
    )
    assert campus.status_code == 201, campus.text
    assert gw.get(f"/v1/institutions/{inst['id']}", headers=auth(admin_token)).json()["name"] == "Universidad Norte"
    listed = gw.get(f"/v1/institutions/{inst['id']}/campuses", headers=auth(admin_token)).json()
    assert [c["name"] for c in listed["items"]] == ["Campus Centro"]


def test_another_institutions_coordinator_gets_404(gw: httpx.Client, admin_token: str) -> None:
    a = _institution(gw, admin_token, "Universidad A")
    b = _institution(gw, admin_token, "Universidad B")
    campus = gw.post(f"/v1/institutions/{a['id']}/campuses", json={"name": "Campus Sur", "city": "Pachuca"}, headers=auth(admin_token)).json()
    coord_a, coord_b = _coordinator(gw, admin_token, a["id"]), _coordinator(gw, admin_token, b["id"])

    assert gw.get(f"/v1/institutions/{a['id']}", headers=auth(coord_a)).status_code == 200
    assert gw.get(f"/v1/institutions/{a['id']}/campuses/{campus['id']}", headers=auth(coord_a)).status_code == 200
    for path in (
        f"/v1/institutions/{a['id']}",
        f"/v1/institutions/{a['id']}/campuses",
        f"/v1/institutions/{a['id']}/campuses/{campus['id']}",
    ):
        r = gw.get(path, headers=auth(coord_b))
        assert r.status_code == 404, (path, r.status_code)
        assert "Campus Sur" not in r.text and "Universidad A" not in r.text
    r = gw.post(f"/v1/institutions/{a['id']}/campuses", json={"name": "Intruso", "city": "Pachuca"}, headers=auth(coord_b))
    assert r.status_code == 404


def test_tokens_refresh_rotate_and_reuse_revokes_the_family(gw: httpx.Client, stack: Stack) -> None:
    first = stack.login(stack.admin_email, stack.admin_password)
    rotated = gw.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != first["refresh_token"]
    assert gw.get("/v1/auth/me", headers=auth(new["access_token"])).status_code == 200
    reused = gw.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert reused.status_code in (400, 401)
    assert reused.json()["error"] == "invalid_grant"
    # The whole family is revoked: the newest refresh token and its access token stop working.
    again = gw.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": new["refresh_token"]})
    assert again.status_code in (400, 401)
    assert gw.get("/v1/auth/me", headers=auth(new["access_token"])).status_code == 401


def test_services_announce_institution_created_on_their_feed(gw: httpx.Client, stack: Stack, admin_token: str) -> None:
    inst = _institution(gw, admin_token, "Universidad Eventos")
    client = gw.post(
        "/v1/admin/clients", json={"name": "feed reader", "scopes": ["events:read"]}, headers=auth(admin_token)
    )
    assert client.status_code == 201, client.text
    creds = client.json()
    token = gw.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": creds["client_id"], "client_secret": creds["client_secret"], "scope": "events:read"},
    )
    assert token.status_code == 200, token.text
    # The whole feed, page by page (the session's other journeys wrote events before this one).
    items, params = [], {"limit": 500}
    while True:
        feed = httpx.get(f"{stack.url('participants')}/internal/events", params=params, headers=auth(token.json()["access_token"]))
        assert feed.status_code == 200
        items += feed.json()["items"]
        if len(feed.json()["items"]) < 500:
            break
        params = {"limit": 500, "after": feed.json()["next_cursor"]}
    created = [e for e in items if e["type"] == "institution.created" and e["subject"] == inst["id"]]
    assert len(created) == 1
    # The feed is internal: the gateway never exposes it.
    assert gw.get("/internal/events", headers=auth(token.json()["access_token"])).status_code == 404


def test_request_id_travels_from_the_gateway_to_the_service(gw: httpx.Client, stack: Stack, admin_token: str) -> None:
    rid = "e2e-" + uuid.uuid4().hex
    r = gw.get("/v1/institutions", headers={**auth(admin_token), "X-Request-ID": rid})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == rid
    # The service writes its access line once the response is sent: poll briefly.
    deadline = time.monotonic() + 5
    while rid not in (log := (stack.workdir / "participants.log").read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    line = next(json.loads(x) for x in log.splitlines() if rid in x)
    assert line["request_id"] == rid and line["route"] == "/v1/institutions"


def test_a_service_that_is_down_gives_a_503_problem_not_a_hang(gw: httpx.Client, stack: Stack, admin_token: str) -> None:
    stack.stop_app("participants")
    try:
        r = gw.get("/v1/institutions", headers=auth(admin_token))
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"
        ready = gw.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["participants"]["ok"] is False
    finally:
        stack.start_app("participants")
        stack.wait_healthy(names=["participants"])
    assert gw.get("/v1/institutions", headers=auth(admin_token)).status_code == 200
