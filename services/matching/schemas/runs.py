"""Matching runs, their reports, adjustments, publication and pair explanations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Self

from pydantic import ConfigDict, Field, model_validator

from services.matching.schemas.common import Input, Output, PairOut, PairRef
from services.matching.enums import Algorithm, Objective


class RunCreate(Input):
    """Optional overrides of the program's settings for this run."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"algorithm": "stable"}]})

    algorithm: Algorithm | None = None
    objective: Objective | None = None


class ReportPair(PairOut):
    score: float
    pinned: bool


class UnmatchedMentee(Output):
    mentee_participant_id: uuid.UUID
    feasible_mentors: int
    reasons: list[str] = Field(description="The hard rules responsible, e.g. different_campus, mentor_capacity.")
    excluded_by: dict[str, int]
    only_rule: dict[str, int]
    message: str


class SubstituteCandidate(Output):
    rank: int
    mentor_participant_id: uuid.UUID
    feasible_mentees: int
    mean_feasible_score: float
    willing: bool = Field(description="She said she is willing to stay on as a substitute.")


class Bound(Output):
    exact: bool
    matched_upper: int
    score_upper: float
    gap: float
    relative_gap: float


class RunReport(Output):
    mentors: int
    mentees: int
    matched: int
    total_score: float
    mean_score: float
    min_score: float
    blocking_pairs: int
    pairs: list[ReportPair]
    unmatched_mentees: list[UnmatchedMentee]
    substitutes: list[SubstituteCandidate] = Field(description="Unmatched mentors ranked as substitute candidates.")
    missing_profiles: list[uuid.UUID] = Field(description="Members left out: no matching profile yet.")
    identity_matching: str = Field(description="used, not_requested or unavailable (no service credentials).")
    bound: Bound


class RunPublic(Output):
    id: uuid.UUID
    program_id: uuid.UUID
    parent_run_id: uuid.UUID | None
    status: str
    algorithm: str
    objective: str
    solver: str
    parameters: dict[str, Any]
    timings: dict[str, float]
    duration_ms: float
    created_at: datetime
    published_at: datetime | None
    report: RunReport


class Swap(Input):
    """Exchange the mentors of two mentees of the run."""

    mentee_a: uuid.UUID
    mentee_b: uuid.UUID


class Adjustments(Input):
    """Pin, forbid or swap pairs; they are saved in the program's settings and the run is repeated
    on the same input snapshot."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "forbid": [
                        {
                            "mentee_participant_id": "0190f1c2-0000-7000-8000-000000000101",
                            "mentor_participant_id": "0190f1c2-0000-7000-8000-000000000201",
                        }
                    ]
                }
            ]
        },
    )

    pin: list[PairRef] = Field(default_factory=list, max_length=200)
    forbid: list[PairRef] = Field(default_factory=list, max_length=200)
    swap: list[Swap] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not (self.pin or self.forbid or self.swap):
            raise ValueError("Give at least one of pin, forbid or swap")
        return self


class Component(Output):
    name: str
    value: float
    weight: float
    contribution: float


class Violation(Output):
    rule: str
    reason: str


class PairExplanation(PairOut):
    run_id: uuid.UUID | None = Field(description="The run whose input snapshot was used; null: current data.")
    score: float
    components: list[Component]
    violations: list[Violation]
    forbidding_rule: str | None = Field(description="The first hard rule that forbids the pair, if any.")
    pinned: bool
    feasible: bool


