"""Tables of the evaluation service, on its own metadata.

Every row carries ``institution_id`` and every query filters by it. Built-in
instruments are not stored: they come from ``domain.BUILTIN`` with stable ids.

Responses of an anonymous administration store no person link: ``participant_id``
and ``account_id`` stay null and ``pseudonym`` is HMAC(key, program_id + account sub),
with the key outside the database (``EVALUATION_PSEUDONYM_KEY``). Responses to a
perceived-achievement instrument also carry ``dyad_ref``, a keyed pseudonym of the
respondent's dyad (never its id), which pairs a mentee's and her mentor's answers.

Interviews (``interviews.py``): guides, the program's interview team, proposed
samples and their picks, interviews (her answers, the only personal text here),
codings by coders (per answer) and a consensus coding, and quotes. An interview's
``code`` is random and is all coders see of who answered; ``participant_id`` and
``application_id`` link it to her until erasure. ``feed_cursors`` and
``handled_events`` keep the place in the participants service's feed
(consent withdrawals, erasures).
"""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel
from uuid6 import uuid7

from servicekit.consumer import FeedCursorBase, HandledEventBase
from servicekit.db import new_registry, one_of
from servicekit.idempotency import IdempotencyRecordBase
from servicekit.outbox import OutboxEventBase, utcnow

from services.evaluation.domain.instruments import Audience, Role
from services.evaluation.enums import InterviewStatus, Moment, PickSource, SampleStatus, Submission



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
    __table_args__ = (one_of("audience", Audience), one_of("moment", Moment))

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
    __table_args__ = (UniqueConstraint("administration_id", "pseudonym"), one_of("role", Role), one_of("status", Submission))

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
    status: str = Field(default=Submission.DRAFT.value, max_length=20)
    saved_at: datetime = _ts()
    submitted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ThemeRow(Base, table=True):
    """A theme of a program's codebook. A sub-theme has a parent theme, itself without parent (two levels)."""

    __tablename__ = "themes"
    __table_args__ = (UniqueConstraint("institution_id", "program_id", "code"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    code: str = Field(max_length=80)
    label_es: str = Field(max_length=200)
    label_en: str = Field(max_length=200)
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="themes.id", index=True)
    definition_es: str = Field(default="", sa_type=Text)
    definition_en: str = Field(default="", sa_type=Text)
    created_by: str = Field(max_length=200)
    created_at: datetime = _ts()


class CodingRow(Base, table=True):
    __tablename__ = "codings"
    __table_args__ = (UniqueConstraint("response_id", "evaluator"), one_of("role", Role))

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


# ----------------------------------------------------------------------------- interviews


class InterviewGuideRow(Base, table=True):
    """An ordered list of open questions for one role of one program, in Spanish and English.
    ``questions`` is ``[{"key", "es", "en"}, ...]``; a guide never changes once created."""

    __tablename__ = "interview_guides"
    __table_args__ = (one_of("role", Role),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    role: str = Field(max_length=20)
    title_es: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    questions: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    created_by: str = Field(max_length=200)
    created_at: datetime = _ts()


class InterviewTeamRow(Base, table=True):
    """An account of the institution on a program's interview team: interviewer, coder, lead coder."""

    __tablename__ = "interview_team"
    __table_args__ = (UniqueConstraint("institution_id", "program_id", "account_id"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    account_id: str = Field(max_length=200)
    interviewer: bool = False
    coder: bool = False
    lead_coder: bool = False
    assigned_by: str = Field(max_length=200)
    assigned_at: datetime = _ts()


class InterviewSampleRow(Base, table=True):
    """A proposed sample of people to interview. ``requested`` is ``{role: n}``; ``population`` the
    candidates per role and stratum when proposed (counts only)."""

    __tablename__ = "interview_samples"
    __table_args__ = (one_of("status", SampleStatus),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    seed: int
    requested: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    population: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=SampleStatus.PROPOSED.value, max_length=20)
    created_by: str = Field(max_length=200)
    created_at: datetime = _ts()
    accepted_by: str | None = Field(default=None, max_length=200)
    accepted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class SamplePickRow(Base, table=True):
    """One person of a sample, with the strata she fills (``strata``) and why, in words."""

    __tablename__ = "interview_sample_picks"
    __table_args__ = (UniqueConstraint("sample_id", "participant_id"), one_of("role", Role),
                      one_of("chosen_by", PickSource))

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    sample_id: uuid.UUID = Field(foreign_key="interview_samples.id", index=True, ondelete="CASCADE")
    role: str = Field(max_length=20)
    position: int
    participant_id: uuid.UUID = Field(index=True)
    career_stage: str | None = Field(default=None, max_length=40)
    stem_field: str | None = Field(default=None, max_length=40)
    strata: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    reason_es: str = Field(sa_type=Text)
    reason_en: str = Field(sa_type=Text)
    chosen_by: str = Field(max_length=20)


class InterviewRow(Base, table=True):
    """One recorded interview. ``answers`` is ``{question key: text}`` (personal text: stored here only).
    ``status``: recorded; withdrawn (she withdrew research consent: text, codings and quotes removed, left out
    of every analysis); erased (her erasure: text and quotes removed, the link to her cut, codings kept as
    anonymous counts)."""

    __tablename__ = "interviews"
    __table_args__ = (UniqueConstraint("program_id", "code"), UniqueConstraint("program_id", "participant_id"),
                      one_of("role", Role), one_of("status", InterviewStatus))

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    code: str = Field(max_length=20)
    guide_id: uuid.UUID = Field(foreign_key="interview_guides.id", index=True)
    role: str = Field(max_length=20)
    participant_id: uuid.UUID | None = Field(default=None, index=True)
    application_id: uuid.UUID | None = Field(default=None, index=True)
    interviewer: str = Field(max_length=200)
    conducted_on: date = Field(sa_type=Date)
    language: str = Field(max_length=2)
    quote_consent: bool = False
    answers: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=InterviewStatus.RECORDED.value, max_length=20)
    created_at: datetime = _ts()
    erased_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class InterviewCodingRow(Base, table=True):
    """A coder's codes for each answer of one interview (``codes``: ``{question key: [theme codes]}``), a draft
    until submitted; ``consensus`` marks the lead coder's reconciled coding."""

    __tablename__ = "interview_codings"
    __table_args__ = (UniqueConstraint("interview_id", "coder", "consensus"), one_of("status", Submission))

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    interview_id: uuid.UUID = Field(foreign_key="interviews.id", index=True, ondelete="CASCADE")
    coder: str = Field(max_length=200)
    consensus: bool = False
    codes: dict[str, list[str]] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=Submission.DRAFT.value, max_length=20)
    saved_at: datetime = _ts()
    submitted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class QuoteRow(Base, table=True):
    """A de-identified excerpt of one answer, marked by a coder as illustrating a theme."""

    __tablename__ = "interview_quotes"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    program_id: uuid.UUID = Field(index=True)
    interview_id: uuid.UUID = Field(foreign_key="interviews.id", index=True, ondelete="CASCADE")
    question: str = Field(max_length=40)
    theme_code: str = Field(max_length=80)
    excerpt: str = Field(sa_type=Text)
    created_by: str = Field(max_length=200)
    created_at: datetime = _ts()
