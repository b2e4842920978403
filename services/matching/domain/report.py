"""Turn a solved assignment into a ``MatchResult`` a coordinator can read.

- Unmatched mentees: with no feasible mentor, the reasons are the rules that
  excluded candidates, the rule that alone would open the most mentors first;
  with feasible mentors, the reason is ``mentor_capacity`` (they were all full).
- Substitutes: mentors with a place but no mentee, ranked first by how many
  mentees they could serve under the hard rules, then by their mean pair score
  over those mentees, then by id. A mentor who fits many mentees well is the
  most useful one to keep in reserve.
- Bound: see ``model.Bound``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .candidates import Candidates
from .encode import F32, I32, Problem
from .model import Bound, MatchedPair, MatchResult, Substitute, UnmatchedMentee
from .rules import RULES
from .scoring import score_rows


def build_result(
    problem: Problem,
    candidates: Candidates,
    mentor: I32,
    score: F32,
    blocking: int,
    solver: str,
    parameters: Mapping[str, object],
    timings: Mapping[str, float],
    exact: bool,
) -> MatchResult:
    """Assemble the result of a run; ``mentor``/``score`` cover the non-pinned mentees."""
    pinned_rows = np.flatnonzero(problem.pinned >= 0)
    everyone, everyone_score = mentor.copy(), score.copy()
    if len(pinned_rows):
        everyone[pinned_rows] = problem.pinned[pinned_rows]
        everyone_score[pinned_rows] = score_rows(problem, pinned_rows).score[
            np.arange(len(pinned_rows)), problem.pinned[pinned_rows]
        ]
    matched_rows = np.flatnonzero(everyone >= 0)
    mentee_ids, mentor_ids = problem.mentees.ids, problem.mentors.ids
    pairs = tuple(
        MatchedPair(mentee_ids[i], mentor_ids[everyone[i]], float(everyone_score[i]), bool(problem.pinned[i] >= 0))
        for i in matched_rows
    )
    scores = everyone_score[matched_rows].astype(np.float64)
    total = float(scores.sum())
    return MatchResult(
        pairs=pairs,
        matched=len(pairs),
        mentees=len(mentee_ids),
        total_score=total,
        mean_score=total / len(pairs) if pairs else 0.0,
        min_score=float(scores.min()) if pairs else 0.0,
        blocking_pairs=blocking,
        unmatched_mentees=tuple(_unmatched(problem, candidates, int(i)) for i in np.flatnonzero(everyone < 0)),
        substitutes=_substitutes(problem, candidates, everyone),
        solver=solver,
        parameters=dict(parameters),
        timings=dict(timings),
        bound=_bound(problem, candidates, mentor, total, float(everyone_score[pinned_rows].sum()), exact),
    )


def _unmatched(problem: Problem, candidates: Candidates, i: int) -> UnmatchedMentee:
    mentors = len(problem.mentors.ids)
    excluded = {rule: int(c) for rule, c in zip(candidates.rules, candidates.excluded[i], strict=True) if c}
    only = {rule: int(c) for rule, c in zip(candidates.rules, candidates.only_rule[i], strict=True) if c}
    feasible = int(candidates.feasible[i])
    if feasible:
        reasons: tuple[str, ...] = ("mentor_capacity",)
        message = f"all {feasible} feasible mentors are at capacity with mentees they were matched to"
    elif mentors == 0:
        reasons, message = (), "the cohort has no mentors"
    else:
        reasons = tuple(sorted(excluded, key=lambda rule: (-only.get(rule, 0), -excluded[rule], RULES.index(rule))))
        message = f"no feasible mentor among {mentors}: " + ", ".join(f"{rule} excludes {excluded[rule]}" for rule in reasons)
        opening = [f"turning off {rule} alone would open {only[rule]}" for rule in reasons if rule in only]
        if opening:
            message += "; " + ", ".join(opening)
    return UnmatchedMentee(problem.mentees.ids[i], feasible, reasons, excluded, only, message)


def _substitutes(problem: Problem, candidates: Candidates, everyone: I32) -> tuple[Substitute, ...]:
    load = np.bincount(everyone[everyone >= 0], minlength=len(problem.mentors.ids))
    idle = np.flatnonzero((load == 0) & (problem.capacity > 0))
    count = candidates.mentor_feasible[idle]
    mean = np.divide(candidates.mentor_score_sum[idle], count, out=np.zeros(len(idle)), where=count > 0)
    order = np.lexsort((idle, -mean, -count))
    return tuple(
        Substitute(rank, problem.mentors.ids[idle[o]], int(count[o]), float(mean[o])) for rank, o in enumerate(order, start=1)
    )


def _bound(problem: Problem, candidates: Candidates, mentor: I32, total: float, pinned_total: float, exact: bool) -> Bound:
    reachable = candidates.feasible > 0
    pinned = int((problem.pinned >= 0).sum())
    matched_upper = pinned + min(int(reachable.sum()), int(problem.residual.sum()))
    best = np.sort(candidates.score[reachable, 0].astype(np.float64))[::-1] if candidates.score.shape[1] else np.zeros(0)
    score_upper = pinned_total + float(best[: int((mentor >= 0).sum())].sum())
    gap = max(0.0, score_upper - total)
    return Bound(exact, matched_upper, score_upper, gap, gap / score_upper if score_upper > 0 else 0.0)
