"""Feedback deadlines at the exact boundary. Every function takes the current
time as an argument, so time is frozen by construction: no clock is read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.sessions.domain import (
    DEFAULT_DEADLINE_HOURS,
    DomainError,
    FeedbackForm,
    assess_submission,
    delay_days,
    feedback_due,
    form_timeliness,
    list_overdue,
)

END = datetime(2026, 9, 1, 17, 0, tzinfo=UTC)
DUE = END + timedelta(hours=48)
SECOND = timedelta(seconds=1)


def test_due_is_meeting_end_plus_the_program_deadline() -> None:
    assert DEFAULT_DEADLINE_HOURS == 48
    assert feedback_due(END) == datetime(2026, 9, 3, 17, 0, tzinfo=UTC)
    assert feedback_due(END, deadline_hours=24) == datetime(2026, 9, 2, 17, 0, tzinfo=UTC)
    mexico = timezone(timedelta(hours=-6))
    assert feedback_due(END.astimezone(mexico)) == DUE  # the same instant, whatever the offset


@pytest.mark.parametrize(
    ("submitted_at", "on_time", "days"),
    [
        (END, True, 0),
        (DUE - SECOND, True, 0),
        (DUE, True, 0),  # exactly at the boundary is on time
        (DUE + timedelta(microseconds=1), False, 1),
        (DUE + SECOND, False, 1),  # one second late is one day late
        (DUE + timedelta(days=1), False, 1),
        (DUE + timedelta(days=1) + SECOND, False, 2),
        (DUE + timedelta(days=13, hours=1), False, 14),
        (DUE + timedelta(days=14), False, 14),
        (DUE + timedelta(days=14) + SECOND, False, 15),
    ],
)
def test_on_time_and_late_at_the_exact_boundary(submitted_at: datetime, on_time: bool, days: int) -> None:
    t = assess_submission(DUE, submitted_at)
    assert (t.on_time, t.delay_days) == (on_time, days)
    assert t.late_by == max(submitted_at - DUE, timedelta(0))
    assert delay_days(DUE, submitted_at) == days


def test_naive_timestamps_and_negative_deadlines_are_refused() -> None:
    with pytest.raises(DomainError):
        feedback_due(datetime(2026, 9, 1, 17, 0))
    with pytest.raises(DomainError):
        assess_submission(DUE, datetime(2026, 9, 3, 17, 0))
    with pytest.raises(DomainError):
        feedback_due(END, deadline_hours=-1)


def form(meeting: str, who: str, due: datetime, submitted_at: datetime | None = None) -> FeedbackForm:
    return FeedbackForm(meeting_id=meeting, dyad_id="d1", respondent_id=who, due=due, submitted_at=submitted_at)


def test_overdue_listing_given_now() -> None:
    forms = [
        form("m1", "mentee", DUE),
        form("m1", "mentor", DUE, submitted_at=DUE + timedelta(days=3)),
        form("m2", "mentee", DUE + timedelta(days=7)),
        form("m0", "mentor", DUE - timedelta(days=7)),
    ]
    assert [o.meeting_id for o in list_overdue(forms, now=DUE)] == ["m0"]  # at the due instant, not yet overdue
    later = list_overdue(forms, now=DUE + SECOND)
    assert [(o.meeting_id, o.respondent_id, o.days_overdue) for o in later] == [("m0", "mentor", 8), ("m1", "mentee", 1)]
    assert later[1].overdue_by == SECOND
    two_weeks = list_overdue(forms, now=DUE + timedelta(days=14))
    assert [(o.meeting_id, o.days_overdue) for o in two_weeks] == [("m0", 21), ("m1", 14), ("m2", 7)]


def test_form_timeliness() -> None:
    assert form_timeliness(form("m1", "mentee", DUE)) is None
    late = form_timeliness(form("m1", "mentee", DUE, submitted_at=DUE + timedelta(days=14)))
    assert late is not None and not late.on_time and late.delay_days == 14
