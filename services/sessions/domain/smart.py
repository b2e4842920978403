"""SMART objectives: validation that names each missing or inconsistent
component, milestones, and achievement measured three ways (see README.md).

- **Verified** (the measured achievement): the share of the objective's
  milestones that her counterpart (or a coordinator) confirmed::

      verified = confirmed milestones / milestones * 100

  ``None`` while the objective has no milestone: nothing can be verified.
- **Self-reported**: how far the mentee's latest progress value moved from the
  baseline towards the target::

      self_reported = clip((current - baseline) / (target - baseline), 0, 1) * 100

  It works for decreasing targets as well (baseline 10 rejections, target 4,
  current 7: (7 - 10) / (4 - 10) = 50 %). ``None`` before her first entry.
- **Perceived**: what the mentee and the mentor each rate at the last meeting.

Gaps are in percentage points: mentee - verified, mentor - verified,
mentee - mentor.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from .model import DomainError, Milestone, require_aware


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


def self_reported_achievement(baseline: float, target: float, current: float) -> float:
    """The share of the way from baseline to target that ``current`` covers:
    ``clip((current - baseline) / (target - baseline), 0, 1) * 100``, in %.

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
    """Self-reported achievement (%) after each entry, in time order."""
    ordered = sorted(entries, key=lambda e: e.at)
    return tuple((e.at, self_reported_achievement(baseline, target, e.value)) for e in ordered)


# --- milestones ---------------------------------------------------------------------------


def milestone_date_problem(due_on: date, set_on: date, objective_due: date) -> str | None:
    """Why a milestone cannot be due on ``due_on`` (``None`` when it can): it
    falls within the objective's life, from the day it was set to its due date."""
    if due_on < set_on:
        return f"before the objective was set ({due_on} < {set_on})"
    if due_on > objective_due:
        return f"after the objective's due date ({due_on} > {objective_due})"
    return None


@dataclass(frozen=True)
class MilestoneTally:
    """An objective's (or a dyad's) milestones at one moment: ``reported``
    counts those with evidence that nobody confirmed yet; ``overdue`` those whose
    due date has passed without a confirmation (reported ones included: the
    confirmation is what is missing)."""

    total: int
    reported: int
    confirmed: int
    overdue: int

    @property
    def verified(self) -> float | None:
        """confirmed / total * 100, or ``None`` without milestones."""
        return None if self.total == 0 else self.confirmed / self.total * 100.0


def milestone_overdue(milestone: Milestone, now: datetime) -> bool:
    """Its due date has passed and it is not confirmed at ``now``: a milestone
    due on day D is overdue from the day after D (on the calendar of ``now``'s
    time zone)."""
    require_aware(now, "now")
    confirmed = milestone.confirmed_at is not None and milestone.confirmed_at <= now
    return not confirmed and milestone.due_on < now.date()


def tally_milestones(milestones: Iterable[Milestone], now: datetime) -> MilestoneTally:
    """Count ``milestones`` as they stood at ``now``: a milestone created later
    is left out, a report or confirmation stamped later is not counted yet
    (overdue as in :func:`milestone_overdue`)."""
    require_aware(now, "now")
    total = reported = confirmed = overdue = 0
    for m in milestones:
        if m.created_at > now:
            continue
        total += 1
        is_confirmed = m.confirmed_at is not None and m.confirmed_at <= now
        if is_confirmed:
            confirmed += 1
        elif m.reported_at is not None and m.reported_at <= now:
            reported += 1
        if milestone_overdue(m, now):
            overdue += 1
    return MilestoneTally(total, reported, confirmed, overdue)


def verified_achievement(milestones: Iterable[Milestone], now: datetime) -> float | None:
    """The measured achievement: confirmed milestones / milestones * 100 at
    ``now``; ``None`` when the objective has no milestone (nothing verifiable).
    Self-reported progress never enters it."""
    return tally_milestones(milestones, now).verified


# --- achievement side by side ---------------------------------------------------------------


def _check_percentage(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and 0.0 <= value <= 100.0):
        raise DomainError(f"{name} must be between 0 and 100, got {value}")


def _gap(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


@dataclass(frozen=True, kw_only=True)
class AchievementComparison:
    """One objective's achievement (%), each named for what it is: ``verified``
    (confirmed milestones: the measure), ``self_reported`` (the mentee's
    progress toward the target), and the perceived ``mentee`` and ``mentor``
    ratings. Gaps are in percentage points, ``None`` when a side is missing; a
    positive ``mentee_vs_verified`` means the mentee is more optimistic than
    what was verified."""

    verified: float | None
    self_reported: float | None = None
    mentee: float | None = None
    mentor: float | None = None
    mentee_vs_verified: float | None = field(init=False)
    mentor_vs_verified: float | None = field(init=False)
    mentee_vs_mentor: float | None = field(init=False)

    def __post_init__(self) -> None:
        for name in ("verified", "self_reported", "mentee", "mentor"):
            _check_percentage(name, getattr(self, name))
        object.__setattr__(self, "mentee_vs_verified", _gap(self.mentee, self.verified))
        object.__setattr__(self, "mentor_vs_verified", _gap(self.mentor, self.verified))
        object.__setattr__(self, "mentee_vs_mentor", _gap(self.mentee, self.mentor))


def compare_achievement(
    verified: float | None, mentee: float | None, mentor: float | None, self_reported: float | None = None
) -> AchievementComparison:
    """Verified achievement beside the mentee's and the mentor's perceptions (0-100)."""
    return AchievementComparison(verified=verified, self_reported=self_reported, mentee=mentee, mentor=mentor)


def assess_objective(
    baseline: float,
    target: float,
    entries: Iterable[ProgressEntry],
    *,
    milestones: Iterable[Milestone] = (),
    now: datetime,
    mentee: float | None = None,
    mentor: float | None = None,
) -> AchievementComparison:
    """The objective at ``now``: verified from its milestones, self-reported
    from its latest progress entry (``None`` without entries), beside the
    perceived ones."""
    current = latest_value(e for e in entries if e.at <= now)
    return AchievementComparison(
        verified=verified_achievement(milestones, now),
        self_reported=None if current is None else self_reported_achievement(baseline, target, current),
        mentee=mentee,
        mentor=mentor,
    )
