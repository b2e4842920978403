"""Administrations (an instrument given to a group at one moment) and responses."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from pydantic import ConfigDict, Field, model_validator

from servicekit.types import Instant

from services.evaluation.enums import Moment
from services.evaluation.schemas.common import Input, Output
from services.evaluation.schemas.instruments import AudienceIn


class WindowState(StrEnum):
    scheduled = "scheduled"
    open = "open"
    closed = "closed"


class AdministrationCreate(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "instrument_id": "0190f1c2-0000-7000-8000-000000000001",
                    "program_id": "0190f1c2-0000-7000-8000-000000000010",
                    "audience": "everyone",
                    "moment": "pre",
                    "opens_at": "2026-03-01T00:00:00Z",
                    "closes_at": "2026-03-15T00:00:00Z",
                    "anonymous": True,
                }
            ]
        },
    )

    instrument_id: uuid.UUID
    program_id: uuid.UUID
    audience: AudienceIn
    moment: Moment
    label: str | None = Field(default=None, min_length=1, max_length=200, description="Required for a custom moment.")
    opens_at: Instant
    closes_at: Instant
    anonymous: bool = False

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        if self.moment is Moment.CUSTOM and not self.label:
            raise ValueError("a custom moment needs a label")
        return self


class AdministrationPublic(Output):
    id: uuid.UUID
    institution_id: uuid.UUID
    program_id: uuid.UUID
    instrument_id: uuid.UUID
    instrument_key: str
    instrument_version: int
    audience: AudienceIn
    moment: Moment
    label: str | None
    opens_at: datetime
    closes_at: datetime
    anonymous: bool
    closed_at: datetime | None
    state: WindowState
    created_at: datetime


class MyAdministration(AdministrationPublic):
    my_role: str = Field(description="mentor or mentee (peer mentors answer as mentors).")
    my_status: str = Field(description="none, draft or submitted.")


class AnswersIn(Input):
    """Answers keyed by item id: a Likert point, a number, an option value, a list of options, text or null."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"answers": {"assertiveness.1": 4, "networking.1": 3}}]},
    )

    answers: dict[str, Any] = Field(max_length=500)


class SubmissionIn(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"answers": {"assertiveness.1": 4}}]})

    answers: dict[str, Any] | None = Field(default=None, max_length=500, description="Replaces the draft before submitting.")


class MyResponse(Output):
    id: uuid.UUID
    administration_id: uuid.UUID
    role: str
    status: str = Field(examples=["draft", "submitted"])
    answers: dict[str, Any]
    saved_at: datetime
    submitted_at: datetime | None


class RespondentsPublic(Output):
    """Who has responded: counts, and participant ids when the administration is not anonymous. Never answers."""

    administration_id: uuid.UUID
    anonymous: bool
    drafts: int
    submitted: int
    submitted_by_role: dict[str, int]
    participant_ids: list[uuid.UUID] | None = Field(description="Null for anonymous administrations.")
