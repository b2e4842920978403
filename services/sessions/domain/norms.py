"""Dyad health: the program's norms, every signal's usual upper level over the
program's active dyads at a moment (``program_norms``). See ``health``."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from .health import (
    Signals,
    in_days,
    interval_days,
    measure,
    meeting_end,
    reportable_from,
)
from .health_policy import SIGNALS, HealthPolicy
from .model import DyadActivity, MeetingStatus, require_aware

# -- the program's norms -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Norm:
    """A signal's distribution over the program at a moment (in the policy's
    unit) and its usual upper levels."""

    sample: int
    q1: float
    median: float
    q3: float
    usual: float
    """q3 + norm_fence * (q3 - q1): beyond this is unusual for the program"""
    far: float
    """q3 + norm_far_fence * (q3 - q1): the usual level for red"""


@dataclass(frozen=True)
class ProgramNorms:
    """The program's norms at ``at``, over ``dyads`` active dyads; a signal
    missing from ``signals`` has no norm (too few values)."""

    at: datetime
    dyads: int
    confirmation_grace_hours: float
    signals: Mapping[str, Norm] = field(default_factory=dict)

    @classmethod
    def none(cls, at: datetime, policy: HealthPolicy) -> ProgramNorms:
        """No norm at all (a single dyad seen alone): every signal is judged against its ceiling."""
        return cls(at=at, dyads=0, confirmation_grace_hours=policy.confirmation_grace_hours.ceiling)

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "dyads": self.dyads, "confirmation_grace_hours": self.confirmation_grace_hours,
                "signals": {k: asdict(v) for k, v in self.signals.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProgramNorms:
        return cls(at=require_aware(datetime.fromisoformat(data["at"]), "at"), dyads=int(data["dyads"]),
                   confirmation_grace_hours=float(data["confirmation_grace_hours"]),
                   signals={k: Norm(**v) for k, v in data["signals"].items()})


def _norm(q1: float, median: float, q3: float, sample: int, policy: HealthPolicy) -> Norm:
    spread = q3 - q1
    return Norm(sample=sample, q1=q1, median=median, q3=q3, usual=q3 + policy.norm_fence * spread,
                far=q3 + policy.norm_far_fence * spread)


def _spread_norm(values: Sequence[float], policy: HealthPolicy) -> Norm | None:
    if len(values) < policy.min_norm_sample:
        return None
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return _norm(q1, median, q3, len(values), policy)


def _delay_norm(observed: Sequence[float], censored: Sequence[float], policy: HealthPolicy) -> Norm | None:
    """Quartiles of delays, some still running (right-censored), by Kaplan-Meier."""
    if len(observed) + len(censored) < policy.min_norm_sample or not observed:
        return None
    if censored:
        cdf = scipy_stats.ecdf(scipy_stats.CensoredData(uncensored=np.asarray(observed), right=np.asarray(censored))).cdf
    else:
        cdf = scipy_stats.ecdf(np.asarray(observed)).cdf
    x, p = cdf.quantiles, cdf.probabilities
    found = np.searchsorted(p, np.array([0.25, 0.5, 0.75]) - 1e-9)
    if found[-1] >= len(x):
        return None  # three quarters of the delays are not known yet
    q1, median, q3 = (float(x[i]) for i in found)
    return _norm(q1, median, q3, len(observed) + len(censored), policy)


def _confirmation_norm(activities: Sequence[DyadActivity], now: datetime, policy: HealthPolicy) -> float:
    """The confirmation grace in hours: the usual delay from a meeting's end to its first confirmation. A meeting
    still unconfirmed past the ceiling counts as not held whatever the norm: it says nothing about the usual delay."""
    bounds = policy.confirmation_grace_hours
    observed: list[float] = []
    censored: list[float] = []
    for a in activities:
        for m in a.meetings:
            if m.start > now or m.status is MeetingStatus.CANCELLED or m.status is MeetingStatus.NO_SHOW:
                continue
            end = meeting_end(m)
            if end > now:
                continue
            stamps = [s for s in (m.mentee_confirmed_at, m.mentor_confirmed_at) if s is not None]
            if stamps:
                observed.append(max((min(stamps) - end).total_seconds(), 0.0) / 3600)
            elif (waited := (now - end).total_seconds() / 3600) <= bounds.ceiling:
                censored.append(waited)
    norm = _delay_norm(observed, censored, policy)
    if norm is None:
        return bounds.ceiling
    return min(bounds.ceiling, max(bounds.floor, norm.usual))


def _form_delays(activities: Sequence[DyadActivity], now: datetime) -> tuple[list[float], list[float]]:
    observed: list[float] = []
    censored: list[float] = []
    for a in activities:
        for f in a.forms:
            if f.submitted_at is not None:
                observed.append(in_days(f.submitted_at - f.due))
            elif f.due < now:
                censored.append(in_days(now - f.due))
    return observed, censored


def _milestone_delays(activities: Sequence[DyadActivity], now: datetime, policy: HealthPolicy) -> tuple[list[float], list[float]]:
    observed: list[float] = []
    censored: list[float] = []
    today = now.date()
    for a in activities:
        per = interval_days(a.meetings, policy.default_interval_days)
        for s in a.milestones:
            start = reportable_from(s.due_on, a.meetings, per)
            if s.reported_at is not None:
                observed.append(float(max((s.reported_at.date() - start).days, 0)))
            elif start < today:
                censored.append(float((today - start).days))
    return observed, censored


@dataclass(frozen=True)
class Cohort:
    """A program seen at a moment: its active dyads as of then, their signals and the norms."""

    at: datetime
    activities: tuple[DyadActivity, ...]
    signals: tuple[Signals, ...]
    norms: ProgramNorms


def observe(activities: Iterable[DyadActivity], now: datetime, policy: HealthPolicy) -> Cohort:
    """The program's active dyads at ``now`` (each seen as of ``now``), measured,
    and the norms computed from them."""
    require_aware(now, "now")
    seen = tuple(a.as_of(now) for a in activities if a.active_at(now))
    grace = _confirmation_norm(seen, now, policy)
    measured = tuple(measure(a, now, policy, grace) for a in seen)
    norms: dict[str, Norm] = {}
    for signal in SIGNALS:
        if signal == "form_overdue":
            norm = _delay_norm(*_form_delays(seen, now), policy)
        elif signal == "milestone_overdue":
            norm = _delay_norm(*_milestone_delays(seen, now, policy), policy)
        else:
            norm = _spread_norm([v for s in measured for v in s.values(signal).values()], policy)
        if norm is not None:
            norms[signal] = norm
    return Cohort(now, seen, measured, ProgramNorms(at=now, dyads=len(seen), confirmation_grace_hours=grace, signals=norms))


def program_norms(activities: Iterable[DyadActivity], now: datetime, policy: HealthPolicy) -> ProgramNorms:
    """The program's norms at ``now``, from its dyads active then."""
    return observe(activities, now, policy).norms
