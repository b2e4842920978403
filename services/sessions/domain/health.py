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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

from services.sessions.enums import MeetingChangeKind

from .health_policy import DAY, ROLES, HealthPolicy
from .model import DomainError, DyadActivity, Meeting, MeetingStatus

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


def in_days(delta: timedelta) -> float:
    return max(delta.total_seconds(), 0.0) / DAY


def meeting_end(m: Meeting) -> datetime:
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
        gap: float | None = in_days(now - max(held_starts))
    elif first_due is not None:
        gap = in_days(now - first_due)
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
            overdue[role] = max(overdue.get(role, 0.0), in_days(now - form_due))

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
            silence[role] = in_days(now - since)

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
    stalled = in_days(now - last_rise) if open_objectives and last_rise is not None else None
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
