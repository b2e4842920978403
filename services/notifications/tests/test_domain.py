"""The pure core: who hears what about an event, signed links, backoff, invitations."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from icalendar import Calendar

from zoneinfo import ZoneInfo

import pytest

from services.notifications.domain import calendar, links, plans, retry
from services.notifications.domain.quiet import QuietHours
from services.notifications.enums import MessageKind

START = datetime(2026, 9, 1, 15, 0, tzinfo=UTC)
NOW = START - timedelta(days=2)  # the meeting is two days away: its invitation is due


def test_applications_tell_the_applicant_and_only_a_rejection_is_not_selected() -> None:
    base = {"application_id": "a", "program_id": "p", "account_id": "u", "interest": "XQ-private"}
    assert plans.plan("application.submitted", base, NOW).messages == [plans.Message("u", MessageKind.application_received, {"application_id": "a", "program_id": "p"})]
    invited = plans.plan("application.invited", {**base, "confirm_by": START.isoformat()}, NOW)
    [selected] = invited.messages
    assert selected.kind is MessageKind.selected and selected.facts["confirm_by"] == START.isoformat()
    [reminder] = invited.schedule
    assert (reminder.kind, reminder.reason, reminder.due_at, reminder.expires_at) == (
        MessageKind.confirm_reminder, "application:a", START - timedelta(hours=48), START)
    for ended in ("participant.confirmed", "application.declined", "application.withdrawn", "application.expired"):
        assert plans.plan(ended, base, NOW).cancel == ["application:a"], ended
    assert plans.plan("application.decided", {**base, "decision": "rejected"}, NOW).messages[0].kind is MessageKind.not_selected
    assert plans.plan("application.decided", {**base, "decision": "accepted"}, NOW).messages == []
    assert plans.plan("application.decided", {**base, "decision": "waitlisted"}, NOW).messages == []
    assert plans.plan("application.invited", {**base, "confirm_by": "not a date"}, NOW).messages == []
    assert plans.plan("application.submitted", {"application_id": "a"}, NOW).messages == []


def test_meetings_tell_both_members_and_schedule_or_cancel_the_reminder_without_any_reason_text() -> None:
    payload = {"meeting_id": "m", "dyad_id": "d", "program_id": "p", "number": 2, "start": START.isoformat(), "sequence": 1,
               "mentee_account_id": "ana", "mentor_account_id": "berta", "reason": "XQ-private", "previous_start": "2026-08-31T15:00:00+00:00"}
    moved = plans.plan("meeting.rescheduled", payload, NOW)
    assert [(m.account_id, m.kind, m.facts["role"], m.facts["counterpart_account_id"]) for m in moved.messages] == [
        ("ana", MessageKind.meeting_rescheduled, "mentee", "berta"), ("berta", MessageKind.meeting_rescheduled, "mentor", "ana")]
    assert all("XQ-private" not in str(m.facts) for m in moved.messages)
    assert moved.cancel == ["meeting:m"]
    assert [(s.account_id, s.due_at, s.expires_at) for s in moved.schedule] == [("ana", START - timedelta(days=1), START),
                                                                                ("berta", START - timedelta(days=1), START)]
    cancelled = plans.plan("meeting.cancelled", payload, NOW)
    assert cancelled.cancel == ["meeting:m"] and cancelled.schedule == []
    assert plans.plan("meeting.held", {**payload, "feedback_due": None}, NOW).schedule == []


def test_an_invitation_goes_out_two_weeks_ahead_and_a_change_before_it_is_no_news() -> None:
    payload = {"meeting_id": "m", "dyad_id": "d", "program_id": "p", "number": 9, "start": START.isoformat(), "sequence": 0,
               "mentee_account_id": "ana", "mentor_account_id": "berta"}
    early = START - plans.INVITE_AHEAD - timedelta(hours=1)
    proposed = plans.plan("meeting.scheduled", payload, early)
    assert proposed.messages == []  # not on the day the dyad starts
    invitations = [s for s in proposed.schedule if s.kind is MessageKind.meeting_proposed]
    assert [(s.account_id, s.due_at, s.expires_at, s.reason) for s in invitations] == [
        ("ana", START - plans.INVITE_AHEAD, START, "meeting:m"), ("berta", START - plans.INVITE_AHEAD, START, "meeting:m")]
    # Moved before anyone was invited: still one invitation, for the new time, when it is due.
    later = START + timedelta(days=7)
    moved = plans.plan("meeting.rescheduled", {**payload, "start": later.isoformat(), "sequence": 1,
                                               "previous_start": START.isoformat()}, early)
    assert moved.messages == [] and moved.cancel == ["meeting:m"]
    assert {(s.kind, s.due_at) for s in moved.schedule if s.kind is not MessageKind.meeting_tomorrow} == {
        (MessageKind.meeting_proposed, later - plans.INVITE_AHEAD)}
    # Moved within the horizon, never invited: the invitation goes now, as a proposal (she has nothing to move).
    soon = plans.plan("meeting.rescheduled", {**payload, "start": (early + timedelta(days=3)).isoformat(), "sequence": 1,
                                              "previous_start": START.isoformat()}, early)
    assert {m.kind for m in soon.messages} == {MessageKind.meeting_proposed}
    assert all("previous_start" not in m.facts for m in soon.messages)
    # Cancelled before its invitation: nothing to tell, the reminders go.
    cancelled = plans.plan("meeting.cancelled", {**payload, "sequence": 1}, early)
    assert cancelled.messages == [] and cancelled.schedule == [] and cancelled.cancel == ["meeting:m"]
    # Once invited, a move and a cancellation are news at once.
    invited_at = START - plans.INVITE_AHEAD
    assert {m.kind for m in plans.plan("meeting.rescheduled", {**payload, "start": later.isoformat(), "sequence": 1,
                                                               "previous_start": START.isoformat()}, invited_at).messages} == {
        MessageKind.meeting_rescheduled}
    assert {m.kind for m in plans.plan("meeting.cancelled", {**payload, "sequence": 1}, invited_at).messages} == {
        MessageKind.meeting_cancelled}


def test_events_nobody_must_hear_about_plan_nothing() -> None:
    for event_type in ("objective.created", "milestone.reported", "dyad.health_changed", "consent.withdrawn", "institution.created"):
        assert plans.plan(event_type, {"account_id": "u"}, NOW) == plans.Plan()


def test_a_reported_milestone_tells_the_mentor_its_meetings_named_and_nothing_of_the_evidence() -> None:
    meeting = {"meeting_id": "m", "dyad_id": "d", "program_id": "p", "number": 1, "start": START.isoformat(),
               "mentee_account_id": "ana", "mentor_account_id": "berta"}
    assert plans.members(meeting) == [("d", "mentee", "ana"), ("d", "mentor", "berta")]
    assert plans.members({"match_id": "d", "mentee_account_id": "ana"}) == []  # only the sessions feed's dyad ids
    reported = {"milestone_id": "ms", "objective_id": "o", "dyad_id": "d", "program_id": "p", "due_on": "2026-09-10",
                "met_on": "2026-08-30", "reported_at": NOW.isoformat(), "evidence_note": "XQ-private"}
    assert plans.plan("milestone.reported", reported, NOW) == plans.Plan()  # nobody known to tell
    [message] = plans.plan("milestone.reported", {**reported, "mentee_account_id": "ana", "mentor_account_id": "berta"}, NOW).messages
    assert message == plans.Message("berta", MessageKind.milestone_to_confirm, {
        "milestone_id": "ms", "objective_id": "o", "dyad_id": "d", "program_id": "p", "due_on": "2026-09-10", "met_on": "2026-08-30",
        "role": "mentor", "counterpart_account_id": "ana"})
    for settled in ("milestone.confirmed", "milestone.returned"):
        assert plans.plan(settled, {**reported, "mentor_account_id": "berta"}, NOW) == plans.Plan()


def test_a_completed_match_tells_both_members_and_ends_the_dyads_reminders_a_dissolved_one_only_ends_them() -> None:
    payload = {"match_id": "d", "program_id": "p", "mentee_account_id": "ana", "mentor_account_id": "berta", "reason": "XQ-private"}
    completed = plans.plan("match.completed", payload, NOW)
    assert completed.cancel_dyads == ["d"]
    assert [(m.account_id, m.kind, m.facts) for m in completed.messages] == [
        ("ana", MessageKind.program_completed, {"match_id": "d", "program_id": "p", "role": "mentee", "counterpart_account_id": "berta"}),
        ("berta", MessageKind.program_completed, {"match_id": "d", "program_id": "p", "role": "mentor", "counterpart_account_id": "ana"})]
    assert plans.plan("match.dissolved", payload, NOW) == plans.Plan(cancel_dyads=["d"])


def test_quiet_hours_end_at_her_morning_across_midnight_and_a_period_within_one_day() -> None:
    night, mexico = QuietHours.parse("21:00-08:00"), ZoneInfo("America/Mexico_City")
    assert night is not None
    at = datetime(2026, 8, 2, 3, 30, tzinfo=UTC)  # 21:30 the day before in Mexico City
    assert night.until(at, mexico) == datetime(2026, 8, 2, 14, 0, tzinfo=UTC)
    assert night.until(datetime(2026, 8, 2, 12, 0, tzinfo=UTC), mexico) == datetime(2026, 8, 2, 14, 0, tzinfo=UTC)  # 06:00
    assert night.until(datetime(2026, 8, 2, 14, 0, tzinfo=UTC), mexico) is None  # 08:00: over
    assert night.until(datetime(2026, 8, 2, 2, 59, tzinfo=UTC), mexico) is None  # 20:59: not yet
    # The night the clocks go back in Madrid (25 October 2026): 08:00 is then UTC+1.
    assert night.until(datetime(2026, 10, 25, 0, 0, tzinfo=UTC), ZoneInfo("Europe/Madrid")) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    siesta = QuietHours.parse("14:00-16:00")
    assert siesta is not None and siesta.until(datetime(2026, 8, 2, 12, 30, tzinfo=UTC), ZoneInfo("Europe/Madrid")) == datetime(
        2026, 8, 2, 14, 0, tzinfo=UTC)
    assert QuietHours.parse("") is None and QuietHours.parse(" 22:30 - 07:15 ") == QuietHours(time(22, 30), time(7, 15))
    for wrong in ("21:00", "21:00-21:00", "25:00-08:00", "nine-eight"):
        with pytest.raises(ValueError):
            QuietHours.parse(wrong)


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
