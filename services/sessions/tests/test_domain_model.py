"""A meeting seen as it stood at an earlier moment (supervision's as-of view)."""

from datetime import UTC, datetime, timedelta

import pytest

from services.sessions.domain import DomainError, Meeting, MeetingChange, MeetingStatus

T0 = datetime(2026, 3, 2, 16, tzinfo=UTC)


def moved_then_held() -> Meeting:
    return Meeting(
        id="m1", dyad_id="d1", planned_start=T0, start=T0 + timedelta(days=7), status=MeetingStatus.HELD, reschedules=1,
        mentor_confirmed_at=T0 + timedelta(days=7, hours=2),
        changes=(MeetingChange(T0 - timedelta(days=1), "rescheduled", T0, T0 + timedelta(days=7)),),
    )


def test_before_the_move_the_meeting_stood_at_its_planned_time_and_pending() -> None:
    then = moved_then_held().as_of(T0 - timedelta(days=2))
    assert (then.start, then.status, then.reschedules, then.changes) == (T0, MeetingStatus.SCHEDULED, 0, ())


def test_between_the_move_and_the_confirmation_it_is_rescheduled_and_unconfirmed() -> None:
    then = moved_then_held().as_of(T0 + timedelta(days=3))
    assert (then.start, then.status, then.reschedules, then.confirmations) == (T0 + timedelta(days=7), MeetingStatus.RESCHEDULED, 1, 0)


def test_after_everything_it_is_itself() -> None:
    m = moved_then_held()
    assert m.as_of(T0 + timedelta(days=30)) is m
    assert m.confirmations == 1


def test_a_later_cancellation_is_undone() -> None:
    m = Meeting(id="m2", dyad_id="d1", planned_start=T0, start=T0, status=MeetingStatus.CANCELLED,
                changes=(MeetingChange(T0 - timedelta(hours=3), "cancelled", T0),))
    assert m.as_of(T0 - timedelta(days=1)).status is MeetingStatus.SCHEDULED
    assert m.as_of(T0).status is MeetingStatus.CANCELLED


def test_naive_moments_and_unknown_changes_are_refused() -> None:
    with pytest.raises(DomainError):
        moved_then_held().as_of(datetime(2026, 3, 1))
    with pytest.raises(DomainError):
        MeetingChange(T0, "teleported", T0)
