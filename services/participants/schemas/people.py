"""Participants (profiles), their memberships, and data-subject rights."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.participants.schemas.applications import (
    ApplicationPublic,
    ConsentPublic,
    IdentityPublic,
    OverridePublic,
)
from services.participants.schemas.common import (
    CreateModel,
    ExternalId,
    LanguageCode,
    Name,
    PublicModel,
    TimeZoneName,
    UpdateModel,
    update_config,
    distinct,
    long_text,
    short_text,
)
from services.participants.enums import Affiliation, CareerStage, Discipline, MembershipStatus, Role
from services.participants.schemas.programs import Reason
from services.participants.schemas.training import CompletionPublic

Pronouns = short_text(40, "ella")
Bio = long_text(1000, "Química, investigadora en catálisis; me gusta el senderismo.")
PersonLanguages = Annotated[
    list[LanguageCode],
    Field(max_length=10),
    AfterValidator(distinct),
    Field(
        description="Languages she speaks, in order of preference.",
        examples=[["es", "en"]],
        json_schema_extra={"uniqueItems": True},
    ),
]
StemFields = Annotated[
    list[Discipline],
    Field(max_length=5),
    AfterValidator(distinct),
    Field(examples=[["chemistry"]], json_schema_extra={"uniqueItems": True}),
]


class MembershipPublic(PublicModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    program_id: uuid.UUID
    participant_id: uuid.UUID
    application_id: uuid.UUID
    role: Role
    status: MembershipStatus
    status_reason: str | None
    trained: bool = Field(description="Every required training module of the program is complete.")
    trained_at: datetime | None
    created_at: datetime
    updated_at: datetime


class MembershipUpdate(UpdateModel):
    """Change a membership's status (active ⇄ substitute, then withdrawn or completed)."""

    status: MembershipStatus
    reason: Reason | None = None  # type: ignore[valid-type]

    model_config = update_config({"status": "substitute", "reason": "Unmatched; agreed to step in."})


class ParticipantPublic(PublicModel):
    """The full profile: for her and the institution's coordinators only."""

    id: uuid.UUID
    institution_id: uuid.UUID
    account_id: str | None = Field(
        description="Her account id; null for a profile imported from a roster that no account has claimed yet."
    )
    display_name: str
    email: str | None = Field(description="Institutional e-mail (roster) or the one of her application, lower-case.")
    affiliation: Affiliation | None
    pronouns: str | None
    languages: list[str]
    timezone: str | None
    campus_id: uuid.UUID | None
    academic_unit_id: uuid.UUID | None
    career_stage: CareerStage | None
    stem_fields: list[Discipline]
    bio: str | None
    lms_id: str | None
    hr_id: str | None
    sis_id: str | None
    memberships: list[MembershipPublic]
    created_at: datetime
    updated_at: datetime


class PublicProfile(PublicModel):
    """What a counterpart sees."""

    id: uuid.UUID
    display_name: str
    pronouns: str | None
    languages: list[str]
    timezone: str | None
    campus_id: uuid.UUID | None
    academic_unit_id: uuid.UUID | None
    career_stage: CareerStage | None
    stem_fields: list[Discipline]
    bio: str | None


class ParticipantUpdate(UpdateModel):
    """Her profile. External ids are set by the institution's coordinators only."""

    display_name: Name = None  # type: ignore[assignment]
    pronouns: Pronouns | None = None  # type: ignore[valid-type]
    languages: PersonLanguages = None  # type: ignore[assignment]
    timezone: TimeZoneName | None = None
    campus_id: uuid.UUID | None = None
    academic_unit_id: uuid.UUID | None = None
    career_stage: CareerStage | None = None
    stem_fields: StemFields = None  # type: ignore[assignment]
    bio: Bio | None = None  # type: ignore[valid-type]
    lms_id: ExternalId | None = Field(default=None, description="Coordinators only; unique within the institution.")
    hr_id: ExternalId | None = Field(default=None, description="Coordinators only; unique within the institution.")
    sis_id: ExternalId | None = Field(default=None, description="Coordinators only; unique within the institution.")

    model_config = update_config({"pronouns": "ella", "bio": "Química."})


# ---------------------------------------------------------------------------
# Data-subject rights


class ApplicationRecord(BaseModel):
    """One application with everything attached to it."""

    application: ApplicationPublic
    consents: list[ConsentPublic]
    identity: IdentityPublic | None
    eligibility_overrides: dict[str, OverridePublic] = Field(description="Coordinators' overrides by rule id.")


class DataExport(BaseModel):
    """Everything this service holds about one person in one institution."""

    subject_id: str = Field(description="Her account id.")
    institution_id: uuid.UUID
    exported_at: datetime
    applications: list[ApplicationRecord]
    participant: ParticipantPublic | None
    training_completions: list[CompletionPublic]


class ErasureSummary(BaseModel):
    applications_pseudonymised: int
    participants_pseudonymised: int
    memberships_withdrawn: int
    consents_deleted: int
    identity_records_deleted: int
    overrides_deleted: int
    completions_kept: int = Field(description="Kept without external ids, for the cohort's training statistics.")
    events_scrubbed: int
    idempotency_records_deleted: int
    xapi_statements_deleted: int = Field(default=0, description="xAPI statements that recorded her completions.")
    roster_uploads_deleted: int = Field(default=0, description="Stored roster uploads (not committed) naming her.")


class ErasureRequestPublic(PublicModel):
    """The record of an erasure: who asked (a role, never her), when, and what was done."""

    id: uuid.UUID
    institution_id: uuid.UUID
    requested_by_role: str = Field(examples=["data_subject"], description="data_subject, coordinator or admin.")
    requested_by: str | None = Field(description="The coordinator's or admin's account id; null when she asked herself.")
    requested_at: datetime
    completed_at: datetime
    summary: ErasureSummary


class ErasureCreate(CreateModel):
    """Nothing to fill in: the subject is in the path. ``{}`` is the whole body."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})
