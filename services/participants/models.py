"""Tables of the participants service, on its own metadata.

Table classes only: request and response shapes live in ``schemas/``.
Every record that belongs to an institution carries ``institution_id``, and
every reference from one record to another goes through a composite foreign
key ``(institution_id, <ref>_id)`` onto the target's ``(institution_id, id)``,
so no record can ever point into another tenant (e.g. an academic unit to a
campus, an application to a program, a membership to a participant).

Vocabularies are ``StrEnum``s of ``enums``; each column holding one has
a CHECK constraint listing its values. Personal data lives in few columns:
``applications`` (the form), ``identity_data`` (optional, consented),
``participants`` (the profile); ``people.erase`` knows every one of them.
"""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel
from uuid6 import uuid7

from servicekit.db import new_registry, one_of
from servicekit.idempotency import IdempotencyRecordBase
from servicekit.outbox import OutboxEventBase, utcnow

from services.participants.enums import (
    Affiliation,
    ApplicationStatus,
    CareerStage,
    ConsentPurpose,
    Decision,
    Delivery,
    Discipline,
    MeetingCadence,
    MembershipStatus,
    MentoringMode,
    ModuleKind,
    PhaseKind,
    ProgramStatus,
    Role,
    RosterIdKind,
    RosterMode,
    RosterPass,
    RosterStage,
    RosterStatus,
    XapiActorId,
)
from services.participants.schemas.institutions import UnitKind


def tenant_fk(column: str, table: str, **kwargs: Any) -> ForeignKeyConstraint:
    """``(institution_id, column)`` → ``table(institution_id, id)``: same-tenant references only."""
    return ForeignKeyConstraint(["institution_id", column], [f"{table}.institution_id", f"{table}.id"], **kwargs)


class Base(SQLModel, registry=new_registry()):
    pass


class Institution(Base, table=True):
    """A university: the tenant every other record belongs to."""

    __tablename__ = "institutions"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    name: str = Field(max_length=200)
    slug: str = Field(max_length=63, unique=True)
    country: str = Field(max_length=2)
    timezone: str = Field(max_length=64)
    default_languages: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Campus(Base, table=True):
    """A campus of one institution; its name is unique within the institution."""

    __tablename__ = "campuses"
    __table_args__: Any = (
        UniqueConstraint("institution_id", "name"),
        # Target of the composite foreign key from academic_units.
        UniqueConstraint("institution_id", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    # Indexed as the leading column of the unique constraints above.
    institution_id: uuid.UUID = Field(foreign_key="institutions.id")
    name: str = Field(max_length=200)
    city: str = Field(max_length=120)
    timezone: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AcademicUnit(Base, table=True):
    """A faculty, school, department or program of one institution."""

    __tablename__ = "academic_units"
    __table_args__: Any = (
        UniqueConstraint("institution_id", "code"),
        ForeignKeyConstraint(["institution_id", "campus_id"], ["campuses.institution_id", "campuses.id"]),
        # Target of the composite foreign keys from applications and participants.
        UniqueConstraint("institution_id", "id"),
        one_of("kind", UnitKind),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    # Indexed as the leading column of the unique constraints above.
    institution_id: uuid.UUID = Field(foreign_key="institutions.id")
    campus_id: uuid.UUID | None = Field(default=None, index=True)
    name: str = Field(max_length=200)
    kind: str = Field(sa_type=String(20))  # a UnitKind value; the CHECK above lists them
    code: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------------------
# Programs


class Program(Base, table=True):
    """A cohort of one institution: its settings, criteria, privacy notice and status."""

    __tablename__ = "programs"
    __table_args__: Any = (
        # Target of the composite foreign keys from everything under a program.
        UniqueConstraint("institution_id", "id"),
        # The public list of open calls (GET /v1/calls) filters on the status of
        # every institution's programs, in id order: without it, a scan of them all.
        Index("ix_programs_status_id", "status", "id"),
        one_of("status", ProgramStatus),
        one_of("mode", MentoringMode),
        one_of("delivery", Delivery),
        one_of("meeting_cadence", MeetingCadence),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    # Indexed as the leading column of the unique constraint above.
    institution_id: uuid.UUID = Field(foreign_key="institutions.id")
    name: str = Field(max_length=200)
    description: str = Field(sa_type=Text)
    languages: list[str] = Field(default_factory=list, sa_type=JSON)
    mode: str = Field(sa_type=String(20))
    delivery: str = Field(sa_type=String(20))
    max_mentees_per_mentor: int
    meetings_count: int
    meeting_cadence: str = Field(sa_type=String(20))
    feedback_deadline_hours: int
    confirmation_days: int
    status: str = Field(sa_type=String(20))
    status_changed_at: datetime = Field(default_factory=utcnow)
    # Eligibility rules (schemas.programs.EligibilityRule), evaluated on read.
    criteria: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    privacy_notice_version: str | None = Field(default=None, max_length=32)
    privacy_notice_text: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ProgramPhase(Base, table=True):
    """One dated phase of a program (dates inclusive, in the institution's time zone)."""

    __tablename__ = "program_phases"
    __table_args__: Any = (
        UniqueConstraint("program_id", "kind"),
        tenant_fk("program_id", "programs", ondelete="CASCADE"),
        one_of("kind", PhaseKind),
        CheckConstraint("ends_on >= starts_on", name="dates"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    # Indexed as the leading column of the unique constraint above.
    program_id: uuid.UUID
    kind: str = Field(sa_type=String(20))
    starts_on: date
    ends_on: date


# ---------------------------------------------------------------------------
# Applications


class Application(Base, table=True):
    """One person's application to one program, keyed by her account id.

    The form's columns are nullable because a draft may be incomplete;
    submitting checks them. Erasure blanks them and replaces ``applicant_id``
    by a pseudonym, keeping status, role and dates for the funnel.
    """

    __tablename__ = "applications"
    __table_args__: Any = (
        UniqueConstraint("program_id", "applicant_id"),
        UniqueConstraint("institution_id", "id"),
        tenant_fk("program_id", "programs"),
        tenant_fk("campus_id", "campuses"),
        tenant_fk("academic_unit_id", "academic_units"),
        one_of("status", ApplicationStatus),
        one_of("role", Role),
        one_of("assigned_role", Role, nullable=True),
        one_of("decision", Decision, nullable=True),
        one_of("affiliation", Affiliation, nullable=True),
        one_of("career_stage", CareerStage, nullable=True),
        one_of("stem_field", Discipline, nullable=True),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID
    # Indexed as the leading column of the unique constraint above.
    program_id: uuid.UUID
    applicant_id: str = Field(max_length=100, index=True)
    # The role she seeks: a preference. Staff assign the role when they accept
    # her (``assigned_role``, NULL before); her membership takes that one.
    role: str = Field(sa_type=String(20))
    assigned_role: str | None = Field(default=None, sa_type=String(20))
    status: str = Field(sa_type=String(20))
    # The form
    full_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    preferred_language: str | None = Field(default=None, max_length=2)
    campus_id: uuid.UUID | None = Field(default=None, index=True)
    academic_unit_id: uuid.UUID | None = Field(default=None, index=True)
    affiliation: str | None = Field(default=None, sa_type=String(30))
    career_stage: str | None = Field(default=None, sa_type=String(30))
    stem_field: str | None = Field(default=None, sa_type=String(30))
    identifies_as_woman: bool | None = None
    willing_to_train: bool | None = None
    interest: str | None = Field(default=None, sa_type=Text)
    expectations: str | None = Field(default=None, sa_type=Text)
    experience: str | None = Field(default=None, sa_type=Text)
    years_of_experience: int | None = None
    funding_experience: bool | None = None
    has_recognition: bool | None = None
    recognition: str | None = Field(default=None, sa_type=Text)
    evidence: list[str] = Field(default_factory=list, sa_type=JSON)
    # The lifecycle
    decision: str | None = Field(default=None, sa_type=String(20))
    decision_reason: str | None = Field(default=None, sa_type=Text)
    decided_by: str | None = Field(default=None, max_length=100)
    decided_at: datetime | None = None
    submitted_at: datetime | None = None
    invited_at: datetime | None = None
    confirm_by: datetime | None = Field(default=None, index=True)
    confirmed_at: datetime | None = None
    closed_at: datetime | None = None
    withdrawal_reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Consent(Base, table=True):
    """One opt-in consent for one purpose, given for one privacy-notice version.

    Never updated except to stamp ``withdrawn_at``; granting again after a
    withdrawal adds a row, so the history stays.
    """

    __tablename__ = "consents"
    __table_args__: Any = (
        tenant_fk("application_id", "applications", ondelete="CASCADE"),
        one_of("purpose", ConsentPurpose),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID
    application_id: uuid.UUID = Field(index=True)
    purpose: str = Field(sa_type=String(30))
    privacy_notice_version: str = Field(max_length=32)
    granted_at: datetime = Field(default_factory=utcnow)
    withdrawn_at: datetime | None = None


class IdentityRecord(Base, table=True):
    """Optional self-described identity data given with one application.

    Kept apart from the application so that no query serving the form can
    reach it; held only while a ``matching_identity`` consent is active.
    """

    __tablename__ = "identity_data"
    __table_args__: Any = (tenant_fk("application_id", "applications", ondelete="CASCADE"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID
    application_id: uuid.UUID = Field(unique=True)
    gender_identity: str | None = Field(default=None, max_length=100)
    ethnicity: str | None = Field(default=None, max_length=100)
    first_generation: bool | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class EligibilityOverride(Base, table=True):
    """A coordinator's judgement of one rule for one application, with her reason."""

    __tablename__ = "eligibility_overrides"
    __table_args__: Any = (
        UniqueConstraint("application_id", "rule_id"),
        tenant_fk("application_id", "applications", ondelete="CASCADE"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID
    # Indexed as the leading column of the unique constraint above.
    application_id: uuid.UUID
    rule_id: str = Field(max_length=40)
    passed: bool
    reason: str = Field(sa_type=Text)
    decided_by: str = Field(max_length=100)
    decided_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------------------
# Participants


class Participant(Base, table=True):
    """A person taking part in the institution's programs: her profile.

    Created when she first confirms a place, or earlier by a roster import
    (``roster``): an imported profile has no account yet (``account_id`` is
    NULL) until she confirms a place with an application whose e-mail is the
    profile's (``roster.link_on_confirmation``). One per account and
    institution. External ids are unique within the institution (NULLs do not
    clash); ``email`` is stored lower-case and is not unique.
    """

    __tablename__ = "participants"
    __table_args__: Any = (
        UniqueConstraint("institution_id", "account_id"),
        UniqueConstraint("institution_id", "id"),
        UniqueConstraint("institution_id", "lms_id"),
        UniqueConstraint("institution_id", "hr_id"),
        UniqueConstraint("institution_id", "sis_id"),
        tenant_fk("campus_id", "campuses"),
        tenant_fk("academic_unit_id", "academic_units"),
        one_of("career_stage", CareerStage, nullable=True),
        one_of("affiliation", Affiliation, nullable=True),
        Index("ix_participants_institution_id_email", "institution_id", "email"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    # Indexed as the leading column of the unique constraints above.
    institution_id: uuid.UUID = Field(foreign_key="institutions.id")
    # NULL for a roster-imported profile that no account has claimed yet.
    account_id: str | None = Field(default=None, max_length=100)
    display_name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    affiliation: str | None = Field(default=None, sa_type=String(30))
    pronouns: str | None = Field(default=None, max_length=40)
    languages: list[str] = Field(default_factory=list, sa_type=JSON)
    timezone: str | None = Field(default=None, max_length=64)
    campus_id: uuid.UUID | None = Field(default=None, index=True)
    academic_unit_id: uuid.UUID | None = Field(default=None, index=True)
    career_stage: str | None = Field(default=None, sa_type=String(30))
    stem_fields: list[str] = Field(default_factory=list, sa_type=JSON)
    bio: str | None = Field(default=None, sa_type=Text)
    lms_id: str | None = Field(default=None, max_length=100)
    hr_id: str | None = Field(default=None, max_length=100)
    sis_id: str | None = Field(default=None, max_length=100)
    erased_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Membership(Base, table=True):
    """Her place in one program, with the role she was accepted for."""

    __tablename__ = "memberships"
    __table_args__: Any = (
        UniqueConstraint("program_id", "participant_id"),
        UniqueConstraint("institution_id", "id"),
        tenant_fk("program_id", "programs"),
        tenant_fk("participant_id", "participants"),
        tenant_fk("application_id", "applications"),
        one_of("role", Role),
        one_of("status", MembershipStatus),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID
    # Indexed as the leading column of the unique constraint above.
    program_id: uuid.UUID
    participant_id: uuid.UUID = Field(index=True)
    application_id: uuid.UUID = Field(unique=True)
    role: str = Field(sa_type=String(20))
    status: str = Field(sa_type=String(20))
    status_reason: str | None = Field(default=None, sa_type=Text)
    trained: bool = False
    trained_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ErasureRequest(Base, table=True):
    """The record of an erasure. It names no one: the pseudonym that replaced
    her account id in the rows kept for aggregates is not linked to her."""

    __tablename__ = "erasure_requests"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    pseudonym: str = Field(max_length=64, unique=True)
    requested_by_role: str = Field(max_length=20)
    requested_by: str | None = Field(default=None, max_length=100)
    requested_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime = Field(default_factory=utcnow)
    summary: dict[str, int] = Field(default_factory=dict, sa_type=JSON)


# ---------------------------------------------------------------------------
# Training


class TrainingModule(Base, table=True):
    """A module of a program's training. ``lms_activity_id`` is the IRI an LMS
    sends as the xAPI ``object.id`` of this module (unique per institution)."""

    __tablename__ = "training_modules"
    __table_args__: Any = (
        UniqueConstraint("institution_id", "id"),
        tenant_fk("program_id", "programs"),
        one_of("kind", ModuleKind),
        # A unique index, not a constraint: added to an existing table without
        # rebuilding it on SQLite (see migration roster0001).
        Index("uq_training_modules_institution_id_lms_activity_id", "institution_id", "lms_activity_id", unique=True),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    # Indexed as the leading column of the unique constraint above.
    institution_id: uuid.UUID
    program_id: uuid.UUID = Field(index=True)
    title: str = Field(max_length=200)
    kind: str = Field(sa_type=String(30))
    expected_minutes: int
    required: bool = True
    lms_activity_id: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class TrainingCompletion(Base, table=True):
    """One member's completion of one module; one per pair, and an external
    id names one completion within the institution."""

    __tablename__ = "training_completions"
    __table_args__: Any = (
        UniqueConstraint("module_id", "membership_id"),
        UniqueConstraint("institution_id", "external_id"),
        tenant_fk("module_id", "training_modules"),
        tenant_fk("membership_id", "memberships"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID
    # Indexed as the leading column of the unique constraint above.
    module_id: uuid.UUID
    membership_id: uuid.UUID = Field(index=True)
    completed_at: datetime
    external_id: str | None = Field(default=None, max_length=200)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------------------
# Roster imports (``roster``)


class RosterImport(Base, table=True):
    """One uploaded roster file and the job that validates (dry run) or commits it.

    Progress and counts are written in the same transaction as each batch, so
    any replica answers polls and a worker that dies is resumed from
    ``rows_done`` by whichever replica next sees its lease expired.
    """

    __tablename__ = "roster_imports"
    __table_args__: Any = (
        UniqueConstraint("institution_id", "id"),
        one_of("id_kind", RosterIdKind),
        one_of("status", RosterStatus),
        one_of("mode", RosterMode, nullable=True),
        one_of("pass_kind", RosterPass, nullable=True),
        one_of("stage", RosterStage, nullable=True),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    # Indexed as the leading column of the unique constraint above.
    institution_id: uuid.UUID = Field(foreign_key="institutions.id")
    id_kind: str = Field(sa_type=String(10))
    status: str = Field(sa_type=String(20))
    mode: str | None = Field(default=None, sa_type=String(20))
    pass_kind: str | None = Field(default=None, sa_type=String(10))
    stage: str | None = Field(default=None, sa_type=String(20))
    filename: str | None = Field(default=None, max_length=200)
    size_bytes: int
    delimiter: str = Field(max_length=1)
    columns: list[str] = Field(default_factory=list, sa_type=JSON)
    ignored_columns: list[str] = Field(default_factory=list, sa_type=JSON)
    rows_total: int
    rows_done: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    errors_count: int = 0
    worker: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = None
    failure: str | None = Field(default=None, sa_type=Text)
    file_purged_at: datetime | None = None
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class RosterImportFile(Base, table=True):
    """The uploaded text, apart from the job row so that polls never load it.
    Deleted once the import is committed, after the retention period, or by an
    erasure that finds her in it."""

    __tablename__ = "roster_import_files"
    __table_args__: Any = (tenant_fk("import_id", "roster_imports", ondelete="CASCADE"),)

    import_id: uuid.UUID = Field(primary_key=True)
    institution_id: uuid.UUID = Field(index=True)
    content: str = Field(sa_type=Text)


class RosterImportError(Base, table=True):
    """One problem of one row of the latest pass: row (the header is row 1), column, message."""

    __tablename__ = "roster_import_errors"
    __table_args__: Any = (tenant_fk("import_id", "roster_imports", ondelete="CASCADE"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID
    import_id: uuid.UUID = Field(index=True)
    row: int
    field: str = Field(max_length=60)
    problem: str = Field(max_length=500)
    code: str = Field(max_length=40)


# ---------------------------------------------------------------------------
# xAPI (``xapi``)


class XapiSettings(Base, table=True):
    """How one institution's LMS names people in xAPI statements: the actor's
    ``account.homePage`` it must send, and which external id ``account.name`` is."""

    __tablename__ = "xapi_settings"
    __table_args__: Any = (one_of("actor_id", XapiActorId),)

    institution_id: uuid.UUID = Field(foreign_key="institutions.id", primary_key=True)
    home_page: str = Field(max_length=500, index=True)
    actor_id: str = Field(sa_type=String(10))
    updated_by: str = Field(max_length=100)
    updated_at: datetime = Field(default_factory=utcnow)


class XapiStatement(Base, table=True):
    """A stored xAPI statement (or plain completion webhook): its id, for
    idempotency, and the completion it recorded. The statement itself is not
    kept, only a digest that tells a repeat from a different statement."""

    __tablename__ = "xapi_statements"
    __table_args__: Any = (
        UniqueConstraint("institution_id", "statement_id"),
        tenant_fk("participant_id", "participants"),
        tenant_fk("module_id", "training_modules"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    # Indexed as the leading column of the unique constraint above.
    institution_id: uuid.UUID
    statement_id: uuid.UUID
    participant_id: uuid.UUID = Field(index=True)
    module_id: uuid.UUID = Field(index=True)
    completion_id: uuid.UUID = Field(foreign_key="training_completions.id", index=True)
    verb: str = Field(max_length=20)
    digest: str = Field(max_length=64)
    timestamp: datetime
    recorded_by: str = Field(max_length=100)
    stored_at: datetime = Field(default_factory=utcnow)


class OutboxEvent(OutboxEventBase, Base, table=True):
    pass


class IdempotencyRecord(IdempotencyRecordBase, Base, table=True):
    pass
