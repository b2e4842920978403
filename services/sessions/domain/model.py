"""Records shared by the domain modules, as plain frozen dataclasses.

Nothing here touches HTTP or a database: the sessions service builds these from
its tables. Every identifier is a string chosen by the caller, and every
timestamp is timezone-aware (the service stores UTC); a naive timestamp raises
``DomainError``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from services.sessions.enums import MeetingChangeKind, MeetingStatus, Modality


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


@dataclass(frozen=True)
class MeetingChange:
    """One entry of a meeting's history: moved (``rescheduled``, with ``to_start``),
    ``cancelled`` or marked a ``no_show``, at ``at``; ``from_start`` is where it
    stood before the change."""

    at: datetime
    kind: str
    from_start: datetime
    to_start: datetime | None = None
    by: str | None = None
    """who made the change: ``mentee``, ``mentor``, ``coordinator`` or ``system`` (unknown: ``None``)"""

    def __post_init__(self) -> None:
        require_aware(self.at, "at")
        require_aware(self.from_start, "from_start")
        if self.to_start is not None:
            require_aware(self.to_start, "to_start")
        if self.kind not in tuple(MeetingChangeKind):
            raise DomainError(f"unknown meeting change {self.kind!r}")


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
    mentee_confirmed_at: datetime | None = None
    """when the mentee confirmed it took place (a meeting is held from the first confirmation)"""
    mentor_confirmed_at: datetime | None = None
    changes: tuple[MeetingChange, ...] = ()
    """its history, oldest first; needed only to see the meeting as it stood at an earlier time (``as_of``)"""

    def __post_init__(self) -> None:
        require_aware(self.planned_start, "planned_start")
        require_aware(self.start, "start")
        for name in ("mentee_confirmed_at", "mentor_confirmed_at"):
            value = getattr(self, name)
            if value is not None:
                require_aware(value, name)
        if self.duration_minutes <= 0:
            raise DomainError(f"meeting {self.id}: duration_minutes must be positive")
        if self.reschedules < 0:
            raise DomainError(f"meeting {self.id}: reschedules cannot be negative")

    @property
    def was_rescheduled(self) -> bool:
        return self.reschedules > 0 or self.status is MeetingStatus.RESCHEDULED

    @property
    def confirmations(self) -> int:
        """How many members confirmed it took place (0, 1 or 2)."""
        return (self.mentee_confirmed_at is not None) + (self.mentor_confirmed_at is not None)

    def as_of(self, when: datetime) -> Meeting:
        """The meeting as it stood at ``when``: confirmations and changes recorded
        later are undone (a later reschedule puts it back where it stood, a later
        cancellation or confirmation back to pending). Without ``changes`` only the
        confirmations can be undone."""
        require_aware(when, "when")
        past = [c for c in self.changes if c.at <= when]
        future = [c for c in self.changes if c.at > when]
        start = future[0].from_start if future else self.start
        mentee = self.mentee_confirmed_at if self.mentee_confirmed_at and self.mentee_confirmed_at <= when else None
        mentor = self.mentor_confirmed_at if self.mentor_confirmed_at and self.mentor_confirmed_at <= when else None
        moves = sum(1 for c in past if c.kind == MeetingChangeKind.RESCHEDULED)
        ended = next((c for c in reversed(past) if c.kind in (MeetingChangeKind.CANCELLED, MeetingChangeKind.NO_SHOW)), None)
        if mentee or mentor:
            status = MeetingStatus.HELD
        elif ended is not None:
            status = MeetingStatus(ended.kind)
        elif moves:
            status = MeetingStatus.RESCHEDULED
        else:
            status = MeetingStatus.SCHEDULED
        if not future and status is self.status and mentee == self.mentee_confirmed_at and mentor == self.mentor_confirmed_at:
            return self
        return replace(self, start=start, status=status, reschedules=moves if self.changes else self.reschedules,
                       mentee_confirmed_at=mentee, mentor_confirmed_at=mentor, changes=tuple(past))


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
    respondent_role: str | None = None
    """``mentee`` or ``mentor`` (the form is about her counterpart)"""

    def __post_init__(self) -> None:
        require_aware(self.due, "due")
        if self.submitted_at is not None:
            require_aware(self.submitted_at, "submitted_at")
        if self.rating is not None and not 1.0 <= self.rating <= 5.0:
            raise DomainError(f"form for meeting {self.meeting_id}: rating {self.rating} is outside 1-5")


@dataclass(frozen=True, kw_only=True)
class Milestone:
    """A verifiable step of a SMART objective: due on ``due_on``; the mentee
    reports it met with evidence (``reported_at``); her counterpart (or a
    coordinator) confirms it (``confirmed_at``). Only confirmed milestones count
    as measured achievement."""

    id: str
    objective_id: str
    due_on: date
    created_at: datetime
    reported_at: datetime | None = None
    confirmed_at: datetime | None = None

    def __post_init__(self) -> None:
        require_aware(self.created_at, "created_at")
        for name in ("reported_at", "confirmed_at"):
            value = getattr(self, name)
            if value is not None:
                require_aware(value, name)


@dataclass(frozen=True)
class Touch:
    """A sign of life from one member of a dyad that is not a meeting or a form:
    a diary entry, a progress entry, a milestone reported or confirmed, an
    objective set. ``role`` is ``mentee`` or ``mentor``."""

    at: datetime
    role: str
    kind: str

    def __post_init__(self) -> None:
        require_aware(self.at, "at")


@dataclass(frozen=True, kw_only=True)
class DyadActivity:
    """Everything supervision reads about one dyad. Records stamped after the
    moment of an assessment are ignored by it, so one activity can be assessed
    at any past moment (a weekly digest compares now with a week ago)."""

    dyad_id: str
    started_at: datetime
    ended_at: datetime | None = None
    meetings: tuple[Meeting, ...] = ()
    forms: tuple[FeedbackForm, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    progress: tuple[tuple[tuple[datetime, float], ...], ...] = ()
    """each objective's self-reported achievement series (%), as ``smart.achievement_series`` gives it"""
    touches: tuple[Touch, ...] = ()

    def __post_init__(self) -> None:
        require_aware(self.started_at, "started_at")
        if self.ended_at is not None:
            require_aware(self.ended_at, "ended_at")

    def active_at(self, when: datetime) -> bool:
        """Started at or before ``when`` and not ended by then."""
        return self.started_at <= when and (self.ended_at is None or self.ended_at > when)

    def as_of(self, when: datetime) -> DyadActivity:
        """The activity as it stood at ``when``: meetings as they stood then
        (``Meeting.as_of``); forms only of meetings held by then, unsubmitted if
        submitted later; milestones created by then, unreported or unconfirmed if
        that came later; progress points and touches up to ``when``; an end
        after ``when`` is undone."""
        require_aware(when, "when")

        def settled(m: Meeting) -> bool:  # nothing about it was recorded after ``when``
            return ((m.mentee_confirmed_at is None or m.mentee_confirmed_at <= when)
                    and (m.mentor_confirmed_at is None or m.mentor_confirmed_at <= when)
                    and (not m.changes or max(c.at for c in m.changes) <= when))

        meetings = tuple(m if settled(m) else m.as_of(when) for m in self.meetings)
        held = {m.id for m in meetings if m.status is MeetingStatus.HELD}
        forms = tuple(
            f if f.submitted_at is None or f.submitted_at <= when else replace(f, submitted_at=None, rating=None)
            for f in self.forms
            if f.meeting_id in held
        )
        milestones = tuple(
            s if (s.reported_at is None or s.reported_at <= when) and (s.confirmed_at is None or s.confirmed_at <= when)
            else replace(
                s,
                reported_at=s.reported_at if s.reported_at is not None and s.reported_at <= when else None,
                confirmed_at=s.confirmed_at if s.confirmed_at is not None and s.confirmed_at <= when else None,
            )
            for s in self.milestones
            if s.created_at <= when
        )
        progress = tuple(tuple(p for p in series if p[0] <= when) for series in self.progress)
        touches = tuple(t for t in self.touches if t.at <= when)
        ended = self.ended_at if self.ended_at is not None and self.ended_at <= when else None
        return replace(self, ended_at=ended, meetings=meetings, forms=forms, milestones=milestones, progress=progress,
                       touches=touches)
