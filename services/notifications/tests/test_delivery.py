"""E-mail over real SMTP: what arrives (headers, both parts, her language and time zone, the
invitation), exactly once across duplicate events, competing replicas, an SMTP outage and a
restart; 4xx retried with backoff, 5xx failed and shown; unsubscribing honoured."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

from icalendar import Calendar
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.notifications.models import Delivery, Notification

from .conftest import (
    INSTITUTION, Clock, Contacts, Feeds, SmtpServer, meeting_payload, parts, sender_for, settings_for,
)  # fmt: skip


def deliveries(engine: Engine) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)).all())


def people(contacts: Contacts) -> None:
    contacts.add("mentee-1", name="Ana Pérez", email="ana@ujat.test", participant_id=str(uuid.uuid4()))
    contacts.add("mentor-1", name="Berta Díaz", email="berta@ujat.test", language="en", timezone="Europe/Madrid",
                 participant_id=str(uuid.uuid4()))


async def test_an_application_received_arrives_in_spanish_with_both_parts_and_the_sending_headers(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock) -> None:
    contacts.add("applicant-1", name="Carla Ruiz", email="carla@ujat.test", language=None, institution_language="es")
    feeds.add("application.submitted", {"application_id": str(uuid.uuid4()), "program_id": str(uuid.uuid4()),
                                        "account_id": "applicant-1", "role": "mentee", "status": "submitted"})
    assert await feeds.consumer(engine, "participants").poll_once() == 1
    assert await sender.send_due() == 1
    [msg] = smtp.received
    assert msg["To"] == "Carla Ruiz <carla@ujat.test>"
    assert msg["From"] == "Universidad Juárez Autónoma de Tabasco <programa@aliada.test>"
    assert msg["Reply-To"] == "mentoria@ujat.test"
    assert msg["Subject"] == "Recibimos tu postulación"
    assert msg["Content-Language"] == "es"
    [d] = deliveries(engine)
    assert msg["Message-ID"] == f"<{d.id}@aliada.test>" and d.message_id == msg["Message-ID"]
    assert parsedate_to_datetime(msg["Date"]) == frozen.at
    body = parts(msg)
    assert set(body) == {"text/plain", "text/html"}
    assert "Hola, Carla Ruiz:" in body["text/plain"] and "Tu postulación fue recibida" in body["text/plain"]
    assert "<p>Hola, Carla Ruiz:</p>" in body["text/html"]
    assert "List-Unsubscribe" in msg and msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (d.status, d.attempts, d.to_address, d.sent_at) == ("sent", 1, "carla@ujat.test", frozen.at)


async def test_selected_names_the_deadline_in_her_time_zone_and_carries_no_unsubscribe(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock) -> None:
    contacts.add("applicant-2", name="Dora", email="dora@ujat.test", language="en", timezone="America/Lima")
    application = str(uuid.uuid4())
    feeds.add("application.invited", {"application_id": application, "program_id": str(uuid.uuid4()), "account_id": "applicant-2",
                                      "confirm_by": "2026-08-10T04:59:00+00:00"})
    await feeds.consumer(engine, "participants").poll_once()
    await sender.send_due()
    [msg] = smtp.received
    text = parts(msg)["text/plain"]
    assert msg["Subject"] == "You have been selected: confirm your place"
    # 04:59 UTC on the 10th is 23:59 on the 9th in Lima.
    assert "Please confirm your place before Sunday, August 9, 2026 11:59\u202fPM (Peru Time)." in text
    assert f"https://app.aliada.test/applications/{application}/confirm" in text
    assert "Why you receive this: Your place is kept only if you confirm it before the deadline." in text
    assert "List-Unsubscribe" not in msg


async def test_meeting_invitations_request_then_request_again_then_cancel_with_one_uid_and_a_rising_sequence(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock) -> None:
    people(contacts)
    meeting, start = str(uuid.uuid4()), frozen.at + timedelta(days=5)
    common = {"dyad_id": str(uuid.uuid4()), "program_id": str(uuid.uuid4())}
    feeds.add("meeting.scheduled", meeting_payload(meeting, start=start, **common))
    feeds.add("meeting.rescheduled", meeting_payload(meeting, start=start + timedelta(days=1), sequence=1,
                                                     previous_start=start.isoformat(), reason="XQ-private-reason", **common))
    feeds.add("meeting.cancelled", meeting_payload(meeting, start=start + timedelta(days=1), sequence=2, by="mentor", **common))
    await feeds.consumer(engine).poll_once()
    while await sender.send_due():
        pass
    assert len(smtp.received) == 6
    seen = []
    for msg in smtp.received:
        body = parts(msg)
        assert "XQ-private-reason" not in str(msg)
        cal = Calendar.from_ical(body["text/calendar"])
        [event] = cal.walk("VEVENT")
        seen.append((msg["To"], str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"])))
        assert str(event["ATTENDEE"]).removeprefix("mailto:") in msg["To"]
    uid = f"meeting-{meeting}@aliada"
    for to in ("Ana Pérez <ana@ujat.test>", "Berta Díaz <berta@ujat.test>"):
        # Sent side by side, they may arrive in any order: her calendar goes by SEQUENCE, the highest wins.
        mine = sorted((s[1:] for s in seen if s[0] == to), key=lambda s: s[2])
        assert mine == [("REQUEST", uid, 0), ("REQUEST", uid, 1), ("CANCEL", uid, 2)]
    def sequence(msg) -> int:
        return int(Calendar.from_ical(parts(msg)["text/calendar"]).walk("VEVENT")[0]["SEQUENCE"])

    berta = sorted((m for m in smtp.received if "berta" in m["To"]), key=sequence)
    assert berta[0]["Subject"].startswith("Meeting 1 proposed: ")
    assert "Meeting 1 with Ana Pérez is proposed for" in parts(berta[0])["text/plain"]
    assert "(Spain (Madrid) Time)" in parts(berta[0])["text/plain"]
    ana = sorted((m for m in smtp.received if "ana@" in m["To"]), key=sequence)
    assert ana[2]["Subject"] == "Reunión 1 cancelada"
    assert "La reunión 1 con Berta Díaz" in parts(ana[2])["text/plain"]


async def test_a_match_names_her_counterpart_and_links_the_public_profile(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock) -> None:
    people(contacts)
    mentor_pid = str(uuid.uuid4())
    feeds.add("match.published", {"match_id": str(uuid.uuid4()), "program_id": str(uuid.uuid4()), "institution_id": INSTITUTION,
                                  "mentee_participant_id": str(uuid.uuid4()), "mentor_participant_id": mentor_pid,
                                  "mentee_account_id": "mentee-1", "mentor_account_id": "mentor-1", "score": 0.8})
    await feeds.consumer(engine, "matching").poll_once()
    await sender.send_due()
    ana = next(m for m in smtp.received if "ana@" in m["To"])
    text = parts(ana)["text/plain"]
    assert "Tu mentora es Berta Díaz." in text
    assert f"https://app.aliada.test/participants/{mentor_pid}/public-profile" in text
    assert len(smtp.received) == 2


async def test_a_duplicate_event_and_two_replicas_sending_at_once_deliver_each_message_once(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, database_url: str, contacts: Contacts, frozen: Clock) -> None:
    people(contacts)
    event = feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=frozen.at + timedelta(days=3)))
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=frozen.at + timedelta(days=10)), event_id=event)
    await feeds.consumer(engine).poll_once()
    await feeds.consumer(engine).poll_once()  # a second replica reading the same feed
    assert len(deliveries(engine)) == 2
    replicas = [sender_for(settings_for(database_url, smtp.port), engine, contacts) for _ in range(2)]
    await asyncio.gather(*(r.send_due() for r in replicas))
    assert sorted(m["To"] for m in smtp.received) == ["Ana Pérez <ana@ujat.test>", "Berta Díaz <berta@ujat.test>"]


async def test_an_smtp_outage_and_a_restart_lose_nothing_and_send_nothing_twice(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, database_url: str, contacts: Contacts, frozen: Clock) -> None:
    people(contacts)
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=frozen.at + timedelta(days=3)))
    await feeds.consumer(engine).poll_once()
    smtp.stop()
    first = sender_for(settings_for(database_url, smtp.port), engine, contacts)
    await first.send_due()
    pending = deliveries(engine)
    assert [(d.status, d.attempts) for d in pending] == [("pending", 1), ("pending", 1)]
    assert all(d.next_attempt_at == frozen.at + timedelta(seconds=60) and "unreachable" in (d.last_error or "") for d in pending)
    smtp.start()
    assert await first.send_due() == 0  # not due yet: the backoff holds
    frozen.advance(seconds=61)
    restarted = sender_for(settings_for(database_url, smtp.port), engine, contacts)  # a new process
    assert await restarted.send_due() == 2
    assert await restarted.send_due() == 0
    frozen.advance(days=1)
    assert await sender_for(settings_for(database_url, smtp.port), engine, contacts).send_due() == 0
    assert len(smtp.received) == 2
    assert [(d.status, d.attempts) for d in deliveries(engine)] == [("sent", 2), ("sent", 2)]


async def test_a_replica_that_dies_holding_a_lease_leaves_the_delivery_to_another_after_it(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock) -> None:
    from services.notifications.delivery import claim

    people(contacts)
    feeds.add("application.submitted", {"application_id": str(uuid.uuid4()), "program_id": str(uuid.uuid4()), "account_id": "mentee-1"})
    await feeds.consumer(engine, "participants").poll_once()
    [held] = claim(engine, sender.leases)  # claimed, then the replica died
    assert await sender.send_due() == 0
    with Session(engine) as session:  # its lease runs out (leases run on the system clock, not the simulated one)
        session.execute(update(Delivery).where(Delivery.id == held.delivery_id).values(lease_until=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()
    assert await sender.send_due() == 1
    assert len(smtp.received) == 1
    assert not sender.finish(held, status="sent")  # the dead replica's lease is gone: it records nothing


async def test_a_4xx_is_retried_with_backoff_until_the_last_attempt_fails_it(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock) -> None:
    people(contacts)
    smtp.mailbox.refuse_data = "451 4.3.0 Mailbox busy, try again later"
    feeds.add("application.submitted", {"application_id": str(uuid.uuid4()), "program_id": str(uuid.uuid4()), "account_id": "mentee-1"})
    await feeds.consumer(engine, "participants").poll_once()
    waits = []
    for _ in range(3):
        await sender.send_due()
        [d] = deliveries(engine)
        waits.append(d.next_attempt_at - frozen.at)
        frozen.advance(hours=1)
    [d] = deliveries(engine)
    assert waits[:2] == [timedelta(seconds=60), timedelta(seconds=120)]
    assert (d.status, d.attempts) == ("failed", 3)
    assert d.last_error == "gave up after 3 attempts: 451 4.3.0 Mailbox busy, try again later"
    assert smtp.received == []


async def test_a_5xx_fails_at_once_and_participants_out_of_reach_is_temporary(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock) -> None:
    people(contacts)
    feeds.add("application.submitted", {"application_id": str(uuid.uuid4()), "program_id": str(uuid.uuid4()), "account_id": "mentee-1"})
    await feeds.consumer(engine, "participants").poll_once()
    contacts.down = True
    await sender.send_due()
    [d] = deliveries(engine)
    assert (d.status, d.attempts) == ("pending", 1) and "participants unreachable" in (d.last_error or "")
    contacts.down = False
    smtp.mailbox.refuse_rcpt = "550 5.1.1 No such user"
    frozen.advance(minutes=5)
    await sender.send_due()
    [d] = deliveries(engine)
    assert (d.status, d.attempts, d.last_error) == ("failed", 2, "550 5.1.1 No such user")


async def test_unknown_people_and_people_without_an_address_are_skipped_with_the_reason(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock) -> None:
    contacts.add("no-address", name="Eva", email=None)
    for account in ("no-address", "nobody"):
        feeds.add("application.submitted", {"application_id": str(uuid.uuid4()), "program_id": str(uuid.uuid4()), "account_id": account})
    await feeds.consumer(engine, "participants").poll_once()
    await sender.send_due()
    assert sorted((d.status, d.last_error) for d in deliveries(engine)) == [
        ("skipped", "no e-mail address"), ("skipped", "participants knows no such person in this institution")]
    assert smtp.received == []


async def test_the_one_click_unsubscribe_link_stops_that_kind_only(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock, http) -> None:
    people(contacts)
    # mentor-x is unknown to participants: only Ana gets mail.
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=frozen.at + timedelta(days=3), mentor="mentor-x"))
    await feeds.consumer(engine).poll_once()
    await sender.send_due()
    [msg] = smtp.received
    link = msg["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://api.aliada.test/v1/notifications/unsubscribe?token=")
    path = urlsplit(link)
    token = parse_qs(path.query)["token"][0]
    assert http.get(path.path, params={"token": token}).json() == {"kind": "meeting_proposed", "setting": "on"}
    answer = http.post(path.path, params={"token": token}, content=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200 and answer.json() == {"kind": "meeting_proposed", "setting": "off"}
    start = frozen.at + timedelta(days=10)
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=start, mentor="mentor-x", number=2))
    feeds.add("meeting.cancelled", meeting_payload(str(uuid.uuid4()), start=start, mentor="mentor-x", number=3, sequence=1))
    await feeds.consumer(engine).poll_once()
    await sender.send_due()
    assert [m["Subject"] for m in smtp.received[1:]] == ["Reunión 3 cancelada"]  # obligatory: still sent
    hers = [(d.status, d.last_error) for d in deliveries(engine) if d.account_id == "mentee-1"]
    assert hers == [("sent", None), ("skipped", "unsubscribed from this kind"), ("sent", None)]
    with Session(engine) as session:  # the inbox still has all three
        assert len(session.exec(select(Notification).where(Notification.account_id == "mentee-1")).all()) == 3


async def test_an_old_event_reaches_the_inbox_but_is_not_mailed(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock) -> None:
    people(contacts)
    feeds.add("application.submitted", {"application_id": str(uuid.uuid4()), "program_id": str(uuid.uuid4()), "account_id": "mentee-1"},
              occurred_at=datetime.now(UTC) - timedelta(hours=73))
    await feeds.consumer(engine, "participants").poll_once()
    assert await sender.send_due() == 0
    assert deliveries(engine) == [] and smtp.received == []
    with Session(engine) as session:
        assert [n.kind for n in session.exec(select(Notification)).all()] == ["application_received"]


async def test_kinds_she_gets_as_a_digest_wait_and_arrive_together_once_a_day(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock, http, mint) -> None:
    from servicekit.testing import bearer

    from services.notifications import digests

    people(contacts)
    me = bearer(mint(sub="mentee-1", tid=INSTITUTION, roles=["mentee"]))
    for kind in ("meeting_proposed", "meeting_rescheduled"):
        assert http.put(f"/v1/notifications/preferences/{kind}", json={"setting": "digest"}, headers=me).status_code == 200
    meeting = str(uuid.uuid4())
    start = frozen.at + timedelta(days=5)
    feeds.add("meeting.scheduled", meeting_payload(meeting, start=start))
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=start + timedelta(days=7), number=2))
    feeds.add("meeting.rescheduled", meeting_payload(meeting, start=start + timedelta(hours=2), sequence=1))
    await feeds.consumer(engine).poll_once()
    await sender.send_due()
    assert sorted(m["To"] for m in smtp.received) == ["Berta Díaz <berta@ujat.test>"] * 3  # Berta gets hers one by one
    assert sorted(d.status for d in deliveries(engine) if d.account_id == "mentee-1") == ["held"] * 3

    def collect() -> int:
        with Session(engine) as session:
            made = digests.collect(session, frozen.at, timedelta(hours=24))
            session.commit()
            return made

    frozen.advance(hours=23)
    assert collect() == 0
    frozen.advance(hours=1)
    assert collect() == 1
    assert collect() == 0  # gathered once
    await sender.send_due()
    [digest] = [m for m in smtp.received if "ana@" in m["To"]]
    assert digest["Subject"] == "Tus mensajes de los últimos días"
    text = parts(digest)["text/plain"]
    assert "Tienes 3 mensajes nuevos en tu bandeja:" in text
    assert "Reunión propuesta: 2" in text and "Reunión movida: 1" in text
    assert "https://app.aliada.test/notifications" in text and "text/calendar" not in parts(digest)
    statuses = sorted(d.status for d in deliveries(engine) if d.account_id == "mentee-1")
    assert statuses == ["digested", "digested", "digested", "sent"]


def milestone_reported(milestone_id: str, dyad_id: str, **extra: object) -> dict[str, object]:
    """A milestone.reported payload, shaped as the sessions service writes it (services/sessions/milestones.py):
    ids and dates only, the dyad but not its members."""
    return {"milestone_id": milestone_id, "objective_id": str(uuid.uuid4()), "dyad_id": dyad_id, "program_id": str(uuid.uuid4()),
            "due_on": "2026-08-15", "met_on": "2026-07-30", "reported_at": "2026-08-01T16:00:00+00:00", **extra}


async def test_a_milestone_she_reports_reaches_her_mentor_once_in_his_language_without_her_evidence(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock) -> None:
    people(contacts)
    dyad, milestone = str(uuid.uuid4()), str(uuid.uuid4())
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=frozen.at + timedelta(days=3), dyad_id=dyad))
    event = feeds.add("milestone.reported", milestone_reported(milestone, dyad, evidence_note="XQ-private-evidence"))
    feeds.add("milestone.reported", milestone_reported(milestone, dyad), event_id=event)  # the same event again
    feeds.add("milestone.reported", milestone_reported(str(uuid.uuid4()), str(uuid.uuid4())))  # a dyad nobody named: nobody to tell
    await feeds.consumer(engine).poll_once()
    await feeds.consumer(engine).poll_once()  # a second replica reading the same feed
    while await sender.send_due():
        pass
    [to_confirm] = [m for m in smtp.received if not m["Subject"].startswith(("Meeting", "Reunión"))]
    assert to_confirm["To"] == "Berta Díaz <berta@ujat.test>"
    assert (to_confirm["Subject"], to_confirm["Content-Language"]) == ("A milestone to confirm", "en")
    body = parts(to_confirm)
    assert "Ana Pérez reported a milestone of her objective met on Thursday, July 30, 2026." in body["text/plain"]
    assert f"https://app.aliada.test/milestones/{milestone}" in body["text/plain"]
    assert f'<a href="https://app.aliada.test/milestones/{milestone}">Review the milestone</a>' in body["text/html"]
    assert "List-Unsubscribe" in to_confirm  # not an obligation: she may turn it off
    assert "XQ-private-evidence" not in str(to_confirm)
    with Session(engine) as session:
        kinds = sorted((n.account_id, n.kind) for n in session.exec(select(Notification)).all())
    assert kinds == [("mentee-1", "meeting_proposed"), ("mentor-1", "meeting_proposed"), ("mentor-1", "milestone_to_confirm")]


async def test_a_completed_dyad_tells_both_members_in_their_languages_once_and_her_choice_of_off_is_honoured(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock, http, mint) -> None:
    from servicekit.testing import bearer

    people(contacts)
    contacts.add("mentee-2", name="Carla Ruiz", email="carla@ujat.test", language="en")
    contacts.add("mentor-2", name="Dora Gil", email="dora@ujat.test")
    off = bearer(mint(sub="mentee-2", tid=INSTITUTION, roles=["mentee"]))
    assert http.put("/v1/notifications/preferences/program_completed", json={"setting": "off"}, headers=off).status_code == 200

    def completed(mentee: str, mentor: str) -> dict[str, object]:
        """match.completed as matching writes it (services/matching/matches.py, published_payload)."""
        return {"match_id": str(uuid.uuid4()), "program_id": str(uuid.uuid4()), "institution_id": INSTITUTION, "run_id": str(uuid.uuid4()),
                "mentee_participant_id": str(uuid.uuid4()), "mentor_participant_id": str(uuid.uuid4()), "mentee_account_id": mentee,
                "mentor_account_id": mentor, "score": 0.8, "status": "completed", "replaces_match_id": None}

    event = feeds.add("match.completed", completed("mentee-1", "mentor-1"))
    feeds.add("match.completed", completed("mentee-1", "mentor-1"), event_id=event)
    feeds.add("match.completed", completed("mentee-2", "mentor-2"))
    await feeds.consumer(engine, "matching").poll_once()
    while await sender.send_due():
        pass
    got = {m["To"]: (m["Subject"], parts(m)["text/plain"]) for m in smtp.received}
    assert len(smtp.received) == 3 and set(got) == {"Ana Pérez <ana@ujat.test>", "Berta Díaz <berta@ujat.test>", "Dora Gil <dora@ujat.test>"}
    subject, text = got["Ana Pérez <ana@ujat.test>"]
    assert subject == "Tu programa de mentoría está completo"
    assert "Tú y Berta Díaz completaron el programa de mentoría." in text and "Gracias por participar." in text
    subject, text = got["Berta Díaz <berta@ujat.test>"]
    assert subject == "Your mentoring program is complete" and "You and Ana Pérez have completed the mentoring program." in text
    carla = [(d.status, d.last_error) for d in deliveries(engine) if d.account_id == "mentee-2"]
    assert carla == [("skipped", "unsubscribed from this kind")]
