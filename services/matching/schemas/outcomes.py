"""A program's matching outcomes for the evaluation report: counts and scores, no person named."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from services.matching.schemas.common import Output


class RunOutcome(Output):
    id: uuid.UUID
    status: str
    algorithm: str
    published_at: datetime | None
    mentors: int
    mentees: int
    matched: int = Field(description="Mentees the run matched.")
    blocking_pairs: int | None = Field(description="Pairs that would both rather be together (stable-matching check).")
    substitutes: int = Field(description="Unmatched mentors ranked as substitutes.")
    pair_scores: list[float] = Field(description="Every pair's score, highest first, without who is in it.")


class MatchingOutcomes(Output):
    program_id: uuid.UUID
    run: RunOutcome | None = Field(description="The published run (else the latest); null before any run.")
    matches: dict[str, int] = Field(description="Matches by status: proposed, active, completed, dissolved.",
                                    examples=[{"proposed": 0, "active": 0, "completed": 13, "dissolved": 1}])
    matched_mentors: int = Field(description="Distinct mentors in a match past its proposal (active, completed or dissolved).")
    matched_mentees: int = Field(description="Distinct mentees in a match past its proposal.")
