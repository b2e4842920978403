"""Tables of the evaluation service, on its own metadata.

Every row carries ``institution_id`` and every query filters by it. Built-in
instruments are not stored: they come from ``analytics.BUILTIN`` with stable ids.

Responses of an anonymous administration store no person link: ``participant_id``
and ``account_id`` stay null and ``pseudonym`` is HMAC(key, program_id + account sub),
with the key outside the database (``EVALUATION_PSEUDONYM_KEY``). Responses to a
perceived-achievement instrument also carry ``dyad_ref``, a keyed pseudonym of the
respondent's dyad (never its id), which pairs a mentee's and her mentor's answers.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel
from uuid6 import uuid7

from servicekit.db import new_registry
from servicekit.idempotency import IdempotencyRecordBase
from servicekit.outbox import OutboxEventBase, utcnow


class Base(SQLModel, registry=new_registry()):
    pass


class OutboxEvent(OutboxEventBase, Base, table=True):
    pass


class IdempotencyRecord(IdempotencyRecordBase, Base, table=True):
    pass


def _ts() -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class InstrumentVersion(Base, table=True):
    """One version of an institution's instrument (a copy of a built-in, then edits)."""

    __tablename__ = "instrument_versions"
    __table_args__ = (UniqueConstraint("institution_id", "key", "version"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    key: str = Field(max_length=100)
    version: int
    title_en: str = Field(max_length=300)
    definition: dict[str, Any] = Field(sa_type=JSON)
    copied_from: str = Field(max_length=120)
    created_by: str = Field(max_length=200)
    created_at: datetime = _ts()


class AdministrationRow(Base, table=True):
    __tablename__ = "administrations"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    instrument_id: uuid.UUID
    instrument_key: str = Field(max_length=100)
    instrument_version: int
    audience: str = Field(max_length=20)
    moment: str = Field(max_length=20)
    label: str | None = Field(default=None, max_length=200)
    opens_at: datetime = Field(sa_type=DateTime(timezone=True))
    closes_at: datetime = Field(sa_type=DateTime(timezone=True))
    anonymous: bool = False
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_by: str = Field(max_length=200)
    created_at: datetime = _ts()


class ResponseRow(Base, table=True):
    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("administration_id", "pseudonym"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    administration_id: uuid.UUID = Field(index=True)
    pseudonym: str = Field(max_length=64, description="HMAC(key, program_id + account sub), hex.")
    participant_id: uuid.UUID | None = Field(default=None, description="Null in anonymous administrations.")
    account_id: str | None = Field(default=None, max_length=200, description="Null in anonymous administrations.")
    role: str = Field(max_length=20)
    dyad_ref: str | None = Field(
        default=None, max_length=64,
        description="Perceived-achievement instruments only: HMAC(key, 'dyad:' + program_id + dyad id), the respondent's "
                    "dyad as she submitted, so that mentee and mentor pair per dyad; never the dyad id itself.",
    )
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="draft", max_length=20)
    saved_at: datetime = _ts()
    submitted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ThemeRow(Base, table=True):
    __tablename__ = "themes"
    __table_args__ = (UniqueConstraint("institution_id", "program_id", "code"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    code: str = Field(max_length=80)
    label_es: str = Field(max_length=200)
    label_en: str = Field(max_length=200)
    created_by: str = Field(max_length=200)
    created_at: datetime = _ts()


class CodingRow(Base, table=True):
    __tablename__ = "codings"
    __table_args__ = (UniqueConstraint("response_id", "evaluator"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    response_id: uuid.UUID = Field(index=True)
    role: str = Field(max_length=20)
    evaluator: str = Field(max_length=200)
    themes: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = _ts()


class DisclosureSettingsRow(Base, table=True):
    """A program's disclosure thresholds (coordinators set them; never below the platform's floor,
    ``EVALUATION_MIN_CELL`` / ``EVALUATION_MIN_TEXT``). Without a row the floor applies."""

    __tablename__ = "disclosure_settings"
    __table_args__ = (UniqueConstraint("institution_id", "program_id"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    min_cell: int
    min_text: int
    updated_by: str = Field(max_length=200)
    updated_at: datetime = _ts()
