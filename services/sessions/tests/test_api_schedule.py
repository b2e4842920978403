"""Dyads from the matching feed: the proposed schedule (both availabilities, time zones, a DST change),
idempotent delivery, dissolution, and a real matching feed polled over HTTP."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import uvicorn
from sqlmodel import Session, select

from servicekit.db import make_engine
from servicekit.outbox import emit
from servicekit.testing import TEST_AUDIENCE, TEST_ISSUER

from services.sessions.main import make_consumer
from services.sessions.models import HandledEvent, Meeting
from services.sessions.tests.conftest import activated, deliver, events, ok, sessions_settings

MX, MADRID = ZoneInfo("America/Mexico_City"), ZoneInfo("Europe/Madrid")


def _inside(local: datetime, slots: list[dict[str, Any]], minutes: int = 60) -> bool:
    start = local.hour * 60 + local.minute
    for s in slots:
        a = int(s["start"][:2]) * 60 + int(s["start"][3:])
        b = int(s["end"][:2]) * 60 + int(s["end"][3:])
        if s["weekday"] == local.weekday() and a <= start and start + minutes <= b:
            return True
    return False


def test_schedule_respects_both_availabilities_across_a_dst_change(world: Any, engine: Any, frozen: Any) -> None:
    inst = world.institution()  # activated on 1 August, before the phase: the whole phase is proposed
    mentee_slots = [{"weekday": 1, "start": "10:00", "end": "12:00"}]
    mentor_slots = [{"weekday": 1, "start": "17:00", "end": "20:00"}]
    dyad = world.dyad(inst, mentee_tz="America/Mexico_City", mentor_tz="Europe/Madrid", mentee_slots=mentee_slots,
                      mentor_slots=mentor_slots, starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 15))
    got = ok(dyad.mentee.get(f"/v1/dyads/{dyad.id}"))
    assert got["schedule_status"] == "ok" and got["schedule_slot"].startswith("Tue")
    meetings = dyad.meetings()
    assert len(meetings) == 12 and [m["number"] for m in meetings] == list(range(1, 13))
    mentor_hours = set()
    for m in meetings:
        start = datetime.fromisoformat(m["start"])
        assert _inside(start.astimezone(MX), mentee_slots) and _inside(start.astimezone(MADRID), mentor_slots), m["start"]
        mentor_hours.add((start.astimezone(MADRID).date() > date(2026, 10, 25), start.astimezone(MADRID).hour))
        assert m["status"] == "scheduled" and m["modality"] == "virtual" and m["sequence"] == 0
    # Madrid puts its clocks back on 25 October: the same Mexico City time is an hour earlier there.
    assert {h for after, h in mentor_hours if not after} != {h for after, h in mentor_hours if after}
    assert len({datetime.fromisoformat(m["start"]).astimezone(MX).strftime("%a %H:%M") for m in meetings}) == 1
    assert len(events(engine, "meeting.scheduled")) == 12


def test_a_dyad_activated_during_the_phase_meets_from_tomorrow(world: Any, frozen: Any) -> None:
    # A re-match from a substitute on 1 October: the weeks already gone are not proposed.
    frozen.set(datetime(2026, 10, 1, 15, 0, tzinfo=MX))
    slots = [{"weekday": 1, "start": "10:00", "end": "12:00"}]
    dyad = world.dyad(world.institution(), mentee_slots=slots, mentor_slots=slots,
                      starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 15))  # fmt: skip
    starts = [datetime.fromisoformat(m["start"]).astimezone(MX).date() for m in dyad.meetings()]
    assert starts and min(starts) == date(2026, 10, 6)  # the first Tuesday after 1 October
    assert len(starts) == 11 and max(starts) <= date(2026, 12, 15)  # as many Tuesdays as are left
    assert ok(dyad.mentee.get(f"/v1/dyads/{dyad.id}"))["schedule_status"] != "ok"  # and it says so


def test_no_common_slot_is_recorded_without_meetings(world: Any) -> None:
    inst = world.institution()
    dyad = world.dyad(inst, mentee_slots=[{"weekday": 0, "start": "08:00", "end": "09:00"}],
                      mentor_slots=[{"weekday": 3, "start": "18:00", "end": "19:00"}])
    got = ok(dyad.mentor.get(f"/v1/dyads/{dyad.id}"))
    assert got["schedule_status"] == "no_common_slot" and "never overlap" in got["schedule_reasons"][0]
    assert dyad.meetings() == []


def test_delivery_is_idempotent_and_dissolution_cancels_future_meetings(world: Any, engine: Any, frozen: Any) -> None:
    inst = world.institution()
    dyad = world.dyad(inst, delivery="in_person")
    deliver(engine, "match.activated", dyad.payload)  # a second delivery changes nothing
    assert len(dyad.meetings()) == 12 and len(events(engine, "meeting.scheduled")) == 12
    assert {m["modality"] for m in dyad.meetings()} == {"in_person"}
    frozen.set(datetime.fromisoformat(dyad.meetings()[3]["start"]))
    deliver(engine, "match.dissolved", {**dyad.payload, "reason": "lack of rapport"})
    deliver(engine, "match.dissolved", {**dyad.payload, "reason": "lack of rapport"})
    got = ok(dyad.mentee.get(f"/v1/dyads/{dyad.id}"))
    assert got["status"] == "dissolved" and got["ended_at"]
    statuses = [m["status"] for m in dyad.meetings()]
    assert statuses == ["scheduled"] * 4 + ["cancelled"] * 8
    assert all(m["sequence"] == 1 for m in dyad.meetings()[4:])
    m = dyad.meetings()[5]
    assert ok(dyad.mentee.get(f"/v1/meetings/{m['id']}/history"))[0]["by"] == "system"
    assert dyad.mentee.post(f"/v1/meetings/{m['id']}/reschedule", json={"start": "2026-12-01T16:00:00Z", "reason": "otra"}).status_code == 409


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StaticTokens:
    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token


def test_consumer_polls_a_real_matching_feed(database_factory: Any, key_source: Any, mint: Any, engine: Any, database_url: str, frozen: Any) -> None:
    # Activated on 1 August (the frozen clock), before the phase: twelve meetings each.
    from services.matching.config import Settings as MatchingSettings
    from services.matching.db import migrate as migrate_matching
    from services.matching.main import create_app as create_matching
    from services.matching.models import OutboxEvent as MatchingEvent

    url = database_factory.new("sfeed")
    migrate_matching(url)
    m_engine = make_engine(url, pool_size=4, max_overflow=2)
    inst, program = str(uuid.uuid4()), str(uuid.uuid4())
    payloads = [activated(inst, program, mentee_account=f"me-{i}", mentor_account=f"mo-{i}") for i in range(3)]
    with Session(m_engine) as s:
        for p in payloads:
            emit(s, MatchingEvent, "match.published", subject=p["match_id"], tenant_id=inst, payload={"match_id": p["match_id"]})
            emit(s, MatchingEvent, "match.activated", subject=p["match_id"], tenant_id=inst, payload=p)
        emit(s, MatchingEvent, "match.completed", subject=payloads[0]["match_id"], tenant_id=inst, payload=payloads[0])
        s.commit()
    app = create_matching(MatchingSettings(database_url=url, jwt_issuer=TEST_ISSUER, jwt_audience=TEST_AUDIENCE, threadpool_size=4,
                                           log_level="WARNING"), key_source=key_source, engine=m_engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        settings = sessions_settings(database_url, matching_url=f"http://127.0.0.1:{port}")
        tokens = StaticTokens(mint(sub="svc-sessions", scope="events:read", client_id="sessions"))
        consumer = make_consumer(settings, engine, tokens)
        assert consumer is not None
        assert asyncio.run(consumer.poll_once()) == 7
        assert asyncio.run(consumer.poll_once()) == 0  # caught up: nothing applied twice
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        m_engine.dispose()
    with Session(engine) as s:
        assert len(s.exec(select(HandledEvent)).all()) == 7
        assert len(s.exec(select(Meeting)).all()) == 36
    assert make_consumer(sessions_settings(database_url), engine) is None  # no credentials: no consumer
