"""Hard rules: which pairs may be formed at all, vectorised over a block of mentees.

Each active rule gives a boolean matrix (mentees x mentors), True where the rule
forbids the pair. A pair is feasible when no rule forbids it, or when it is pinned.

- ``different_campus``: mentee and mentor are on different campuses.
- ``different_academic_unit``: they belong to different academic units.
- ``different_career_stage``: outside ``peer`` mode, they are at different career
  stages (checked only when both gave one).
- ``shared_language``: they share at least one language.
- ``min_weekly_overlap_minutes``: they are both free at least that many minutes a week.
- ``mentor_capacity``: the mentor still has a free place (capacity 0, or a
  capacity taken by pinned pairs, excludes her). Always checked.
- ``forbidden_pairs``: the coordinator forbade the pair (conflict of interest).
- ``avoid_list``: an opted-in mentee asked to avoid this mentor. Always checked.
- ``pinned_pairs``: a pinned mentee may only have the mentor she is pinned to;
  the pinned pair itself is allowed whatever the other rules say.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from .encode import I64, Problem
from .scoring import Scored

RULES = (
    "different_campus",
    "different_academic_unit",
    "different_career_stage",
    "shared_language",
    "min_weekly_overlap_minutes",
    "mentor_capacity",
    "forbidden_pairs",
    "avoid_list",
    "pinned_pairs",
)

Mask = NDArray[np.bool_]


def active_rules(problem: Problem) -> tuple[str, ...]:
    """The rules this run checks, in ``RULES`` order."""
    rules = problem.settings.rules
    on = {
        "different_campus": rules.different_campus,
        "different_academic_unit": rules.different_academic_unit,
        "different_career_stage": not problem.peer_mode,
        "shared_language": rules.shared_language,
        "min_weekly_overlap_minutes": rules.min_weekly_overlap_minutes > 0,
        "mentor_capacity": True,
        "forbidden_pairs": len(problem.forbidden) > 0,
        "avoid_list": len(problem.avoid) > 0,
        "pinned_pairs": bool((problem.pinned >= 0).any()),
    }
    return tuple(rule for rule in RULES if on[rule])


def violations(problem: Problem, rows: I64, scored: Scored, free: I64) -> dict[str, Mask]:
    """For each active rule, True where it forbids the pair (mentee ``rows`` x every mentor).

    ``free`` is each mentor's free capacity (the ``mentor_capacity`` rule).
    """
    e, r = problem.mentees, problem.mentors
    shape = (len(rows), len(r.ids))
    out: dict[str, Mask] = {}
    for rule in active_rules(problem):
        if rule == "different_campus":
            out[rule] = e.campus[rows][:, None] == r.campus[None, :]
        elif rule == "different_academic_unit":
            out[rule] = e.unit[rows][:, None] == r.unit[None, :]
        elif rule == "different_career_stage":
            stage = e.stage[rows][:, None]
            out[rule] = (stage >= 0) & (stage == r.stage[None, :])
        elif rule == "shared_language":
            out[rule] = scored.shared_languages == 0
        elif rule == "min_weekly_overlap_minutes":
            out[rule] = scored.overlap_minutes < problem.settings.rules.min_weekly_overlap_minutes
        elif rule == "mentor_capacity":
            out[rule] = np.broadcast_to(free[None, :] <= 0, shape)
        elif rule == "forbidden_pairs":
            out[rule] = _pair_mask(problem.forbidden, rows, shape, len(e.ids))
        elif rule == "avoid_list":
            out[rule] = _pair_mask(problem.avoid, rows, shape, len(e.ids))
        else:
            pinned = problem.pinned[rows][:, None]
            out[rule] = (pinned >= 0) & (pinned != np.arange(shape[1])[None, :])
    return out


def feasible(problem: Problem, rows: I64, broken: Mapping[str, Mask]) -> Mask:
    """True where no rule forbids the pair, or where the pair is pinned."""
    shape = (len(rows), len(problem.mentors.ids))
    ok = np.ones(shape, bool)
    for mask in broken.values():
        ok &= ~mask
    pinned = problem.pinned[rows]
    hit = np.flatnonzero(pinned >= 0)
    ok[hit, pinned[hit]] = True
    return ok


def describe(problem: Problem, i: int, j: int, rule: str, scored: Scored, free: I64) -> str:
    """A human reason why ``rule`` forbids mentee ``i`` with mentor ``j`` (scored as row 0)."""
    mentee, mentor = problem.mentee_people[i], problem.mentor_people[j]
    label = problem.labels.get
    if rule == "different_campus":
        return f"same campus: {label(mentee.campus_id, mentee.campus_id)}"
    if rule == "different_academic_unit":
        return f"same academic unit: {label(mentee.academic_unit_id, mentee.academic_unit_id)}"
    if rule == "different_career_stage":
        return f"same career stage: {mentee.career_stage} (allowed only in peer mode)"
    if rule == "shared_language":
        theirs, hers = (", ".join(sorted(p.languages)) or "none" for p in (mentor, mentee))
        return f"no shared language (mentee: {hers}; mentor: {theirs})"
    if rule == "min_weekly_overlap_minutes":
        minimum = problem.settings.rules.min_weekly_overlap_minutes
        return f"weekly availability overlap {int(scored.overlap_minutes[0, j])} min, below the {minimum} min required"
    if rule == "mentor_capacity":
        return f"mentor has no free place (capacity {int(problem.capacity[j])}, {int(free[j])} free)"
    if rule == "forbidden_pairs":
        return "pair forbidden by the coordinator"
    if rule == "avoid_list":
        return "the mentee asked to avoid this mentor"
    return f"mentee is pinned to mentor {problem.mentor_people[int(problem.pinned[i])].id}"


def _pair_mask(pairs: I64, rows: I64, shape: tuple[int, int], mentees: int) -> Mask:
    """Mark the listed [mentee, mentor] pairs whose mentee is in ``rows``."""
    mask = np.zeros(shape, bool)
    if len(pairs):
        position = np.full(mentees, -1, np.int64)
        position[rows] = np.arange(len(rows))
        where = position[pairs[:, 0]]
        keep = where >= 0
        mask[where[keep], pairs[keep, 1]] = True
    return mask
