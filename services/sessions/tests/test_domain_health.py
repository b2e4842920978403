"""Dyad health: each threshold triggered on its own (amber and red), the
combination and the worst-first ordering."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from services.sessions.domain import (
    DomainError,
    FeedbackForm,
    Health,
    HealthThresholds,
    Meeting,
    MeetingStatus,
    Signals,
    assess,
    at_risk,
    compute_signals,
    dyad_health,
    rank_dyads,
)

T0 = datetime(2026, 9, 1, 17, tzinfo=UTC)
WEEK = timedelta(weeks=1)
HOUR = timedelta(hours=1)
HELD, NO_SHOW, CANCELLED, SCHEDULED = MeetingStatus.HELD, MeetingStatus.NO_SHOW, MeetingStatus.CANCELLED, MeetingStatus.SCHEDULED


def meetings(*plan: tuple[timedelta, MeetingStatus]) -> list[Meeting]:
    return [
        Meeting(id=f"m{n:02d}", dyad_id="d", planned_start=T0 + offset, start=T0 + offset, status=status)
        for n, (offset, status) in enumerate(plan)
    ]


def weekly(*statuses: MeetingStatus) -> list[Meeting]:
    return meetings(*((n * WEEK, s) for n, s in enumerate(statuses)))


def forms(
    ms: Sequence[Meeting],
    *,
    mentee_ratings: Sequence[float] | None = None,
    late: int = 0,
) -> list[FeedbackForm]:
    """Two forms per held meeting, submitted an hour after the meeting with a
    rating of 4, except the last ``late`` forms, submitted 3 days late."""
    out = []
    held = [m for m in ms if m.status is HELD]
    for n, m in enumerate(held):
        due = m.start + HOUR + timedelta(hours=48)
        for who in ("mentee", "mentor"):
            rating = mentee_ratings[n] if who == "mentee" and mentee_ratings else 4.0
            out.append(FeedbackForm(meeting_id=m.id, dyad_id="d", respondent_id=who, due=due, submitted_at=m.start + 2 * HOUR, rating=rating))
    for i in range(len(out) - late, len(out)):
        f = out[i]
        out[i] = FeedbackForm(meeting_id=f.meeting_id, dyad_id="d", respondent_id=f.respondent_id, due=f.due, submitted_at=f.due + timedelta(days=3), rating=f.rating)
    return out


def rising(weeks: int) -> list[tuple[datetime, float]]:
    return [(T0 + n * WEEK, 10.0 * n) for n in range(weeks)]


def health(ms: list[Meeting], now: datetime, *, fs: list[FeedbackForm] | None = None, progress=None, thresholds=HealthThresholds()):  # type: ignore[no-untyped-def]
    return dyad_health("d", ms, forms(ms) if fs is None else fs, progress or [rising(3)], now, thresholds)


def only(h, signal: str, level: Health) -> None:  # type: ignore[no-untyped-def]
    assert h.status is level
    assert [(r.signal, r.level) for r in h.reasons] == [(signal, level)], h.reasons


def test_defaults_are_documented_values() -> None:
    t = HealthThresholds()
    assert (t.missed_streak_amber, t.missed_streak_red) == (1, 2)
    assert (t.days_without_meeting_amber, t.days_without_meeting_red) == (14, 21)
    assert (t.rating_slope_amber, t.rating_slope_red, t.rating_window) == (-0.25, -0.5, 6)
    assert (t.held_ratio_amber, t.held_ratio_red) == (0.75, 0.5)
    assert (t.on_time_rate_amber, t.on_time_rate_red) == (0.5, 0.25)
    assert (t.progress_slope_amber, t.progress_slope_red) == (0.0, None)
    with pytest.raises(DomainError):
        HealthThresholds(rating_window=1)


def test_a_dyad_that_meets_rates_and_progresses_is_green() -> None:
    ms = weekly(*[HELD] * 6)
    h = health(ms, T0 + 5 * WEEK + 2 * HOUR)
    assert h.status is Health.GREEN and h.reasons == ()
    s = h.signals
    assert (s.planned_to_date, s.held, s.held_ratio, s.missed_streak, s.on_time_rate) == (6, 6, 1.0, 0, 1.0)
    assert s.rating_slope == 0.0 and s.progress_slope == pytest.approx(10.0)
    assert s.days_since_last_meeting == pytest.approx(2 / 24)


def test_one_missed_meeting_is_amber() -> None:
    ms = weekly(*[HELD] * 6, NO_SHOW)
    h = health(ms, T0 + 6 * WEEK + 2 * HOUR)
    only(h, "missed_streak", Health.AMBER)
    assert h.reasons[0].value == 1 and h.reasons[0].threshold == 1 and h.reasons[0].comparison == ">="


def test_two_consecutive_missed_or_rescheduled_meetings_are_red() -> None:
    ms = meetings(*((n * WEEK, HELD) for n in range(8)), (8 * WEEK, NO_SHOW), (8 * WEEK + timedelta(days=3), MeetingStatus.RESCHEDULED))
    h = health(ms, T0 + 8 * WEEK + timedelta(days=3) + 2 * HOUR)
    only(h, "missed_streak", Health.RED)
    assert "2 consecutive meetings not held (threshold >= 2)" == h.reasons[0].message


def test_a_meeting_nobody_confirmed_counts_as_missed_after_the_grace_period() -> None:
    ms = weekly(*[HELD] * 6, SCHEDULED)
    deadline = T0 + 6 * WEEK + HOUR + timedelta(hours=48)
    assert health(ms, deadline - timedelta(seconds=1)).status is Health.GREEN
    only(health(ms, deadline), "missed_streak", Health.AMBER)


@pytest.mark.parametrize(("days", "level"), [(13.9, Health.GREEN), (14, Health.AMBER), (20.9, Health.AMBER), (21, Health.RED)])
def test_days_since_the_last_held_meeting(days: float, level: Health) -> None:
    # a break was planned after the third meeting: no meeting is missed meanwhile
    ms = [*weekly(HELD, HELD, HELD), Meeting(id="m09", dyad_id="d", planned_start=T0 + 9 * WEEK, start=T0 + 9 * WEEK)]
    h = health(ms, T0 + 2 * WEEK + timedelta(days=days))
    if level is Health.GREEN:
        assert h.status is Health.GREEN
    else:
        only(h, "days_since_last_meeting", level)
        assert h.reasons[0].threshold == (14 if level is Health.AMBER else 21)


def test_no_meeting_held_since_the_first_planned_one() -> None:
    ms = [Meeting(id="m00", dyad_id="d", planned_start=T0 + 6 * WEEK, start=T0 + 6 * WEEK, reschedules=1)]
    assert health(ms, T0).signals.days_since_last_meeting is None  # not started yet
    assert health(ms, T0 + 6 * WEEK + timedelta(days=1)).signals.days_since_last_meeting == pytest.approx(1)


@pytest.mark.parametrize(
    ("ratings", "level"),
    [((5, 4.9, 4.8, 4.7), Health.GREEN), ((5, 4.7, 4.4, 4.1), Health.AMBER), ((5, 4.5, 4.0, 3.5), Health.RED)],
)
def test_falling_counterpart_ratings(ratings: tuple[float, ...], level: Health) -> None:
    ms = weekly(*[HELD] * 4)
    h = health(ms, T0 + 3 * WEEK + 2 * HOUR, fs=forms(ms, mentee_ratings=ratings))
    if level is Health.GREEN:
        assert h.status is Health.GREEN and h.signals.rating_slope == pytest.approx(-0.1)
    else:
        only(h, "rating_slope", level)
        assert h.signals.rating_slope_respondent == "mentee"
        assert h.reasons[0].comparison == "<=" and "ratings by mentee" in h.reasons[0].message


def test_only_the_last_n_ratings_count() -> None:
    ms = weekly(*[HELD] * 8)
    ratings = (1, 1, 5, 5, 5, 5, 5, 5)  # a bad start, then steady: the last 6 are flat
    h = health(ms, T0 + 7 * WEEK + 2 * HOUR, fs=forms(ms, mentee_ratings=ratings))
    assert h.signals.rating_slope == 0.0 and h.status is Health.GREEN


@pytest.mark.parametrize(
    ("statuses", "level"),
    [((CANCELLED, HELD, HELD), Health.AMBER), ((NO_SHOW, CANCELLED, HELD), Health.RED), ((HELD, CANCELLED, HELD, HELD), Health.GREEN)],
)
def test_meetings_held_against_planned(statuses: tuple[MeetingStatus, ...], level: Health) -> None:
    ms = weekly(*statuses)
    h = health(ms, T0 + (len(statuses) - 1) * WEEK + 2 * HOUR)
    if level is Health.GREEN:
        assert h.status is Health.GREEN and h.signals.held_ratio == 0.75
    else:
        only(h, "held_ratio", level)


@pytest.mark.parametrize(("late", "level"), [(3, Health.GREEN), (4, Health.AMBER), (5, Health.RED)])
def test_on_time_feedback_rate(late: int, level: Health) -> None:
    ms = weekly(HELD, HELD, HELD)
    now = T0 + 2 * WEEK + timedelta(days=6)
    ms.append(Meeting(id="m09", dyad_id="d", planned_start=T0 + 3 * WEEK, start=T0 + 3 * WEEK, status=HELD))
    fs = forms(ms[:3], late=late)
    h = health(ms, now, fs=fs)
    assert h.signals.feedback_due == 6
    if level is Health.GREEN:
        assert h.status is Health.GREEN and h.signals.on_time_rate == 0.5  # the pilots' mix is not a warning
    else:
        only(h, "on_time_rate", level)


def test_stalled_objective_progress_is_amber_and_achieved_objectives_are_left_out() -> None:
    ms = weekly(*[HELD] * 4)
    now = T0 + 3 * WEEK + 2 * HOUR
    stalled = [(T0 + n * WEEK, 20.0) for n in range(4)]
    falling = [(T0 + n * WEEK, 40.0 - 5 * n) for n in range(4)]
    achieved = [(T0, 50.0), (T0 + WEEK, 100.0), (T0 + 2 * WEEK, 100.0)]
    only(health(ms, now, progress=[stalled]), "progress_slope", Health.AMBER)
    only(health(ms, now, progress=[falling]), "progress_slope", Health.AMBER)
    mixed = health(ms, now, progress=[falling, rising(4)])
    assert mixed.status is Health.GREEN and mixed.signals.progress_slope == pytest.approx(2.5)  # mean of -5 and +10
    assert health(ms, now, progress=[achieved, rising(4)]).status is Health.GREEN
    assert health(ms, now, progress=[[(T0, 10.0), (T0 + WEEK, 10.0)]]).signals.progress_slope is None


def test_a_dyad_losing_rapport_after_its_third_meeting_goes_red() -> None:
    ms = weekly(HELD, HELD, HELD, NO_SHOW, CANCELLED)
    h = health(ms, T0 + 4 * WEEK + 2 * HOUR, fs=forms(ms, mentee_ratings=(4.5, 3.0, 2.0)))
    assert h.status is Health.RED
    assert {r.signal for r in h.reasons if r.level is Health.RED} == {"missed_streak", "rating_slope"}
    assert [r.level for r in h.reasons] == sorted((r.level for r in h.reasons), key=lambda x: -x.severity)


def test_thresholds_are_per_program() -> None:
    ms = weekly(*[HELD] * 6, NO_SHOW)
    lenient = HealthThresholds(missed_streak_amber=None)
    assert health(ms, T0 + 6 * WEEK + 2 * HOUR, thresholds=lenient).status is Health.GREEN
    strict = HealthThresholds(progress_slope_red=-2.0)
    falling = [(T0 + n * WEEK, 40.0 - 5 * n) for n in range(4)]
    h = health(weekly(*[HELD] * 4), T0 + 3 * WEEK + 2 * HOUR, progress=[falling], thresholds=strict)
    only(h, "progress_slope", Health.RED)
    assert (h.reasons[0].value, h.reasons[0].threshold) == (-5.0, -2.0)


def signals(**values: object) -> Signals:
    base: dict[str, object] = dict(
        planned_to_date=6, held=6, held_ratio=1.0, missed_streak=0, feedback_due=12, feedback_on_time=12,
        on_time_rate=1.0, rating_slope=0.0, rating_slope_respondent="mentee", progress_slope=5.0, days_since_last_meeting=3.0,
    )
    base.update(values)
    return Signals(**base)  # type: ignore[arg-type]


def test_combination_ordering_worst_first() -> None:
    dyads = [
        assess("green", signals()),
        assess("amber-one-10d", signals(missed_streak=1, days_since_last_meeting=10.0)),
        assess("red-one", signals(rating_slope=-0.6)),
        assess("amber-two", signals(missed_streak=1, on_time_rate=0.4)),
        assess("red-three", signals(missed_streak=2, days_since_last_meeting=25.0, held_ratio=0.3, on_time_rate=0.4)),
        assess("amber-one-12d", signals(missed_streak=1, days_since_last_meeting=12.0)),
        assess("red-one-amber-one", signals(rating_slope=-0.6, on_time_rate=0.4)),
    ]
    order = [h.dyad_id for h in rank_dyads(dyads)]
    assert order == ["red-three", "red-one-amber-one", "red-one", "amber-two", "amber-one-12d", "amber-one-10d", "green"]
    assert [h.dyad_id for h in at_risk(dyads)] == order[:-1]
    worst = rank_dyads(dyads)[0]
    assert [(r.signal, r.level) for r in worst.reasons] == [
        ("missed_streak", Health.RED),
        ("days_since_last_meeting", Health.RED),
        ("held_ratio", Health.RED),
        ("on_time_rate", Health.AMBER),
    ]
    assert worst.reasons[1].value == 25.0 and worst.reasons[1].threshold == 21


def test_a_form_for_an_unknown_meeting_and_duplicate_meetings_are_refused() -> None:
    ms = weekly(HELD)
    stray = FeedbackForm(meeting_id="other", dyad_id="d", respondent_id="mentee", due=T0, submitted_at=T0, rating=3.0)
    with pytest.raises(DomainError):
        compute_signals(ms, [stray], [], T0 + WEEK)
    with pytest.raises(DomainError):
        compute_signals(ms + ms, [], [], T0 + WEEK)
