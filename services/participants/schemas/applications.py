"""Applications to a call: the form, decisions, invitations, consent, identity
data, eligibility results and the funnel."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from services.participants.schemas.common import (
    CreateModel,
    Email,
    Instant,
    LanguageCode,
    Link,
    Name,
    PublicModel,
    UpdateModel,
    update_config,
    distinct,
    long_text,
    short_text,
)
from services.participants.enums import (
    Affiliation,
    ApplicationStatus,
    CareerStage,
    ConsentPurpose,
    Decision,
    Discipline,
    MembershipStatus,
    Role,
    RuleOutcome,
    Verdict,
)
from services.participants.schemas.programs import Reason

Answer = long_text(2000, "Quiero fortalecer mi liderazgo y mi red de colaboración.")
Evidence = Annotated[
    list[Link],
    Field(max_length=10),
    AfterValidator(distinct),
    Field(description="Links to a CV and other evidence.", json_schema_extra={"uniqueItems": True}),
]
Years = Annotated[int, Field(ge=0, le=70, description="Years of professional or research experience.")]
NoticeVersion = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", examples=["2026-1"], description="The privacy-notice version she read."
    ),
]


class ApplicationFields(BaseModel):
    """The pilot's form. Every field may stay empty in a draft; submitting
    needs the general information, affiliation, career stage, field, the
    declarations, interest, expectations and experience, and for mentors the
    funding-call experience and recognition."""

    full_name: Name | None = Field(default=None, examples=["Ana López Hernández"])
    email: Email | None = None
    preferred_language: LanguageCode | None = None
    campus_id: uuid.UUID | None = Field(default=None, description="A campus of the program's institution.")
    academic_unit_id: uuid.UUID | None = Field(default=None, description="An academic unit of the program's institution.")
    affiliation: Affiliation | None = None
    career_stage: CareerStage | None = None
    stem_field: Discipline | None = None
    identifies_as_woman: bool | None = Field(
        default=None, description="Self-declared: the program is for women working or studying in STEM."
    )
    willing_to_train: bool | None = Field(default=None, description="She will take the program's training.")
    interest: Answer | None = None  # type: ignore[valid-type]
    expectations: Answer | None = None  # type: ignore[valid-type]
    experience: Answer | None = None  # type: ignore[valid-type]
    years_of_experience: Years | None = None
    funding_experience: bool | None = Field(default=None, description="Mentors: experience with funding calls.")
    has_recognition: bool | None = Field(default=None, description="Mentors: recognised in her field.")
    recognition: Answer | None = Field(  # type: ignore[valid-type]
        default=None, description="Mentors: what recognition (distinctions, memberships)."
    )
    evidence: Evidence = []


class ConsentGrant(CreateModel):
    """Opt-in consents, each for one purpose, given for the notice version she read."""

    privacy_notice_version: NoticeVersion
    purposes: Annotated[
        list[ConsentPurpose],
        Field(min_length=1, max_length=len(ConsentPurpose), json_schema_extra={"uniqueItems": True}),
        AfterValidator(distinct),
    ]


IdentityText = short_text(100, "mujer", "In her own words.")


class IdentityData(CreateModel):
    """Optional, self-described identity data. Readable only by her and, while
    she consents to ``matching_identity``, by the matching service."""

    gender_identity: IdentityText | None = None  # type: ignore[valid-type]
    ethnicity: IdentityText | None = None  # type: ignore[valid-type]
    first_generation: bool | None = Field(default=None, description="First in her family at university.")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"gender_identity": "mujer", "first_generation": True}], "minProperties": 1}
    )

    @model_validator(mode="after")
    def _something(self) -> Self:
        if all(v is None for v in (self.gender_identity, self.ethnicity, self.first_generation)):
            raise ValueError("Give at least one value, or delete the identity data instead")
        return self


APPLICATION_EXAMPLE = {
    "program_id": "01968a3c-8f3b-7c1e-9d2a-3b4c5d6e7f80",
    "role": "mentee",
    "full_name": "Ana López Hernández",
    "email": "ana.lopez@uaeh.edu.mx",
    "preferred_language": "es",
    "affiliation": "graduate",
    "career_stage": "graduate_student",
    "stem_field": "chemistry",
    "identifies_as_woman": True,
    "willing_to_train": True,
    "interest": "Fortalecer mi liderazgo.",
    "expectations": "Una mentora que me oriente en mi carrera.",
    "experience": "Dos años de investigación en catálisis.",
    "evidence": ["https://orcid.org/0000-0002-1825-0097"],
    "consents": {"privacy_notice_version": "2026-1", "purposes": ["program", "research"]},
}


class ApplicationCreate(CreateModel, ApplicationFields):
    """Starts a draft; send ``consents`` (at least ``program``) before submitting."""

    program_id: uuid.UUID = Field(description="A program whose call is open.")
    role: Role = Field(
        description="The role she seeks. A preference: staff assign the role when they accept her (`assigned_role`)."
    )
    consents: ConsentGrant | None = None
    identity: IdentityData | None = Field(default=None, description="Needs the matching_identity consent.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [APPLICATION_EXAMPLE]})


class ApplicationUpdate(UpdateModel, ApplicationFields):
    """Changes a draft; ``null`` clears a field."""

    role: Role = None  # type: ignore[assignment]
    evidence: Evidence = None  # type: ignore[assignment]

    model_config = update_config({"expectations": "Aprender a dirigir."})


class ApplicationPublic(PublicModel):
    """An application as she and the institution's coordinators see it (identity data apart)."""

    id: uuid.UUID
    institution_id: uuid.UUID
    program_id: uuid.UUID
    applicant_id: str = Field(description="Her account id.")
    role: Role = Field(description="The role she seeks (her preference).")
    assigned_role: Role | None = Field(
        description=(
            "The role staff assigned when they accepted her (the one she sought unless they chose another); "
            "null before the acceptance. Her membership holds this role."
        )
    )
    status: ApplicationStatus = Field(description="An invitation past its deadline reads as expired.")
    full_name: str | None
    email: str | None
    preferred_language: str | None
    campus_id: uuid.UUID | None
    academic_unit_id: uuid.UUID | None
    affiliation: Affiliation | None
    career_stage: CareerStage | None
    stem_field: Discipline | None
    identifies_as_woman: bool | None
    willing_to_train: bool | None
    interest: str | None
    expectations: str | None
    experience: str | None
    years_of_experience: int | None
    funding_experience: bool | None
    has_recognition: bool | None
    recognition: str | None
    evidence: list[str]
    eligibility: Verdict = Field(description="The eligibility verdict now (see the eligibility resource for each rule).")
    decision: Decision | None
    decision_reason: str | None
    decided_at: datetime | None
    submitted_at: datetime | None
    invited_at: datetime | None
    confirm_by: datetime | None
    confirmed_at: datetime | None
    closed_at: datetime | None = Field(description="When it was rejected, declined, expired or withdrawn.")
    withdrawal_reason: str | None
    membership_id: uuid.UUID | None = Field(description="Her membership once she confirmed.")
    created_at: datetime
    updated_at: datetime


class ApplicationList(BaseModel):
    items: list[ApplicationPublic]


# ---------------------------------------------------------------------------
# Decisions and invitations


class DecisionCreate(CreateModel):
    """A decision on one application. Accepting fixes the role she will hold:
    ``role`` when given (staff split the confirmed participants by their needs,
    experience and objectives), else the role she sought."""

    decision: Decision
    reason: Reason  # type: ignore[valid-type]
    role: Role | None = Field(
        default=None,
        description=(
            "With `accepted` only: the role staff assign her, one the program offers. "
            "Default: the role she sought. The acceptance is final, and so is the role."
        ),
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "accepted", "reason": "Meets every criterion."},
                {"decision": "accepted", "reason": "Her funding record suits a mentor.", "role": "mentor"},
            ]
        }
    )

    @field_validator("role")
    @classmethod
    def _only_when_accepting(cls, role: Role | None, info: ValidationInfo) -> Role | None:
        if role is not None and info.data.get("decision") not in (None, Decision.accepted):
            raise ValueError("A role is assigned only with an acceptance")
        return role


class BulkDecisionItem(DecisionCreate):
    application_id: uuid.UUID


def _distinct_applications(items: list[BulkDecisionItem]) -> list[BulkDecisionItem]:
    if len({i.application_id for i in items}) != len(items):
        raise ValueError("Each application may appear only once")
    return items


class BulkDecisions(CreateModel):
    """Decisions on several applications of one program: all are made, or none."""

    decisions: Annotated[
        list[BulkDecisionItem],
        Field(min_length=1, max_length=500, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_distinct_applications),
    ]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "decisions": [
                        {
                            "application_id": "01968a3c-8f3b-7c1e-9d2a-3b4c5d6e7f81",
                            "decision": "accepted",
                            "reason": "Meets every criterion.",
                        },
                        {
                            "application_id": "01968a3c-8f3b-7c1e-9d2a-3b4c5d6e7f82",
                            "decision": "accepted",
                            "reason": "Her experience suits a mentee; she asked to mentor.",
                            "role": "mentee",
                        },
                    ]
                }
            ]
        }
    )


class InvitationCreate(CreateModel):
    confirm_by: Instant | None = Field(
        default=None, description="Deadline to confirm; default now plus the program's confirmation_days."
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"confirm_by": "2026-03-08T23:59:00-06:00"}]})


class BulkInvitations(InvitationCreate):
    """Invite several accepted applicants at once: all are invited, or none."""

    application_ids: Annotated[
        list[uuid.UUID],
        Field(min_length=1, max_length=500, json_schema_extra={"uniqueItems": True}),
        AfterValidator(distinct),
    ] | None = (
        Field(default=None, description="Default: every accepted application of the program.")
    )


class WithdrawalCreate(CreateModel):
    reason: Reason | None = None  # type: ignore[valid-type]

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "Cambio de adscripción."}]})


class ExpirySweep(BaseModel):
    expired: int = Field(description="Invitations this sweep moved to expired (0 when another sweep got there first).")
    application_ids: list[uuid.UUID]


# ---------------------------------------------------------------------------
# Eligibility


class OverrideCreate(CreateModel):
    passed: bool = Field(description="The rule's result as the coordinator judged it.")
    reason: Reason  # type: ignore[valid-type]

    model_config = ConfigDict(json_schema_extra={"examples": [{"passed": True, "reason": "CV shows two funded projects."}]})


class OverridePublic(PublicModel):
    passed: bool
    reason: str
    decided_by: str
    decided_at: datetime


class RuleResult(BaseModel):
    rule_id: str
    expression: str
    description: str
    outcome: RuleOutcome = Field(description="The automatic result.")
    reason: str = Field(description="Why, in words.")
    override: OverridePublic | None
    final: RuleOutcome = Field(description="The result after any override.")


class EligibilityPublic(BaseModel):
    application_id: uuid.UUID
    verdict: Verdict
    rules: list[RuleResult]


# ---------------------------------------------------------------------------
# Consent and identity data


class ConsentPublic(PublicModel):
    id: uuid.UUID
    application_id: uuid.UUID
    purpose: ConsentPurpose
    privacy_notice_version: str
    granted_at: datetime
    withdrawn_at: datetime | None
    active: bool


class ConsentGrantOne(CreateModel):
    privacy_notice_version: NoticeVersion

    model_config = ConfigDict(json_schema_extra={"examples": [{"privacy_notice_version": "2026-1"}]})


class ConsentWithdrawal(BaseModel):
    consent: ConsentPublic
    effects: list[str] = Field(description="What the withdrawal changed, in words.")


class IdentityPublic(PublicModel):
    application_id: uuid.UUID
    gender_identity: str | None
    ethnicity: str | None
    first_generation: bool | None
    updated_at: datetime


class ResearchMember(PublicModel):
    """A current member of a program who consents to research (for interview sampling and consent checks).

    Only what stratifying a sample needs: no name, no contact. Age is not collected."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [{
            "participant_id": "0190f1c2-0000-7000-8000-0000000000a1", "membership_id": "0190f1c2-0000-7000-8000-0000000000b1",
            "application_id": "0190f1c2-0000-7000-8000-0000000000c1", "role": "mentee", "status": "active",
            "career_stage": "undergraduate_student", "stem_fields": ["biology"], "quotes": True,
        }]},
    )

    participant_id: uuid.UUID
    membership_id: uuid.UUID
    application_id: uuid.UUID
    role: Role
    status: MembershipStatus
    career_stage: CareerStage | None = Field(description="From her profile, else from her application.")
    stem_fields: list[Discipline] = Field(description="From her profile, else her application's field.")
    quotes: bool = Field(description="She also consents (purpose quotes) to de-identified excerpts of her interview in reports.")


class MatchingIdentity(PublicModel):
    """Identity data of one member who consents to its use in matching."""

    application_id: uuid.UUID
    participant_id: uuid.UUID
    role: Role
    gender_identity: str | None
    ethnicity: str | None
    first_generation: bool | None


# ---------------------------------------------------------------------------
# Funnel


class StatusCounts(BaseModel):
    """Applications by their status now."""

    draft: int = 0
    submitted: int = 0
    accepted: int = 0
    waitlisted: int = 0
    rejected: int = 0
    invited: int = 0
    confirmed: int = 0
    declined: int = 0
    expired: int = 0
    withdrawn: int = 0


class StageCounts(BaseModel):
    """How many ever reached each stage (whatever happened after)."""

    applied: int = Field(default=0, description="Submitted an application.")
    accepted: int = 0
    invited: int = 0
    confirmed: int = 0
    trained: int = Field(default=0, description="Members who completed every required training module.")
    completed: int = Field(default=0, description="Members who completed the program.")
    withdrawn: int = Field(default=0, description="Withdrew at some point (application or membership).")


class RoleFunnel(BaseModel):
    role: Role = Field(
        description="An application counts under the role staff assigned once accepted, before that under the role sought."
    )
    stages: StageCounts
    by_status: StatusCounts


class FunnelPublic(BaseModel):
    program_id: uuid.UUID
    total: StageCounts
    by_status: StatusCounts
    by_role: list[RoleFunnel]
