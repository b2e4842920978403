"""Matches (dyads), substitutes and re-matching."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from services.matching.enums import MatchStatus
from services.matching.schemas.common import Input, Output, PairRef
from services.matching.schemas.runs import RunPublic


class MatchPublic(Output):
    id: uuid.UUID
    program_id: uuid.UUID
    run_id: uuid.UUID
    mentee_participant_id: uuid.UUID
    mentor_participant_id: uuid.UUID
    score: float
    status: MatchStatus
    mentee_accepted_at: datetime | None
    mentor_accepted_at: datetime | None
    activated_at: datetime | None
    completed_at: datetime | None
    dissolved_at: datetime | None
    dissolved_by: str | None = Field(description="mentee, mentor, coordinator, or system (the member withdrew from the program).")
    dissolution_reason: str | None
    replaces_match_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class Dissolution(Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "lack of rapport after the third meeting"}]}
    )

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]


class Rematch(PairRef):
    """Create one new match for a mentee left alone; no other pair changes."""


class SubstituteOption(Output):
    rank: int
    mentor_participant_id: uuid.UUID
    score: float
    spare_capacity: int
    unmatched: bool = Field(description="She has no mentee (a substitute kept in reserve).")
    substitute_offer: str | None = Field(description="Her substitute offer's status, if she got one.")


class SubstituteOfferPublic(Output):
    id: uuid.UUID
    program_id: uuid.UUID
    run_id: uuid.UUID
    mentor_participant_id: uuid.UUID
    rank: int
    status: str = Field(description="offered, accepted or assigned.")
    created_at: datetime
    responded_at: datetime | None


class Publication(Output):
    run: RunPublic
    matches: list[MatchPublic]
    substitute_offers: list[SubstituteOfferPublic]
