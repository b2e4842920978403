"""The HTTP API: her inbox (paged, typed, mark read), her preferences (obligations explained),
the coordinators' delivery list, and who may do what (401/403/404)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from servicekit.testing import Mint, attack_tokens, bearer

from services.notifications import intake
from services.notifications.domain import links
from services.notifications.domain.plans import Message
from services.notifications.enums import MessageKind

from .conftest import INSTITUTION, OTHER_INSTITUTION, UNSUBSCRIBE_KEY

NOW = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)


def seed(engine: Engine, account: str, kind: MessageKind, facts: dict[str, Any], institution: str = INSTITUTION) -> str:
    with Session(engine) as session:
        note = intake.record(session, uuid.UUID(institution), str(uuid.uuid4()), Message(account, kind, facts), NOW)
        session.commit()
        return str(note.id)


def person(mint: Mint, sub: str, role: str = "mentee", tid: str = INSTITUTION) -> dict[str, str]:
    return bearer(mint(sub=sub, tid=tid, roles=[role]))


def test_her_inbox_is_paged_typed_and_marked_read_once(http: TestClient, engine: Engine, mint: Mint) -> None:
    meeting = str(uuid.uuid4())
    ids = [seed(engine, "ana", MessageKind.meeting_proposed, {"meeting_id": meeting, "number": n, "start": NOW.isoformat(),
                                                       "sequence": 0, "counterpart_account_id": "berta"}) for n in (1, 2, 3)]
    seed(engine, "berta", MessageKind.meeting_proposed, {"meeting_id": meeting, "number": 1})
    me = person(mint, "ana")
    first = http.get("/v1/notifications/mine", params={"limit": 2}, headers=me).json()
    assert [n["id"] for n in first["items"]] == ids[:2] and first["next_cursor"]
    assert first["items"][0]["kind"] == "meeting_proposed" and first["items"][0]["read_at"] is None
    assert first["items"][0]["facts"]["number"] == 1 and first["items"][0]["facts"]["meeting_id"] == meeting
    assert "counterpart_account_id" not in first["items"][0]["facts"]
    rest = http.get("/v1/notifications/mine", params={"limit": 2, "cursor": first["next_cursor"]}, headers=me).json()
    assert [n["id"] for n in rest["items"]] == ids[2:] and rest["next_cursor"] is None
    read = http.post(f"/v1/notifications/mine/{ids[0]}/read", headers=me)
    assert read.status_code == 200 and read.json()["read_at"]
    assert http.post(f"/v1/notifications/mine/{ids[0]}/read", headers=me).json()["read_at"] == read.json()["read_at"]
    unread = http.get("/v1/notifications/mine", params={"unread": True}, headers=me).json()
    assert [n["id"] for n in unread["items"]] == ids[1:]


def test_another_persons_or_another_institutions_notification_is_a_404(http: TestClient, engine: Engine, mint: Mint) -> None:
    hers = seed(engine, "ana", MessageKind.application_received, {})
    for headers in (person(mint, "berta"), person(mint, "ana", tid=OTHER_INSTITUTION), person(mint, "x", "coordinator")):
        answer = http.post(f"/v1/notifications/mine/{hers}/read", headers=headers)
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert http.get("/v1/notifications/mine", headers=headers).json()["items"] == []


def test_no_token_a_bad_token_a_client_and_a_token_without_institution_are_refused(
        http: TestClient, mint: Mint, signing_key: Any) -> None:
    assert http.get("/v1/notifications/mine").status_code == 401
    for name, token in attack_tokens(signing_key).items():
        assert http.get("/v1/notifications/mine", headers=bearer(token)).status_code == 401, name
    client = bearer(mint(sub="client-1", tid=INSTITUTION, scope="events:read contacts:read", client_id="client-1"))
    for url in ("/v1/notifications/mine", "/v1/notifications/preferences", f"/v1/notifications/institutions/{INSTITUTION}/deliveries"):
        answer = http.get(url, headers=client)
        assert answer.status_code == 403 and answer.json()["type"].endswith("insufficient-scope"), url
    admin = bearer(mint(sub="admin", roles=["admin"]))
    assert http.get("/v1/notifications/mine", headers=admin).status_code == 403


def test_preferences_explain_the_obligations_and_refuse_to_turn_them_off(http: TestClient, mint: Mint) -> None:
    me = person(mint, "ana")
    listed = {p["kind"]: p for p in http.get("/v1/notifications/preferences", headers=me).json()}
    assert set(listed) == {k.value for k in MessageKind}
    assert listed["feedback_due"] == {"kind": "feedback_due", "setting": "on", "obligatory": True,
                                      "reason": "The program asks every member for a feedback form after each meeting."}
    assert listed["meeting_tomorrow"]["obligatory"] is False and listed["meeting_tomorrow"]["reason"] is None
    refused = http.put("/v1/notifications/preferences/selected", json={"setting": "off"}, headers=me)
    assert refused.status_code == 409 and "confirm it before the deadline" in refused.json()["detail"]
    assert http.put("/v1/notifications/preferences/meeting_tomorrow", json={"setting": "off"}, headers=me).json()["setting"] == "off"
    assert http.put("/v1/notifications/preferences/feedback_due", json={"setting": "digest"}, headers=me).status_code == 409
    assert http.put("/v1/notifications/preferences/digest", json={"setting": "digest"}, headers=me).status_code == 409
    assert http.put("/v1/notifications/preferences/meeting_proposed", json={"setting": "digest"}, headers=me).json()["setting"] == "digest"
    assert http.get("/v1/notifications/preferences", headers=person(mint, "berta")).json()[0]["setting"] == "on"
    mine = {p["kind"]: p["setting"] for p in http.get("/v1/notifications/preferences", headers=me).json()}
    assert mine["meeting_tomorrow"] == "off"
    assert http.put("/v1/notifications/preferences/nope", json={"setting": "off"}, headers=me).status_code == 422
    assert http.put("/v1/notifications/preferences/meeting_tomorrow", json={"setting": "weekly"}, headers=me).status_code == 422


@pytest.mark.parametrize("token", [
    "not-a-token-at-all",
    links.sign(b"another-key", links.Unsubscribe(INSTITUTION, "ana", "meeting_tomorrow")),
    links.sign(UNSUBSCRIBE_KEY.encode(), links.Unsubscribe(INSTITUTION, "ana", "no_such_kind")),
    links.sign(UNSUBSCRIBE_KEY.encode(), links.Unsubscribe(INSTITUTION, "ana", "meeting_tomorrow"))[:-2] + "xx",
    links.sign(UNSUBSCRIBE_KEY.encode(), links.Unsubscribe(INSTITUTION, "ana", "meeting_tomorrow"))[:-1] + "ñ",
])
def test_a_forged_or_broken_unsubscribe_link_is_a_404_and_changes_nothing(http: TestClient, mint: Mint, token: str) -> None:
    assert http.post("/v1/notifications/unsubscribe", params={"token": token}).status_code == 404
    assert http.get("/v1/notifications/unsubscribe", params={"token": token}).status_code == 404
    mine = {p["kind"]: p["setting"] for p in http.get("/v1/notifications/preferences", headers=person(mint, "ana")).json()}
    assert set(mine.values()) == {"on"}


def test_deliveries_are_for_the_institutions_coordinators(http: TestClient, engine: Engine, mint: Mint) -> None:
    seed(engine, "ana", MessageKind.application_received, {})
    seed(engine, "zoe", MessageKind.application_received, {}, institution=OTHER_INSTITUTION)
    url = f"/v1/notifications/institutions/{INSTITUTION}/deliveries"
    page = http.get(url, headers=person(mint, "coord", "coordinator")).json()
    assert [(d["account_id"], d["kind"], d["status"], d["attempts"]) for d in page["items"]] == [("ana", "application_received", "pending", 0)]
    assert http.get(url, params={"status": "failed"}, headers=person(mint, "coord", "coordinator")).json()["items"] == []
    assert http.get(url, headers=bearer(mint(sub="admin", roles=["admin"]))).status_code == 200
    assert http.get(url, headers=person(mint, "coord", "coordinator", tid=OTHER_INSTITUTION)).status_code == 404
    assert http.get(url, headers=person(mint, "ana")).status_code == 403
    assert http.get(url, headers=person(mint, "ev", "evaluator")).status_code == 403
