"""SMART validation, one case per component, and measured against perceived
achievement (clipping, decreasing metrics, gaps)."""

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
    ObjectiveDraft,
    ProgramWindow,
    ProgressEntry,
    achievement_series,
    assess_objective,
    compare_achievement,
    measured_achievement,
    validate_objective,
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
def test_measured_achievement_clips_and_handles_decreasing_targets(
    baseline: float, target: float, current: float, expected: float
) -> None:
    assert measured_achievement(baseline, target, current) == pytest.approx(expected)


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_measured_achievement_is_always_a_percentage(baseline: float, target: float, current: float) -> None:
    if target == baseline:
        with pytest.raises(DomainError):
            measured_achievement(baseline, target, current)
    else:
        assert 0.0 <= measured_achievement(baseline, target, current) <= 100.0


def test_measured_beside_perceived_with_gaps() -> None:
    c = compare_achievement(measured=40.0, mentee=90.0, mentor=60.0)
    assert (c.mentee_vs_measured, c.mentor_vs_measured, c.mentee_vs_mentor) == (50.0, 20.0, 30.0)
    partial = compare_achievement(measured=40.0, mentee=None, mentor=30.0)
    assert partial.mentee_vs_measured is None and partial.mentee_vs_mentor is None and partial.mentor_vs_measured == -10.0
    with pytest.raises(DomainError):
        compare_achievement(measured=40.0, mentee=101.0, mentor=60.0)
    with pytest.raises(DomainError):
        measured_achievement(1.0, 2.0, float("inf"))


def test_assess_objective_uses_the_latest_progress_entry() -> None:
    t0 = datetime(2026, 9, 1, tzinfo=UTC)
    entries = [ProgressEntry(t0 + timedelta(weeks=3), 6), ProgressEntry(t0, 9), ProgressEntry(t0 + timedelta(weeks=1), 8)]
    result = assess_objective(10, 4, entries, mentee=80, mentor=50)
    assert result.measured == pytest.approx(400 / 6) and result.mentee_vs_mentor == 30
    assert assess_objective(10, 4, [], mentee=10).measured == 0.0
    series = achievement_series(10, 4, entries)
    assert [round(v, 1) for _, v in series] == [16.7, 33.3, 66.7]
