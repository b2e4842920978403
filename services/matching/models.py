"""Tables of the matching service, on its own metadata.

Every row that belongs to an institution carries ``institution_id`` and every
query filters by it. Lists of codes, slots and run reports are JSON columns: they
are read and written whole, never queried inside. Each column that holds a
vocabulary of ``enums`` has a CHECK constraint listing its values.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel
from uuid6 import uuid7

from servicekit.consumer import FeedCursorBase, HandledEventBase
from servicekit.db import new_registry, one_of
from servicekit.idempotency import IdempotencyRecordBase
from servicekit.outbox import OutboxEventBase, utcnow

from services.matching.enums import Actor, Algorithm, Delivery, MatchStatus, Objective, OfferStatus, Role, RunStatus



class Base(SQLModel, registry=new_registry()):
    pass


class OutboxEvent(OutboxEventBase, Base, table=True):
    pass


class IdempotencyRecord(IdempotencyRecordBase, Base, table=True):
    pass


class FeedCursor(FeedCursorBase, Base, table=True):
    pass


class HandledEvent(HandledEventBase, Base, table=True):
    pass


class MatchingProfile(Base, table=True):
    """One participant's questionnaire answers in one program."""

    __tablename__ = "matching_profiles"
    __table_args__ = (
        UniqueConstraint("program_id", "participant_id"),
        one_of("role", Role),
        one_of("delivery", Delivery),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    participant_id: uuid.UUID = Field(index=True)
    account_id: str = Field(max_length=200)
    role: str = Field(max_length=20)
    objectives: list[str] = Field(default_factory=list, sa_type=JSON)
    objectives_text: str | None = Field(default=None, max_length=2000)
    expertise: list[str] = Field(default_factory=list, sa_type=JSON)
    experience: str | None = Field(default=None, max_length=2000)
    availability: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    timezone: str = Field(max_length=64)
    capacity: int = 1
    willing_to_substitute: bool = False
    interests: list[str] = Field(default_factory=list, sa_type=JSON)
    languages: list[str] = Field(default_factory=list, sa_type=JSON)
    delivery: str = Field(max_length=20)
    requests: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ProgramSettings(Base, table=True):
    """Matching settings of one program; absent means the defaults (the pilots' rule)."""

    __tablename__ = "matching_settings"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(unique=True)
    body: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow)


class MatchingRun(Base, table=True):
    """One whole-cohort run: its input snapshot, solver, parameters, timing and report."""

    __tablename__ = "matching_runs"
    __table_args__ = (one_of("status", RunStatus), one_of("algorithm", Algorithm), one_of("objective", Objective))

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    parent_run_id: uuid.UUID | None = None
    status: str = Field(default=RunStatus.completed, max_length=20)
    algorithm: str = Field(max_length=20)
    objective: str = Field(max_length=40)
    solver: str = Field(max_length=200)
    parameters: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    timings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    inputs: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    report: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    duration_ms: float = 0.0
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = None


class Match(Base, table=True):
    """A dyad: proposed → active (both accepted, or auto-accepted) → completed, or dissolved."""

    __tablename__ = "matches"
    __table_args__ = (one_of("status", MatchStatus), one_of("dissolved_by", Actor, nullable=True))

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    run_id: uuid.UUID = Field(index=True)
    mentee_participant_id: uuid.UUID = Field(index=True)
    mentor_participant_id: uuid.UUID = Field(index=True)
    mentee_account_id: str = Field(max_length=200, index=True)
    mentor_account_id: str = Field(max_length=200, index=True)
    score: float
    status: str = Field(default=MatchStatus.proposed, max_length=20)
    mentee_accepted_at: datetime | None = None
    mentor_accepted_at: datetime | None = None
    activated_at: datetime | None = None
    completed_at: datetime | None = None
    dissolved_at: datetime | None = None
    dissolved_by: str | None = Field(default=None, max_length=20)
    dissolution_reason: str | None = Field(default=None, max_length=1000)
    replaces_match_id: uuid.UUID | None = None
    context: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SubstituteOffer(Base, table=True):
    """An unmatched mentor asked to stay on as a substitute; she must agree."""

    __tablename__ = "substitute_offers"
    __table_args__ = (UniqueConstraint("program_id", "mentor_participant_id"), one_of("status", OfferStatus))

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    run_id: uuid.UUID
    mentor_participant_id: uuid.UUID
    mentor_account_id: str = Field(max_length=200)
    membership_id: uuid.UUID | None = None
    rank: int
    status: str = Field(default=OfferStatus.offered, max_length=20)
    created_at: datetime = Field(default_factory=utcnow)
    responded_at: datetime | None = None
