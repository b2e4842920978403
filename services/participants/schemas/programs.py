"""Programs (cohorts), their dated phases, eligibility criteria, and the public call."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from services.participants.schemas.common import (
    CreateModel,
    Day,
    LanguageCode,
    PublicModel,
    UpdateModel,
    update_config,
    distinct,
    long_text,
    short_text,
)
from services.participants.enums import (
    PHASE_ORDER,
    Affiliation,
    CareerStage,
    Delivery,
    Discipline,
    EligibilityField,
    MeetingCadence,
    MentoringMode,
    PhaseKind,
    ProgramStatus,
    Role,
    RuleOp,
)

ProgramName = short_text(200, "Mentoras STEM 2026")
Description = long_text(
    4000,
    "Programa de mentoría para mujeres en ciencia, tecnología, ingeniería y matemáticas.",
    "What the program offers and to whom; shown on the public call.",
)
ProgramLanguages = Annotated[
    list[LanguageCode],
    Field(min_length=1, max_length=10),
    AfterValidator(distinct),
    Field(description="Languages the program runs in.", examples=[["es", "en"]], json_schema_extra={"uniqueItems": True}),
]
Reason = long_text(1000, "Meets every criterion; strong funding record.")

# ---------------------------------------------------------------------------
# Phases


class Phase(CreateModel):
    """One dated phase. Dates are inclusive, in the institution's time zone."""

    kind: PhaseKind
    starts_on: Day = Field(examples=["2026-03-01"])
    ends_on: Day = Field(examples=["2026-03-31"])

    @field_validator("ends_on")
    @classmethod
    def _not_before_start(cls, value: date, info: ValidationInfo) -> date:
        starts = info.data.get("starts_on")
        if starts is not None and value < starts:
            raise ValueError("A phase cannot end before it starts")
        return value


def _ordered(phases: list[Phase]) -> list[Phase]:
    """Each kind at most once, in the canonical order, none overlapping the next."""
    kinds = [p.kind for p in phases]
    if len(set(kinds)) != len(kinds):
        raise ValueError("Each phase kind may appear only once")
    ranked = sorted(phases, key=lambda p: PHASE_ORDER.index(p.kind))
    for before, after in zip(ranked, ranked[1:], strict=False):
        if after.starts_on <= before.ends_on:
            raise ValueError(
                f"Phase {after.kind.value} must start after phase {before.kind.value} ends ({before.ends_on.isoformat()})"
            )
    return ranked


Phases = Annotated[
    list[Phase],
    Field(max_length=len(PHASE_ORDER)),
    AfterValidator(_ordered),
    Field(
        description="Dated phases; each kind at most once, ordered call → evaluation and not overlapping.",
        examples=[
            [
                {"kind": "call", "starts_on": "2026-02-01", "ends_on": "2026-02-28"},
                {"kind": "selection", "starts_on": "2026-03-01", "ends_on": "2026-03-15"},
                {"kind": "training", "starts_on": "2026-03-16", "ends_on": "2026-05-31"},
            ]
        ],
    ),
]


class PhasePublic(PublicModel):
    kind: PhaseKind
    starts_on: date
    ends_on: date


# ---------------------------------------------------------------------------
# Eligibility rules: a small language over application fields.
#
# A rule tests one field with one operator; ``roles`` limits it to applicants
# seeking those roles ("for mentors, funding_experience is true"). ``review``
# is the operator for what a person must judge (expectations that fit, a CV
# that shows recognition): its automatic outcome is "needs review" until a
# coordinator records an override.

ENUM_FIELDS: dict[EligibilityField, type] = {
    EligibilityField.role: Role,
    EligibilityField.affiliation: Affiliation,
    EligibilityField.career_stage: CareerStage,
    EligibilityField.stem_field: Discipline,
}
BOOL_FIELDS = frozenset(
    {
        EligibilityField.identifies_as_woman,
        EligibilityField.willing_to_train,
        EligibilityField.funding_experience,
        EligibilityField.has_recognition,
    }
)
NUMBER_FIELDS = frozenset({EligibilityField.years_of_experience})
COMPARISONS = frozenset({RuleOp.gt, RuleOp.gte, RuleOp.lt, RuleOp.lte})


def allowed_ops(field: EligibilityField) -> frozenset[RuleOp]:
    if field in ENUM_FIELDS:
        return frozenset({RuleOp.in_, RuleOp.not_in, RuleOp.equals, RuleOp.not_equals, RuleOp.review})
    if field in BOOL_FIELDS:
        return frozenset({RuleOp.is_true, RuleOp.is_false, RuleOp.review})
    if field in NUMBER_FIELDS:
        return frozenset({RuleOp.equals, RuleOp.not_equals, RuleOp.review} | COMPARISONS)
    return frozenset({RuleOp.review})


def _rule_shapes() -> list[dict[str, Any]]:
    """The rule language as JSON Schema: which operators and values go with
    which field (exactly one shape matches a valid rule). The validators below
    enforce the same, naming the offending part."""
    nothing = {"type": "null"}
    shapes: list[dict[str, Any]] = []
    for field, vocabulary in ENUM_FIELDS.items():
        values = [m.value for m in vocabulary]
        shapes += [
            {
                "properties": {
                    "field": {"const": field.value},
                    "op": {"enum": [RuleOp.in_.value, RuleOp.not_in.value]},
                    "value": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": values}},
                },
                "required": ["value"],
            },
            {
                "properties": {
                    "field": {"const": field.value},
                    "op": {"enum": [RuleOp.equals.value, RuleOp.not_equals.value]},
                    "value": {"enum": values},
                },
                "required": ["value"],
            },
        ]
    for field in sorted(BOOL_FIELDS):
        shapes.append(
            {"properties": {"field": {"const": field.value}, "op": {"enum": ["is_true", "is_false"]}, "value": nothing}}
        )
    for field in sorted(NUMBER_FIELDS):
        ops = [RuleOp.equals.value, RuleOp.not_equals.value, *sorted(o.value for o in COMPARISONS)]
        shapes.append(
            {
                "properties": {"field": {"const": field.value}, "op": {"enum": ops}, "value": {"type": "integer"}},
                "required": ["value"],
            }
        )
    shapes.append({"properties": {"op": {"const": RuleOp.review.value}, "value": nothing}})
    return shapes


RuleId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$"),
    Field(description="Unique within the program; names the rule in results and overrides.", examples=["stem_field"]),
]
# A value of the field's vocabulary (the longest is 22 characters).
RuleText = Annotated[str, StringConstraints(max_length=64)]
RuleValue = Annotated[list[RuleText], Field(max_length=100)] | int | RuleText | None
RuleDescription = short_text(300, "Works or studies in a STEM field", "Shown on the call and in results.")


class EligibilityRule(CreateModel):
    """One rule. ``value`` depends on ``op``: a list for ``in``/``not_in``, one
    value for ``equals``/``not_equals``, an integer for comparisons, nothing for
    ``is_true``, ``is_false`` and ``review``."""

    id: RuleId
    field: EligibilityField
    op: RuleOp
    value: RuleValue = Field(default=None, validate_default=True, examples=[["biology", "engineering"]])
    roles: Annotated[
        list[Role], Field(min_length=1, max_length=3, json_schema_extra={"uniqueItems": True}), AfterValidator(distinct)
    ] | None = Field(
        default=None, description="Applies only to applicants seeking one of these roles; all when absent."
    )
    description: RuleDescription  # type: ignore[valid-type]

    model_config = ConfigDict(
        json_schema_extra=lambda schema: schema.update(
            examples=[
                {
                    "id": "funding",
                    "field": "funding_experience",
                    "op": "is_true",
                    "roles": ["mentor"],
                    "description": "Mentors have experience with funding calls",
                }
            ],
            oneOf=_rule_shapes(),
        )
    )

    @field_validator("op")
    @classmethod
    def _op_fits_field(cls, op: RuleOp, info: ValidationInfo) -> RuleOp:
        field = info.data.get("field")
        if field is not None and op not in allowed_ops(field):
            ops = ", ".join(sorted(o.value for o in allowed_ops(field)))
            raise ValueError(f"Operator {op.value!r} does not apply to {field.value}; use one of: {ops}")
        return op

    @field_validator("value", mode="before")
    @classmethod
    def _value_fits_op(cls, value: Any, info: ValidationInfo) -> Any:
        field, op = info.data.get("field"), info.data.get("op")
        if field is None or op is None:
            return value  # already refused on its own field
        if isinstance(value, bool):
            raise ValueError("Booleans are tested with is_true / is_false, not a value")
        if op in {RuleOp.is_true, RuleOp.is_false, RuleOp.review}:
            if value is not None:
                raise ValueError(f"Operator {op.value!r} takes no value")
            return None
        if op in COMPARISONS or field in NUMBER_FIELDS:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int):
                raise ValueError(f"Operator {op.value!r} on {field.value} needs an integer value")
            return value
        vocabulary = {m.value for m in ENUM_FIELDS[field]}
        if op in {RuleOp.in_, RuleOp.not_in}:
            if not isinstance(value, list) or not value:
                raise ValueError(f"Operator {op.value!r} needs a non-empty list of {field.value} values")
            if not all(isinstance(v, str) for v in value):
                raise ValueError(f"Operator {op.value!r} needs a list of {field.value} values (strings)")
            items = value
        else:
            if not isinstance(value, str):
                raise ValueError(f"Operator {op.value!r} needs one {field.value} value")
            items = [value]
        unknown = [v for v in items if v not in vocabulary]
        if unknown:
            raise ValueError(f"Not {field.value} values: {', '.join(map(str, unknown[:5]))}")
        if len(set(items)) != len(items):
            raise ValueError("Values must not repeat")
        return value


def _unique_rule_ids(rules: list[EligibilityRule]) -> list[EligibilityRule]:
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ValueError("Rule ids must be unique within the program")
    return rules


Criteria = Annotated[
    list[EligibilityRule],
    Field(max_length=50, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique_rule_ids),
    Field(description="Eligibility rules, evaluated on every application in this order."),
]


def expression(rule: dict[str, Any]) -> str:
    """The rule as one readable line, e.g. ``for mentor: funding_experience is true``."""
    op, field, value = rule["op"], rule["field"], rule.get("value")
    symbols = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "equals": "=", "not_equals": "!="}
    if op in {"is_true", "is_false"}:
        text = f"{field} is {op[3:]}"
    elif op == "review":
        text = f"{field} is reviewed by a coordinator"
    elif op in {"in", "not_in"}:
        text = f"{field} {op.replace('_', ' ')} [{', '.join(value)}]"
    else:
        text = f"{field} {symbols[op]} {value}"
    roles = rule.get("roles")
    return f"for {' or '.join(roles)}: {text}" if roles else text


class EligibilityRulePublic(BaseModel):
    id: str
    field: EligibilityField
    op: RuleOp
    value: RuleValue
    roles: list[Role] | None
    description: str
    expression: str = Field(
        description="The rule as one readable line.", examples=["for mentor: funding_experience is true"]
    )

    @classmethod
    def of(cls, rule: dict[str, Any]) -> EligibilityRulePublic:
        return cls(**rule, expression=expression(rule))


# ---------------------------------------------------------------------------
# Privacy notice


NoticeText = long_text(20000, "La Universidad es responsable del tratamiento de sus datos personales ...")


class PrivacyNotice(CreateModel):
    """The privacy notice applicants consent to. A new text needs a new version."""

    version: Annotated[
        str,
        StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"),
        Field(examples=["2026-1"], description="Consents record the version they were given for."),
    ]
    text: NoticeText  # type: ignore[valid-type]


class PrivacyNoticePublic(PublicModel):
    version: str
    text: str


# ---------------------------------------------------------------------------
# Programs

PROGRAM_EXAMPLE = {
    "name": "Mentoras STEM 2026",
    "description": "Programa de mentoría para mujeres en STEM de la universidad.",
    "languages": ["es", "en"],
    "mode": "one_to_one",
    "delivery": "hybrid",
    "max_mentees_per_mentor": 1,
    "meetings_count": 12,
    "meeting_cadence": "weekly",
    "feedback_deadline_hours": 48,
    "confirmation_days": 7,
    "phases": [
        {"kind": "call", "starts_on": "2026-02-01", "ends_on": "2026-02-28"},
        {"kind": "selection", "starts_on": "2026-03-01", "ends_on": "2026-03-15"},
        {"kind": "training", "starts_on": "2026-03-16", "ends_on": "2026-05-31"},
    ],
    "criteria": [
        {"id": "woman", "field": "identifies_as_woman", "op": "is_true", "description": "A woman"},
        {
            "id": "stem_field",
            "field": "stem_field",
            "op": "in",
            "value": ["biology", "chemistry", "engineering", "mathematics", "physics"],
            "description": "Works or studies in a STEM field",
        },
    ],
    "privacy_notice": {"version": "2026-1", "text": "Aviso de privacidad ..."},
}

MaxMentees = Annotated[int, Field(ge=1, le=20, description="The most mentees one mentor may take.")]
MeetingsCount = Annotated[int, Field(ge=1, le=52, description="Planned meetings per dyad.")]
FeedbackHours = Annotated[int, Field(ge=1, le=720, description="Hours after a meeting within which feedback is due.")]
ConfirmationDays = Annotated[
    int, Field(ge=1, le=60, description="Days an accepted applicant has to confirm, unless an invitation says otherwise.")
]


class ProgramCreate(CreateModel):
    name: ProgramName  # type: ignore[valid-type]
    description: Description  # type: ignore[valid-type]
    languages: ProgramLanguages = ["es", "en"]
    mode: MentoringMode = MentoringMode.one_to_one
    delivery: Delivery = Delivery.hybrid
    max_mentees_per_mentor: MaxMentees = 1
    meetings_count: MeetingsCount = 12
    meeting_cadence: MeetingCadence = MeetingCadence.weekly
    feedback_deadline_hours: FeedbackHours = 48
    confirmation_days: ConfirmationDays = 7
    phases: Phases = []
    criteria: Criteria = []
    privacy_notice: PrivacyNotice | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [PROGRAM_EXAMPLE]})


class ProgramUpdate(UpdateModel):
    name: ProgramName = None  # type: ignore[valid-type]
    description: Description = None  # type: ignore[valid-type]
    languages: ProgramLanguages = None  # type: ignore[assignment]
    mode: MentoringMode = None  # type: ignore[assignment]
    delivery: Delivery = None  # type: ignore[assignment]
    max_mentees_per_mentor: MaxMentees = None  # type: ignore[assignment]
    meetings_count: MeetingsCount = None  # type: ignore[assignment]
    meeting_cadence: MeetingCadence = None  # type: ignore[assignment]
    feedback_deadline_hours: FeedbackHours = None  # type: ignore[assignment]
    confirmation_days: ConfirmationDays = None  # type: ignore[assignment]
    phases: Phases = None  # type: ignore[assignment]
    criteria: Criteria = None  # type: ignore[assignment]
    privacy_notice: PrivacyNotice = None  # type: ignore[assignment]

    model_config = update_config({"meetings_count": 10, "feedback_deadline_hours": 72})


class ProgramPublic(BaseModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    name: str
    description: str
    languages: list[str]
    mode: MentoringMode
    delivery: Delivery
    max_mentees_per_mentor: int
    meetings_count: int
    meeting_cadence: MeetingCadence
    feedback_deadline_hours: int
    confirmation_days: int
    status: ProgramStatus
    status_changed_at: datetime
    phases: list[PhasePublic]
    criteria: list[EligibilityRulePublic]
    privacy_notice: PrivacyNoticePublic | None
    roles: list[Role] = Field(
        description="Roles applicants may seek: peer_mentor and mentee in peer mode, else mentor and mentee."
    )
    applications_close_at: datetime | None = Field(
        description="End of the call phase's last day in the institution's time zone (UTC); null without a call phase."
    )
    created_at: datetime
    updated_at: datetime


class ProgramTransition(CreateModel):
    """Move the program to the next status."""

    to: ProgramStatus = Field(description="The status to move to; only the next one in the sequence is allowed.")

    model_config = ConfigDict(json_schema_extra={"examples": [{"to": "call_open"}]})


# ---------------------------------------------------------------------------
# The public call


class CallPublic(BaseModel):
    """What anyone may read about a program's call, without a token."""

    program_id: uuid.UUID
    institution_id: uuid.UUID
    institution_name: str
    name: str
    description: str
    languages: list[str]
    mode: MentoringMode
    delivery: Delivery
    meetings_count: int
    meeting_cadence: MeetingCadence
    roles: list[Role]
    criteria: list[EligibilityRulePublic]
    phases: list[PhasePublic]
    applications_close_at: datetime | None
    accepting_applications: bool
    confirmation_days: int
    privacy_notice: PrivacyNoticePublic | None
