"""Participant roles follow the participants feed (gateway/participant_roles.py):
a confirmed membership gives its role and ends ``applicant``; a withdrawal takes
the role back (``applicant`` again when nothing is left), staff roles are never
touched, another institution's account or an unknown one is left alone, and each
event is applied once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from servicekit.outbox import EventOut

from gateway.models import Account
from gateway.participant_roles import apply
from gateway.tests.conftest import PASSWORD

INSTITUTION = "0190f1c2-0000-7000-8000-00000000000a"


def _event(kind: str, tenant: str = INSTITUTION, **payload: Any) -> EventOut:
    return EventOut(event_id=uuid.uuid4(), type=kind, tenant_id=tenant, subject=str(uuid.uuid4()),
                    occurred_at=datetime.now(UTC), payload=payload, cursor="x")


def _roles(gw: Any, account_id: str) -> list[str]:
    with Session(gw.app.state.engine) as session:
        return list(session.get(Account, uuid.UUID(account_id)).roles)


def _apply(gw: Any, event: EventOut) -> None:
    with Session(gw.app.state.engine) as session:
        apply(session, event)
        session.commit()


def _token_roles(gw: Any, email: str) -> list[str]:
    token = gw.token(email, PASSWORD)["access_token"]
    return gw.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()["roles"]


def test_confirmation_and_withdrawal_change_her_next_tokens_roles(gw: Any, admin: dict[str, str]) -> None:
    her = gw.create_account(admin, ["applicant"], INSTITUTION)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    _apply(gw, _event("participant.confirmed", membership_id=first, account_id=her["id"], role="mentee"))
    assert _roles(gw, her["id"]) == ["mentee"] and _token_roles(gw, her["email"]) == ["mentee"]
    # a second program makes her a peer mentor as well; withdrawing from the first keeps that one
    _apply(gw, _event("participant.confirmed", membership_id=second, account_id=her["id"], role="peer_mentor"))
    assert _roles(gw, her["id"]) == ["mentee", "peer_mentor"]
    _apply(gw, _event("participant.withdrawn", membership_id=first, account_id=her["id"], role="mentee"))
    assert _roles(gw, her["id"]) == ["peer_mentor"]
    # nothing left: she is an applicant again (she may apply to another program)
    _apply(gw, _event("participant.withdrawn", membership_id=second, account_id=her["id"], role="peer_mentor"))
    assert _roles(gw, her["id"]) == ["applicant"] and _token_roles(gw, her["email"]) == ["applicant"]


def test_staff_roles_stay_and_are_never_joined_by_applicant(gw: Any, admin: dict[str, str]) -> None:
    evaluator = gw.create_account(admin, ["evaluator"], INSTITUTION)
    membership = str(uuid.uuid4())
    _apply(gw, _event("participant.confirmed", membership_id=membership, account_id=evaluator["id"], role="mentor"))
    assert _roles(gw, evaluator["id"]) == ["evaluator", "mentor"]
    _apply(gw, _event("participant.withdrawn", membership_id=membership, role="mentor"))  # older payloads: no account id
    assert _roles(gw, evaluator["id"]) == ["evaluator"]


def test_what_is_not_hers_to_change_is_left_alone(gw: Any, admin: dict[str, str]) -> None:
    her = gw.create_account(admin, ["applicant"], INSTITUTION)
    other = "0190f1c2-0000-7000-8000-00000000000b"
    for event in (
        _event("participant.confirmed", tenant=other, membership_id=str(uuid.uuid4()), account_id=her["id"], role="mentee"),
        _event("participant.confirmed", membership_id=str(uuid.uuid4()), account_id=her["id"], role="admin"),
        _event("participant.confirmed", membership_id=str(uuid.uuid4()), account_id=her["id"], role="coordinator"),
        _event("participant.confirmed", membership_id=str(uuid.uuid4()), account_id="not-an-account", role="mentee"),
        _event("participant.confirmed", membership_id=str(uuid.uuid4()), account_id=str(uuid.uuid4()), role="mentee"),
        _event("participant.withdrawn", membership_id=str(uuid.uuid4()), account_id=her["id"], role="mentee"),
        _event("application.submitted", membership_id=str(uuid.uuid4()), account_id=her["id"], role="mentee"),
    ):
        _apply(gw, event)
    assert _roles(gw, her["id"]) == ["applicant"]


def test_the_consumer_applies_each_event_once(gw: Any, admin: dict[str, str]) -> None:
    her = gw.create_account(admin, ["applicant"], INSTITUTION)
    roles = gw.app.state.participant_roles
    confirmed = _event("participant.confirmed", membership_id=str(uuid.uuid4()), account_id=her["id"], role="mentor")
    assert roles.consumer._apply(confirmed) is True  # noqa: SLF001 - the consumer's one-transaction step
    assert roles.consumer._apply(confirmed) is False  # noqa: SLF001
    assert _roles(gw, her["id"]) == ["mentor"]
