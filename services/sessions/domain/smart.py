"""SMART objectives: validation that names each missing or inconsistent
component, the measured achievement, and measured against perceived.

Measured achievement (see README.md)::

    achievement = clip((current - baseline) / (target - baseline), 0, 1) * 100

It works for decreasing targets as well (baseline 10 rejections, target 4,
current 7: (7 - 10) / (4 - 10) = 50 %). Gaps are in percentage points:
mentee - measured, mentor - measured, mentee - mentor.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from .model import DomainError, require_aware


class Component(StrEnum):
    SPECIFIC = "specific"
    MEASURABLE = "measurable"
    ACHIEVABLE = "achievable"
    RELEVANT = "relevant"
    TIME_BOUND = "time_bound"


class Direction(StrEnum):
    """Whether success means the metric goes up or down."""

    INCREASE = "increase"
    DECREASE = "decrease"


ACTION_VERBS: frozenset[str] = frozenset(
    {
        # English (base forms)
        "achieve", "analyse", "analyze", "apply", "attend", "build", "complete", "conduct", "create",
        "defend", "deliver", "design", "develop", "draft", "earn", "establish", "finish", "gain",
        "give", "improve", "increase", "join", "launch", "lead", "learn", "mentor", "obtain",
        "organise", "organize", "pass", "prepare", "present", "publish", "raise", "read", "reduce",
        "register", "secure", "start", "submit", "teach", "train", "win", "write",
        # Spanish (infinitives), the pilots' language
        "adquirir", "analizar", "aprender", "aprobar", "asistir", "aumentar", "completar",
        "conseguir", "construir", "crear", "defender", "desarrollar", "diseñar", "dirigir",
        "elaborar", "enviar", "escribir", "establecer", "formar", "ganar", "impartir", "iniciar",
        "inscribir", "liderar", "lograr", "mejorar", "obtener", "organizar", "participar",
        "postular", "preparar", "presentar", "publicar", "realizar", "reducir", "redactar",
        "solicitar", "someter", "terminar", "titular", "titularse",
    }
)
"""Words accepted as the action of a specific statement (lower case)."""


@dataclass(frozen=True, kw_only=True)
class SmartRules:
    """How strict the validation is. ``action_verbs`` may be replaced per program."""

    min_statement_words: int = 5
    max_statement_chars: int = 300
    action_verbs: frozenset[str] = ACTION_VERBS
    min_plan_words: int = 3


@dataclass(frozen=True, kw_only=True)
class ObjectiveDraft:
    """The structured fields of a SMART objective, as the mentee entered them.

    ``direction`` is optional; when given it must agree with baseline and target.
    ``resources`` lists what she needs (people, funding, courses, time).
    """

    statement: str = ""
    metric: str | None = None
    baseline: float | None = None
    target: float | None = None
    unit: str | None = None
    direction: Direction | None = None
    plan: str | None = None
    resources: tuple[str, ...] = ()
    career_goal: str | None = None
    due_date: date | None = None
    created_on: date | None = None


@dataclass(frozen=True, kw_only=True)
class ProgramWindow:
    """Dates that bound an objective: the program (or mentoring phase) and its
    first meeting, if known."""

    start: date
    end: date
    first_meeting: date | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise DomainError(f"program window ends ({self.end}) before it starts ({self.start})")


@dataclass(frozen=True)
class Issue:
    """One problem: the SMART component, the field at fault, the problem in words."""

    component: Component
    field: str
    problem: str


_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def validate_objective(
    draft: ObjectiveDraft, window: ProgramWindow, rules: SmartRules = SmartRules()
) -> tuple[Issue, ...]:
    """Every SMART problem of ``draft``, in component order (empty when valid)."""
    issues: list[Issue] = []

    def add(component: Component, field_name: str, problem: str) -> None:
        issues.append(Issue(component, field_name, problem))

    # Specific: a statement long enough to say what, with an action verb.
    statement = draft.statement or ""
    if _blank(statement):
        add(Component.SPECIFIC, "statement", "missing: say what you will do")
    else:
        words = _words(statement)
        if len(words) < rules.min_statement_words:
            add(
                Component.SPECIFIC,
                "statement",
                f"too vague: {len(words)} words, at least {rules.min_statement_words} are needed",
            )
        if len(statement.strip()) > rules.max_statement_chars:
            add(
                Component.SPECIFIC,
                "statement",
                f"too long: {len(statement.strip())} characters, at most {rules.max_statement_chars}",
            )
        if not any(w in rules.action_verbs for w in words):
            add(Component.SPECIFIC, "statement", "names no action: use a verb such as 'submit', 'publish' or 'presentar'")

    # Measurable: metric, baseline, target and unit, and a consistent target.
    if _blank(draft.metric):
        add(Component.MEASURABLE, "metric", "missing: what will be counted or measured")
    for name in ("baseline", "target"):
        value = getattr(draft, name)
        if value is None:
            add(Component.MEASURABLE, name, "missing")
        elif not _finite(value):
            add(Component.MEASURABLE, name, f"not a finite number: {value}")
    if _blank(draft.unit):
        add(Component.MEASURABLE, "unit", "missing: the unit of the metric (papers, applications, %...)")
    if _finite(draft.baseline) and _finite(draft.target):
        assert draft.baseline is not None and draft.target is not None
        if draft.target == draft.baseline:
            add(Component.MEASURABLE, "target", f"equals the baseline ({draft.baseline:g}): nothing to achieve")
        elif draft.direction is Direction.INCREASE and draft.target < draft.baseline:
            add(
                Component.MEASURABLE,
                "direction",
                f"inconsistent: 'increase' but the target {draft.target:g} is below the baseline {draft.baseline:g}",
            )
        elif draft.direction is Direction.DECREASE and draft.target > draft.baseline:
            add(
                Component.MEASURABLE,
                "direction",
                f"inconsistent: 'decrease' but the target {draft.target:g} is above the baseline {draft.baseline:g}",
            )

    # Achievable: a plan and the resources it needs.
    if _blank(draft.plan):
        add(Component.ACHIEVABLE, "plan", "missing: the steps you will take")
    elif len(_words(draft.plan or "")) < rules.min_plan_words:
        add(Component.ACHIEVABLE, "plan", f"too short: at least {rules.min_plan_words} words")
    if not any(not _blank(r) for r in draft.resources):
        add(Component.ACHIEVABLE, "resources", "missing: what or who you need (time, funding, people, courses)")

    # Relevant: the career goal it serves.
    if _blank(draft.career_goal):
        add(Component.RELEVANT, "career_goal", "missing: the career goal this objective serves")

    # Time-bound: a due date inside the program, not before the first meeting or creation.
    if draft.due_date is None:
        add(Component.TIME_BOUND, "due_date", "missing")
    else:
        due = draft.due_date
        if due > window.end:
            add(Component.TIME_BOUND, "due_date", f"after the program ends ({due} > {window.end})")
        if due < window.start:
            add(Component.TIME_BOUND, "due_date", f"before the program starts ({due} < {window.start})")
        if window.first_meeting is not None and due < window.first_meeting:
            add(Component.TIME_BOUND, "due_date", f"before the first meeting ({due} < {window.first_meeting})")
        if draft.created_on is not None and due < draft.created_on:
            add(Component.TIME_BOUND, "due_date", f"before the objective was created ({due} < {draft.created_on})")
    return tuple(issues)


def measured_achievement(baseline: float, target: float, current: float) -> float:
    """``clip((current - baseline) / (target - baseline), 0, 1) * 100``, in %.

    Raises ``DomainError`` when target equals baseline (there is nothing to
    measure) or a value is not finite.
    """
    if not all(math.isfinite(v) for v in (baseline, target, current)):
        raise DomainError("baseline, target and current must be finite numbers")
    if target == baseline:
        raise DomainError(f"target equals baseline ({baseline:g}): achievement is undefined")
    share = (current - baseline) / (target - baseline)
    return min(max(share, 0.0), 1.0) * 100.0


@dataclass(frozen=True)
class ProgressEntry:
    """A value on the objective's metric, recorded at ``at``."""

    at: datetime
    value: float

    def __post_init__(self) -> None:
        require_aware(self.at, "at")


def latest_value(entries: Iterable[ProgressEntry]) -> float | None:
    """The value of the most recent entry (the last one given among equal times)."""
    best: ProgressEntry | None = None
    for e in entries:
        if best is None or e.at >= best.at:
            best = e
    return None if best is None else best.value


def achievement_series(
    baseline: float, target: float, entries: Sequence[ProgressEntry]
) -> tuple[tuple[datetime, float], ...]:
    """Measured achievement (%) after each entry, in time order."""
    ordered = sorted(entries, key=lambda e: e.at)
    return tuple((e.at, measured_achievement(baseline, target, e.value)) for e in ordered)


def _check_percentage(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and 0.0 <= value <= 100.0):
        raise DomainError(f"{name} must be between 0 and 100, got {value}")


def _gap(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


@dataclass(frozen=True)
class AchievementComparison:
    """Measured and perceived achievement (%) side by side, and the gaps in
    percentage points; a gap is ``None`` when one side is missing. A positive
    ``mentee_vs_measured`` means the mentee is more optimistic than the metric."""

    measured: float | None
    mentee: float | None
    mentor: float | None
    mentee_vs_measured: float | None = field(init=False)
    mentor_vs_measured: float | None = field(init=False)
    mentee_vs_mentor: float | None = field(init=False)

    def __post_init__(self) -> None:
        for name in ("measured", "mentee", "mentor"):
            _check_percentage(name, getattr(self, name))
        object.__setattr__(self, "mentee_vs_measured", _gap(self.mentee, self.measured))
        object.__setattr__(self, "mentor_vs_measured", _gap(self.mentor, self.measured))
        object.__setattr__(self, "mentee_vs_mentor", _gap(self.mentee, self.mentor))


def compare_achievement(
    measured: float | None, mentee: float | None, mentor: float | None
) -> AchievementComparison:
    """Measured achievement beside the mentee's and the mentor's perceptions (0-100)."""
    return AchievementComparison(measured, mentee, mentor)


def assess_objective(
    baseline: float,
    target: float,
    entries: Iterable[ProgressEntry],
    *,
    mentee: float | None = None,
    mentor: float | None = None,
) -> AchievementComparison:
    """Measured achievement from the latest progress entry (the baseline itself,
    i.e. 0 %, when there is none) beside the perceived ones."""
    current = latest_value(entries)
    measured = measured_achievement(baseline, target, baseline if current is None else current)
    return AchievementComparison(measured, mentee, mentor)
