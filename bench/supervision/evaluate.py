"""Assess generated cohorts with the real domain code and score the warnings.

Every cohort is assessed every day (at 18:00 UTC) as of that moment with
``domain.assess_cohort`` (the program's norms at that moment first). For a
broken dyad only warnings from the onset of its breakdown until its
dissolution count; for the others every warning is a false alarm.

* recall: broken dyads warned before they were dissolved (any level; red);
* lead time: dissolution minus the first warning, in days (median);
* precision: of the dyads warned at some point, the share that were breaking
  (per dyad over the program), and of the dyads on the at-risk list at a weekly
  checkpoint, the share that were breaking (per list);
* weekly false alarms: at each weekly checkpoint (Mondays 09:00 UTC), the
  share of healthy dyads at amber or red, and at red, pooled over cohorts per
  week of the program; the worst week and the mean.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing import get_context

from services.sessions.domain import Health, HealthPolicy, assess_cohort, rank_dyads

from .cohorts import KINDS, Cohort, ProgramShape, cohort


@dataclass
class Outcome:
    """What happened to one broken dyad."""

    kind: str
    first_any: datetime | None
    first_red: datetime | None
    dissolved: datetime


@dataclass
class CohortScore:
    outcomes: list[Outcome] = field(default_factory=list)
    weekly: dict[int, list[int]] = field(default_factory=dict)
    """week -> [healthy dyads, of which amber or red, of which red]"""
    lists: list[int] = field(default_factory=lambda: [0, 0])
    """[dyads on the weekly at-risk lists, of which breaking]"""
    warned_healthy: int = 0
    warned_red_healthy: int = 0
    healthy: int = 0
    mexico: dict[str, object] = field(default_factory=dict)


def score(c: Cohort, policy: HealthPolicy, step_days: float = 1.0) -> CohortScore:
    out = CohortScore()
    first_any: dict[str, datetime] = {}
    first_red: dict[str, datetime] = {}
    ever: set[str] = set()
    ever_red: set[str] = set()
    weekly = {cp: n for n, cp in enumerate(c.checkpoints, start=1)}
    step = timedelta(days=step_days)
    moments = []
    day = c.checkpoints[0] - timedelta(days=7)
    while day <= c.end:
        moments.append(day)
        day += step
    moments = sorted(set(moments) | set(c.checkpoints))
    mexico_rank: list[tuple[datetime, int, str]] = []
    for t in moments:
        _, healths = assess_cohort(c.activities, t, policy)
        is_checkpoint = t in weekly
        if is_checkpoint:
            week = weekly[t]
            listed = [h for h in healths if h.status is not Health.GREEN]
            out.lists[0] += len(listed)
        for h in healths:
            truth = c.truth[h.dyad_id]
            breaking = truth.kind is not None and truth.onset is not None and truth.onset <= t
            flagged = h.status is not Health.GREEN
            if truth.kind is None:
                if flagged:
                    ever.add(h.dyad_id)
                if h.status is Health.RED:
                    ever_red.add(h.dyad_id)
                if is_checkpoint:
                    row = out.weekly.setdefault(week, [0, 0, 0])
                    row[0] += 1
                    row[1] += flagged
                    row[2] += h.status is Health.RED
            elif breaking:
                if flagged:
                    first_any.setdefault(h.dyad_id, t)
                if h.status is Health.RED:
                    first_red.setdefault(h.dyad_id, t)
            if is_checkpoint and flagged and breaking:
                out.lists[1] += 1
        if c.shape.name == "mexico":
            ranked = rank_dyads(healths)
            lost = next((n for n, h in enumerate(ranked) if c.truth[h.dyad_id].kind), None)
            if lost is not None:
                mexico_rank.append((t, lost + 1, ranked[lost].status.value))
    for dyad_id, truth in c.truth.items():
        if truth.kind is None:
            out.healthy += 1
        elif truth.dissolved is not None:
            out.outcomes.append(Outcome(truth.kind, first_any.get(dyad_id), first_red.get(dyad_id), truth.dissolved))
    out.warned_healthy, out.warned_red_healthy = len(ever), len(ever_red)
    if c.shape.name == "mexico":
        others = []  # at each weekly checkpoint while the pilot runs: (the other dyads green, the other dyads active)
        for cp in c.checkpoints:
            healthy = [h for h in assess_cohort(c.activities, cp, policy)[1] if c.truth[h.dyad_id].kind is None]
            if healthy:
                others.append((sum(1 for h in healthy if h.status is Health.GREEN), len(healthy)))
        lost_id = next(d for d, t in c.truth.items() if t.kind)
        truth = c.truth[lost_id]
        last_held = max(m.start for a in c.activities if a.dyad_id == lost_id for m in a.meetings
                        if m.mentee_confirmed_at or m.mentor_confirmed_at)
        out.mexico = {
            "last_meeting": last_held, "dissolved": truth.dissolved, "first_any": first_any.get(lost_id),
            "first_red": first_red.get(lost_id), "ranks": mexico_rank,
            "others_green": others,
        }
    return out


def _one(args: tuple[int, ProgramShape, HealthPolicy, float]) -> CohortScore:
    seed, shape, policy, step = args
    return score(cohort(seed, shape), policy, step)


@dataclass
class RunResult:
    name: str
    cohorts: int
    dyads: int
    broken: int
    scores: list[CohortScore]

    def outcomes(self, kind: str | None = None) -> list[Outcome]:
        return [o for s in self.scores for o in s.outcomes if kind is None or o.kind == kind]


def run(name: str, shape: ProgramShape, seeds: Sequence[int], policy: HealthPolicy, workers: int = 2,
        step_days: float = 1.0) -> RunResult:
    """Score one cohort per seed; every cohort is assessed every ``step_days`` days."""
    jobs = [(seed, shape, policy, step_days) for seed in seeds]
    if workers > 1:
        with get_context("fork").Pool(workers) as pool:
            scores = pool.map(_one, jobs, chunksize=4)
    else:
        scores = [_one(j) for j in jobs]
    broken = sum(len(s.outcomes) for s in scores)
    return RunResult(name, len(seeds), sum(s.healthy for s in scores) + broken, broken, scores)


def summarise(r: RunResult) -> dict[str, object]:
    """The figures of one run."""

    def recall(outs: list[Outcome], red: bool) -> float | None:
        if not outs:
            return None
        return sum(1 for o in outs if (o.first_red if red else o.first_any) is not None) / len(outs)

    def lead(outs: list[Outcome], red: bool) -> float | None:
        days = [(o.dissolved - (o.first_red if red else o.first_any)).total_seconds() / 86400  # type: ignore[operator]
                for o in outs if (o.first_red if red else o.first_any) is not None]
        return statistics.median(days) if days else None

    by_kind = {}
    for kind in (*KINDS, None):
        outs = r.outcomes(kind)
        by_kind[kind or "all"] = {"n": len(outs), "recall_any": recall(outs, False), "recall_red": recall(outs, True),
                                  "lead_any": lead(outs, False), "lead_red": lead(outs, True)}
    weeks: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for s in r.scores:
        for w, (n, flagged, red) in s.weekly.items():
            weeks[w][0] += n
            weeks[w][1] += flagged
            weeks[w][2] += red
    rates = {w: (f / n, red / n) for w, (n, f, red) in sorted(weeks.items()) if n}
    warned_true = sum(1 for o in r.outcomes() if o.first_any is not None)
    warned_false = sum(s.warned_healthy for s in r.scores)
    red_true = sum(1 for o in r.outcomes() if o.first_red is not None)
    red_false = sum(s.warned_red_healthy for s in r.scores)
    listed, listed_true = sum(s.lists[0] for s in r.scores), sum(s.lists[1] for s in r.scores)
    return {
        "by_kind": by_kind,
        "weekly": rates,
        "fa_any_worst": max((a for a, _ in rates.values()), default=0.0),
        "fa_any_mean": statistics.fmean(a for a, _ in rates.values()) if rates else 0.0,
        "fa_red_worst": max((b for _, b in rates.values()), default=0.0),
        "fa_red_mean": statistics.fmean(b for _, b in rates.values()) if rates else 0.0,
        "precision_dyads_any": warned_true / (warned_true + warned_false) if warned_true + warned_false else None,
        "precision_dyads_red": red_true / (red_true + red_false) if red_true + red_false else None,
        "precision_lists": listed_true / listed if listed else None,
    }
