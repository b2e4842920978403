"""Data-subject requests: who may ask, the completion record, the gateway's own
erasure (no more logins), and retries of a step a service could not finish."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.tests.conftest import PASSWORD, Gateway, GatewayFactory
from gateway.tests.upstream import UpstreamServer, dead_url

INSTITUTION_A = "0190f1c2-0000-7000-8000-00000000000a"
INSTITUTION_B = "0190f1c2-0000-7000-8000-00000000000b"
URL = "/v1/data-subject-requests"
SERVICES = ("participants", "matching", "sessions", "evaluation", "notifications")


@dataclass
class FakeServices:
    """The four services' internal data-rights endpoints, as the gateway sees them."""

    down: set[str] = field(default_factory=set)  # answer 503
    missing: set[str] = field(default_factory=set)  # answer 404 (endpoint not wired yet)
    held: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)  # account -> table -> rows
    calls: list[dict[str, Any]] = field(default_factory=list)
    participant_ids: dict[str, list[str]] = field(default_factory=dict)


def _claims(request: Request) -> dict[str, Any]:
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def build_fake(state: FakeServices) -> Starlette:
    async def institution(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.path_params["institution_id"], "name": "U"})

    async def internal(request: Request) -> JSONResponse:
        svc, action = request.path_params["svc"], request.path_params["action"]
        body = await request.json()
        state.calls.append({"service": svc, "action": action, "body": body, "claims": _claims(request)})
        if svc in state.down:
            return JSONResponse({"title": "down"}, status_code=503)
        if svc in state.missing:
            return JSONResponse({"title": "Not Found"}, status_code=404)
        account = body["account_id"]
        if action == "resolve":
            return JSONResponse({"participant_ids": state.participant_ids.get(account, [])})
        tables = state.held.get(f"{svc}:{account}", {})
        if action == "export":
            return JSONResponse({"service": svc, "tables": tables})
        counts = {t: len(rows) for t, rows in tables.items()}
        state.held.pop(f"{svc}:{account}", None)
        return JSONResponse({"service": svc, "tables": counts})

    return Starlette(
        routes=[
            Route("/{svc}/v1/institutions/{institution_id}", institution),
            Route("/{svc}/internal/data-subjects/{action}", internal, methods=["POST"]),
        ]
    )


@pytest.fixture
def fake() -> Iterator[tuple[FakeServices, UpstreamServer]]:
    state = FakeServices()
    server = UpstreamServer(build_fake(state)).start()
    try:
        yield state, server
    finally:
        server.stop()


@pytest.fixture
def gw(make_gateway: GatewayFactory, fake: tuple[FakeServices, UpstreamServer]) -> Gateway:
    _, server = fake
    return make_gateway(
        **{f"{svc}_url": f"{server.url}/{svc}" for svc in SERVICES},
        data_rights_sweeper_enabled=False,
        data_rights_backoff_base_seconds=0,
        data_rights_timeout=3.0,
    )


@pytest.fixture
def admin(gw: Gateway) -> dict[str, str]:
    return gw.bearer()


def _sweep(gw: Gateway) -> int:
    return gw.client.portal.call(gw.app.state.subject_requests.run_due)


def _gateway_rows(gw: Gateway) -> str:
    """Every row of every gateway table, as text."""
    engine = gw.app.state.engine
    out = []
    with engine.connect() as conn:
        from gateway.models import Base

        for table in Base.metadata.sorted_tables:
            out.append(repr(conn.execute(text(f'SELECT * FROM "{table.name}"')).fetchall()))
    return "\n".join(out)


def _person(gw: Gateway, admin: dict[str, str], roles: list[str], institution: str = INSTITUTION_A) -> tuple[dict[str, Any], dict[str, str]]:
    return gw.person(admin, roles, institution)


def test_she_exports_her_data_from_every_service(gw: Gateway, admin: dict[str, str], fake) -> None:
    state, _ = fake
    her, auth = _person(gw, admin, ["mentee"])
    state.participant_ids[her["id"]] = [str(uuid.UUID(int=42))]
    state.held[f"sessions:{her['id']}"] = {"diary_entries": [{"text": "mi diario único"}]}
    resp = gw.client.post(URL, json={"kind": "export"}, headers=auth)
    assert resp.status_code == 201, resp.text
    record = resp.json()
    assert resp.headers["location"] == f"{URL}/{record['id']}"
    assert (record["kind"], record["status"], record["requested_by_role"], record["requested_by"]) == ("export", "done", "data_subject", None)
    assert [s["service"] for s in record["steps"]] == ["gateway", *SERVICES]
    assert all(s["status"] == "done" and s["attempts"] == 1 and s["finished_at"] for s in record["steps"])
    bundle = record["bundle"]
    assert bundle["gateway"]["accounts"][0]["email"] == her["email"]
    assert "password_hash" not in bundle["gateway"]["accounts"][0]
    assert bundle["sessions"]["diary_entries"] == [{"text": "mi diario único"}]
    # Every service got her account and resolved participant ids, with the internal token.
    exports = [c for c in state.calls if c["action"] == "export"]
    assert sorted(c["service"] for c in exports) == sorted(SERVICES)
    assert all(c["body"]["participant_ids"] == [str(uuid.UUID(int=42))] and c["body"]["account_id"] == her["id"] for c in exports)
    assert all(c["claims"]["sub"] == "service:gateway" and c["claims"]["scope"] == "data-subjects:internal" for c in state.calls)
    assert all("tid" not in c["claims"] for c in state.calls)
    # The record is stored, without the bundle.
    stored = gw.client.get(f"{URL}/{record['id']}", headers=auth).json()
    assert stored["steps"] == record["steps"] and "bundle" not in stored
    assert "mi diario único" not in _gateway_rows(gw)
    assert [r["id"] for r in gw.client.get(URL, headers=auth).json()["items"]] == [record["id"]]


def test_her_erasure_ends_her_account_and_every_session(gw: Gateway, admin: dict[str, str], fake) -> None:
    state, _ = fake
    her, _auth = _person(gw, admin, ["mentee"])
    tokens = gw.token(her["email"], PASSWORD)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    state.held[f"matching:{her['id']}"] = {"matching_profiles": [{"x": 1}]}
    resp = gw.client.post(URL, json={"kind": "erasure"}, headers=auth)
    assert resp.status_code == 201, resp.text
    record = resp.json()
    assert record["status"] == "done" and record["account_id"] is None and record["bundle"] is None
    steps = {s["service"]: s for s in record["steps"]}
    assert steps["gateway"]["rows"]["accounts"] == 1 and steps["gateway"]["rows"]["token_families"] >= 2
    assert steps["matching"]["rows"] == {"matching_profiles": 1}
    # She can no longer log in, refresh, or use the token she had.
    login = gw.client.post("/v1/auth/token", data={"grant_type": "password", "username": her["email"], "password": PASSWORD})
    assert login.status_code in (400, 401)
    refresh = gw.client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.status_code in (400, 401)
    assert gw.client.get("/v1/auth/me", headers=auth).status_code == 401
    # No trace of her e-mail or account id anywhere in the gateway.
    rows = _gateway_rows(gw)
    assert her["email"] not in rows
    assert her["id"] not in rows and her["id"].replace("-", "") not in rows
    # The admin still sees the completion record, naming no one.
    seen = gw.client.get(f"{URL}/{record['id']}", headers=admin).json()
    assert seen["account_id"] is None and her["email"] not in json.dumps(seen)


def test_a_coordinator_of_her_institution_may_ask(gw: Gateway, admin: dict[str, str]) -> None:
    her, _ = _person(gw, admin, ["mentee"])
    coordinator, coord_auth = _person(gw, admin, ["coordinator"])
    resp = gw.client.post(URL, json={"kind": "erasure", "account_id": her["id"]}, headers=coord_auth)
    assert resp.status_code == 201, resp.text
    assert (resp.json()["requested_by_role"], resp.json()["requested_by"]) == ("coordinator", coordinator["id"])
    listed = gw.client.get(URL, headers=coord_auth).json()["items"]
    assert [r["id"] for r in listed] == [resp.json()["id"]]
    assert gw.client.post(URL, json={"kind": "export", "account_id": her["id"]}, headers=admin).status_code == 404  # gone


def test_who_may_not_ask(gw: Gateway, admin: dict[str, str], fake) -> None:
    state, _ = fake
    her, her_auth = _person(gw, admin, ["mentee"])
    _, other_coordinator = _person(gw, admin, ["coordinator"], INSTITUTION_B)
    _, mentor = _person(gw, admin, ["mentor"])
    _, other_mentee = _person(gw, admin, ["mentee"], INSTITUTION_B)
    body = {"kind": "erasure", "account_id": her["id"]}
    assert gw.client.post(URL, json=body, headers=other_coordinator).status_code == 404
    assert gw.client.post(URL, json=body, headers=mentor).status_code == 403
    assert gw.client.post(URL, json=body, headers=other_mentee).status_code == 404
    assert gw.client.post(URL, json={"kind": "export", "account_id": str(uuid.uuid4())}, headers=admin).status_code == 404

    client = gw.client.post(
        "/v1/admin/clients", json={"name": "SIS", "scopes": ["data-subjects:internal"], "institution_id": INSTITUTION_A}, headers=admin
    ).json()
    token = gw.client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]},
    ).json()["access_token"]
    client_auth = {"Authorization": f"Bearer {token}"}
    assert gw.client.post(URL, json=body, headers=client_auth).status_code == 403
    assert gw.client.get(URL, headers=client_auth).status_code == 403
    # Not even the gateway's own internal endpoints open to such a client.
    internal = {"institution_id": INSTITUTION_A, "account_id": her["id"]}
    assert gw.client.post("/internal/data-subjects/erasure", json=internal, headers=client_auth).status_code == 403

    expired = gw.client.portal.call(
        lambda: gw.app.state.minter.mint(subject=her["id"], tenant_id=INSTITUTION_A, roles=["mentee"], ttl_seconds=-600)
    )
    assert gw.client.post(URL, json=body, headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    header, payload, signature = her_auth["Authorization"].removeprefix("Bearer ").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{header}.{forged_payload}.{signature}"
    assert gw.client.post(URL, json=body, headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert gw.client.post(URL, json=body).status_code == 401
    assert gw.client.post(URL, json={"kind": "forget"}, headers=her_auth).status_code == 422
    assert state.calls == []  # nothing ran

    # Others' records are 404.
    mine = gw.client.post(URL, json={"kind": "export"}, headers=her_auth).json()
    assert gw.client.get(f"{URL}/{mine['id']}", headers=other_coordinator).status_code == 404
    assert gw.client.get(f"{URL}/{mine['id']}", headers=mentor).status_code == 404
    assert gw.client.get(URL, headers=mentor).json()["items"] == []


def test_a_failed_step_is_retried_until_done(gw: Gateway, admin: dict[str, str], fake) -> None:
    state, _ = fake
    her, _ = _person(gw, admin, ["mentee"])
    state.down.add("matching")
    state.missing.add("evaluation")
    state.held[f"matching:{her['id']}"] = {"matching_profiles": [{"bio": "x"}]}
    resp = gw.client.post(URL, json={"kind": "erasure", "account_id": her["id"]}, headers=admin)
    assert resp.status_code == 201, resp.text
    record = resp.json()
    steps = {s["service"]: s for s in record["steps"]}
    assert record["status"] == "failed" and record["account_id"] == her["id"]
    assert (steps["matching"]["status"], steps["matching"]["attempts"], steps["matching"]["last_error"]) == ("failed", 1, "http_503")
    assert (steps["evaluation"]["status"], steps["evaluation"]["last_error"]) == ("failed", "http_404")
    assert steps["matching"]["next_attempt_at"] is not None and steps["matching"]["finished_at"] is None
    assert steps["gateway"]["status"] == steps["participants"]["status"] == "done"

    # Still down: retried, recorded again, not dropped.
    assert _sweep(gw) == 2
    again = {s["service"]: s for s in gw.client.get(f"{URL}/{record['id']}", headers=admin).json()["steps"]}
    assert again["matching"]["attempts"] == 2 and again["matching"]["status"] == "failed"
    assert again["participants"]["attempts"] == 1  # done steps are not run again

    # Back: the next sweep finishes it, and the record forgets her.
    state.down.clear()
    state.missing.clear()
    assert _sweep(gw) == 2
    done = gw.client.get(f"{URL}/{record['id']}", headers=admin).json()
    assert done["status"] == "done" and done["account_id"] is None and done["finished_at"]
    steps = {s["service"]: s for s in done["steps"]}
    assert (steps["matching"]["status"], steps["matching"]["attempts"], steps["matching"]["last_error"]) == ("done", 3, None)
    assert steps["matching"]["rows"] == {"matching_profiles": 1}
    assert _sweep(gw) == 0
    assert f"matching:{her['id']}" not in state.held


def test_an_unreachable_service_is_recorded_by_error_class(make_gateway: GatewayFactory, fake) -> None:
    state, server = fake
    urls = {f"{svc}_url": f"{server.url}/{svc}" for svc in SERVICES}
    urls["sessions_url"] = dead_url()
    gw = make_gateway(**urls, data_rights_sweeper_enabled=False, data_rights_backoff_base_seconds=3600, data_rights_timeout=2.0)
    admin = gw.bearer()
    her, _ = gw.person(admin, ["mentee"], INSTITUTION_A)
    record = gw.client.post(URL, json={"kind": "erasure", "account_id": her["id"]}, headers=admin).json()
    steps = {s["service"]: s for s in record["steps"]}
    assert steps["sessions"]["status"] == "failed" and steps["sessions"]["last_error"] == "ConnectError"
    assert _sweep(gw) == 0  # backoff: not due yet


def test_participants_down_before_resolution_fails_every_step_then_recovers(gw: Gateway, admin: dict[str, str], fake) -> None:
    state, _ = fake
    her, _ = _person(gw, admin, ["mentee"])
    state.down.add("participants")
    record = gw.client.post(URL, json={"kind": "erasure", "account_id": her["id"]}, headers=admin).json()
    assert {s["last_error"] for s in record["steps"]} == {"resolve:http_503"}
    assert record["status"] == "failed" and record["account_id"] == her["id"]
    assert not [c for c in state.calls if c["action"] != "resolve"]  # no service step ran without her ids
    # Her logins ended at once all the same.
    login = gw.client.post("/v1/auth/token", data={"grant_type": "password", "username": her["email"], "password": PASSWORD})
    assert login.status_code in (400, 401)
    assert {s["service"]: s for s in record["steps"]}["gateway"]["rows"]["accounts"] == 1
    state.down.clear()
    assert _sweep(gw) == len(SERVICES) + 1  # the gateway's step and each service's
    done = gw.client.get(f"{URL}/{record['id']}", headers=admin).json()
    assert done["status"] == "done" and done["account_id"] is None
    gateway_step = {s["service"]: s for s in done["steps"]}["gateway"]
    assert (gateway_step["attempts"], gateway_step["rows"]["accounts"]) == (2, 1)  # the second run found nothing left
    assert sorted(c["service"] for c in state.calls if c["action"] == "erasure") == sorted(SERVICES)


def test_an_export_a_service_cannot_answer_is_incomplete(gw: Gateway, admin: dict[str, str], fake) -> None:
    state, _ = fake
    her, auth = _person(gw, admin, ["mentee"])
    state.down.add("evaluation")
    record = gw.client.post(URL, json={"kind": "export"}, headers=auth).json()
    assert record["status"] == "incomplete" and "evaluation" not in record["bundle"]
    assert _sweep(gw) == 0  # exports are not retried (the bundle is never stored)


def test_every_personal_table_of_the_gateway_is_exported_and_erased(gw: Gateway, admin: dict[str, str], fake) -> None:
    """A row of hers in every PERSONAL table: each is in the export, and after
    the erasure none of her unique strings is left in any gateway table."""
    from datetime import timedelta

    from sqlmodel import Session

    from gateway import data_rights
    from gateway.audit import AuditEvent
    from gateway.models import IdempotencyRecord
    from gateway.participant_roles import ParticipantRole
    from gateway.scim.models import ScimEmailRecord, ScimGroupRecord, ScimMemberRecord, ScimUserRecord
    from gateway.sso.models import ExternalIdentity, IdentityProvider
    from gateway.webhooks.models import WebhookEvent
    from servicekit.outbox import utcnow

    her, _ = _person(gw, admin, ["mentee"])
    gw.token(her["email"], PASSWORD)  # a session: token_families, refresh_tokens
    account_id = uuid.UUID(her["id"])
    participant_id = uuid.uuid4()
    fake[0].participant_ids[her["id"]] = [str(participant_id)]  # what participants resolves for her
    unique = {"idp": f"idp-subject-{uuid.uuid4().hex}", "family": f"Apellido{uuid.uuid4().hex[:8]}", "alt": f"alt-{uuid.uuid4().hex[:8]}@uni.example"}
    with Session(gw.app.state.engine) as session:
        idp = IdentityProvider(institution_id=INSTITUTION_A, name="IdP", issuer="https://idp.example", jwks_url="https://idp.example/jwks", audience="aliada")
        group = ScimGroupRecord(institution_id=INSTITUTION_A, display_name=f"Grupo {uuid.uuid4().hex[:6]}")
        session.add_all([idp, group])
        session.flush()
        session.add_all([
            ExternalIdentity(provider_id=idp.id, subject=unique["idp"], account_id=account_id),
            ScimUserRecord(account_id=account_id, family_name=unique["family"], external_id=unique["family"]),
            ScimEmailRecord(account_id=account_id, position=0, value=unique["alt"]),
            ScimMemberRecord(group_id=group.id, account_id=account_id),
            IdempotencyRecord(principal=her["id"], key="k1", route="POST /v1/x", fingerprint="f", status_code=201, body={"email": her["email"]}),
            WebhookEvent(event_id=uuid.uuid4().hex, source="participants", type="participant.withdrawn", institution_id=INSTITUTION_A,
                         subject=str(participant_id), occurred_at=utcnow() - timedelta(minutes=1), payload={"participant_id": str(participant_id)}),
            AuditEvent(actor_id=her["id"], actor_role="coordinator", action="identity_provider.registered",
                       target_type="identity_provider", target_id=str(idp.id), institution_id=INSTITUTION_A),
            ParticipantRole(membership_id=str(uuid.uuid4()), account_id=her["id"], institution_id=INSTITUTION_A, role="mentee"),
        ])  # fmt: skip
        session.commit()

        exported = data_rights.export_subject(session, uuid.UUID(INSTITUTION_A), her["id"], [participant_id])
        empty = [table for table in data_rights.PERSONAL if not exported[table]]
        assert empty == [], f"tables of hers not exported: {empty}"
        assert unique["idp"] in json.dumps(exported) and unique["alt"] in json.dumps(exported)

    resp = gw.client.post(URL, json={"kind": "erasure", "account_id": her["id"]}, headers=admin)
    assert resp.status_code == 201 and resp.json()["status"] == "done", resp.text
    counts = {s["service"]: s["rows"] for s in resp.json()["steps"]}["gateway"]
    assert [t for t in data_rights.PERSONAL if not counts.get(t)] == [], counts
    rows = _gateway_rows(gw)
    for needle in (her["email"], her["id"], her["id"].replace("-", ""), str(participant_id), *unique.values()):
        assert needle not in rows, needle
