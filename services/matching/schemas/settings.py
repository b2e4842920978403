"""Matching settings of a program: weights, hard rules, objective, algorithm, taxonomy."""

from __future__ import annotations

import uuid
from datetime import datetime
from pydantic import ConfigDict, Field

from services.matching.enums import Algorithm, Objective
from services.matching.schemas.common import Codes, Input, PairRef

DEFAULT_TAXONOMY = [
    "funding", "publishing", "leadership", "networking", "teaching", "career_plan", "work_life_balance",
    "entrepreneurship", "negotiation", "public_speaking",
]  # fmt: skip


class Weights(Input):
    objectives: float = Field(default=3.0, ge=0, le=100)
    availability: float = Field(default=2.0, ge=0, le=100)
    interests: float = Field(default=1.0, ge=0, le=100)
    languages: float = Field(default=1.0, ge=0, le=100)
    delivery: float = Field(default=1.0, ge=0, le=100)
    requests: float = Field(default=2.0, ge=0, le=100)


class HardRules(Input):
    """Each rule on or off. The default is the pilots' rule: different campus and different academic unit."""

    different_campus: bool = True
    different_academic_unit: bool = True
    shared_language: bool = False
    min_weekly_overlap_minutes: int = Field(default=0, ge=0, le=10080)
    mentor_capacity: bool = True


class SettingsUpdate(Input):
    """The whole settings document (PUT replaces it; omitted fields take their defaults)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "weights": {"objectives": 3, "availability": 2, "interests": 1, "languages": 1, "delivery": 1, "requests": 2},
                    "rules": {"different_campus": True, "different_academic_unit": True, "min_weekly_overlap_minutes": 60},
                    "objective": "max_matched_then_score",
                    "algorithm": "optimal",
                    "auto_accept": False,
                }
            ]
        },
    )

    weights: Weights = Field(default_factory=Weights)
    rules: HardRules = Field(default_factory=HardRules)
    forbidden_pairs: list[PairRef] = Field(default_factory=list, max_length=1000, description="Conflicts of interest.")
    pinned_pairs: list[PairRef] = Field(default_factory=list, max_length=1000)
    objective: Objective = Objective.max_matched_then_score
    algorithm: Algorithm = Algorithm.optimal
    objectives_taxonomy: Codes = Field(default_factory=lambda: list(DEFAULT_TAXONOMY))
    auto_accept: bool = Field(default=False, description="Published matches are active at once, without both accepting.")
    meeting_minutes: int = Field(default=60, ge=15, le=480, description="Meeting length: the weekly overlap that scores 1.")


class SettingsPublic(SettingsUpdate):
    model_config = ConfigDict(extra="ignore")

    program_id: uuid.UUID
    is_default: bool = Field(description="True until a coordinator saves settings for this program.")
    updated_at: datetime | None
