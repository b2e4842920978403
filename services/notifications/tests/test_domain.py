"""The pure core: who hears what about an event, signed links, backoff, invitations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from services.notifications.domain import calendar, links, plans, retry
from services.notifications.enums import MessageKind

START = datetime(2026, 9, 1, 15, 0, tzinfo=UTC)


def test_applications_tell_the_applicant_and_only_a_rejection_is_not_selected() -> None:
    base = {"application_id": "a", "program_id": "p", "account_id": "u", "interest": "XQ-private"}
    assert plans.plan("application.submitted", base).messages == [plans.Message("u", MessageKind.application_received, {"application_id": "a", "program_id": "p"})]
    invited = plans.plan("application.invited", {**base, "confirm_by": START.isoformat()})
    [selected] = invited.messages
    assert selected.kind is MessageKind.selected and selected.facts["confirm_by"] == START.isoformat()
    [reminder] = invited.schedule
    assert (reminder.kind, reminder.reason, reminder.due_at, reminder.expires_at) == (
        MessageKind.confirm_reminder, "application:a", START - timedelta(hours=48), START)
    for ended in ("participant.confirmed", "application.declined", "application.withdrawn", "application.expired"):
        assert plans.plan(ended, base).cancel == ["application:a"], ended
    assert plans.plan("application.decided", {**base, "decision": "rejected"}).messages[0].kind is MessageKind.not_selected
    assert plans.plan("application.decided", {**base, "decision": "accepted"}).messages == []
    assert plans.plan("application.decided", {**base, "decision": "waitlisted"}).messages == []
    assert plans.plan("application.invited", {**base, "confirm_by": "not a date"}).messages == []
    assert plans.plan("application.submitted", {"application_id": "a"}).messages == []


def test_meetings_tell_both_members_and_schedule_or_cancel_the_reminder_without_any_reason_text() -> None:
    payload = {"meeting_id": "m", "dyad_id": "d", "program_id": "p", "number": 2, "start": START.isoformat(), "sequence": 1,
               "mentee_account_id": "ana", "mentor_account_id": "berta", "reason": "XQ-private", "previous_start": "2026-08-31T15:00:00+00:00"}
    moved = plans.plan("meeting.rescheduled", payload)
    assert [(m.account_id, m.kind, m.facts["role"], m.facts["counterpart_account_id"]) for m in moved.messages] == [
        ("ana", MessageKind.meeting_rescheduled, "mentee", "berta"), ("berta", MessageKind.meeting_rescheduled, "mentor", "ana")]
    assert all("XQ-private" not in str(m.facts) for m in moved.messages)
    assert moved.cancel == ["meeting:m"]
    assert [(s.account_id, s.due_at, s.expires_at) for s in moved.schedule] == [("ana", START - timedelta(days=1), START),
                                                                                ("berta", START - timedelta(days=1), START)]
    cancelled = plans.plan("meeting.cancelled", payload)
    assert cancelled.cancel == ["meeting:m"] and cancelled.schedule == []
    assert plans.plan("meeting.held", {**payload, "feedback_due": None}).schedule == []


def test_events_nobody_must_hear_about_plan_nothing() -> None:
    for event_type in ("objective.created", "milestone.reported", "dyad.health_changed", "consent.withdrawn", "institution.created"):
        assert plans.plan(event_type, {"account_id": "u"}) == plans.Plan()


def test_a_signed_link_verifies_and_any_change_to_it_does_not() -> None:
    token = links.sign(b"key", links.Unsubscribe("i", "u", "meeting_tomorrow"))
    assert links.verify(b"key", token) == links.Unsubscribe("i", "u", "meeting_tomorrow")
    payload, signature = token.split(".")
    other = links.sign(b"key", links.Unsubscribe("i", "v", "meeting_tomorrow")).split(".")[0]
    for forged in (f"{other}.{signature}", f"{payload}.{signature[:-1]}A", payload, f"{payload}.", "a.b.c", "",
                   f"{payload}.{signature[:-1]}ñ", "ñ.ñ", f"{payload}\x00.{signature}"):
        assert links.verify(b"key", forged) is None, forged
    assert links.verify(b"another key", token) is None


def test_backoff_doubles_up_to_the_cap_and_only_5xx_is_permanent() -> None:
    assert [retry.backoff(n, 30, 200).total_seconds() for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 200, 200]
    assert retry.temporary(None) and retry.temporary(421) and retry.temporary(451)
    assert not retry.temporary(550) and not retry.temporary(554)


def test_the_invitation_carries_method_uid_sequence_and_the_attendee() -> None:
    for method, status in (("REQUEST", "CONFIRMED"), ("CANCEL", "CANCELLED")):
        cal = Calendar.from_ical(calendar.invitation(
            method=method, meeting_id="m1", sequence=3, start=START, minutes=45, summary="Reunión 2", organizer="p@u.test",
            organizer_name="UNSA", attendee="ana@u.test", stamp=START))
        [event] = cal.walk("VEVENT")
        assert (str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"]), str(event["STATUS"])) == (method, "meeting-m1@aliada", 3, status)
        assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=45)
        assert str(event["ATTENDEE"]) == "mailto:ana@u.test" and str(event["ORGANIZER"]) == "mailto:p@u.test"
