"""Propose a dyad's meeting schedule: one weekly slot, at a fixed wall time in a
reference time zone, that falls inside both members' weekly availability on
every date, across daylight-saving changes.

How it works (see README.md for the coordinators' version):

1. Each member gives weekly windows (weekday, start, end) in her own IANA time
   zone. For every local date around the phase, each window is turned into an
   interval of real (UTC) time; touching intervals are merged, so a window that
   ends at midnight continues into one that starts at midnight the next day.
2. A candidate slot is a weekday and a start time in the reference time zone
   (the mentee's unless said otherwise), every ``step_minutes`` (15) of the
   day. Its dates are the first such weekday on or after the first allowed date
   (the phase start, or the preferred first date), then every 7 days (weekly)
   or 14 days (biweekly), skipping blackout dates (the series moves on to the
   next date, so holidays do not reduce the number of meetings) and stopping at
   ``count`` meetings or at the end of the phase.
3. An occurrence *fits* when the meeting, from its start to its end in real
   time, lies inside an availability interval of each member, and the start
   time exists that day in the reference zone (it does not when the clocks go
   forward through it). A slot that fits in summer can leave one member's
   availability after a clock change: that occurrence is a *break*.
4. Candidates are ranked by, in order: fewest problems (breaks plus meetings
   that do not fit in the phase), earliest first date, the largest slack
   (free minutes before and after the meeting in both calendars, counted up to
   ``robust_margin_minutes``, 60), then the earliest time of day. The first
   is proposed; the same inputs always give the same schedule.
5. ``ok``: every meeting fits. ``partial``: the best slot still breaks on some
   dates or fewer meetings fit in the phase; each break names the members
   affected and suggests the closest start time that fits both that day.
   ``no_common_slot``: no slot fits on any date, with the reason in words.

Timestamps come back as aware UTC datetimes, with each member's local start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from .model import DomainError

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DEFAULT_MEETINGS = 12
DEFAULT_DURATION_MINUTES = 60
DEFAULT_STEP_MINUTES = 15
DEFAULT_ROBUST_MARGIN_MINUTES = 60
MENTEE = "mentee"
MENTOR = "mentor"
REFERENCE = "reference"


class Cadence(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"

    @property
    def days(self) -> int:
        return 7 if self is Cadence.WEEKLY else 14


@dataclass(frozen=True)
class WeeklyWindow:
    """A weekly free time in the member's own time zone: ``weekday`` 0 is
    Monday; ``end`` of ``time(0)`` means midnight at the end of that day.
    Times are to the minute."""

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise DomainError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        for t in (self.start, self.end):
            if t.second or t.microsecond or t.tzinfo is not None:
                raise DomainError(f"window times are naive local times to the minute, got {t.isoformat()}")
        if self.end_minute <= self.start_minute:
            raise DomainError(f"window {self.label()} ends before it starts")

    @property
    def start_minute(self) -> int:
        return self.start.hour * 60 + self.start.minute

    @property
    def end_minute(self) -> int:
        return 1440 if self.end == time(0) else self.end.hour * 60 + self.end.minute

    def label(self) -> str:
        end = "24:00" if self.end == time(0) else self.end.strftime("%H:%M")
        return f"{WEEKDAYS[self.weekday]} {self.start.strftime('%H:%M')}-{end}"


@dataclass(frozen=True, kw_only=True)
class Availability:
    """A member's weekly windows, in her IANA time zone (``America/Mexico_City``)."""

    timezone: str
    windows: tuple[WeeklyWindow, ...]

    def __post_init__(self) -> None:
        _zone(self.timezone)


@dataclass(frozen=True, kw_only=True)
class ScheduleRequest:
    """What the program asks for. ``blackout_dates`` are dates in the reference
    time zone on which no meeting is held (holidays); ``reference_timezone``
    defaults to the mentee's."""

    mentee: Availability
    mentor: Availability
    phase_start: date
    phase_end: date
    count: int = DEFAULT_MEETINGS
    cadence: Cadence = Cadence.WEEKLY
    duration_minutes: int = DEFAULT_DURATION_MINUTES
    preferred_first_date: date | None = None
    blackout_dates: frozenset[date] = frozenset()
    reference_timezone: str | None = None
    step_minutes: int = DEFAULT_STEP_MINUTES
    robust_margin_minutes: int = DEFAULT_ROBUST_MARGIN_MINUTES

    def __post_init__(self) -> None:
        if self.count < 1:
            raise DomainError(f"count must be at least 1, got {self.count}")
        if not 0 < self.duration_minutes <= 1440:
            raise DomainError(f"duration_minutes must be between 1 and 1440, got {self.duration_minutes}")
        if self.phase_end < self.phase_start:
            raise DomainError(f"the phase ends ({self.phase_end}) before it starts ({self.phase_start})")
        if self.preferred_first_date is not None and not (
            self.phase_start <= self.preferred_first_date <= self.phase_end
        ):
            raise DomainError(f"preferred first date {self.preferred_first_date} is outside the phase")
        if not 1 <= self.step_minutes <= 1440 or 1440 % self.step_minutes:
            raise DomainError(f"step_minutes must divide a day, got {self.step_minutes}")
        if self.robust_margin_minutes < 0:
            raise DomainError("robust_margin_minutes must not be negative")
        if self.reference_timezone is not None:
            _zone(self.reference_timezone)

    @property
    def reference(self) -> str:
        return self.reference_timezone or self.mentee.timezone


class ScheduleStatus(StrEnum):
    OK = "ok"
    PARTIAL = "partial"
    NO_COMMON_SLOT = "no_common_slot"


@dataclass(frozen=True)
class WeeklySlot:
    """The proposed slot: a weekday and a wall time in ``timezone``."""

    weekday: int
    start: time
    timezone: str

    def label(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.start.strftime('%H:%M')} {self.timezone}"


@dataclass(frozen=True)
class Occurrence:
    """One meeting: ``number`` from 1, real times in UTC and each member's local
    start (aware, in her zone). ``fits`` is False on a break."""

    number: int
    start_utc: datetime
    end_utc: datetime
    mentee_start: datetime
    mentor_start: datetime
    fits: bool


@dataclass(frozen=True)
class Break:
    """An occurrence that leaves an availability. ``members`` holds ``mentee``,
    ``mentor`` or ``reference`` (the start time does not exist that day);
    ``suggested_start_utc`` is the closest start that fits both that day, if any."""

    number: int
    date: date
    members: tuple[str, ...]
    problem: str
    suggested_start_utc: datetime | None


@dataclass(frozen=True)
class Schedule:
    """The proposal. ``margin_minutes`` is the smallest slack, over the fitting
    occurrences and both members, between the meeting and the edge of an
    availability (``None`` without a slot)."""

    status: ScheduleStatus
    slot: WeeklySlot | None
    occurrences: tuple[Occurrence, ...]
    breaks: tuple[Break, ...]
    skipped_dates: tuple[date, ...]
    shortfall: int
    margin_minutes: int | None
    reasons: tuple[str, ...]


# --- time zone arithmetic ---------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DomainError(f"unknown time zone {name!r}") from exc


class _Zone:
    """Local wall time -> epoch seconds, with a fast path for days without a
    clock change. Bounds resolve gaps and repeated hours strictly: a window
    starts at the later and ends at the earlier of the two readings."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tz = _zone(name)
        self._days: dict[date, tuple[int, bool]] = {}

    def _day(self, d: date) -> tuple[int, bool]:
        info = self._days.get(d)
        if info is None:
            midnight = datetime.combine(d, time(0), tzinfo=self.tz)
            following = datetime.combine(d + timedelta(days=1), time(0), tzinfo=self.tz)
            info = (int(midnight.timestamp()), midnight.utcoffset() == following.utcoffset())
            self._days[d] = info
        return info

    def readings(self, d: date, minute: int) -> tuple[int, int]:
        """Epoch seconds of the wall time with fold 0 and fold 1 (equal unless the
        time is skipped, t0 > t1, or repeated, t0 < t1)."""
        if minute >= 1440:
            d, minute = d + timedelta(days=minute // 1440), minute % 1440
        base, uniform = self._day(d)
        if uniform:
            return base + minute * 60, base + minute * 60
        naive = datetime.combine(d, time(0)) + timedelta(minutes=minute)
        return (
            int(naive.replace(tzinfo=self.tz, fold=0).timestamp()),
            int(naive.replace(tzinfo=self.tz, fold=1).timestamp()),
        )

    def day_row(self, d: date, minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Epoch seconds of every start minute of ``d`` (fold 0 for a repeated time),
        and whether the wall time exists."""
        base, uniform = self._day(d)
        if uniform:
            return base + minutes * 60, np.ones(len(minutes), dtype=bool)
        pairs = [self.readings(d, int(m)) for m in minutes]
        return (
            np.array([t0 for t0, _ in pairs], dtype=np.int64),
            np.array([t0 <= t1 for t0, t1 in pairs], dtype=bool),
        )

    def offset_seconds(self, ts: int) -> int:
        offset = datetime.fromtimestamp(ts, self.tz).utcoffset()
        assert offset is not None
        return int(offset.total_seconds())


def _intervals(zone: _Zone, windows: tuple[WeeklyWindow, ...], first: date, last: date) -> tuple[np.ndarray, np.ndarray]:
    """Merged availability intervals (epoch seconds) for local dates first..last."""
    by_day: dict[int, list[WeeklyWindow]] = {}
    for w in windows:
        by_day.setdefault(w.weekday, []).append(w)
    raw: list[tuple[int, int]] = []
    d = first
    while d <= last:
        for w in by_day.get(d.weekday(), ()):
            start = max(zone.readings(d, w.start_minute))
            end = min(zone.readings(d, w.end_minute))
            if end > start:
                raw.append((start, end))
        d += timedelta(days=1)
    raw.sort()
    merged: list[list[int]] = []
    for s, e in raw:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    starts = np.array([s for s, _ in merged], dtype=np.int64)
    ends = np.array([e for _, e in merged], dtype=np.int64)
    return starts, ends


def _inside(starts: np.ndarray, ends: np.ndarray, s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each [s, e) lies inside one interval, and its slack in seconds
    (the smaller of the free time before and after; -1 when outside)."""
    if len(starts) == 0:
        return np.zeros(s.shape, dtype=bool), np.full(s.shape, -1, dtype=np.int64)
    idx = np.searchsorted(starts, s, side="right") - 1
    safe = np.clip(idx, 0, None)
    ok = (idx >= 0) & (ends[safe] >= e)
    slack = np.where(ok, np.minimum(s - starts[safe], ends[safe] - e), -1)
    return ok, slack


def _longest_overlap(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], lo: int, hi: int) -> int:
    """Longest common stretch (seconds) of two merged interval lists within [lo, hi)."""
    best, i, j = 0, 0, 0
    (sa, ea), (sb, eb) = a, b
    while i < len(sa) and j < len(sb):
        s = max(int(sa[i]), int(sb[j]), lo)
        e = min(int(ea[i]), int(eb[j]), hi)
        best = max(best, e - s)
        if ea[i] < eb[j]:
            i += 1
        else:
            j += 1
    return best


def _relation(seconds: int, reference: str) -> str:
    """'7 h ahead of <reference>', '5 h 30 min behind <reference>' or 'level with <reference>'."""
    if seconds == 0:
        return f"level with {reference}"
    h, rem = divmod(abs(seconds), 3600)
    amount = f"{h} h" if rem == 0 else f"{h} h {rem // 60:02d} min"
    return f"{amount} {'ahead of' if seconds > 0 else 'behind'} {reference}"


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(int(ts), UTC)


# --- the proposal -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    weekday: int
    rows: np.ndarray  # indices into the phase dates
    skipped: tuple[date, ...]
    shortfall: int


def _series(dates: list[date], weekday: int, req: ScheduleRequest) -> _Series:
    step = req.cadence.days
    first = next((i for i, d in enumerate(dates[:7]) if d.weekday() == weekday), None)
    rows: list[int] = []
    skipped: list[date] = []
    if first is not None:
        for i in range(first, len(dates), step):
            if len(rows) == req.count:
                break
            if dates[i] in req.blackout_dates:
                skipped.append(dates[i])
            else:
                rows.append(i)
    return _Series(weekday, np.array(rows, dtype=np.int64), tuple(skipped), req.count - len(rows))


def propose_schedule(req: ScheduleRequest) -> Schedule:
    """Propose the dyad's schedule; see the module docstring for the rules."""
    ref = _Zone(req.reference)
    members = {MENTEE: (_Zone(req.mentee.timezone), req.mentee), MENTOR: (_Zone(req.mentor.timezone), req.mentor)}
    anchor = req.preferred_first_date or req.phase_start
    dates = [anchor + timedelta(days=i) for i in range((req.phase_end - anchor).days + 1)]
    minutes = np.arange(0, 1440, req.step_minutes, dtype=np.int64)
    duration = req.duration_minutes * 60

    rows = [ref.day_row(d, minutes) for d in dates]
    starts = np.vstack([r[0] for r in rows])
    exists = np.vstack([r[1] for r in rows])
    ends = starts + duration

    intervals: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    fit = exists.copy()
    margin = np.full(starts.shape, np.iinfo(np.int64).max, dtype=np.int64)
    inside: dict[str, np.ndarray] = {}
    for role, (zone, availability) in members.items():
        intervals[role] = _intervals(zone, availability.windows, dates[0] - timedelta(days=2), dates[-1] + timedelta(days=3))
        ok, slack = _inside(*intervals[role], starts, ends)
        inside[role] = ok
        fit &= ok
        margin = np.minimum(margin, slack)
    margin_min = np.where(fit, margin // 60, -1)

    best: tuple[tuple[int, int, int, int], _Series, int] | None = None
    for weekday in range(7):
        series = _series(dates, weekday, req)
        if len(series.rows) == 0:
            continue
        sub = fit[series.rows]
        fitting = sub.sum(axis=0)
        slack = np.where(sub, margin_min[series.rows], np.iinfo(np.int64).max).min(axis=0)
        for j in np.flatnonzero(fitting):
            problems = len(series.rows) - int(fitting[j]) + series.shortfall
            key = (problems, int(series.rows[0]), -min(int(slack[j]), req.robust_margin_minutes), int(j))
            if best is None or key < best[0]:
                best = (key, series, int(j))

    if best is None:
        return Schedule(
            status=ScheduleStatus.NO_COMMON_SLOT,
            slot=None,
            occurrences=(),
            breaks=(),
            skipped_dates=(),
            shortfall=req.count,
            margin_minutes=None,
            reasons=_no_slot_reasons(req, dates, intervals, int(starts.min()), int(ends.max())),
        )

    _, series, j = best
    minute = int(minutes[j])
    slot = WeeklySlot(series.weekday, time(minute // 60, minute % 60), req.reference)
    occurrences: list[Occurrence] = []
    breaks: list[Break] = []
    first_offsets = {role: zone.offset_seconds(int(starts[series.rows[0], j])) for role, (zone, _) in members.items()}
    ref_first = ref.offset_seconds(int(starts[series.rows[0], j]))
    for n, i in enumerate(series.rows, start=1):
        s = int(starts[i, j])
        start_utc = _utc(s)
        occurrences.append(
            Occurrence(
                number=n,
                start_utc=start_utc,
                end_utc=_utc(s + duration),
                mentee_start=start_utc.astimezone(members[MENTEE][0].tz),
                mentor_start=start_utc.astimezone(members[MENTOR][0].tz),
                fits=bool(fit[i, j]),
            )
        )
        if fit[i, j]:
            continue
        who: list[str] = []
        problems: list[str] = []
        if not exists[i, j]:
            who.append(REFERENCE)
            problems.append(f"{slot.start.strftime('%H:%M')} does not exist on {dates[i]} in {req.reference} (the clocks go forward)")
        for role, (zone, availability) in members.items():
            if inside[role][i, j]:
                continue
            who.append(role)
            local = start_utc.astimezone(zone.tz)
            local_end = _utc(s + duration).astimezone(zone.tz)
            text = (
                f"the {role} would meet {WEEKDAYS[local.weekday()]} {local.date()} "
                f"{local.strftime('%H:%M')}-{local_end.strftime('%H:%M')} {zone.name}, outside her availability"
            )
            before = first_offsets[role] - ref_first
            now = zone.offset_seconds(s) - ref.offset_seconds(s)
            if before != now:
                text += (
                    f" (the clocks changed: {zone.name} is now {_relation(now, req.reference)}, "
                    f"it was {_relation(before, req.reference)})"
                )
            problems.append(text)
        row_fit = np.flatnonzero(fit[i])
        suggestion = None
        if len(row_fit):
            k = int(row_fit[np.argmin(np.abs(row_fit - j) * 2 + (row_fit > j))])
            suggestion = _utc(int(starts[i, k]))
        breaks.append(Break(n, dates[i], tuple(who), "; ".join(problems), suggestion))

    reasons: list[str] = []
    if breaks:
        reasons.append(
            f"no slot fits every date: at {slot.label()}, {len(breaks)} of {len(occurrences)} meetings "
            f"fall outside an availability ({', '.join(str(b.date) for b in breaks)})"
        )
    if series.shortfall:
        reasons.append(
            f"only {len(occurrences)} of {req.count} {req.cadence.value} meetings fit between "
            f"{dates[0]} and {req.phase_end} at {slot.label()}"
        )
    fitting_margins = margin_min[series.rows, j][fit[series.rows, j]]
    return Schedule(
        status=ScheduleStatus.PARTIAL if reasons else ScheduleStatus.OK,
        slot=slot,
        occurrences=tuple(occurrences),
        breaks=tuple(breaks),
        skipped_dates=series.skipped,
        shortfall=series.shortfall,
        margin_minutes=int(fitting_margins.min()),
        reasons=tuple(reasons),
    )


def _no_slot_reasons(
    req: ScheduleRequest,
    dates: list[date],
    intervals: dict[str, tuple[np.ndarray, np.ndarray]],
    lo: int,
    hi: int,
) -> tuple[str, ...]:
    period = f"between {dates[0]} and {req.phase_end}"
    empty = [role for role, a in ((MENTEE, req.mentee), (MENTOR, req.mentor)) if not a.windows]
    if empty:
        return tuple(f"the {role} gave no weekly availability" for role in empty)
    if all(len(_series(dates, w, req).rows) == 0 for w in range(7)):
        return (f"every date {period} is a blackout date",)
    longest = _longest_overlap(intervals[MENTEE], intervals[MENTOR], lo, hi)
    windows = "; ".join(
        f"{role}: {', '.join(w.label() for w in a.windows)} ({a.timezone})"
        for role, a in ((MENTEE, req.mentee), (MENTOR, req.mentor))
    )
    if longest == 0:
        return (f"no common slot: their availabilities never overlap {period} ({windows})",)
    if longest < req.duration_minutes * 60:
        return (
            f"no common slot: their availabilities overlap at most {longest // 60} minutes at a time {period}, "
            f"a meeting needs {req.duration_minutes} ({windows})",
        )
    return (
        f"no common slot: their common time never holds a {req.duration_minutes}-minute meeting starting on a "
        f"{req.step_minutes}-minute step on a meeting date {period} ({windows})",
    )


def describe(schedule: Schedule) -> Iterable[str]:
    """Lines in words, for a coordinator or a notification."""
    if schedule.slot is None:
        yield from schedule.reasons
        return
    yield f"{schedule.status.value}: {len(schedule.occurrences)} meetings at {schedule.slot.label()}"
    for o in schedule.occurrences:
        flag = "" if o.fits else "  (break)"
        yield (
            f"{o.number:>2}. {o.start_utc:%Y-%m-%d %H:%M} UTC | mentee {o.mentee_start:%a %H:%M %Z} | "
            f"mentor {o.mentor_start:%a %H:%M %Z}{flag}"
        )
    yield from schedule.reasons
