"""Inputs and outputs of the matching engine, as plain frozen dataclasses.

Nothing here touches HTTP or a database: the service layer builds these from its
tables and stores the results. Every identifier is a string chosen by the caller.

Availability is a tuple of weekly slots ``(weekday, start_minute, end_minute)``
**already converted to UTC** by the caller: weekday 0 is Monday, minutes count
from 00:00 UTC of that weekday. ``end_minute`` may exceed 1440 when a slot
crosses midnight after the conversion (it continues on the next weekday, and
Sunday wraps to Monday); a slot lasts at most one day. The engine works on
quarter hours: a start is rounded up and an end rounded down to the quarter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from services.matching.enums import Algorithm, Delivery, Mode, Objective

Slot = tuple[int, int, int]
"""``(weekday 0-6, start minute, end minute)`` in UTC; see the module docstring."""


class Pair(NamedTuple):
    """A (mentee, mentor) pair of ids. Mentee first, everywhere in the engine."""

    mentee_id: str
    mentor_id: str


@dataclass(frozen=True, kw_only=True)
class Profile:
    """Questionnaire answers shared by mentors and mentees.

    ``objectives`` and ``expertise`` are codes of the program's taxonomy:
    a mentee's objectives are compared with a mentor's expertise.
    """

    id: str
    campus_id: str
    academic_unit_id: str
    career_stage: str | None = None
    objectives: frozenset[str] = frozenset()
    expertise: frozenset[str] = frozenset()
    interests: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    availability: tuple[Slot, ...] = ()
    delivery: Delivery = Delivery.hybrid


@dataclass(frozen=True, kw_only=True)
class Mentor(Profile):
    """A mentor. ``identity_tags`` are her self-described identity tags, filled
    only if she consented to their use in matching; otherwise leave it empty."""

    capacity: int = 1
    identity_tags: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class Requests:
    """Optional requests of a mentee who opted in.

    ``identity_match``: self-described identity tags she wants her mentor to share.
    ``requested_mentor_id``: a mentor she asks for. ``avoid_ids``: mentors she
    asks never to be paired with (a hard rule). Ids of people outside the cohort
    are ignored.
    """

    identity_match: frozenset[str] = frozenset()
    requested_mentor_id: str | None = None
    avoid_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class Mentee(Profile):
    """A mentee. ``requests`` is ``None`` unless she opted in."""

    requests: Requests | None = None


@dataclass(frozen=True, kw_only=True)
class Cohort:
    """The people of one run. ``labels`` maps campus and academic-unit ids to
    display names used in explanations ("same campus: Campus Norte")."""

    mentors: Sequence[Mentor]
    mentees: Sequence[Mentee]
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Weights:
    """Relative weight of each score component (non-negative)."""

    objectives: float = 3.0
    availability: float = 2.0
    interests: float = 1.0
    languages: float = 1.0
    delivery: float = 1.0
    requests: float = 2.0


@dataclass(frozen=True, kw_only=True)
class HardRules:
    """Hard rules; each is off when False, 0 or empty.

    The pilots' rule (different campus and different academic unit) is the default.
    Pairs are ``(mentee_id, mentor_id)``.
    """

    different_campus: bool = True
    different_academic_unit: bool = True
    shared_language: bool = False
    min_weekly_overlap_minutes: int = 0
    mentor_capacity: bool = True
    forbidden_pairs: frozenset[Pair] = frozenset()
    pinned_pairs: frozenset[Pair] = frozenset()


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Settings of one run.

    ``max_capacity`` is the program's maximum number of mentees per mentor; a
    mentor takes ``min(her capacity, max_capacity)``, or ``max_capacity`` when the
    ``mentor_capacity`` rule is off. ``availability_target_minutes`` is the weekly
    overlap that earns a full availability score. ``candidates_per_mentee`` (K) and
    ``dense_limit`` steer the solver (see ``solve.py``).
    """

    weights: Weights = Weights()
    rules: HardRules = HardRules()
    objective: Objective = Objective.max_matched_then_score
    algorithm: Algorithm = Algorithm.optimal
    mode: Mode = Mode.one_to_one
    max_capacity: int = 1
    availability_target_minutes: int = 60
    candidates_per_mentee: int = 40
    dense_limit: int = 2_000_000


class CohortError(ValueError):
    """The inputs contradict themselves (duplicate ids, unknown ids in pairs,
    conflicting pins, negative weights...). Infeasibility is never an error."""


@dataclass(frozen=True)
class MatchedPair:
    mentee_id: str
    mentor_id: str
    score: float
    pinned: bool = False


@dataclass(frozen=True)
class UnmatchedMentee:
    """Why a mentee has no mentor.

    ``reasons`` names the rules responsible: the hard rules that excluded
    candidates when she had no feasible mentor, or ``mentor_capacity`` when all
    her feasible mentors were full. ``excluded_by[rule]`` counts the mentors the
    rule excludes (a mentor may be excluded by several rules); ``only_rule[rule]``
    counts the mentors that turning off that rule alone would make feasible.
    """

    mentee_id: str
    feasible_mentors: int
    reasons: tuple[str, ...]
    excluded_by: Mapping[str, int]
    only_rule: Mapping[str, int]
    message: str


@dataclass(frozen=True)
class Substitute:
    """An unmatched mentor, ranked as a substitute: first by how many mentees she
    could serve under the hard rules, then by her mean score over them."""

    rank: int
    mentor_id: str
    feasible_mentees: int
    mean_feasible_score: float


@dataclass(frozen=True)
class Bound:
    """What can still be proved when the solver used a pruned candidate graph.

    ``matched_upper``: no matching matches more mentees (those with at least one
    feasible mentor, capped by the total free capacity). ``score_upper``: no
    matching of the same size scores more (the sum of the largest best-feasible
    scores of that many mentees). ``gap`` = ``score_upper`` - total score.
    ``exact`` is True when the solver saw every feasible pair.
    """

    exact: bool
    matched_upper: int
    score_upper: float
    gap: float
    relative_gap: float


@dataclass(frozen=True)
class MatchResult:
    pairs: tuple[MatchedPair, ...]
    matched: int
    mentees: int
    total_score: float
    mean_score: float
    min_score: float
    blocking_pairs: int
    unmatched_mentees: tuple[UnmatchedMentee, ...]
    substitutes: tuple[Substitute, ...]
    solver: str
    parameters: Mapping[str, object]
    timings: Mapping[str, float]
    bound: Bound


@dataclass(frozen=True)
class Component:
    name: str
    value: float
    weight: float
    contribution: float


@dataclass(frozen=True)
class Violation:
    rule: str
    reason: str


@dataclass(frozen=True)
class PairExplanation:
    """One pair, explained. ``score`` = sum of contributions; ``violations`` lists
    the hard rules that forbid the pair; a pinned pair is feasible regardless."""

    mentee_id: str
    mentor_id: str
    score: float
    components: tuple[Component, ...]
    violations: tuple[Violation, ...]
    pinned: bool
    feasible: bool


@dataclass(frozen=True)
class SubstituteOption:
    """A mentor who can take a mentee left alone, without touching other pairs."""

    rank: int
    mentor_id: str
    score: float
    spare_capacity: int
    unmatched: bool
