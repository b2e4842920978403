"""Dyad health: continuous supervision of every active dyad from six signals,
with green / amber / red and every reason that produced the colour.

Signals (see README.md):

* **held_ratio** = meetings held / meetings planned to date. A meeting is
  planned to date once it is held; once its planned start has passed if it was
  marked cancelled, no-show or rescheduled; otherwise once its planned end plus
  the grace period (48 h) has passed without a confirmation.
* **missed_streak** = how many of the most recent meetings planned to date were
  not held (missed, cancelled, rescheduled or never confirmed), counted back
  from the latest until a held one.
* **on_time_rate** = feedback forms submitted on time / forms due by now.
* **rating_slope** = least-squares slope of the counterpart ratings (1-5)
  against the meeting number, over each member's last N ratings; the lower of
  the two members' slopes, in rating points per meeting.
* **progress_slope** = least-squares slope of measured achievement (%) against
  time in weeks, over the last N progress points of each objective not yet
  achieved; the mean over objectives, in percentage points per week.
* **days_since_last_meeting** = days from the start of the last held meeting
  (or, before any is held, from the first planned start) to now.

Each signal is compared with the program's thresholds; red is checked before
amber, and the dyad takes the worst colour among its signals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
from scipy import stats as scipy_stats

from .model import DomainError, FeedbackForm, Meeting, MeetingStatus, require_aware

ProgressSeries = Sequence[tuple[datetime, float]]
"""One objective's measured achievement (%) over time, e.g. from
``smart.achievement_series``; add ``(created_at, 0.0)`` to count from creation."""


class Health(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def severity(self) -> int:
        return {"green": 0, "amber": 1, "red": 2}[self.value]


@dataclass(frozen=True, kw_only=True)
class HealthThresholds:
    """Per-program thresholds. Defaults suit the pilots' 12 weekly meetings;
    a biweekly program should double the day thresholds. A threshold set to
    ``None`` switches that level of that signal off."""

    missed_streak_red: int | None = 2
    """red when this many or more consecutive meetings were not held"""
    missed_streak_amber: int | None = 1
    days_without_meeting_red: float | None = 21
    """red when the last held meeting started this many days ago or more"""
    days_without_meeting_amber: float | None = 14
    rating_slope_red: float | None = -0.5
    """red when the ratings fall by this many points per meeting or more (slope <= value)"""
    rating_slope_amber: float | None = -0.25
    rating_window: int = 6
    """the last N ratings of each member enter the slope"""
    min_ratings: int = 3
    """a member's slope needs at least this many ratings, on two meetings or more"""
    held_ratio_red: float | None = 0.5
    """red when held / planned to date is below this"""
    held_ratio_amber: float | None = 0.75
    on_time_rate_red: float | None = 0.25
    """red when the on-time feedback rate is below this"""
    on_time_rate_amber: float | None = 0.5
    progress_slope_red: float | None = None
    progress_slope_amber: float | None = 0.0
    """amber when the objectives progress by this many points per week or less"""
    progress_window: int = 6
    min_progress_points: int = 3
    min_due_for_rates: int = 3
    """held_ratio and on_time_rate are judged once this many meetings / forms are due"""
    unconfirmed_after_hours: float = 48
    """a meeting not confirmed as held this long after its planned end counts as not held"""

    def __post_init__(self) -> None:
        if self.rating_window < 2 or self.min_ratings < 2 or self.progress_window < 2 or self.min_progress_points < 2:
            raise DomainError("a slope needs windows and minimums of at least 2 points")
        if self.min_due_for_rates < 1 or self.unconfirmed_after_hours < 0:
            raise DomainError("min_due_for_rates must be positive and unconfirmed_after_hours not negative")


@dataclass(frozen=True)
class Signals:
    """The measured signals of one dyad; ``None`` when not yet measurable."""

    planned_to_date: int
    held: int
    held_ratio: float | None
    missed_streak: int
    feedback_due: int
    feedback_on_time: int
    on_time_rate: float | None
    rating_slope: float | None
    rating_slope_respondent: str | None
    progress_slope: float | None
    days_since_last_meeting: float | None


@dataclass(frozen=True)
class Reason:
    """One triggered threshold: the signal, its value, the threshold and the
    comparison (``value <op> threshold`` held), and a sentence."""

    signal: str
    level: Health
    value: float
    threshold: float
    comparison: str
    message: str


@dataclass(frozen=True)
class DyadHealth:
    dyad_id: str
    status: Health
    reasons: tuple[Reason, ...]
    signals: Signals


_SLOPE_DECIMALS = 9
"""Slopes are rounded so that a value on a threshold compares as that value."""


def _slope(x: Sequence[float], y: Sequence[float]) -> float:
    return round(float(np.polyfit(np.asarray(x, dtype=float), np.asarray(y, dtype=float), 1)[0]), _SLOPE_DECIMALS) + 0.0


def compute_signals(
    meetings: Iterable[Meeting],
    forms: Iterable[FeedbackForm],
    progress: Iterable[ProgressSeries],
    now: datetime,
    thresholds: HealthThresholds = HealthThresholds(),
) -> Signals:
    """Measure one dyad's signals at ``now`` from its meetings, its feedback forms
    and its objectives' achievement series."""
    require_aware(now, "now")
    ordered = sorted(meetings, key=lambda m: (m.planned_start, m.id))
    if len({m.id for m in ordered}) != len(ordered):
        raise DomainError("meeting ids must be unique")
    grace = timedelta(hours=thresholds.unconfirmed_after_hours)
    due = [
        m
        for m in ordered
        if m.status is MeetingStatus.HELD
        or (m.status is not MeetingStatus.SCHEDULED and m.planned_start <= now)
        or m.planned_start + timedelta(minutes=m.duration_minutes) + grace <= now
    ]
    held = [m for m in due if m.status is MeetingStatus.HELD]
    streak = 0
    for m in reversed(due):
        if m.status is MeetingStatus.HELD:
            break
        streak += 1
    enough_meetings = len(due) >= thresholds.min_due_for_rates
    held_ratio = len(held) / len(due) if enough_meetings else None

    if held:
        since = now - max(m.start for m in held)
    elif ordered and ordered[0].planned_start <= now:
        since = now - ordered[0].planned_start
    else:
        since = None
    days_since = None if since is None else max(since.total_seconds(), 0.0) / 86400

    form_list = list(forms)
    forms_due = [f for f in form_list if f.due <= now or f.submitted_at is not None]
    on_time = sum(1 for f in forms_due if f.submitted_at is not None and f.submitted_at <= f.due)
    on_time_rate = on_time / len(forms_due) if len(forms_due) >= thresholds.min_due_for_rates else None

    number = {m.id: n for n, m in enumerate(ordered, start=1)}
    ratings: dict[str, list[tuple[int, datetime, float]]] = {}
    for f in form_list:
        if f.rating is None or f.submitted_at is None:
            continue
        if f.meeting_id not in number:
            raise DomainError(f"a form refers to meeting {f.meeting_id}, which is not among the dyad's meetings")
        ratings.setdefault(f.respondent_id, []).append((number[f.meeting_id], f.submitted_at, f.rating))
    rating_slope: float | None = None
    rating_who: str | None = None
    for respondent in sorted(ratings):
        points = sorted(ratings[respondent])[-thresholds.rating_window :]
        if len(points) < thresholds.min_ratings or len({x for x, _, _ in points}) < 2:
            continue
        slope = _slope([x for x, _, _ in points], [y for _, _, y in points])
        if rating_slope is None or slope < rating_slope:
            rating_slope, rating_who = slope, respondent

    slopes: list[float] = []
    for series in progress:
        points = sorted(series)[-thresholds.progress_window :]
        if not points or points[-1][1] >= 100.0:
            continue
        if len(points) < thresholds.min_progress_points or len({t for t, _ in points}) < 2:
            continue
        t0 = points[0][0]
        weeks = [(t - t0).total_seconds() / (7 * 86400) for t, _ in points]
        slopes.append(round(float(scipy_stats.linregress(weeks, [v for _, v in points]).slope), _SLOPE_DECIMALS) + 0.0)
    progress_slope = sum(slopes) / len(slopes) if slopes else None

    return Signals(
        planned_to_date=len(due),
        held=len(held),
        held_ratio=held_ratio,
        missed_streak=streak,
        feedback_due=len(forms_due),
        feedback_on_time=on_time,
        on_time_rate=on_time_rate,
        rating_slope=rating_slope,
        rating_slope_respondent=rating_who,
        progress_slope=progress_slope,
        days_since_last_meeting=days_since,
    )


_AT_LEAST, _AT_MOST, _BELOW = ">=", "<=", "<"


def _triggered(value: float, comparison: str, threshold: float) -> bool:
    if comparison == _AT_LEAST:
        return value >= threshold
    if comparison == _AT_MOST:
        return value <= threshold
    return value < threshold


def assess(dyad_id: str, signals: Signals, thresholds: HealthThresholds = HealthThresholds()) -> DyadHealth:
    """Compare the signals with the thresholds: green, amber or red, with reasons."""
    s = signals
    t = thresholds
    checks: list[tuple[str, float | None, str, float | None, float | None, str]] = [
        (
            "missed_streak",
            s.missed_streak,
            _AT_LEAST,
            t.missed_streak_red,
            t.missed_streak_amber,
            "{v:g} consecutive meetings not held (threshold {op} {th:g})",
        ),
        (
            "days_since_last_meeting",
            s.days_since_last_meeting,
            _AT_LEAST,
            t.days_without_meeting_red,
            t.days_without_meeting_amber,
            "{v:.1f} days since the last held meeting (threshold {op} {th:g})",
        ),
        (
            "rating_slope",
            s.rating_slope,
            _AT_MOST,
            t.rating_slope_red,
            t.rating_slope_amber,
            "ratings by " + (s.rating_slope_respondent or "a member")
            + " change by {v:+.2f} points per meeting (threshold {op} {th:+.2f})",
        ),
        (
            "held_ratio",
            s.held_ratio,
            _BELOW,
            t.held_ratio_red,
            t.held_ratio_amber,
            f"{s.held} of {s.planned_to_date} planned meetings held" + ", {v:.0%} (threshold {op} {th:.0%})",
        ),
        (
            "on_time_rate",
            s.on_time_rate,
            _BELOW,
            t.on_time_rate_red,
            t.on_time_rate_amber,
            f"{s.feedback_on_time} of {s.feedback_due} feedback forms on time" + ", {v:.0%} (threshold {op} {th:.0%})",
        ),
        (
            "progress_slope",
            s.progress_slope,
            _AT_MOST,
            t.progress_slope_red,
            t.progress_slope_amber,
            "objectives progress by {v:+.1f} points per week (threshold {op} {th:+.1f})",
        ),
    ]
    reasons: list[Reason] = []
    for signal, value, op, red, amber, template in checks:
        if value is None:
            continue
        for level, threshold in ((Health.RED, red), (Health.AMBER, amber)):
            if threshold is not None and _triggered(value, op, threshold):
                message = template.format(v=value, op=op, th=threshold)
                reasons.append(Reason(signal, level, float(value), float(threshold), op, message))
                break
    reasons.sort(key=lambda r: -r.level.severity)
    status = max((r.level for r in reasons), key=lambda h: h.severity, default=Health.GREEN)
    return DyadHealth(dyad_id, status, tuple(reasons), signals)


def dyad_health(
    dyad_id: str,
    meetings: Iterable[Meeting],
    forms: Iterable[FeedbackForm],
    progress: Iterable[ProgressSeries],
    now: datetime,
    thresholds: HealthThresholds = HealthThresholds(),
) -> DyadHealth:
    """``compute_signals`` then ``assess``."""
    return assess(dyad_id, compute_signals(meetings, forms, progress, now, thresholds), thresholds)


def rank_dyads(healths: Iterable[DyadHealth]) -> list[DyadHealth]:
    """Worst first: red before amber before green; then more red reasons, more
    amber reasons, more days since the last meeting; then dyad id."""

    def key(h: DyadHealth) -> tuple[int, int, int, float, str]:
        red = sum(1 for r in h.reasons if r.level is Health.RED)
        amber = sum(1 for r in h.reasons if r.level is Health.AMBER)
        days = h.signals.days_since_last_meeting or 0.0
        return (-h.status.severity, -red, -amber, -days, h.dyad_id)

    return sorted(healths, key=key)


def at_risk(healths: Iterable[DyadHealth]) -> list[DyadHealth]:
    """The dyads that are not green, worst first (the coordinator's view)."""
    return [h for h in rank_dyads(healths) if h.status is not Health.GREEN]
