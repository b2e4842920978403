"""The matching engine, the service's pure core: explainable pair scores, hard rules as data, and whole-cohort
solvers (optimal and stable), with no HTTP and no database. See README.md."""

from .explain import CohortScores, explain_pair, score_cohort
from .model import (
    Bound,
    Cohort,
    CohortError,
    Component,
    HardRules,
    MatchedPair,
    MatchResult,
    Mentee,
    Mentor,
    Pair,
    PairExplanation,
    Requests,
    Settings,
    Slot,
    Substitute,
    SubstituteOption,
    UnmatchedMentee,
    Violation,
    Weights,
)
from .rematch import add_pair, rank_substitutes
from .rules import RULES
from .scoring import COMPONENTS
from .solve import match
from .stable import count_blocking_pairs

__all__ = [
    "COMPONENTS",
    "RULES",
    "Bound",
    "Cohort",
    "CohortError",
    "CohortScores",
    "Component",
    "HardRules",
    "MatchResult",
    "MatchedPair",
    "Mentee",
    "Mentor",
    "Pair",
    "PairExplanation",
    "Requests",
    "Settings",
    "Slot",
    "Substitute",
    "SubstituteOption",
    "UnmatchedMentee",
    "Violation",
    "Weights",
    "add_pair",
    "count_blocking_pairs",
    "explain_pair",
    "match",
    "rank_substitutes",
    "score_cohort",
]
