"""SMART validation, one case per component; milestones and the verified
(measured) achievement; self-reported progress (clipping, decreasing metrics);
verified, self-reported and perceived side by side (gaps)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.sessions.domain import (
    Component,
    Direction,
    DomainError,
    Milestone,
    MilestoneTally,
    ObjectiveDraft,
    ProgramWindow,
    ProgressEntry,
    achievement_series,
    assess_objective,
    compare_achievement,
    milestone_date_problem,
    milestone_overdue,
    self_reported_achievement,
    tally_milestones,
    validate_objective,
    verified_achievement,
)

WINDOW = ProgramWindow(start=date(2026, 8, 1), end=date(2027, 1, 31), first_meeting=date(2026, 9, 1))
GOOD = ObjectiveDraft(
    statement="Submit two grant applications to national science funding calls",
    metric="grant applications submitted",
    baseline=0,
    target=2,
    unit="applications",
    direction=Direction.INCREASE,
    plan="Draft one application per month with my mentor's review",
    resources=("mentor review", "research office template"),
    career_goal="Lead an independent research group",
    due_date=date(2026, 12, 15),
    created_on=date(2026, 9, 1),
)


def problems(draft: ObjectiveDraft) -> list[tuple[Component, str]]:
    return [(i.component, i.field) for i in validate_objective(draft, WINDOW)]


def test_a_complete_objective_has_no_issue() -> None:
    assert validate_objective(GOOD, WINDOW) == ()
    spanish = dataclasses.replace(GOOD, statement="Publicar un artículo en una revista indexada este semestre")
    assert validate_objective(spanish, WINDOW) == ()


@pytest.mark.parametrize(
    ("changes", "expected", "words"),
    [
        ({"statement": "  "}, (Component.SPECIFIC, "statement"), "missing"),
        ({"statement": "Publish more papers"}, (Component.SPECIFIC, "statement"), "too vague"),
        ({"statement": "More papers in good journals this year"}, (Component.SPECIFIC, "statement"), "no action"),
        ({"statement": "Publish " + "a good paper " * 40}, (Component.SPECIFIC, "statement"), "too long"),
        ({"metric": None}, (Component.MEASURABLE, "metric"), "missing"),
        ({"baseline": None}, (Component.MEASURABLE, "baseline"), "missing"),
        ({"target": None}, (Component.MEASURABLE, "target"), "missing"),
        ({"target": float("nan")}, (Component.MEASURABLE, "target"), "finite"),
        ({"unit": ""}, (Component.MEASURABLE, "unit"), "missing"),
        ({"target": 0}, (Component.MEASURABLE, "target"), "equals the baseline"),
        ({"baseline": 3, "target": 1}, (Component.MEASURABLE, "direction"), "'increase' but the target 1 is below"),
        (
            {"baseline": 1, "target": 3, "direction": Direction.DECREASE},
            (Component.MEASURABLE, "direction"),
            "'decrease' but the target 3 is above",
        ),
        ({"plan": None}, (Component.ACHIEVABLE, "plan"), "missing"),
        ({"plan": "Work"}, (Component.ACHIEVABLE, "plan"), "too short"),
        ({"resources": ()}, (Component.ACHIEVABLE, "resources"), "missing"),
        ({"resources": (" ",)}, (Component.ACHIEVABLE, "resources"), "missing"),
        ({"career_goal": None}, (Component.RELEVANT, "career_goal"), "missing"),
        ({"due_date": None}, (Component.TIME_BOUND, "due_date"), "missing"),
        ({"due_date": date(2027, 2, 1)}, (Component.TIME_BOUND, "due_date"), "after the program ends"),
        ({"due_date": date(2026, 8, 20), "created_on": None}, (Component.TIME_BOUND, "due_date"), "before the first meeting"),
        ({"due_date": date(2026, 9, 10), "created_on": date(2026, 9, 15)}, (Component.TIME_BOUND, "due_date"), "created"),
    ],
)
def test_each_component_is_named_when_missing_or_inconsistent(changes: dict, expected: tuple, words: str) -> None:
    issues = validate_objective(dataclasses.replace(GOOD, **changes), WINDOW)
    assert [(i.component, i.field) for i in issues] == [expected]
    assert words in issues[0].problem


def test_before_the_program_and_several_problems_at_once() -> None:
    no_first = ProgramWindow(start=date(2026, 8, 1), end=date(2027, 1, 31))
    early = validate_objective(dataclasses.replace(GOOD, due_date=date(2026, 7, 1), created_on=None), no_first)
    assert [i.problem.split(" (")[0] for i in early] == ["before the program starts"]
    empty = problems(ObjectiveDraft())
    assert {c for c, _ in empty} == set(Component)
    assert empty == [
        (Component.SPECIFIC, "statement"),
        (Component.MEASURABLE, "metric"),
        (Component.MEASURABLE, "baseline"),
        (Component.MEASURABLE, "target"),
        (Component.MEASURABLE, "unit"),
        (Component.ACHIEVABLE, "plan"),
        (Component.ACHIEVABLE, "resources"),
        (Component.RELEVANT, "career_goal"),
        (Component.TIME_BOUND, "due_date"),
    ]
    with pytest.raises(DomainError):
        ProgramWindow(start=date(2027, 1, 1), end=date(2026, 1, 1))


@pytest.mark.parametrize(
    ("baseline", "target", "current", "expected"),
    [
        (0, 2, 1, 50.0),
        (0, 2, 2, 100.0),
        (0, 2, 5, 100.0),  # beyond the target is clipped to 100 %
        (0, 2, -1, 0.0),  # below the baseline is clipped to 0 %
        (10, 4, 7, 50.0),  # decreasing: 10 rejections down to 4
        (10, 4, 4, 100.0),
        (10, 4, 2, 100.0),
        (10, 4, 12, 0.0),
        (3.5, 1.5, 3.0, 25.0),
    ],
)
def test_self_reported_achievement_clips_and_handles_decreasing_targets(
    baseline: float, target: float, current: float, expected: float
) -> None:
    assert self_reported_achievement(baseline, target, current) == pytest.approx(expected)


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_self_reported_achievement_is_always_a_percentage(baseline: float, target: float, current: float) -> None:
    if target == baseline:
        with pytest.raises(DomainError):
            self_reported_achievement(baseline, target, current)
    else:
        assert 0.0 <= self_reported_achievement(baseline, target, current) <= 100.0


def test_verified_beside_perceived_with_gaps() -> None:
    c = compare_achievement(verified=40.0, mentee=90.0, mentor=60.0, self_reported=100.0)
    assert (c.mentee_vs_verified, c.mentor_vs_verified, c.mentee_vs_mentor) == (50.0, 20.0, 30.0)
    assert c.self_reported == 100.0  # self-reported never moves a gap
    partial = compare_achievement(verified=40.0, mentee=None, mentor=30.0)
    assert partial.mentee_vs_verified is None and partial.mentee_vs_mentor is None and partial.mentor_vs_verified == -10.0
    unverifiable = compare_achievement(verified=None, mentee=90.0, mentor=60.0, self_reported=50.0)
    assert (unverifiable.mentee_vs_verified, unverifiable.mentor_vs_verified, unverifiable.mentee_vs_mentor) == (None, None, 30.0)
    for bad in ({"mentee": 101.0}, {"verified": -0.5}, {"self_reported": float("nan")}):
        with pytest.raises(DomainError):
            compare_achievement(**{"verified": 40.0, "mentee": 90.0, "mentor": 60.0, **bad})  # type: ignore[arg-type]
    with pytest.raises(DomainError):
        self_reported_achievement(1.0, 2.0, float("inf"))


T0 = datetime(2026, 9, 1, 12, tzinfo=UTC)


def step(n: int, due: date, *, reported: datetime | None = None, confirmed: datetime | None = None,
         created: datetime = T0) -> Milestone:
    return Milestone(id=f"m{n}", objective_id="o1", due_on=due, created_at=created, reported_at=reported, confirmed_at=confirmed)


def test_assess_objective_verifies_from_milestones_and_self_reports_from_the_latest_entry() -> None:
    entries = [ProgressEntry(T0 + timedelta(weeks=3), 6), ProgressEntry(T0, 9), ProgressEntry(T0 + timedelta(weeks=1), 8)]
    later = T0 + timedelta(weeks=4)
    steps = [step(1, date(2026, 9, 15), reported=T0 + timedelta(days=10), confirmed=T0 + timedelta(days=11)),
             step(2, date(2026, 10, 15), reported=T0 + timedelta(days=20)), step(3, date(2026, 11, 15))]
    result = assess_objective(10, 4, entries, milestones=steps, now=later, mentee=80, mentor=50)
    assert result.verified == pytest.approx(100 / 3) and result.self_reported == pytest.approx(400 / 6)
    assert result.mentee_vs_verified == pytest.approx(80 - 100 / 3) and result.mentee_vs_mentor == 30
    # Self-reported progress at 100 % verifies nothing: only confirmations count.
    done = assess_objective(10, 4, [ProgressEntry(T0, 4)], milestones=steps[1:], now=later)
    assert (done.self_reported, done.verified) == (100.0, 0.0)
    # No milestone: nothing verifiable (null, not 0); no entry: nothing self-reported (null, not 0).
    bare = assess_objective(10, 4, [], now=later, mentee=10)
    assert (bare.verified, bare.self_reported, bare.mentee_vs_verified) == (None, None, None)
    # Seen at an earlier moment: a later entry and a later confirmation are not counted yet.
    before = assess_objective(10, 4, entries, milestones=steps, now=T0 + timedelta(days=8))
    assert before.verified == 0.0 and before.self_reported == pytest.approx(100 / 3)  # 8 of the way from 10 to 4
    series = achievement_series(10, 4, entries)
    assert [round(v, 1) for _, v in series] == [16.7, 33.3, 66.7]


def test_milestones_are_tallied_as_they_stood() -> None:
    now = datetime(2026, 10, 20, 9, tzinfo=UTC)
    steps = [
        step(1, date(2026, 9, 15), reported=T0 + timedelta(days=10), confirmed=T0 + timedelta(days=12)),  # confirmed, on time
        step(2, date(2026, 10, 1), reported=T0 + timedelta(days=28), confirmed=now),  # confirmed this very moment
        step(3, date(2026, 10, 10), reported=T0 + timedelta(days=40)),  # reported, not confirmed, past due: overdue
        step(4, date(2026, 10, 19)),  # planned, due yesterday: overdue
        step(5, date(2026, 10, 20)),  # due today: not overdue yet
        step(6, date(2026, 11, 30), confirmed=now + timedelta(seconds=1), reported=now),  # confirmed after now: reported at now
        step(7, date(2026, 12, 1), created=now + timedelta(days=1)),  # created later: not there yet
    ]
    tally = tally_milestones(steps, now)
    assert tally == MilestoneTally(total=6, reported=2, confirmed=2, overdue=2)
    assert tally.verified == pytest.approx(100 * 2 / 6) == verified_achievement(steps, now)
    assert [milestone_overdue(s, now) for s in steps[:6]] == [False, False, True, True, False, False]
    # The day after its due date, on the calendar of the moment given.
    assert milestone_overdue(steps[4], datetime(2026, 10, 21, 0, 0, tzinfo=UTC))
    assert tally_milestones([], now) == MilestoneTally(0, 0, 0, 0) and verified_achievement([], now) is None
    assert verified_achievement(steps[:2], now) == 100.0 and verified_achievement(steps[2:6], now) == 0.0
    with pytest.raises(DomainError):
        tally_milestones(steps, datetime(2026, 10, 20))


@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=30))
def test_verified_achievement_is_the_confirmed_share(states: list[tuple[bool, bool]]) -> None:
    now = T0 + timedelta(days=60)
    steps = [step(n, date(2026, 10, 1), reported=T0 if reported or confirmed else None, confirmed=T0 if confirmed else None)
             for n, (reported, confirmed) in enumerate(states)]
    got = verified_achievement(steps, now)
    if not states:
        assert got is None
    else:
        assert got == pytest.approx(100 * sum(c for _, c in states) / len(states)) and 0.0 <= got <= 100.0


def test_a_milestone_falls_within_the_objective_life() -> None:
    set_on, due = date(2026, 9, 1), date(2026, 12, 15)
    assert milestone_date_problem(date(2026, 9, 1), set_on, due) is None
    assert milestone_date_problem(date(2026, 12, 15), set_on, due) is None
    assert milestone_date_problem(date(2026, 8, 31), set_on, due) == "before the objective was set (2026-08-31 < 2026-09-01)"
    assert milestone_date_problem(date(2026, 12, 16), set_on, due) == "after the objective's due date (2026-12-16 > 2026-12-15)"
