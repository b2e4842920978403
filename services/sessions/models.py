"""Tables of the sessions service, on its own metadata.

Every row that belongs to an institution carries ``institution_id`` and every
query filters by it. Timestamps are stored as UTC and read back aware.
"""

import uuid
from datetime import date, datetime
from typing import Any


from sqlalchemy import JSON, CheckConstraint, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel
from uuid6 import uuid7

from servicekit.consumer import FeedCursorBase, HandledEventBase
from servicekit.db import UtcDateTime, new_registry, one_of
from servicekit.erasures import ErasedSubjectBase
from servicekit.idempotency import IdempotencyRecordBase
from servicekit.outbox import OutboxEventBase, utcnow

from services.sessions import domain
from services.sessions.enums import DyadStatus, GroupEventKind, MeetingChangeKind, MeetingStatus, MilestoneChangeKind, MilestoneStatus, Modality



class Base(SQLModel, registry=new_registry()):
    pass



class OutboxEvent(OutboxEventBase, Base, table=True):
    pass


class IdempotencyRecord(IdempotencyRecordBase, Base, table=True):
    pass


class FeedCursor(FeedCursorBase, Base, table=True):
    pass


class ErasedSubject(ErasedSubjectBase, Base, table=True):
    pass


class HandledEvent(HandledEventBase, Base, table=True):
    pass


class ProgramSettings(Base, table=True):
    """A program as the sessions service knows it: from match.activated, plus what coordinators set here."""

    __tablename__ = "program_settings"

    program_id: uuid.UUID = Field(primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    delivery: str = Field(max_length=20)
    meetings_count: int
    cadence: str = Field(max_length=20)
    duration_minutes: int
    mentoring_starts_on: date
    mentoring_ends_on: date
    feedback_deadline_hours: float
    feedback_items: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    counterpart_reads_feedback: bool = False
    health_thresholds: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    """the program's supervision policy (``domain.HealthPolicy.to_dict``; omitted fields keep the defaults)"""
    health_norms: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    """the program's norms as last computed (``domain.ProgramNorms.to_dict``), reused for an hour by each change"""
    health_norms_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Dyad(Base, table=True):
    """An active (or ended) match: the payload of match.activated, kept whole."""

    __tablename__ = "dyads"
    __table_args__ = (one_of("status", DyadStatus), one_of("health_status", domain.Health))

    id: uuid.UUID = Field(primary_key=True, description="The match id.")
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    mentee_participant_id: uuid.UUID
    mentor_participant_id: uuid.UUID
    mentee_account_id: str = Field(max_length=200, index=True)
    mentor_account_id: str = Field(max_length=200, index=True)
    mentee_timezone: str = Field(max_length=64)
    mentor_timezone: str = Field(max_length=64)
    mentee_availability: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    mentor_availability: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    preferred_delivery: str = Field(max_length=20)
    status: str = Field(default=DyadStatus.ACTIVE.value, max_length=20)
    schedule_status: str = Field(max_length=20)
    schedule_slot: str | None = Field(default=None, max_length=100)
    schedule_reasons: list[str] = Field(default_factory=list, sa_type=JSON)
    health_status: str | None = Field(default=None, max_length=10)
    health_summary: str | None = Field(default=None, sa_type=Text)
    health_reasons: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    """the reasons of the last assessment, while the dyad is flagged (the at-risk list reads them)"""
    health_signals: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    health_assessed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    health_norms_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    activated_at: datetime = Field(sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    end_reason: str | None = Field(default=None, max_length=1000)


class Meeting(Base, table=True):
    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("dyad_id", "number"), one_of("status", MeetingStatus), one_of("modality", Modality))

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    dyad_id: uuid.UUID = Field(foreign_key="dyads.id", index=True)
    number: int
    planned_start: datetime = Field(sa_type=UtcDateTime)
    start: datetime = Field(sa_type=UtcDateTime)
    duration_minutes: int
    modality: str = Field(max_length=20)
    link: str | None = Field(default=None, max_length=500)
    place: str | None = Field(default=None, max_length=300)
    status: str = Field(default=MeetingStatus.SCHEDULED.value, max_length=20)
    reschedules: int = 0
    sequence: int = 0
    mentee_confirmed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    mentor_confirmed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    notes: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class MeetingChange(Base, table=True):
    """History of a meeting: every reschedule, cancellation, no-show."""

    __tablename__ = "meeting_changes"
    __table_args__ = (one_of("kind", MeetingChangeKind),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    meeting_id: uuid.UUID = Field(foreign_key="meetings.id", index=True)
    kind: str = Field(max_length=20)
    by: str = Field(max_length=20)
    from_start: datetime = Field(sa_type=UtcDateTime)
    to_start: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reason: str = Field(sa_type=Text)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


TO_ANNOUNCE = "submitted_at IS NULL AND overdue_announced_at IS NULL"


class FeedbackForm(Base, table=True):
    __tablename__ = "feedback_forms"
    __table_args__ = (
        UniqueConstraint("meeting_id", "respondent_role"),
        # The overdue sweep (feedback.sweep) reads only the forms still to announce, whatever the number of forms
        # every institution has sent: a partial index of the unsent, unannounced ones by due date.
        Index("ix_feedback_forms_to_announce", "due_at", postgresql_where=text(TO_ANNOUNCE), sqlite_where=text(TO_ANNOUNCE)),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    dyad_id: uuid.UUID = Field(foreign_key="dyads.id", index=True)
    meeting_id: uuid.UUID = Field(foreign_key="meetings.id", index=True)
    respondent_role: str = Field(max_length=10)
    respondent_account_id: str = Field(max_length=200, index=True)
    due_at: datetime = Field(sa_type=UtcDateTime, index=True)
    submitted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ratings: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    rating: float | None = None
    comments: str | None = Field(default=None, sa_type=Text)
    meeting_took_place: bool | None = None
    on_time: bool | None = None
    delay_days: int | None = None
    overdue_announced_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Objective(Base, table=True):
    __tablename__ = "objectives"
    __table_args__ = (one_of("direction", domain.Direction),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    dyad_id: uuid.UUID = Field(foreign_key="dyads.id", index=True)
    statement: str = Field(sa_type=Text)
    metric: str = Field(max_length=300)
    baseline: float
    target: float
    unit: str = Field(max_length=100)
    direction: str | None = Field(default=None, max_length=10)
    plan: str = Field(sa_type=Text)
    resources: list[str] = Field(default_factory=list, sa_type=JSON)
    career_goal: str = Field(sa_type=Text)
    due_date: date
    set_on: date
    mentee_perceived: float | None = None
    mentor_perceived: float | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ProgressEntry(Base, table=True):
    __tablename__ = "progress_entries"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    objective_id: uuid.UUID = Field(foreign_key="objectives.id", index=True)
    value: float
    note: str | None = Field(default=None, sa_type=Text)
    meeting_id: uuid.UUID | None = Field(default=None, foreign_key="meetings.id")
    recorded_at: datetime = Field(sa_type=UtcDateTime)


class Milestone(Base, table=True):
    """A verifiable step of a SMART objective. The current evidence lives here
    while the milestone is reported or confirmed; every report (with the
    evidence it carried), confirmation and return is kept in ``milestone_changes``.
    ``title``, ``evidence_link``, ``evidence_note`` and ``return_reason`` are
    personal content (the mentee's, her reviewer's): never in events or logs, and
    part of whatever export or erasure covers her objectives."""

    __tablename__ = "milestones"
    __table_args__ = (
        one_of("status", MilestoneStatus),
        CheckConstraint("status = 'planned' OR (reported_at IS NOT NULL AND met_on IS NOT NULL)", name="reported"),
        CheckConstraint("(status = 'confirmed') = (confirmed_at IS NOT NULL)", name="confirmed"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    objective_id: uuid.UUID = Field(foreign_key="objectives.id", index=True)
    dyad_id: uuid.UUID = Field(foreign_key="dyads.id", index=True)
    title: str = Field(max_length=200)
    due_on: date
    status: str = Field(default=MilestoneStatus.PLANNED.value, max_length=10)
    met_on: date | None = None
    evidence_link: str | None = Field(default=None, max_length=2083)
    evidence_note: str | None = Field(default=None, sa_type=Text)
    reported_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    confirmed_by: str | None = Field(default=None, max_length=20)
    returned_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    return_reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class MilestoneChange(Base, table=True):
    """History of a milestone: each report with its evidence, each confirmation, each return with its reason
    (personal content, as on ``Milestone``)."""

    __tablename__ = "milestone_changes"
    __table_args__ = (one_of("kind", MilestoneChangeKind),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    milestone_id: uuid.UUID = Field(foreign_key="milestones.id", index=True)
    kind: str = Field(max_length=10)
    by: str = Field(max_length=20)
    met_on: date | None = None
    evidence_link: str | None = Field(default=None, max_length=2083)
    evidence_note: str | None = Field(default=None, sa_type=Text)
    reason: str | None = Field(default=None, sa_type=Text)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DiaryEntry(Base, table=True):
    __tablename__ = "diary_entries"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    dyad_id: uuid.UUID = Field(foreign_key="dyads.id", index=True)
    author_account_id: str = Field(max_length=200)
    text: str = Field(sa_type=Text)
    entry_date: date
    objective_id: uuid.UUID | None = Field(default=None, foreign_key="objectives.id")
    meeting_id: uuid.UUID | None = Field(default=None, foreign_key="meetings.id")
    shared_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class CalendarToken(Base, table=True):
    """A participant's private calendar URL; only the SHA-256 of the token is kept."""

    __tablename__ = "calendar_tokens"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    account_id: str = Field(max_length=200, index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class GroupEvent(Base, table=True):
    __tablename__ = "group_events"
    __table_args__ = (one_of("kind", GroupEventKind), one_of("modality", Modality))

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    title: str = Field(max_length=200)
    kind: str = Field(max_length=30)
    starts_at: datetime = Field(sa_type=UtcDateTime)
    duration_minutes: int
    modality: str = Field(max_length=20)
    link: str | None = Field(default=None, max_length=500)
    place: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Attendance(Base, table=True):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("event_id", "participant_id"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    event_id: uuid.UUID = Field(foreign_key="group_events.id", index=True)
    participant_id: uuid.UUID
    attended: bool
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
