"""Feedback deadlines: when a form is due, whether it came on time, by how many
days it was late, and which forms are overdue now.

Formulas (see README.md):

* due = meeting end + the program's deadline hours (48 by default);
* on time when ``submitted_at <= due`` (a form submitted exactly at the due
  instant is on time);
* delay in days = ceil(seconds late / 86 400): any lateness, even one second,
  is one day late; 24 h and 1 s late is two days late;
* a form is overdue at ``now`` when it is not submitted and ``now > due``; its
  days overdue follow the same ceiling rule.

Every function takes the current time as an argument (never reads the clock),
so results are reproducible and the boundary is exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import DomainError, FeedbackForm, require_aware

DEFAULT_DEADLINE_HOURS = 48.0
"""The pilots' deadline: two days after the meeting ends."""

_DAY = timedelta(days=1)


def feedback_due(meeting_end: datetime, deadline_hours: float = DEFAULT_DEADLINE_HOURS) -> datetime:
    """Due instant of a feedback form: ``meeting_end + deadline_hours``."""
    require_aware(meeting_end, "meeting_end")
    if deadline_hours < 0:
        raise DomainError(f"deadline_hours must not be negative, got {deadline_hours}")
    return meeting_end + timedelta(hours=deadline_hours)


def delay_days(due: datetime, at: datetime) -> int:
    """Whole days by which ``at`` is after ``due``: 0 when ``at <= due``, else
    ``ceil((at - due) / 1 day)`` computed exactly on microseconds."""
    require_aware(due, "due")
    require_aware(at, "at")
    late = at - due
    if late <= timedelta(0):
        return 0
    return -(-late // _DAY)  # ceiling division of timedeltas gives an int


@dataclass(frozen=True)
class Timeliness:
    """How a submitted form stands against its deadline. ``late_by`` is zero
    when on time."""

    due: datetime
    submitted_at: datetime
    on_time: bool
    late_by: timedelta
    delay_days: int


def assess_submission(due: datetime, submitted_at: datetime) -> Timeliness:
    """On time iff ``submitted_at <= due``; otherwise late by ``delay_days``."""
    days = delay_days(due, submitted_at)
    late_by = max(submitted_at - due, timedelta(0))
    return Timeliness(due=due, submitted_at=submitted_at, on_time=days == 0, late_by=late_by, delay_days=days)


@dataclass(frozen=True)
class OverdueForm:
    meeting_id: str
    dyad_id: str
    respondent_id: str
    due: datetime
    overdue_by: timedelta
    days_overdue: int


def list_overdue(forms: Iterable[FeedbackForm], now: datetime) -> tuple[OverdueForm, ...]:
    """Forms not submitted whose due instant is strictly before ``now``, most
    overdue first (then by dyad, meeting and respondent, for a stable order)."""
    require_aware(now, "now")
    overdue = [
        OverdueForm(
            meeting_id=f.meeting_id,
            dyad_id=f.dyad_id,
            respondent_id=f.respondent_id,
            due=f.due,
            overdue_by=now - f.due,
            days_overdue=delay_days(f.due, now),
        )
        for f in forms
        if f.submitted_at is None and now > f.due
    ]
    overdue.sort(key=lambda o: (o.due, o.dyad_id, o.meeting_id, o.respondent_id))
    return tuple(overdue)


def form_timeliness(form: FeedbackForm) -> Timeliness | None:
    """The timeliness of a submitted form, or ``None`` while it is not submitted."""
    if form.submitted_at is None:
        return None
    return assess_submission(form.due, form.submitted_at)
