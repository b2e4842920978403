"""Dyad health: signals that come before a breakdown, each judged against the
program's own norm, with green / amber / red and every reason in plain words.

What is measured, for one dyad at a moment ``now`` (``measure``), from what
existed then (``DyadActivity.as_of``):

* **rating_drop** (rapport, per member): how far her ratings of her counterpart
  fell from her own earlier level: the median of her earlier ratings minus the
  mean of her last ``recent_ratings``, over her last ``rating_window`` ratings
  (needs ``min_ratings``). Her least-squares slope is reported beside it.
* **missed_streak** (meetings): consecutive meetings not held, counted back
  from the latest one due. Cancelled and no-show meetings are due at their
  start; a pending meeting nobody confirmed is due (and missed) once the
  program's confirmation grace has passed after its end.
* **meeting_gap** (meetings): time since the last held meeting started (or the
  first due one, before any is held), in the dyad's meeting intervals (the
  median gap of its planned meetings: 7 days for weekly meetings).
* **reschedules** (meetings): days on which meetings were moved in the last
  ``recent_intervals`` meeting intervals (moving the whole schedule at once, for a
  closure or a strike, is one move).
* **one_sided** (engagement, per member): held meetings in a row, most recent
  first, that her counterpart confirmed while she neither confirmed them nor
  sent her form, each older than her own usual delay (the longest she took
  before); measured for a member who acknowledged at least
  ``one_sided_habit`` of the earlier ones (a habit is not a change).
* **silence** (engagement, per member): time since her own last sign of life
  (a confirmation, a form, a move or cancellation she made, a touch; a held
  meeting counts for both), in meeting intervals, from the first meeting on.
* **form_overdue** (engagement, per member): days her oldest form since the
  last one she sent is overdue (an old form forgotten does not count once she
  sends later ones).
* **progress_stalled** (progress): time since progress last rose on an objective
  not yet achieved (its creation counts), in meeting intervals.
* **milestone_overdue** (progress): days the most overdue unreported milestone
  is late, counted from the first meeting on or after its date (at most one
  meeting interval after it: a pair reports milestones at its meetings).

Once a dyad's schedule is over (``schedule_over``: its last planned meeting
is behind it) meeting_gap, silence, progress_stalled and milestone_overdue are
not measured: they would only say that the schedule ended.

The norm (``program_norms``): for every signal, the program's distribution at
that moment over its active dyads (or members), and its *usual upper level*
``q3 + norm_fence * (q3 - q1)`` (Tukey's fence; ``norm_far_fence`` for red).
Delays use the delays themselves: form delays (submitted minus due; a form
still missing counts as "at least this late") and milestone reporting delays,
through the Kaplan-Meier estimate (``scipy.stats.ecdf``). The confirmation
grace is the usual confirmation delay, between its floor and ceiling. A norm
needs ``min_norm_sample`` values; without one a signal is judged against its
ceiling.

The judgment, per signal and level (``Level(floor, ceiling)``): it warns when
the value reaches the floor *and* is beyond the program's usual level; it always
warns from the ceiling, so a whole cohort in trouble is still seen. Red is
checked before amber. Lateness alone is never a warning: in a program where
half the forms are 1-14 days late, a form warns only once it is missing well
beyond that.

The colour. Some signs are common in healthy dyads and count only together
with another (rules with ``alone=False``: one meeting not held, objectives
stalled). Red when any signal is red, or when signs come from
``red_when_kinds`` different kinds of evidence (rapport, meetings, engagement,
progress) and one of them is amber by itself; amber when a sign is amber by
itself, or common signs of two kinds come together; else green (a common sign
alone is not listed). ``rank_dyads``: worst first.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from services.sessions.enums import MeetingChangeKind

from .model import DomainError, DyadActivity, Meeting, MeetingStatus, require_aware

ROLES = ("mentee", "mentor")
COUNTERPART = {"mentee": "mentor", "mentor": "mentee"}
DAY = 86400.0


class Health(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Health.GREEN: 0, Health.AMBER: 1, Health.RED: 2}


@dataclass(frozen=True)
class SignalInfo:
    kind: str
    """the kind of evidence: rapport, meetings, engagement or progress"""
    unit: str
    """the unit of the policy's floors and ceilings"""
    per_member: bool


SIGNALS: Mapping[str, SignalInfo] = {
    "rating_drop": SignalInfo("rapport", "points", True),
    "missed_streak": SignalInfo("meetings", "meetings", False),
    "meeting_gap": SignalInfo("meetings", "intervals", False),
    "reschedules": SignalInfo("meetings", "moves", False),
    "one_sided": SignalInfo("engagement", "meetings", True),
    "silence": SignalInfo("engagement", "intervals", True),
    "form_overdue": SignalInfo("engagement", "days", True),
    "progress_stalled": SignalInfo("progress", "intervals", False),
    "milestone_overdue": SignalInfo("progress", "days", False),
}
KINDS = ("rapport", "meetings", "engagement", "progress")


# -- the policy ----------------------------------------------------------------------------------------------------


class PolicyError(DomainError):
    """An inconsistent policy; ``problems`` lists each (dotted field, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems))


@dataclass(frozen=True)
class Level:
    """One level of one signal: it may warn from ``floor`` (when beyond the
    program's usual level) and always warns from ``ceiling``."""

    floor: float
    ceiling: float


@dataclass(frozen=True)
class Rule:
    """A signal's amber and red levels; ``None`` switches that level off.
    ``alone``: its amber flags a dyad by itself; when false, only together
    with a sign of another kind."""

    amber: Level | None = None
    red: Level | None = None
    alone: bool = True


@dataclass(frozen=True, kw_only=True)
class HealthPolicy:
    """A program's supervision policy. The defaults suit the pilots (12 weekly
    meetings, feedback due 48 h after a meeting) and were tuned on
    ``bench/supervision``; time-based signals are in meeting intervals, so
    they also suit biweekly or monthly meetings."""

    rating_drop: Rule = Rule(Level(0.75, 1.25), Level(1.5, 2.0))
    """points her ratings fell from her own earlier level"""
    missed_streak: Rule = Rule(Level(1, 1), Level(2, 2), alone=False)
    """consecutive meetings not held: one is common and counts only with another sign; two are always red"""
    meeting_gap: Rule = Rule(Level(2.5, 3.5), Level(3.5, 5.0))
    """meeting intervals since the last held meeting"""
    reschedules: Rule = Rule(Level(3, 5), None)
    """moves in the last ``recent_intervals`` meeting intervals"""
    one_sided: Rule = Rule(Level(2, 3), Level(3, 4))
    """held meetings in a row only her counterpart confirmed"""
    silence: Rule = Rule(Level(2.0, 3.0), Level(3.0, 4.5))
    """meeting intervals since her own last sign of life"""
    form_overdue: Rule = Rule(Level(10, 28), Level(21, 42))
    """days her oldest unsubmitted form is overdue"""
    progress_stalled: Rule = Rule(Level(5.0, 8.0), None, alone=False)
    """meeting intervals without progress on an open objective (common: it counts only with another sign)"""
    milestone_overdue: Rule = Rule(Level(14, 28), None)
    """days a milestone is not reported, from the first meeting on or after its date (at most one interval after it)"""
    confirmation_grace_hours: Level = Level(48, 168)
    """after a meeting's end, how long an unconfirmed meeting waits before it counts as not held:
    the program's usual confirmation delay, between these bounds"""
    rating_window: int = 6
    """her last N ratings are looked at"""
    min_ratings: int = 2
    """rating_drop needs at least this many of her ratings"""
    recent_ratings: int = 1
    """her recent level is the mean of her last N ratings (fewer while she has few)"""
    one_sided_habit: float = 0.75
    """one_sided is measured for a member who acknowledged (confirmed, or sent her form for) at least this share of
    the two or more held meetings before"""
    recent_intervals: float = 4.0
    """the window of ``reschedules``, in meeting intervals"""
    norm_fence: float = 1.5
    """the program's usual level: q3 + norm_fence * (q3 - q1)"""
    norm_far_fence: float = 3.0
    """the program's usual level for red: q3 + norm_far_fence * (q3 - q1)"""
    min_norm_sample: int = 8
    """a norm needs this many values (dyads, members, forms or milestones)"""
    red_when_kinds: int | None = 2
    """red when signs come from this many kinds of evidence, one of them amber by itself (None: never)"""
    default_interval_days: float = 7.0
    """the meeting interval of a dyad with fewer than two planned meetings"""

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise PolicyError(problems)

    def rule(self, signal: str) -> Rule:
        return getattr(self, signal)  # type: ignore[no-any-return]

    def problems(self) -> list[tuple[str, str]]:
        """Every inconsistency, as (dotted field, message)."""
        out: list[tuple[str, str]] = []

        def level(name: str, lv: Level | None) -> bool:
            if lv is None:
                return True
            if not (math.isfinite(lv.floor) and math.isfinite(lv.ceiling)) or lv.floor < 0:
                out.append((f"{name}.floor", "must be a finite number, not negative"))
            elif lv.ceiling < lv.floor:
                out.append((f"{name}.ceiling", f"must not be below the floor ({lv.floor:g})"))
            else:
                return True
            return False

        for signal in SIGNALS:
            rule = self.rule(signal)
            consistent = level(f"{signal}.amber", rule.amber) & level(f"{signal}.red", rule.red)
            if rule.amber and rule.red and consistent:
                if rule.red.floor < rule.amber.floor:
                    out.append((f"{signal}.red.floor", f"must not be below the amber floor ({rule.amber.floor:g})"))
                elif rule.red.ceiling < rule.amber.ceiling:
                    out.append((f"{signal}.red.ceiling", f"must not be below the amber ceiling ({rule.amber.ceiling:g})"))
        level("confirmation_grace_hours", self.confirmation_grace_hours)
        for name in ("rating_window", "min_ratings"):
            if getattr(self, name) < 2:
                out.append((name, "must be at least 2"))
        if self.min_ratings > self.rating_window:
            out.append(("min_ratings", f"must not exceed rating_window ({self.rating_window})"))
        if not 1 <= self.recent_ratings < max(self.min_ratings, 2):
            out.append(("recent_ratings", f"must be at least 1 and below min_ratings ({self.min_ratings})"))
        for name in ("recent_intervals", "default_interval_days"):
            if not getattr(self, name) > 0:
                out.append((name, "must be positive"))
        if not 0 <= self.norm_fence <= self.norm_far_fence:
            out.append(("norm_far_fence", f"must be at least norm_fence ({self.norm_fence:g}), which must not be negative"))
        if self.min_norm_sample < 4:
            out.append(("min_norm_sample", "must be at least 4 (quartiles need values)"))
        if self.red_when_kinds is not None and not 2 <= self.red_when_kinds <= len(KINDS):
            out.append(("red_when_kinds", f"must be between 2 and {len(KINDS)}, or null"))
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HealthPolicy:
        """A policy from its ``to_dict`` form; omitted fields keep the defaults,
        an unknown field is an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PolicyError([(name, "not a field of the policy") for name in unknown])
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in SIGNALS:
                value = Rule(*(None if value.get(lv) is None else Level(**value[lv]) for lv in ("amber", "red")),
                             alone=bool(value.get("alone", True)))
            elif name == "confirmation_grace_hours":
                value = Level(**value)
            values[name] = value
        return cls(**values)


# -- what is measured ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signals:
    """One dyad's measured signals at a moment; a signal that cannot be measured
    yet is absent (``None``, or no entry for that member)."""

    interval_days: float
    planned_to_date: int
    """meetings due so far (held, cancelled, no-show, or unconfirmed past the grace)"""
    held: int
    missed_streak: int | None
    meeting_gap_days: float | None
    reschedules: int
    rating_drop: Mapping[str, float]
    rating_slope: Mapping[str, float]
    """points per meeting over her last ratings"""
    one_sided: Mapping[str, int]
    silence_days: Mapping[str, float]
    form_overdue_days: Mapping[str, float]
    progress_stalled_days: float | None
    milestone_overdue_days: float | None

    def __post_init__(self) -> None:
        per = self.interval_days
        single: dict[str, float | None] = {
            "missed_streak": self.missed_streak,
            "meeting_gap": None if self.meeting_gap_days is None else self.meeting_gap_days / per,
            "reschedules": self.reschedules,
            "progress_stalled": None if self.progress_stalled_days is None else self.progress_stalled_days / per,
            "milestone_overdue": self.milestone_overdue_days,
        }
        values: dict[str, dict[str | None, float]] = {k: ({} if v is None else {None: float(v)}) for k, v in single.items()}
        values["rating_drop"] = dict(self.rating_drop)
        values["one_sided"] = {k: float(v) for k, v in self.one_sided.items()}
        values["silence"] = {k: v / per for k, v in self.silence_days.items()}
        values["form_overdue"] = dict(self.form_overdue_days)
        object.__setattr__(self, "_values", values)

    def values(self, signal: str) -> dict[str | None, float]:
        """The signal's values in the policy's unit, by member (``None`` for the dyad)."""
        return self._values[signal]  # type: ignore[attr-defined,no-any-return]


def interval_days(meetings: Sequence[Meeting], default: float = 7.0) -> float:
    """The dyad's meeting interval: the median gap between its planned meetings, in days."""
    starts = sorted(m.planned_start for m in meetings)
    gaps = [(b - a).total_seconds() / DAY for a, b in pairwise(starts)]
    gaps = [g for g in gaps if g > 0]
    return statistics.median(gaps) if gaps else default


def reportable_from(due_on: date, meetings: Sequence[Meeting], per: float) -> date:
    """When a milestone's lateness starts to count: a pair reports a milestone
    at a meeting, so from the first meeting on or after its date, and at the
    latest one meeting interval after it (a pair that stopped meeting is not
    excused). In a weekly program that is a few days; in a monthly one, the
    month a milestone waits for the next session is not lateness."""
    cap = due_on + timedelta(days=math.ceil(per))
    after = [d for m in meetings if (d := m.start.date()) >= due_on]
    return min(min(after, default=cap), cap)


def schedule_over(meetings: Sequence[Meeting], now: datetime) -> bool:
    """The dyad's last planned meeting is behind it: every meeting both was
    planned and now stands before ``now`` (a meeting cancelled early still
    counts at its planned time, so a pair that cancels the rest of its
    schedule is not "over")."""
    return bool(meetings) and all(m.planned_start <= now and m.start <= now for m in meetings)


def _days(delta: timedelta) -> float:
    return max(delta.total_seconds(), 0.0) / DAY


def _end(m: Meeting) -> datetime:
    return m.start + timedelta(minutes=m.duration_minutes)


def measure(activity: DyadActivity, now: datetime, policy: HealthPolicy, grace_hours: float) -> Signals:
    """Measure one dyad at ``now``. ``activity`` must already be seen as of
    ``now`` (``DyadActivity.as_of``); ``grace_hours`` is the confirmation grace."""
    meetings = sorted(activity.meetings, key=lambda m: (m.start, m.id))
    if len({m.id for m in meetings}) != len(meetings):
        raise DomainError("meeting ids must be unique")
    per = interval_days(meetings, policy.default_interval_days)
    ends = [m.start + timedelta(minutes=m.duration_minutes) for m in meetings]
    # The confirmation grace: the program's, or this dyad's own habit when it confirms later (its longest delay so
    # far), never beyond the ceiling.
    own = [min(stamps) - end for m, end in zip(meetings, ends, strict=True)
           if m.status is MeetingStatus.HELD and (stamps := [t for t in (m.mentee_confirmed_at, m.mentor_confirmed_at) if t])]
    grace = min(max(timedelta(hours=grace_hours), max(own, default=timedelta(0))),
                timedelta(hours=max(grace_hours, policy.confirmation_grace_hours.ceiling)))

    # Meetings: due, held, missed streak, gap, reschedules.
    due: list[bool] = []
    held_starts: list[datetime] = []
    first_due: datetime | None = None
    for m, end in zip(meetings, ends, strict=True):
        status = m.status
        if status is MeetingStatus.HELD:
            outcome: bool | None = True
            held_starts.append(m.start)
        elif status is MeetingStatus.CANCELLED or status is MeetingStatus.NO_SHOW:
            outcome = False if m.start <= now else None
        else:
            outcome = False if end + grace <= now else None
        if outcome is not None:
            due.append(outcome)
            if first_due is None:
                first_due = m.start
    streak = 0
    for was_held in reversed(due):
        if was_held:
            break
        streak += 1
    if held_starts:
        gap: float | None = _days(now - max(held_starts))
    elif first_due is not None:
        gap = _days(now - first_due)
    else:
        gap = None
    recent = now - timedelta(days=policy.recent_intervals * per)
    # Moves made on one day are one decision: a closure or a strike that moves the whole schedule is one move.
    moves = len({c.at.date() for m in meetings for c in m.changes if c.kind == MeetingChangeKind.RESCHEDULED and recent < c.at <= now})

    # Who did what, and when: a held meeting counts for both.
    order = {m.id: n for n, m in enumerate(meetings)}
    last_act: dict[str, datetime | None] = {r: max(held_starts, default=None) for r in ROLES}

    def acted(role: str | None, at: datetime | None) -> None:
        if at is not None and role in last_act and at <= now:
            current = last_act[role]
            if current is None or at > current:
                last_act[role] = at

    for m in meetings:
        acted("mentee", m.mentee_confirmed_at)
        acted("mentor", m.mentor_confirmed_at)
        for c in m.changes:
            acted(c.by, c.at)

    # Forms: ratings in meeting order; forms missing since her last submitted one.
    ratings: dict[str, list[tuple[int, float]]] = {r: [] for r in ROLES}
    last_sent: dict[str, int] = {r: -1 for r in ROLES}
    sent_at: dict[tuple[str, str], datetime] = {}
    pending: list[tuple[str, int, datetime]] = []
    for f in activity.forms:
        role = f.respondent_role
        if f.meeting_id not in order:
            raise DomainError(f"a form refers to meeting {f.meeting_id}, which is not among the dyad's meetings")
        if role not in ratings:
            continue
        n = order[f.meeting_id]
        if f.submitted_at is not None:
            acted(role, f.submitted_at)
            sent_at[(f.meeting_id, role)] = f.submitted_at
            last_sent[role] = max(last_sent[role], n)
            if f.rating is not None:
                ratings[role].append((n, f.rating))
        elif f.due < now:
            pending.append((role, n, f.due))
    overdue: dict[str, float] = {}
    for role, n, form_due in pending:
        if n > last_sent[role]:
            overdue[role] = max(overdue.get(role, 0.0), _days(now - form_due))

    # One-sided: held meetings her counterpart confirmed and she has neither confirmed nor sent her form for,
    # each older than her own usual delay; measured for a member who acknowledged most earlier ones.
    one_sided: dict[str, int] = {}
    for role in ROLES:
        acks: list[tuple[datetime, float | None]] = []  # (end, her delay in hours, or None)
        for m, end in zip(meetings, ends, strict=True):
            if m.status is not MeetingStatus.HELD or end + grace > now:
                continue
            stamps = [t for t in (m.mentee_confirmed_at if role == "mentee" else m.mentor_confirmed_at,
                                  sent_at.get((m.id, role))) if t is not None]
            acks.append((end, (min(stamps) - end).total_seconds() / 3600 if stamps else None))
        last_ack = max((n for n, (_, d) in enumerate(acks) if d is not None), default=-1)
        before = [d for _, d in acks[: last_ack + 1]]
        known = [d for d in before if d is not None]
        if len(before) < 2 or len(known) < policy.one_sided_habit * len(before):
            continue
        usual = max(grace, timedelta(hours=max(known)))
        one_sided[role] = sum(1 for end, _ in acks[last_ack + 1 :] if end + usual <= now)

    for t in activity.touches:
        acted(t.role, t.at)
    silence: dict[str, float] = {}
    if first_due is not None:
        for role in ROLES:
            since = max(last_act[role] or first_due, first_due)
            silence[role] = _days(now - since)

    drop: dict[str, float] = {}
    slope: dict[str, float] = {}
    for role, points in ratings.items():
        points = sorted(points)[-policy.rating_window :]
        if len(points) < policy.min_ratings:
            continue
        values = [v for _, v in points]
        k = min(policy.recent_ratings, len(values) - 1)
        earlier, latest = statistics.median(values[:-k]), statistics.fmean(values[-k:])
        drop[role] = round(earlier - latest, 9) + 0.0
        slope[role] = round(statistics.linear_regression([float(x) for x, _ in points], values).slope, 9) + 0.0

    # Progress: the last rise on an objective not yet achieved; overdue milestones.
    last_rise: datetime | None = None
    open_objectives = 0
    for series in activity.progress:
        if not series:
            continue
        points = sorted(series)
        if points[-1][1] >= 100.0:
            continue
        open_objectives += 1
        rise = points[0][0]
        for (_, before), (t, value) in pairwise(points):
            if value > before:
                rise = t
        if last_rise is None or rise > last_rise:
            last_rise = rise
    stalled = _days(now - last_rise) if open_objectives and last_rise is not None else None
    today = now.date()
    late_milestones = [(today - start).days for s in activity.milestones
                       if s.reported_at is None and (start := reportable_from(s.due_on, meetings, per)) < today]
    milestone_overdue = float(max(late_milestones)) if late_milestones else None

    if schedule_over(meetings, now):
        # Its last planned meeting is behind it: time since the last meeting, silence, stalled progress and
        # milestones never reported are the end of the schedule, not a relationship going quiet. What is left to
        # do shows in its outcomes; meetings not held, ratings, one-sided meetings and late forms still count.
        gap, stalled, milestone_overdue = None, None, None
        silence = {}

    return Signals(
        interval_days=per, planned_to_date=len(due), held=sum(due), missed_streak=streak if due else None,
        meeting_gap_days=gap, reschedules=moves, rating_drop=drop, rating_slope=slope,
        one_sided=one_sided, silence_days=silence, form_overdue_days=overdue, progress_stalled_days=stalled,
        milestone_overdue_days=milestone_overdue,
    )


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
            end = _end(m)
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
                observed.append(_days(f.submitted_at - f.due))
            elif f.due < now:
                censored.append(_days(now - f.due))
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


# -- the judgment --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """One signal that flagged the dyad: its value, the threshold that applied
    (``value <comparison> threshold`` held), the program's usual level when it
    has a norm, in ``unit``; ``member`` names the member by role when the sign
    is hers alone."""

    signal: str
    kind: str
    level: Health
    member: str | None
    value: float
    threshold: float
    comparison: str
    norm: float | None
    unit: str
    message: str


@dataclass(frozen=True)
class DyadHealth:
    dyad_id: str
    status: Health
    reasons: tuple[Reason, ...]
    signals: Signals
    summary: str
    at: datetime

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of evidence among the reasons, in the order of ``KINDS``."""
        present = {r.kind for r in self.reasons}
        return tuple(k for k in KINDS if k in present)


def _threshold(level: Level, usual: float | None) -> tuple[float, str]:
    """The value a signal must reach: the floor, raised to the program's usual
    level (to be passed), never above the ceiling; the ceiling alone without a norm."""
    if usual is None or usual >= level.ceiling:
        return level.ceiling, ">="
    if usual < level.floor:
        return level.floor, ">="
    return usual, ">"


def _reached(value: float, threshold: float, comparison: str) -> bool:
    return value > threshold if comparison == ">" else value >= threshold


_WHO = {"mentee": "the mentee", "mentor": "the mentor"}


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def _plural(n: float, one: str, many: str) -> str:
    return f"{_fmt(n)} {one if abs(n - 1) < 1e-9 else many}"


def _describe(signal: str, member: str | None, s: Signals, shown: float) -> str:
    who = _WHO.get(member or "", "")
    if signal == "rating_drop":
        return f"{who.capitalize()}'s ratings of her {COUNTERPART[member or 'mentee']} fell by {shown:.2f} points from her own earlier level"
    if signal == "missed_streak":
        return f"The last {_plural(shown, 'meeting was', 'meetings were')} not held (cancelled, missed or never confirmed)"
    if signal == "meeting_gap":
        return (f"No meeting held for {_plural(shown, 'day', 'days')} (the dyad meets every "
                f"{_plural(s.interval_days, 'day', 'days')})")
    if signal == "reschedules":
        return f"Meetings were moved on {_plural(shown, 'day', 'days')} in the last {_fmt(s.interval_days * 4)} days"
    if signal == "one_sided":
        return (f"{who.capitalize()} has neither confirmed nor sent a form for the last "
                f"{_plural(shown, 'held meeting', 'held meetings')}; her {COUNTERPART[member or 'mentee']} confirmed them")
    if signal == "silence":
        if member is None:
            return f"Neither member has been active for {_plural(shown, 'day', 'days')}"
        other = COUNTERPART[member]
        other_days = s.silence_days.get(other)
        tail = f" while her {other} was active {_plural(other_days, 'day', 'days')} ago" if other_days is not None else ""
        return f"{who.capitalize()} has not been active for {_plural(shown, 'day', 'days')}{tail}"
    if signal == "form_overdue":
        return f"{who.capitalize()}'s feedback form is {_plural(shown, 'day', 'days')} overdue"
    if signal == "progress_stalled":
        return f"No progress recorded on an open objective for {_plural(shown, 'day', 'days')}"
    return f"A milestone is {_plural(shown, 'day', 'days')} late and not reported (counted from the first meeting after its date)"


def _why(level: Health, threshold: float, comparison: str, usual: float | None, ceiling: float, unit: str) -> str:
    """Why this threshold applied, in the reason's unit."""
    u = "" if unit == "points" else f" {unit}"
    if comparison == ">":
        return f"{level.value}: beyond this program's usual level of {_fmt(usual or 0.0)}{u}"
    if usual is None:
        return f"{level.value} from {_fmt(threshold)}{u}; no program norm yet"
    if usual >= ceiling:
        return f"{level.value} from {_fmt(threshold)}{u} whatever is usual in this program"
    return f"{level.value} from {_fmt(threshold)}{u}; usual in this program up to {_fmt(usual)}{u}"


def judge(dyad_id: str, s: Signals, now: datetime, policy: HealthPolicy, norms: ProgramNorms) -> DyadHealth:
    """Compare one dyad's signals with the policy and the program's norms."""
    reasons: list[Reason] = []
    for signal, info in SIGNALS.items():
        rule = policy.rule(signal)
        values = s.values(signal)
        if not values or (rule.amber is None and rule.red is None):
            continue
        norm = norms.signals.get(signal)
        found: dict[str | None, tuple[Health, float, float, str, float | None, float]] = {}
        for member, value in values.items():
            for level, lv, usual in ((Health.RED, rule.red, norm.far if norm else None),
                                     (Health.AMBER, rule.amber, norm.usual if norm else None)):
                if lv is None:
                    continue
                threshold, comparison = _threshold(lv, usual)
                if _reached(value, threshold, comparison):
                    found[member] = (level, value, threshold, comparison, usual, lv.ceiling)
                    break
        if signal == "silence" and len(found) == 2:  # both silent: one sign of the dyad, at the milder level
            mild = min(found.values(), key=lambda f: (f[0].severity, f[1]))
            found = {None: mild}
        # Values in intervals are shown in days of this dyad.
        scale = s.interval_days if info.unit == "intervals" else 1.0
        unit = "days" if info.unit == "intervals" else info.unit
        for member, (level, value, threshold, comparison, usual, ceiling) in found.items():
            shown_usual = None if usual is None else usual * scale
            why = _why(level, threshold * scale, comparison, shown_usual, ceiling * scale, unit)
            reasons.append(Reason(
                signal=signal, kind=info.kind, level=level, member=member, value=value * scale, threshold=threshold * scale,
                comparison=comparison, norm=shown_usual, unit=unit,
                message=f"{_describe(signal, member, s, value * scale)} ({why}).",
            ))
    reasons.sort(key=lambda r: (-r.level.severity, KINDS.index(r.kind)))
    kinds = [k for k in KINDS if any(r.kind == k for r in reasons)]
    strong = any(r.level is Health.AMBER and policy.rule(r.signal).alone for r in reasons)
    red = [r for r in reasons if r.level is Health.RED]
    if red:
        status = Health.RED
        summary = "Act now: " + "; ".join(_LABEL[r.signal] for r in red) + "."
    elif strong and policy.red_when_kinds is not None and len(kinds) >= policy.red_when_kinds:
        status = Health.RED
        summary = f"Act now: warning signs of {len(kinds)} kinds at once ({', '.join(kinds)})."
    elif strong or len(kinds) >= 2:
        status = Health.AMBER
        summary = "Watch: " + "; ".join(_LABEL[r.signal] for r in reasons) + "."
    else:  # a common sign alone: it counts only together with another
        status, summary, reasons = Health.GREEN, "Nothing unusual.", []
    return DyadHealth(dyad_id=dyad_id, status=status, reasons=tuple(reasons), signals=s, summary=summary, at=now)


_LABEL = {
    "rating_drop": "ratings falling", "missed_streak": "meetings not held", "meeting_gap": "no recent meeting",
    "reschedules": "meetings moved again and again", "one_sided": "one member stopped confirming",
    "silence": "silence", "form_overdue": "a feedback form long overdue", "progress_stalled": "objectives stalled",
    "milestone_overdue": "a milestone long overdue",
}


def assess(activity: DyadActivity, now: datetime, policy: HealthPolicy | None = None,
           norms: ProgramNorms | None = None) -> DyadHealth:
    """One dyad's health at ``now``, from what existed then, judged against the
    program's norms (``None``: no norm, every signal against its ceiling)."""
    require_aware(now, "now")
    policy = policy or HealthPolicy()
    norms = norms or ProgramNorms.none(now, policy)
    seen = activity.as_of(now)
    return judge(activity.dyad_id, measure(seen, now, policy, norms.confirmation_grace_hours), now, policy, norms)


def assess_cohort(activities: Iterable[DyadActivity], now: datetime,
                  policy: HealthPolicy | None = None) -> tuple[ProgramNorms, list[DyadHealth]]:
    """Every dyad active at ``now``: the program's norms first, then each dyad
    judged against them (in the order given)."""
    policy = policy or HealthPolicy()
    cohort = observe(activities, now, policy)
    return cohort.norms, [judge(a.dyad_id, s, now, policy, cohort.norms) for a, s in zip(cohort.activities, cohort.signals, strict=True)]


def rank_key_of(status: Health, reasons: Sequence[Reason], dyad_id: str) -> tuple[int, int, int, int, float, str]:
    """The ranking key of a dyad's colour and reasons (see ``rank_dyads``)."""
    kinds = len({r.kind for r in reasons})
    red = sum(1 for r in reasons if r.level is Health.RED)
    excess = max((r.value / r.threshold if r.threshold else r.value for r in reasons), default=0.0)
    return (-status.severity, -kinds, -red, -len(reasons), -excess, dyad_id)


def rank_key(h: DyadHealth) -> tuple[int, int, int, int, float, str]:
    return rank_key_of(h.status, h.reasons, h.dyad_id)


def rank_dyads(healths: Iterable[DyadHealth]) -> list[DyadHealth]:
    """Worst first: red, amber, green; then more kinds of evidence, more red
    reasons, more reasons, the value furthest beyond its threshold; then dyad id."""
    return sorted(healths, key=rank_key)


def at_risk(healths: Iterable[DyadHealth]) -> list[DyadHealth]:
    """The dyads that are not green, worst first (the coordinator's view)."""
    return [h for h in rank_dyads(healths) if h.status is not Health.GREEN]

