"""Training modules, completions and cohort training statistics."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from services.participants.schemas.common import (
    CreateModel,
    ExternalId,
    Instant,
    PublicModel,
    UpdateModel,
    short_text,
    update_config,
)
from services.participants.enums import ModuleKind

ModuleTitle = short_text(200, "Módulo 1: liderazgo y comunicación asertiva")
IRI_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]*:[!#-~]+$"
def parsable_iri(value: str) -> str:
    """What the pattern lets through must also parse: a bracket that opens no
    IPv6 host ("http://[x") would break every client that reads it back."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ValueError(f"Not a well-formed IRI ({exc})") from None
    if parts.scheme in ("http", "https") and not parts.hostname:
        raise ValueError("An http(s) IRI needs a host")
    return value


ActivityIri = Annotated[
    str,
    Field(
        min_length=3,
        max_length=500,
        pattern=IRI_PATTERN,
        description=(
            "The IRI the LMS sends as the xAPI `object.id` of this module (printable ASCII, with a scheme); "
            "unique within the institution."
        ),
        examples=["https://moodle.uaeh.edu.mx/mod/scorm/view.php?id=42"],
    ),
    AfterValidator(parsable_iri),  # after the pattern, which stays in the published schema
]
Minutes = Annotated[int, Field(ge=1, le=10000, description="Expected duration in minutes.", examples=[90])]
CompletionExternalId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$",
        description="The sending system's id of this completion; a retry with the same id records nothing new.",
        examples=["moodle:completion:88123"],
    ),
]


class TrainingModuleCreate(CreateModel):
    title: ModuleTitle  # type: ignore[valid-type]
    kind: ModuleKind
    expected_minutes: Minutes
    required: bool = Field(default=True, description="Needed to count as trained.")
    lms_activity_id: ActivityIri | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"title": "Sesión de acompañamiento 1", "kind": "accompaniment_session", "expected_minutes": 90}]
        }
    )


class TrainingModuleUpdate(UpdateModel):
    title: ModuleTitle = None  # type: ignore[valid-type]
    kind: ModuleKind = None  # type: ignore[assignment]
    expected_minutes: Minutes = None  # type: ignore[assignment]
    required: bool = None  # type: ignore[assignment]
    lms_activity_id: ActivityIri | None = None

    model_config = update_config(
        {"expected_minutes": 100, "required": False},
        {"lms_activity_id": "https://moodle.uaeh.edu.mx/mod/scorm/view.php?id=42"},
    )


class TrainingModulePublic(PublicModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    program_id: uuid.UUID
    title: str
    kind: ModuleKind
    expected_minutes: int
    required: bool
    lms_activity_id: str | None = Field(description="The xAPI activity IRI that records completions of this module.")
    created_at: datetime
    updated_at: datetime


class CompletionCreate(CreateModel):
    """Who completed the module: ``participant_id``, or her ``lms_id``."""

    participant_id: uuid.UUID | None = None
    lms_id: ExternalId | None = Field(default=None, validate_default=True)
    completed_at: Instant = Field(examples=["2026-04-20T17:30:00Z"])
    external_id: CompletionExternalId | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"lms_id": "moodle-4711", "completed_at": "2026-04-20T17:30:00Z", "external_id": "moodle:completion:88123"}
            ],
            "oneOf": [{"required": ["participant_id"]}, {"required": ["lms_id"]}],
        }
    )

    @field_validator("lms_id")
    @classmethod
    def _exactly_one_person(cls, value: str | None, info: ValidationInfo) -> str | None:
        has_id = info.data.get("participant_id") is not None
        if has_id and value is not None:
            raise ValueError("Give participant_id or lms_id, not both")
        if not has_id and value is None and "participant_id" not in info.data:
            return value  # participant_id itself was invalid and is reported
        if not has_id and value is None:
            raise ValueError("Give participant_id or lms_id")
        return value


class CompletionPublic(PublicModel):
    id: uuid.UUID
    module_id: uuid.UUID
    program_id: uuid.UUID
    participant_id: uuid.UUID
    membership_id: uuid.UUID
    completed_at: datetime
    external_id: str | None
    recorded_by: str
    recorded_at: datetime
    trained: bool = Field(description="Whether her membership now counts as trained.")


class DaysSummary(BaseModel):
    """Days from the training phase's start to each trained member's last required completion."""

    count: int
    median: float
    q1: float
    q3: float
    iqr: float
    min: int
    max: int


class ModuleStats(BaseModel):
    module_id: uuid.UUID
    title: str
    kind: ModuleKind
    required: bool
    completed: int
    completion_rate: float


class TrainingStats(BaseModel):
    program_id: uuid.UUID
    training_starts_on: date | None = Field(description="Start of the training phase; null without one.")
    members: int = Field(description="Memberships not withdrawn.")
    trained: int
    completion_rate: float = Field(description="trained / members (0 without members).")
    required_modules: int
    days_to_completion: DaysSummary | None = Field(description="Null without a training phase or without trained members.")
    modules: list[ModuleStats]
