"""Records shared by the domain modules, as plain frozen dataclasses.

Nothing here touches HTTP or a database: the sessions service builds these from
its tables. Every identifier is a string chosen by the caller, and every
timestamp is timezone-aware (the service stores UTC); a naive timestamp raises
``DomainError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DomainError(ValueError):
    """The inputs contradict themselves or break a precondition (naive
    timestamps, a window that ends before it starts, an unknown time zone...).
    An unfavourable result (no common slot, a red dyad) is never an error."""


def require_aware(value: datetime, name: str) -> datetime:
    """Return ``value`` unchanged, or raise ``DomainError`` if it is naive."""
    if not isinstance(value, datetime):
        raise DomainError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise DomainError(f"{name} must be timezone-aware, got {value.isoformat()}")
    return value


class MeetingStatus(StrEnum):
    """``rescheduled`` means moved to a new date and not held yet; it is pending
    like ``scheduled``. ``no_show`` means one member did not come."""

    SCHEDULED = "scheduled"
    HELD = "held"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class Modality(StrEnum):
    VIRTUAL = "virtual"
    IN_PERSON = "in_person"


@dataclass(frozen=True, kw_only=True)
class Meeting:
    """One planned meeting of a dyad's schedule.

    ``planned_start`` is the time the program's schedule gave it and never
    changes; ``start`` is its current time (equal to ``planned_start`` until it is
    moved). ``reschedules`` counts how many times it was moved. Health and
    statistics order a dyad's meetings by ``planned_start``.
    """

    id: str
    dyad_id: str
    planned_start: datetime
    start: datetime
    duration_minutes: int = 60
    status: MeetingStatus = MeetingStatus.SCHEDULED
    modality: Modality = Modality.VIRTUAL
    reschedules: int = 0

    def __post_init__(self) -> None:
        require_aware(self.planned_start, "planned_start")
        require_aware(self.start, "start")
        if self.duration_minutes <= 0:
            raise DomainError(f"meeting {self.id}: duration_minutes must be positive")
        if self.reschedules < 0:
            raise DomainError(f"meeting {self.id}: reschedules cannot be negative")

    @property
    def was_rescheduled(self) -> bool:
        return self.reschedules > 0 or self.status is MeetingStatus.RESCHEDULED


@dataclass(frozen=True, kw_only=True)
class FeedbackForm:
    """The form one member owes about her counterpart after a held meeting.

    ``due`` comes from ``deadlines.feedback_due``; ``submitted_at`` is ``None``
    while the form is not submitted. ``rating`` is the mean of the form's rating
    items (1-5), or ``None`` when not submitted or not rated.
    """

    meeting_id: str
    dyad_id: str
    respondent_id: str
    due: datetime
    submitted_at: datetime | None = None
    rating: float | None = None

    def __post_init__(self) -> None:
        require_aware(self.due, "due")
        if self.submitted_at is not None:
            require_aware(self.submitted_at, "submitted_at")
        if self.rating is not None and not 1.0 <= self.rating <= 5.0:
            raise DomainError(f"form for meeting {self.meeting_id}: rating {self.rating} is outside 1-5")
