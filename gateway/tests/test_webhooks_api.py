"""``/v1/webhooks``: who may manage which subscriptions, the secret shown once
and rotated, URL checks (SSRF) and validation. The dispatcher is off here
(gateway/tests/test_webhooks_delivery.py runs it)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from servicekit.tokens import SigningKey

from gateway.db import migrate
from gateway.main import create_app
from gateway.tests.conftest import Gateway, base_settings
from gateway.tests.upstream import UpstreamServer
from gateway.webhooks.catalog import EVENT_TYPES
from gateway.webhooks.models import WebhookSubscription

INST_A = "0190f1c2-0000-7000-8000-00000000000a"
INST_B = "0190f1c2-0000-7000-8000-00000000000b"
SUBS = "/v1/webhooks/subscriptions"
PUBLIC_URL = "https://93.184.216.34/aliada/hooks"  # a global address literal: no DNS needed


@pytest.fixture(scope="module")
def hooks(database_factory, upstream: UpstreamServer) -> Iterator[Gateway]:
    url = database_factory.new("gateway")
    migrate(url)
    settings = base_settings(url, upstream.url, webhooks_dispatcher_enabled=False)
    with TestClient(create_app(settings)) as client:
        yield Gateway(client, settings)


@pytest.fixture(scope="module")
def people(hooks: Gateway) -> dict[str, dict[str, str]]:
    admin = hooks.bearer()
    return {
        "admin": admin,
        "coord_a": hooks.person(admin, ["coordinator"], INST_A)[1],
        "coord_b": hooks.person(admin, ["coordinator"], INST_B)[1],
        "mentor_a": hooks.person(admin, ["mentor"], INST_A)[1],
    }


def create(gw: Gateway, headers: dict[str, str], **body) -> dict:
    resp = gw.client.post(SUBS, json={"url": PUBLIC_URL, "event_types": ["match.*"], **body}, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def paths(sub_id: str, delivery_id: str | None = None) -> list[tuple[str, str]]:
    delivery_id = delivery_id or str(uuid.uuid4())
    base = f"{SUBS}/{sub_id}"
    return [
        ("GET", base),
        ("PATCH", base),
        ("DELETE", base),
        ("POST", f"{base}/secret-rotations"),
        ("GET", f"{base}/deliveries"),
        ("GET", f"{base}/deliveries/{delivery_id}"),
        ("POST", f"{base}/deliveries/{delivery_id}/redeliver"),
    ]


def call(gw: Gateway, method: str, path: str, headers: dict[str, str]) -> int:
    body = {"description": "x"} if method == "PATCH" else ({} if method == "POST" else None)
    return gw.client.request(method, path, json=body, headers=headers).status_code


def test_coordinators_manage_their_institution_and_see_nothing_of_another(hooks: Gateway, people) -> None:
    mine = create(hooks, people["coord_a"], description="Tutorías")
    assert mine["institution_id"] == INST_A and mine["secret"].startswith("whsec_")
    other = create(hooks, people["admin"], institution_id=INST_B)
    assert other["institution_id"] == INST_B

    listed = hooks.client.get(SUBS, params={"limit": 200}, headers=people["coord_a"]).json()["items"]
    ids = {s["id"] for s in listed}
    assert mine["id"] in ids and other["id"] not in ids
    assert all("secret" not in s for s in listed)
    assert other["id"] in {s["id"] for s in hooks.client.get(SUBS, params={"limit": 200}, headers=people["admin"]).json()["items"]}
    by_b = hooks.client.get(SUBS, params={"institution_id": INST_B}, headers=people["admin"]).json()["items"]
    assert {s["institution_id"] for s in by_b} == {INST_B}

    # Another institution's subscription does not exist for her (404), whatever she tries.
    for method, path in paths(other["id"]):
        assert call(hooks, method, path, people["coord_a"]) == 404, (method, path)
    # ... and she cannot create one for it.
    elsewhere = hooks.client.post(SUBS, json={"url": PUBLIC_URL, "event_types": ["*"], "institution_id": INST_B}, headers=people["coord_a"])
    assert elsewhere.status_code == 403
    # Her own: all of it works (deliveries of an unknown id are 404 too).
    assert hooks.client.get(f"{SUBS}/{mine['id']}", headers=people["coord_a"]).status_code == 200
    assert hooks.client.get(f"{SUBS}/{mine['id']}/deliveries", headers=people["coord_a"]).json() == {"items": [], "next_cursor": None}
    assert hooks.client.get(f"{SUBS}/{mine['id']}/deliveries/{uuid.uuid4()}", headers=people["coord_a"]).status_code == 404


def test_other_roles_clients_and_bad_tokens_are_refused(hooks: Gateway, people) -> None:
    sub = create(hooks, people["coord_a"])
    everything = [("GET", SUBS), ("POST", SUBS), *paths(sub["id"])]
    for method, path in everything:
        assert call(hooks, method, path, people["mentor_a"]) == 403, (method, path)
    client = hooks.client.post("/v1/admin/clients", json={"name": "LMS", "scopes": ["events:read"], "institution_id": INST_A}, headers=people["admin"]).json()
    token = hooks.client.post(
        "/v1/auth/token", data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]}
    ).json()["access_token"]
    assert call(hooks, "GET", SUBS, {"Authorization": f"Bearer {token}"}) == 403

    valid = people["coord_a"]["Authorization"].removeprefix("Bearer ")
    header, payload, signature = valid.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    escalated = base64.urlsafe_b64encode(json.dumps({**claims, "roles": ["admin"]}).encode()).rstrip(b"=").decode()
    kid = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    now = time.time()
    minter = hooks.app.state.minter
    expired = hooks.client.portal.call(
        lambda: minter.mint(subject=claims["sub"], tenant_id=INST_A, roles=["coordinator"], now=now - 3600, ttl_seconds=900)
    )
    bad = {
        "none": None,
        "tampered": f"{header}.{escalated}.{signature}",
        "foreign_key_same_kid": SigningKey.generate(kid=kid).sign({**claims, "roles": ["admin"]}),
        "expired": expired,
    }
    for name, token in bad.items():
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        for method, path in everything + [("GET", "/v1/webhooks/event-types")]:
            assert call(hooks, method, path, headers) == 401, (name, method, path)


def test_the_secret_is_shown_once_and_stored_encrypted_or_not_at_all_in_answers(hooks: Gateway, people) -> None:
    key = str(uuid.uuid4())
    body = {"url": PUBLIC_URL, "event_types": ["feedback.overdue"]}
    first = hooks.client.post(SUBS, json=body, headers={**people["coord_a"], "Idempotency-Key": key})
    again = hooks.client.post(SUBS, json=body, headers={**people["coord_a"], "Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and first.json()["secret"] and again.json()["secret"] is None
    shown = hooks.client.get(f"{SUBS}/{first.json()['id']}", headers=people["coord_a"]).json()
    assert "secret" not in shown and first.json()["secret"] not in json.dumps(shown)


def test_secret_rotation_keeps_the_previous_secret_for_a_while(hooks: Gateway, people) -> None:
    sub = create(hooks, people["coord_a"])
    rotated = hooks.client.post(f"{SUBS}/{sub['id']}/secret-rotations", json={"previous_secret_valid_seconds": 3600}, headers=people["coord_a"])
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["secret"].startswith("whsec_") and new["secret"] != sub["secret"] and new["previous_secret_expires_at"]
    shown = hooks.client.get(f"{SUBS}/{sub['id']}", headers=people["coord_a"]).json()
    assert shown["previous_secret_expires_at"] is not None
    assert datetime.fromisoformat(shown["secret_rotated_at"]) == datetime.fromisoformat(new["rotated_at"])

    from gateway.webhooks import service

    box = hooks.app.state.webhook_secrets
    with Session(hooks.app.state.engine) as session:
        row = session.get(WebhookSubscription, uuid.UUID(sub["id"]))
        assert service.signing_secrets(row, box) == [new["secret"], sub["secret"]]
    now = hooks.client.post(f"{SUBS}/{sub['id']}/secret-rotations", json={"previous_secret_valid_seconds": 0}, headers=people["coord_a"]).json()
    with Session(hooks.app.state.engine) as session:
        row = session.get(WebhookSubscription, uuid.UUID(sub["id"]))
        assert service.signing_secrets(row, box) == [now["secret"]]
    assert hooks.client.get(f"{SUBS}/{sub['id']}", headers=people["coord_a"]).json()["previous_secret_expires_at"] is None
    too_long = hooks.client.post(f"{SUBS}/{sub['id']}/secret-rotations", json={"previous_secret_valid_seconds": 10**7}, headers=people["coord_a"])
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "body.previous_secret_valid_seconds"


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.8/hook",
        "https://localhost/hook",
        "http://93.184.216.34/hook",
        "https://user:pw@93.184.216.34/hook",
    ],
)
def test_private_targets_and_plain_http_are_refused_naming_the_url(hooks: Gateway, people, url: str) -> None:
    resp = hooks.client.post(SUBS, json={"url": url, "event_types": ["*"]}, headers=people["coord_a"])
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"] == "body.url"


def test_changes_are_checked_like_creation_and_deletion_takes_the_log(hooks: Gateway, people) -> None:
    sub = create(hooks, people["coord_a"])
    path = f"{SUBS}/{sub['id']}"
    private = hooks.client.patch(path, json={"url": "https://192.168.0.10/x"}, headers=people["coord_a"])
    assert private.status_code == 422 and private.json()["errors"][0]["field"] == "body.url"
    paused = hooks.client.patch(path, json={"active": False, "event_types": ["match.activated", "dyad.*"]}, headers=people["coord_a"])
    assert paused.status_code == 200 and paused.json()["active"] is False
    assert paused.json()["event_types"] == ["match.activated", "dyad.*"] and paused.json()["url"] == PUBLIC_URL
    assert hooks.client.get(SUBS, params={"active": "false", "limit": 200}, headers=people["coord_a"]).json()["items"][-1]["id"] == sub["id"]
    assert hooks.client.delete(path, headers=people["coord_a"]).status_code == 204
    assert hooks.client.get(path, headers=people["coord_a"]).status_code == 404


def test_validation_names_the_field(hooks: Gateway, people) -> None:
    def problem(body: dict, headers=None) -> tuple[int, str]:
        resp = hooks.client.post(SUBS, json=body, headers=headers or people["coord_a"])
        return resp.status_code, resp.json()["errors"][0]["field"] if resp.status_code == 422 else ""

    assert problem({"url": PUBLIC_URL, "event_types": ["match.nope"]}) == (422, "body.event_types.0")
    assert problem({"url": PUBLIC_URL, "event_types": []}) == (422, "body.event_types")
    assert problem({"url": PUBLIC_URL, "event_types": ["*", "*"]}) == (422, "body.event_types")
    assert problem({"url": PUBLIC_URL, "event_types": ["*"], "secret": "whsec_mine"}) == (422, "body.secret")
    assert problem({"event_types": ["*"]}) == (422, "body.url")
    # An admin names the institution, which participants must know.
    assert problem({"url": PUBLIC_URL, "event_types": ["*"]}, people["admin"]) == (422, "body.institution_id")
    unknown = {"url": PUBLIC_URL, "event_types": ["*"], "institution_id": "0190f1c2-0000-7000-8000-000000000fff"}
    assert problem(unknown, people["admin"]) == (422, "body.institution_id")
    assert hooks.client.get(f"{SUBS}/not-a-uuid", headers=people["coord_a"]).status_code == 422


def test_event_types_are_documented_for_anyone_signed_in(hooks: Gateway, people) -> None:
    listed = hooks.client.get("/v1/webhooks/event-types", headers=people["mentor_a"])
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [i["type"] for i in items] == [e.type for e in EVENT_TYPES]
    assert {i["service"] for i in items} == {"participants", "matching", "sessions", "evaluation"}


def test_webhook_paths_are_the_gateways_own_never_proxied(hooks: Gateway, people) -> None:
    resp = hooks.client.get("/v1/webhooks/nothing-here", headers=people["admin"])
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")
    doc = hooks.app.openapi()
    ops = {op["operationId"] for path, item in doc["paths"].items() if path.startswith("/v1/webhooks") for op in item.values()}
    assert ops == {
        "list_webhook_event_types", "create_webhook_subscription", "list_webhook_subscriptions", "get_webhook_subscription",
        "update_webhook_subscription", "delete_webhook_subscription", "rotate_webhook_secret", "list_webhook_deliveries",
        "get_webhook_delivery", "redeliver_webhook",
    }  # fmt: skip


def test_the_dispatcher_reads_feeds_with_its_own_narrow_internal_token(hooks: Gateway) -> None:
    from jose import jwt

    minter = hooks.app.state.minter
    events = jwt.get_unverified_claims(hooks.client.portal.call(minter.internal_token, "events:read"))
    institutions = jwt.get_unverified_claims(hooks.client.portal.call(minter.internal_token))
    assert events["scope"] == "events:read" and events["roles"] == [] and events["client_id"] == "gateway"
    assert institutions["scope"] == "institutions:read" and institutions["roles"] == ["admin"]
    assert events["exp"] - events["iat"] <= 60
