"""Data-subject export and erasure of the notifications service (services/notifications/data_rights.py):
her inbox, deliveries (her address), preferences and reminders are exported and erased; her
counterpart keeps his messages, which no longer name her."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from servicekit.outbox import EventOut
from servicekit.personal_data import classified, traces
from servicekit.testing import Mint, bearer

from services.notifications import data_rights, intake
from services.notifications.models import Base

from .conftest import INSTITUTION, Clock, Contacts, Feeds, SmtpServer, meeting_payload


def gateway(mint: Mint) -> dict[str, str]:
    return bearer(mint(sub="service:gateway", scope="data-subjects:internal", client_id="service:gateway"))


def test_every_table_is_classified_once() -> None:
    assert classified(Base.metadata, data_rights.PERSONAL, data_rights.NOT_PERSONAL) == []


async def test_export_then_erasure_leave_nothing_of_hers_and_keep_her_counterparts_messages(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock, http: TestClient, mint: Mint) -> None:
    contacts.add("ana-7731", name="Ana", email="ana-7731@ujat.test")
    contacts.add("berta", name="Berta", email="berta@ujat.test")
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=frozen.at + timedelta(days=3), mentee="ana-7731", mentor="berta"))
    await feeds.consumer(engine).poll_once()
    await sender.send_due()
    me = bearer(mint(sub="ana-7731", tid=INSTITUTION, roles=["mentee"]))
    assert http.put("/v1/notifications/preferences/meeting_tomorrow", json={"setting": "off"}, headers=me).status_code == 200
    needles = ["ana-7731"]
    assert set(traces(engine, Base.metadata, needles)) == {"notifications", "deliveries", "preferences", "reminders", "dyad_members"}

    body = {"institution_id": INSTITUTION, "account_id": "ana-7731", "participant_ids": []}
    assert http.post("/internal/data-subjects/export", json=body, headers=me).status_code == 403
    out = http.post("/internal/data-subjects/export", json=body, headers=gateway(mint)).json()["tables"]
    assert [d["to_address"] for d in out["deliveries"]] == ["ana-7731@ujat.test"]
    assert [n["kind"] for n in out["notifications"]] == ["meeting_proposed"]
    assert [(p["kind"], p["setting"]) for p in out["preferences"]] == [("meeting_tomorrow", "off")]
    assert [r["kind"] for r in out["reminders"]] == ["meeting_tomorrow"]
    assert [m["role"] for m in out["dyad_members"]] == ["mentee"]
    assert "berta@ujat.test" not in repr(out)

    erased = http.post("/internal/data-subjects/erasure", json=body, headers=gateway(mint)).json()["tables"]
    # Hers deleted, and Berta's message and reminder no longer name her.
    assert erased == {"deliveries": 1, "notifications": 2, "preferences": 1, "reminders": 2, "dyad_members": 1}
    assert traces(engine, Base.metadata, needles) == {}
    berta = http.get("/v1/notifications/mine", headers=bearer(mint(sub="berta", tid=INSTITUTION, roles=["mentor"]))).json()["items"]
    assert [n["kind"] for n in berta] == ["meeting_proposed"]
    again = http.post("/internal/data-subjects/erasure", json=body, headers=gateway(mint)).json()["tables"]
    assert set(again.values()) == {0}


async def test_an_event_about_her_read_after_her_erasure_writes_nothing_of_hers(
        engine: Engine, feeds: Feeds, contacts: Contacts, frozen: Clock, http: TestClient, mint: Mint) -> None:
    """Her source scrubs its outbox at erasure, but an event may already be on its way: the
    consumer reads it after the erasure reached this service. Her counterpart still hears."""
    contacts.add("ana-7731", name="Ana", email="ana-7731@ujat.test")
    contacts.add("berta", name="Berta", email="berta@ujat.test")
    body = {"institution_id": INSTITUTION, "account_id": "ana-7731", "participant_ids": []}
    assert http.post("/internal/data-subjects/erasure", json=body, headers=gateway(mint)).status_code == 200
    for mentee, mentor in (("ana-7731", "berta"), ("berta", "ana-7731")):
        feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=frozen.at + timedelta(days=3),
                                                       mentee=mentee, mentor=mentor))
    assert await feeds.consumer(engine).poll_once() == 2
    assert traces(engine, Base.metadata, ["ana-7731"]) == {}
    berta = http.get("/v1/notifications/mine", headers=bearer(mint(sub="berta", tid=INSTITUTION, roles=["mentor"]))).json()["items"]
    assert [n["kind"] for n in berta] == ["meeting_proposed", "meeting_proposed"]
    # Another institution's Ana is another person: her messages arrive.
    other = str(uuid.uuid4())
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=frozen.at + timedelta(days=3),
                                                   mentee="ana-7731", mentor="carla"), tenant=other)
    assert await feeds.consumer(engine).poll_once() == 1
    assert set(traces(engine, Base.metadata, ["ana-7731"])) == {"notifications", "deliveries", "reminders", "dyad_members"}


def test_the_erasure_waits_for_the_event_being_handled_and_leaves_nothing_of_hers(
        engine: Engine, feeds: Feeds, frozen: Clock) -> None:
    """The race itself, on the real database: an event about her is in the middle of its
    transaction when her erasure starts. The erasure waits for it, then finds and deletes
    what it wrote; without that wait, the event's rows would land after the erasure."""
    inside, release = threading.Event(), threading.Event()
    handle = intake.handler(timedelta(hours=72))

    def slow(session: Session, event: EventOut) -> None:
        handle(session, event)
        if event.payload.get("mentee_account_id") == "ana-7731":
            inside.set()
            assert release.wait(30)

    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=frozen.at + timedelta(days=3), mentee="x", mentor="y"))
    asyncio.run(feeds.consumer(engine).poll_once())  # the feed's cursor row exists from here on
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=frozen.at + timedelta(days=3),
                                                   mentee="ana-7731", mentor="berta"))
    consumer = feeds.consumer(engine)
    consumer.handler = slow
    polling = threading.Thread(target=lambda: asyncio.run(consumer.poll_once()))
    polling.start()
    assert inside.wait(30)

    def erase() -> None:
        with Session(engine) as session:
            data_rights.erase_subject(session, uuid.UUID(INSTITUTION), "ana-7731", [])
            session.commit()

    erasing = threading.Thread(target=erase)
    erasing.start()
    erasing.join(0.5)
    assert erasing.is_alive()  # held by the event's transaction
    release.set()
    polling.join(30)
    erasing.join(30)
    assert not polling.is_alive() and not erasing.is_alive()
    assert traces(engine, Base.metadata, ["ana-7731"]) == {}
