"""Reminders live in the database: scheduled by events, fired once when due, cancelled when
their reason goes away (a meeting moved or cancelled, a form submitted, the dyad ended)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.notifications import reminders
from services.notifications.models import Delivery, Notification, Reminder

from .conftest import Clock, Feeds, meeting_payload


def rows(engine: Engine) -> list[tuple[str, str, str, datetime]]:
    with Session(engine) as session:
        return [(r.account_id, r.kind, r.status, r.due_at)
                for r in session.exec(select(Reminder).order_by(Reminder.account_id, Reminder.due_at)).all()]


def fire(engine: Engine, now: datetime) -> int:
    with Session(engine) as session:
        fired = reminders.fire_due(session, now)
        session.commit()
        return fired


def messages(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        return sorted((n.account_id, n.kind) for n in session.exec(select(Notification)).all())


async def test_a_meeting_reminder_fires_once_the_day_before_and_a_reschedule_replaces_it(
        engine: Engine, feeds: Feeds, frozen: Clock) -> None:
    meeting, start = str(uuid.uuid4()), frozen.at + timedelta(days=3)
    feeds.add("meeting.scheduled", meeting_payload(meeting, start=start))
    await feeds.consumer(engine).poll_once()
    assert rows(engine) == [("mentee-1", "meeting_tomorrow", "scheduled", start - timedelta(days=1)),
                            ("mentor-1", "meeting_tomorrow", "scheduled", start - timedelta(days=1))]
    moved = start + timedelta(days=2)
    feeds.add("meeting.rescheduled", meeting_payload(meeting, start=moved, sequence=1, previous_start=start.isoformat()))
    await feeds.consumer(engine).poll_once()
    assert [r[2:] for r in rows(engine)] == [("cancelled", start - timedelta(days=1)), ("scheduled", moved - timedelta(days=1))] * 2
    assert fire(engine, start - timedelta(days=1)) == 0
    assert fire(engine, moved - timedelta(days=1)) == 2
    assert fire(engine, moved - timedelta(hours=2)) == 0  # fired once
    assert messages(engine).count(("mentee-1", "meeting_tomorrow")) == 1
    with Session(engine) as session:
        assert len(session.exec(select(Delivery)).all()) == 6  # 2 proposals, 2 reschedules, 2 reminders


async def test_a_cancelled_meeting_cancels_its_reminder_and_an_expired_one_never_fires(engine: Engine, feeds: Feeds, frozen: Clock) -> None:
    soon, later = str(uuid.uuid4()), str(uuid.uuid4())
    feeds.add("meeting.scheduled", meeting_payload(soon, start=frozen.at + timedelta(days=2)))
    feeds.add("meeting.scheduled", meeting_payload(later, start=frozen.at + timedelta(days=9), number=2))
    feeds.add("meeting.cancelled", meeting_payload(later, start=frozen.at + timedelta(days=9), number=2, sequence=1))
    await feeds.consumer(engine).poll_once()
    assert sorted(r[2] for r in rows(engine)) == ["cancelled", "cancelled", "scheduled", "scheduled"]
    # The service was down from before the reminder was due until after the meeting began.
    assert fire(engine, frozen.at + timedelta(days=2, hours=1)) == 0
    assert sorted(r[2] for r in rows(engine)) == ["cancelled"] * 4
    assert ("mentee-1", "meeting_tomorrow") not in messages(engine)


async def test_a_held_meeting_schedules_the_feedback_reminders_and_her_submission_cancels_hers(
        engine: Engine, feeds: Feeds, frozen: Clock) -> None:
    meeting = str(uuid.uuid4())
    due = frozen.at + timedelta(hours=48)
    feeds.add("meeting.held", meeting_payload(meeting, start=frozen.at - timedelta(hours=1), status="held",
                                              confirmed_by="mentee", feedback_due=due.isoformat()))
    feeds.add("feedback.submitted", {"form_id": str(uuid.uuid4()), "meeting_id": meeting, "respondent_role": "mentee",
                                     "due_at": due.isoformat(), "submitted_at": frozen.at.isoformat(), "rating": 4.5})
    await feeds.consumer(engine).poll_once()
    assert rows(engine) == [("mentee-1", "feedback_due", "cancelled", due - timedelta(hours=24)),
                            ("mentor-1", "feedback_due", "scheduled", due - timedelta(hours=24))]
    assert fire(engine, due - timedelta(hours=23)) == 1
    assert messages(engine) == [("mentor-1", "feedback_due")]


async def test_an_ended_dyad_cancels_its_reminders_and_leaves_the_others(engine: Engine, feeds: Feeds, frozen: Clock) -> None:
    ended, kept = str(uuid.uuid4()), str(uuid.uuid4())
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=frozen.at + timedelta(days=3), dyad_id=ended))
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=frozen.at + timedelta(days=3), dyad_id=kept,
                                                   mentee="mentee-2"))
    await feeds.consumer(engine).poll_once()
    feeds.add("match.dissolved", {"match_id": ended, "mentee_account_id": "mentee-1", "mentor_account_id": "mentor-1",
                                  "reason": "XQ", "dissolved_by": "coordinator"})
    await feeds.consumer(engine, "matching").poll_once()
    with Session(engine) as session:
        status = {(str(r.dyad_id), r.account_id): r.status for r in session.exec(select(Reminder)).all()}
    assert status == {(ended, "mentee-1"): "cancelled", (ended, "mentor-1"): "cancelled",
                      (kept, "mentee-2"): "scheduled", (kept, "mentor-1"): "scheduled"}


async def test_the_overdue_notice_goes_to_the_respondent_only(engine: Engine, feeds: Feeds, frozen: Clock) -> None:
    feeds.add("feedback.overdue", {"form_id": str(uuid.uuid4()), "meeting_id": str(uuid.uuid4()), "dyad_id": str(uuid.uuid4()),
                                   "program_id": str(uuid.uuid4()), "respondent_role": "mentor", "respondent_account_id": "mentor-1",
                                   "due_at": (frozen.at - timedelta(days=2)).isoformat(), "days_overdue": 2})
    await feeds.consumer(engine).poll_once()
    assert messages(engine) == [("mentor-1", "feedback_overdue")]


async def test_the_confirmation_reminder_fires_before_the_deadline_unless_she_confirms(engine: Engine, feeds: Feeds, frozen: Clock) -> None:
    deadline = frozen.at + timedelta(days=5)
    for n in (1, 2):
        feeds.add("application.invited", {"application_id": f"00000000-0000-7000-8000-00000000000{n}", "program_id": str(uuid.uuid4()),
                                          "account_id": f"applicant-{n}", "confirm_by": deadline.isoformat()})
    feeds.add("participant.confirmed", {"application_id": "00000000-0000-7000-8000-000000000001", "account_id": "applicant-1",
                                        "participant_id": str(uuid.uuid4()), "program_id": str(uuid.uuid4())})
    await feeds.consumer(engine, "participants").poll_once()
    assert [r[:3] for r in rows(engine)] == [("applicant-1", "confirm_reminder", "cancelled"),
                                             ("applicant-2", "confirm_reminder", "scheduled")]
    assert fire(engine, deadline - timedelta(hours=47)) == 1
    assert messages(engine) == [("applicant-1", "selected"), ("applicant-2", "confirm_reminder"), ("applicant-2", "selected")]


async def test_a_completed_dyad_cancels_its_reminders_and_tells_both_members(engine: Engine, feeds: Feeds, frozen: Clock) -> None:
    completed, kept = str(uuid.uuid4()), str(uuid.uuid4())
    start = frozen.at + timedelta(days=3)
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=start, dyad_id=completed))
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=start, dyad_id=kept, mentee="mentee-2", mentor="mentor-2"))
    await feeds.consumer(engine).poll_once()
    feeds.add("match.completed", {"match_id": completed, "program_id": str(uuid.uuid4()), "mentee_account_id": "mentee-1",
                                  "mentor_account_id": "mentor-1", "status": "completed"})
    await feeds.consumer(engine, "matching").poll_once()
    with Session(engine) as session:
        status = {(str(r.dyad_id), r.account_id): r.status for r in session.exec(select(Reminder)).all()}
    assert status == {(completed, "mentee-1"): "cancelled", (completed, "mentor-1"): "cancelled",
                      (kept, "mentee-2"): "scheduled", (kept, "mentor-2"): "scheduled"}
    assert fire(engine, start - timedelta(hours=23)) == 2  # the other dyad's only
    assert [m for m in messages(engine) if m[1] in ("program_completed", "meeting_tomorrow")] == [
        ("mentee-1", "program_completed"), ("mentee-2", "meeting_tomorrow"), ("mentor-1", "program_completed"),
        ("mentor-2", "meeting_tomorrow")]
