"""A withdrawal from a program (``participant.withdrawn`` on the participants feed)
dissolves her live matches there, once (services.matching.withdrawals).

Matches are written straight to the migrated matching database; the feed is
read by the service's own consumer (``main.make_consumer``) from a stand-in
participants feed over HTTP (httpx.MockTransport), so the cursor and
handled-event tables are the real ones.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from servicekit.outbox import EventOut

from services.matching import withdrawals
from services.matching.main import make_consumer
from services.matching.models import HandledEvent, Match, OutboxEvent
from services.matching.tests.conftest import matching_settings


class StaticTokens:
    async def token(self) -> str:
        return "svc-matching-token"


def new_match(engine: Engine, institution: uuid.UUID, program: uuid.UUID, mentee: uuid.UUID, mentor: uuid.UUID,
              status: str = "active") -> uuid.UUID:
    match = Match(institution_id=institution, program_id=program, run_id=uuid.uuid4(), mentee_participant_id=mentee,
                  mentor_participant_id=mentor, mentee_account_id=f"acc-{mentee}", mentor_account_id=f"acc-{mentor}",
                  score=0.8, status=status, activated_at=datetime.now(UTC) if status == "active" else None)
    with Session(engine) as s:
        s.add(match)
        s.commit()
        return match.id


def withdrawn(institution: uuid.UUID | str | None, program: uuid.UUID | str, participant: uuid.UUID | str,
              role: str = "mentee", event_id: uuid.UUID | None = None) -> EventOut:
    return EventOut(
        event_id=event_id or uuid.uuid4(), type="participant.withdrawn", tenant_id=str(institution) if institution else None,
        subject=str(participant), occurred_at=datetime.now(UTC), cursor=f"c-{uuid.uuid4()}",
        payload={"participant_id": str(participant), "membership_id": str(uuid.uuid4()), "program_id": str(program),
                 "account_id": f"acc-{participant}", "role": role, "withdrawn_at": datetime.now(UTC).isoformat()},
    )


def consume(engine: Engine, *events: EventOut) -> int:
    """The service's consumer reads ``events`` from a feed that ignores the cursor
    (so each poll delivers them all again): what was applied."""
    requests: list[httpx.Request] = []

    def feed(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"items": [e.model_dump(mode="json") for e in events], "next_cursor": None})

    consumer = make_consumer(matching_settings("sqlite://", "http://participants.test"), engine, StaticTokens())
    assert consumer is not None
    consumer._client = httpx.AsyncClient(transport=httpx.MockTransport(feed))
    applied = asyncio.run(consumer.poll_once())
    assert requests and all(r.url.path == "/internal/events" for r in requests)
    assert requests[0].headers["Authorization"] == "Bearer svc-matching-token"
    return applied


def statuses(engine: Engine) -> dict[uuid.UUID, tuple[str, str | None, str | None]]:
    with Session(engine) as s:
        return {m.id: (m.status, m.dissolved_by, m.dissolution_reason) for m in s.exec(select(Match)).all()}


def dissolved_events(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as s:
        rows = s.exec(select(OutboxEvent).where(OutboxEvent.type == "match.dissolved").order_by(OutboxEvent.id)).all()  # type: ignore[arg-type]
        return [r.payload for r in rows]


@pytest.fixture()
def ids() -> dict[str, uuid.UUID]:
    return {name: uuid.uuid4() for name in ("inst", "other_inst", "program", "other_program", "mentee", "mentor", "mentee2", "mentee3")}


def test_a_withdrawn_mentee_s_match_is_dissolved_by_the_system(engine: Engine, ids: dict[str, uuid.UUID]) -> None:
    match = new_match(engine, ids["inst"], ids["program"], ids["mentee"], ids["mentor"])
    assert consume(engine, withdrawn(ids["inst"], ids["program"], ids["mentee"])) == 1
    assert statuses(engine)[match] == ("dissolved", "system", "The mentee withdrew from the program")
    [event] = dissolved_events(engine)
    assert event["match_id"] == str(match) and event["dissolved_by"] == "system"
    assert event["mentor_account_id"] == f"acc-{ids['mentor']}"  # sessions ends the dyad of both


def test_a_withdrawn_mentor_loses_every_mentee(engine: Engine, ids: dict[str, uuid.UUID]) -> None:
    """Peru: a mentor takes two mentees; a proposed match ends as well as the active one."""
    first = new_match(engine, ids["inst"], ids["program"], ids["mentee"], ids["mentor"])
    second = new_match(engine, ids["inst"], ids["program"], ids["mentee2"], ids["mentor"], status="proposed")
    someone_else = new_match(engine, ids["inst"], ids["program"], ids["mentee3"], uuid.uuid4())
    consume(engine, withdrawn(ids["inst"], ids["program"], ids["mentor"], role="mentor"))
    after = statuses(engine)
    assert after[first] == after[second] == ("dissolved", "system", "The mentor withdrew from the program")
    assert after[someone_else] == ("active", None, None)
    assert sorted(e["match_id"] for e in dissolved_events(engine)) == sorted([str(first), str(second)])


def test_a_replayed_withdrawal_dissolves_once(engine: Engine, ids: dict[str, uuid.UUID]) -> None:
    new_match(engine, ids["inst"], ids["program"], ids["mentee"], ids["mentor"])
    event = withdrawn(ids["inst"], ids["program"], ids["mentee"])
    assert consume(engine, event) == 1
    assert consume(engine, event, event) == 0  # delivered again (twice): already handled
    with Session(engine) as s:  # handled again without the consumer's record: no live match is left
        withdrawals.handle(s, event)
        s.commit()
    assert len(dissolved_events(engine)) == 1
    with Session(engine) as s:
        assert [h.event_type for h in s.exec(select(HandledEvent)).all()] == ["participant.withdrawn"]


def test_a_withdrawal_without_a_match_changes_nothing(engine: Engine, ids: dict[str, uuid.UUID]) -> None:
    ended = new_match(engine, ids["inst"], ids["program"], ids["mentee"], ids["mentor"], status="completed")
    assert consume(engine, withdrawn(ids["inst"], ids["program"], ids["mentee2"]), withdrawn(ids["inst"], ids["program"], ids["mentee"])) == 2
    assert statuses(engine)[ended] == ("completed", None, None)  # a completed match stays completed
    assert dissolved_events(engine) == []


def test_other_programs_and_institutions_are_untouched(engine: Engine, ids: dict[str, uuid.UUID]) -> None:
    here = new_match(engine, ids["inst"], ids["program"], ids["mentee"], ids["mentor"])
    other_program = new_match(engine, ids["inst"], ids["other_program"], ids["mentee"], ids["mentor"])
    other_inst = new_match(engine, ids["other_inst"], ids["program"], ids["mentee"], ids["mentor"])
    consume(engine, withdrawn(ids["inst"], ids["program"], ids["mentee"]))
    after = statuses(engine)
    assert after[here][0] == "dissolved"
    assert after[other_program] == after[other_inst] == ("active", None, None)


def test_other_events_and_malformed_ones_change_nothing_and_do_not_block_the_feed(engine: Engine, ids: dict[str, uuid.UUID]) -> None:
    match = new_match(engine, ids["inst"], ids["program"], ids["mentee"], ids["mentor"])
    other = withdrawn(ids["inst"], ids["program"], ids["mentee"]).model_copy(update={"type": "participant.status_changed"})
    no_tenant = withdrawn(None, ids["program"], ids["mentee"])
    bad_program = withdrawn(ids["inst"], "not-a-uuid", ids["mentee"])
    no_participant = withdrawn(ids["inst"], ids["program"], ids["mentee"])
    no_participant.payload.pop("participant_id")
    assert consume(engine, other, no_tenant, bad_program, no_participant) == 4
    assert statuses(engine)[match] == ("active", None, None)
    # The feed moved past them: a well-formed withdrawal after them applies.
    assert consume(engine, other, no_tenant, bad_program, no_participant, withdrawn(ids["inst"], ids["program"], ids["mentee"])) == 1
    assert statuses(engine)[match][0] == "dissolved"


def test_without_credentials_there_is_no_consumer(engine: Engine) -> None:
    assert make_consumer(matching_settings("sqlite://", "http://participants.test"), engine) is None
