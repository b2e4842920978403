"""Quiet hours over real SMTP: a delivery due at night in her time zone waits, without counting
as an attempt, and goes out when her quiet hours end; an institution may set its own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.notifications.models import Delivery

from .conftest import INSTITUTION, Clock, Contacts, Feeds, SmtpServer, sender_for, settings_for


def deliveries(engine: Engine) -> dict[str, Delivery]:
    with Session(engine) as session:
        return {d.account_id: d for d in session.exec(select(Delivery)).all()}


def submitted(feeds: Feeds, account: str) -> None:
    feeds.add("application.submitted", {"application_id": str(uuid.uuid4()), "program_id": str(uuid.uuid4()), "account_id": account})


async def test_a_message_due_in_her_quiet_hours_waits_until_they_end_in_her_time_zone(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock) -> None:
    contacts.add("ana", name="Ana", email="ana@ujat.test", timezone="America/Mexico_City")
    contacts.add("berta", name="Berta", email="berta@ujat.test", language="en", timezone="Europe/Madrid")
    frozen.at = datetime(2026, 8, 2, 3, 30, tzinfo=UTC)  # 21:30 in Mexico City, 05:30 in Madrid
    submitted(feeds, "ana")
    submitted(feeds, "berta")
    # An obligation waits too: a selection is not urgent at night.
    feeds.add("application.invited", {"application_id": str(uuid.uuid4()), "program_id": str(uuid.uuid4()), "account_id": "carla",
                                      "confirm_by": "2026-08-10T05:00:00+00:00"})
    contacts.add("carla", name="Carla", email="carla@ujat.test", timezone="America/Mexico_City")
    await feeds.consumer(engine, "participants").poll_once()
    assert await sender.send_due() == 3
    assert smtp.received == []
    held = deliveries(engine)
    assert {a: (d.status, d.attempts, d.next_attempt_at) for a, d in held.items()} == {
        "ana": ("pending", 0, datetime(2026, 8, 2, 14, 0, tzinfo=UTC)),  # 08:00 in Mexico City
        "carla": ("pending", 0, datetime(2026, 8, 2, 14, 0, tzinfo=UTC)),
        "berta": ("pending", 0, datetime(2026, 8, 2, 6, 0, tzinfo=UTC)),  # 08:00 in Madrid (summer time)
    }
    frozen.at = datetime(2026, 8, 2, 5, 59, tzinfo=UTC)
    assert await sender.send_due() == 0
    frozen.at = datetime(2026, 8, 2, 6, 0, tzinfo=UTC)
    assert await sender.send_due() == 1
    assert [m["To"] for m in smtp.received] == ["Berta <berta@ujat.test>"]
    frozen.at = datetime(2026, 8, 2, 13, 59, tzinfo=UTC)  # 07:59 in Mexico City
    assert await sender.send_due() == 0
    frozen.at = datetime(2026, 8, 2, 14, 0, tzinfo=UTC)
    assert await sender.send_due() == 2
    assert sorted(m["To"] for m in smtp.received) == ["Ana <ana@ujat.test>", "Berta <berta@ujat.test>", "Carla <carla@ujat.test>"]
    assert {a: (d.status, d.attempts) for a, d in deliveries(engine).items()} == {
        "ana": ("sent", 1), "berta": ("sent", 1), "carla": ("sent", 1)}
    assert await sender.send_due() == 0  # once


async def test_before_midnight_the_wait_runs_to_the_next_morning_and_an_institution_sets_its_own_hours(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, database_url: str, contacts: Contacts, frozen: Clock) -> None:
    contacts.add("ana", name="Ana", email="ana@ujat.test", timezone="America/Lima")
    frozen.at = datetime(2026, 8, 2, 2, 0, tzinfo=UTC)  # 21:00 in Lima: quiet from this minute
    submitted(feeds, "ana")
    await feeds.consumer(engine, "participants").poll_once()
    await sender_for(settings_for(database_url, smtp.port), engine, contacts).send_due()
    assert deliveries(engine)["ana"].next_attempt_at == datetime(2026, 8, 2, 13, 0, tzinfo=UTC)  # 08:00 the next morning in Lima
    # Her institution keeps quiet from 23:00 to 07:00 only: 21:00 is not quiet there.
    own = sender_for(settings_for(database_url, smtp.port, quiet_hours_by_institution={INSTITUTION: "23:00-07:00"}), engine, contacts)
    with Session(engine) as session:  # due now again, at 21:00 in Lima
        d = session.exec(select(Delivery)).one()
        d.next_attempt_at = frozen.at
        session.add(d)
        session.commit()
    assert await own.send_due() == 1
    assert [m["To"] for m in smtp.received] == ["Ana <ana@ujat.test>"]
    # None at all: the setting is empty.
    submitted(feeds, "ana")
    await feeds.consumer(engine, "participants").poll_once()
    frozen.at = datetime(2026, 8, 2, 8, 0, tzinfo=UTC)  # 03:00 in Lima
    none = sender_for(settings_for(database_url, smtp.port, quiet_hours=""), engine, contacts)
    assert await none.send_due() == 1 and len(smtp.received) == 2
