"""The program report: inputs as plain dataclasses, figures computed and protected,
then one self-contained HTML page (and the same page as an A4 PDF) a funder can
open offline.

Three steps, so the service can time, cache and serve each:

``build_report(ReportInput, policy=...) -> ProgramReport``
    every figure, with respondent answers protected by :mod:`.disclosure`;
    a :class:`ProgramReport` holds only publishable values (``to_dict`` for JSON,
    ``tidy_rows`` for a tidy CSV).
``report_charts(report, lang=...) -> dict[str, Chart]``
    the charts (SVG, PNG on request).
``render_html(report, charts, lang=...) -> str`` / ``render_pdf(...) -> bytes``
    the page (:mod:`.page`): a Jinja2 template, words from the gettext catalogs
    (:mod:`.i18n`), every chart embedded as a ``data:`` URI, no external resource.

What is protected. Answers to instruments (Likert counts, choices, scores,
perceived achievement, rapport ratings, open text, interview themes and quotes)
follow the policy: cells of 1 to k - 1 respondents are hidden, with whatever
would let a reader work them out (:mod:`.disclosure`). Every table of answers
is made by one function (:func:`publish_items`) whether it appears in the
report or at ``/items``, so the same counts always show the same hidden
pattern, and one item is only ever published in one form (all points, or
bands). A mean is a linear equation on the counts it summarises: it is
published exactly for a group whose answers to those items are published whole
(all points, nothing hidden). A scale mean of the satisfaction section whose
answers are published in part (bands, hidden cells) is rounded (one decimal,
else none) and published only when an exact audit
(:func:`.disclosure.audit_figures`) proves that, with every other figure of the
section, it fixes no hidden cell and no count of a point inside a band;
otherwise it is withheld and ``withheld_because`` says why (it would reveal
answers; some of the group skipped some of the scale's items, so the mean is no
linear figure of the counts). Skill means are still published only whole.
Program counts that are not anyone's answers (the funnel, training completion,
matching, meetings held, feedback forms on time, dyads completed or dissolved,
confirmed milestones) are published as they are: they are what the program
reports to its funder. Dyads are never named: per-dyad achievement is shown
numbered by measured achievement, without ids, and only with at least k dyads.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date
from enum import Enum, StrEnum
from fractions import Fraction
from typing import Any

import numpy as np

from .disclosure import (
    CountTable,
    DisclosurePolicy,
    Key,
    LinearFigure,
    ProtectedTable,
    audit_figures,
    hidden_groups,
    mean_figure,
    protect_split,
    protect_table,
)
from .i18n import N_, bilingual
from .instruments import AnswerMatrix, Audience, Instrument, ItemType, Role, Text, answer_matrix, likert_ids
from .stats import (
    AchievementComparison,
    DyadAchievement,
    ItemDistribution,
    PairedChange,
    Quote,
    Response,
    Summary,
    TermCount,
    Theme,
    ThemeCoding,
    achievement_comparison,
    item_distributions,
    score_matrix,
    skill_changes,
    summarise,
    term_frequencies,
    theme_counts,
)

ROLES: tuple[str, str] = ("mentor", "mentee")

# ============================================================================= inputs

STAGE_LABELS: dict[str, str] = {
    "applied": N_("Applied"),
    "selected": N_("Selected"),
    "confirmed": N_("Confirmed"),
    "trained": N_("Trained"),
    "matched": N_("Matched"),
    "completed": N_("Completed"),
}


@dataclass(frozen=True, kw_only=True)
class ProgramInfo:
    """``institution`` is the institution's name; ``period`` runs from the first
    phase's start to the last phase's end."""

    program_id: str
    name: str
    institution: str
    period: tuple[date, date] | None = None
    institution_id: str = ""
    generated_on: date | None = None


@dataclass(frozen=True)
class FunnelStage:
    """People at one stage of the call (participants service). The usual keys
    are those of ``STAGE_LABELS``; another key needs a ``label``."""

    key: str
    mentors: int
    mentees: int
    label: Text | None = None


@dataclass(frozen=True)
class TrainingModule:
    module_id: str
    title: Text
    participants: int
    completed: int


@dataclass(frozen=True, kw_only=True)
class MatchingSummary:
    """The published run of the matching service."""

    mentors: int
    mentees: int
    matched_mentees: int
    substitutes: int
    pair_scores: tuple[float, ...]
    blocking_pairs: int | None = None
    algorithm: str = "optimal"


@dataclass(frozen=True, kw_only=True)
class MeetingPlan:
    """The program's meetings as the sessions service counts them. ``planned_to_date``:
    meetings whose planned start has passed (the sessions statistics' "planned");
    ``held``, ``cancelled``... among those. Without them (an older input), planned
    is ``planned_per_dyad`` x dyads."""

    planned_per_dyad: int
    planned_to_date: int | None = None
    held: int | None = None
    rescheduled: int = 0
    cancelled: int = 0
    no_show: int = 0
    as_of: date | None = None


@dataclass(frozen=True, kw_only=True)
class FeedbackForms:
    """Feedback forms (sessions service): ``days_late`` has one entry per
    submitted form, days after the deadline (0 or less: on time)."""

    deadline_days: int
    expected: int
    days_late: tuple[int, ...]


class DyadStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    DISSOLVED = "dissolved"


@dataclass(frozen=True)
class DyadRecord:
    """One dyad as the sessions service sees it. ``rapport`` is the mean of the
    two members' feedback ratings of each other (1-5); ``at_risk`` is the
    service's early warning for an active dyad; ``planned_to_date`` its meetings
    whose planned start has passed."""

    dyad_id: str
    status: DyadStatus
    meetings_held: int
    in_person_meetings: int
    rapport: float | None = None
    at_risk: bool = False
    planned_to_date: int | None = None


@dataclass(frozen=True)
class Administration:
    """One instrument given to a group at one moment, with its submitted responses."""

    instrument: Instrument
    moment: str
    responses: tuple[Response, ...]


class PerceivedSource(StrEnum):
    """Where perceived achievement came from: each member's assessment of her
    dyad's objectives in the sessions service, or the perceived-achievement
    questionnaires."""

    ASSESSMENTS = "assessments"
    SURVEY = "survey"


@dataclass(frozen=True, kw_only=True)
class ReportInput:
    program: ProgramInfo
    funnel: tuple[FunnelStage, ...] = ()
    training: tuple[TrainingModule, ...] = ()
    matching: MatchingSummary | None = None
    meetings: MeetingPlan | None = None
    feedback: FeedbackForms | None = None
    dyads: tuple[DyadRecord, ...] = ()
    skills_pre: Administration | None = None
    skills_post: Administration | None = None
    closing: Administration | None = None
    achievement: tuple[DyadAchievement, ...] = ()
    perceived_source: PerceivedSource = PerceivedSource.ASSESSMENTS
    themes: tuple[Theme, ...] = ()
    codings: tuple[ThemeCoding, ...] = ()
    quotes: tuple[Quote, ...] = ()
    open_text_items: tuple[str, ...] = ("benefits.mentee", "benefits.improve")
    benefits_item: str = "benefits.mentor"


# ============================================================================= outputs


@dataclass(frozen=True)
class FunnelRow:
    key: str
    label: Text
    mentors: int
    mentees: int
    total: int
    of_previous: float | None
    of_first: float | None


@dataclass(frozen=True)
class TrainingRow:
    module_id: str
    title: Text
    participants: int
    completed: int
    rate: float | None


@dataclass(frozen=True)
class Adherence:
    """Meetings as the sessions service counts them: ``planned_to_date`` are the
    meetings whose planned start has passed; ``share_of_planned`` = held / that."""

    planned_per_dyad: int | None
    planned_to_date: int | None
    held: int | None
    meetings_held: Summary
    share_of_planned: float | None
    dyads_all_meetings: int | None
    in_person: Summary
    rescheduled: int | None
    cancelled: int | None
    no_show: int | None
    as_of: date | None
    feedback_expected: int | None
    feedback_submitted: int | None
    feedback_on_time: int | None
    feedback_mix: tuple[tuple[str, Text, int], ...]  # (key, label, forms), missing last
    deadline_days: int | None


@dataclass(frozen=True)
class Retention:
    started: int
    completed: int
    dissolved: int
    active: int
    at_risk: int
    completion_rate: float | None
    rapport_by_in_person: ProtectedTable | None  # n dyads with a rapport value, "more than 2" / "2 or fewer"
    rapport_means: Mapping[str, float | None]
    rapport_dyads: int = 0  # dyads with a rapport value (a program count)


@dataclass(frozen=True)
class SkillRow:
    """One skill for one group. The means (before, after, change and its
    interval) are ``None`` with ``means_withheld`` when the group's answers to
    the skill's items are not published whole (the means would reveal hidden
    cells); the rank-based effect and test remain."""

    skill: str
    label: Text
    group: str
    n_pairs: int
    mean_before: float | None
    mean_after: float | None
    mean_change: float | None
    mean_change_ci: tuple[float, float] | None
    p_value: float | None
    p_method: str | None
    p_reason: str | None
    rank_biserial: float | None
    rank_biserial_ci: tuple[float, float] | None
    ci_reason: str | None
    n_nonzero: int | None = None
    means_withheld: bool = False


@dataclass(frozen=True)
class SkillsSection:
    instrument: str
    respondents: Mapping[str, ProtectedTable]  # "pre", "post", "paired": split by role
    rows: tuple[SkillRow, ...]  # published groups only
    hidden: tuple[tuple[str, str], ...]  # (skill, group) withheld
    n_boot: int
    confidence: float


@dataclass(frozen=True)
class ObjectivesSection:
    """Measured (verified milestones), self-reported progress, and perceived by
    each member, 0-100, per dyad and in summary. ``hidden`` names the perceived
    measures given for fewer than k dyads (withheld everywhere)."""

    dyads: int
    published: bool
    summaries: Mapping[str, Summary]
    gaps: Mapping[str, PairedChange]
    spearman: Mapping[str, float | None]
    points: tuple[tuple[float | None, float | None, float | None, float | None], ...]  # (measured, self-reported, mentee, mentor)
    hidden: tuple[str, ...] = ()
    perceived_source: str = PerceivedSource.ASSESSMENTS.value
    measured_source: str = "milestones"


@dataclass(frozen=True)
class ItemTable:
    item_id: str
    section: Text
    text: Text
    categories: tuple[Text, ...]
    table: ProtectedTable  # rows mentor / mentee (+ all), columns categories (+ all)
    collapsed: bool = False  # categories are bands of points (disagree / neutral / agree)
    keys: tuple[str, ...] = ()  # the category keys ("1".."5", or "1-2", "3", "4-5")


@dataclass(frozen=True)
class ChoiceTable:
    """One option of a multiple-choice item: rows are groups (+ all), columns
    "chose" / "not" (+ all = the group's respondents to the item)."""

    option: str
    label: Text
    table: ProtectedTable


@dataclass(frozen=True)
class PublishedItem:
    """One closed or numeric item of an administration as it may be published,
    the same in the report and at ``/items``."""

    item_id: str
    type: ItemType
    section: Text
    text: Text
    groups: tuple[str, ...]
    categories: tuple[tuple[str, Text], ...] = ()  # as published (bands when collapsed)
    table: ProtectedTable | None = None  # Likert and single choice
    collapsed: bool = False
    options: tuple[ChoiceTable, ...] = ()  # multiple choice
    numeric: Mapping[str, Summary | None] | None = None  # numeric: per group, None when withheld

    def whole(self, group: str) -> bool:
        """The group's row is published at every point, nothing hidden."""
        if self.table is None or self.collapsed or group not in self.table.row_labels:
            return False
        return not any(self.table.hidden[self.table.row_labels.index(group)])


@dataclass(frozen=True)
class Subscale:
    id: str
    label: Text
    means: Mapping[str, float | None]  # per group; None when withheld
    agree: Mapping[str, float | None]  # share of answers in the agreeing band, per group
    withheld: tuple[str, ...] = ()  # published groups whose mean is withheld (``withheld_because`` says why)
    decimals: Mapping[str, int | None] = field(default_factory=dict)  # per group: the mean is rounded to these; None: exact
    withheld_because: Mapping[str, str] = field(default_factory=dict)  # per withheld group: a WithheldBecause value


@dataclass(frozen=True)
class SatisfactionSection:
    instrument: str
    respondents: ProtectedTable
    items: tuple[ItemTable, ...]
    subscales: tuple[Subscale, ...]
    benefits: tuple[tuple[str, Text, int | None], ...]  # option, label, mentors choosing it
    benefits_respondents: int | None
    benefits_text: Text | None
    points: int = 5  # points of the Likert scale of its items


@dataclass(frozen=True)
class Cloud:
    """Terms of one open item, from the roles with at least ``k_text`` answers
    (``roles``); ``responses`` per role."""

    item_id: str
    text: Text
    responses: Mapping[str, int]
    published: bool
    terms: tuple[TermCount, ...]
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class ThemeRow:
    theme: Theme
    mentioned: Mapping[str, int | None]  # per group, None when hidden
    agreement: float | None  # Cohen's kappa between coders (stats.theme_counts)


@dataclass(frozen=True)
class ThemesSection:
    coded: ProtectedTable
    rows: tuple[ThemeRow, ...]  # themes, each followed by its sub-themes
    evaluators: int
    quotes: tuple[Quote, ...] = ()  # only of roles with at least k_text coded interviews
    quote_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProgramReport:
    program: ProgramInfo
    policy: DisclosurePolicy
    funnel: tuple[FunnelRow, ...]
    training: tuple[TrainingRow, ...]
    training_rate: float | None
    matching: MatchingSummary | None
    matching_scores: Summary | None
    adherence: Adherence
    retention: Retention
    skills: SkillsSection | None
    objectives: ObjectivesSection | None
    satisfaction: SatisfactionSection | None
    clouds: tuple[Cloud, ...]
    themes: ThemesSection | None
    notes: tuple[Text, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; protected tables give only their published cells."""
        # The pair scores are the matching's raw figures, published only as their summary.
        report = self if self.matching is None else replace(self, matching=replace(self.matching, pair_scores=()))
        out = _jsonable(report)
        assert isinstance(out, dict)
        if self.matching is not None:
            out["matching"].pop("pair_scores", None)
        out["policy"] = {"k": self.policy.k, "k_text": self.policy.k_text, "min_term_documents": self.policy.min_term_documents}
        return out

    def tidy_rows(self) -> list[dict[str, Any]]:
        """One row per published figure of the tables: section, table, row,
        column, value (``None`` when hidden) and hidden."""
        rows: list[dict[str, Any]] = []

        def put(section: str, name: str, row: str, col: str, value: Any) -> None:
            rows.append({"section": section, "table": name, "row": row, "column": col, "value": value,
                         "hidden": value is None})

        def table(section: str, name: str, t: ProtectedTable) -> None:
            for r, label in enumerate(t.row_labels):
                for c, col in enumerate(t.col_labels):
                    put(section, name, label, col, None if t.hidden[r][c] else t.values[r][c])

        for f in self.funnel:
            for col, v in (("mentors", f.mentors), ("mentees", f.mentees), ("all", f.total)):
                put("funnel", "stages", f.key, col, v)
        a = self.adherence
        for col in ("planned_to_date", "held", "share_of_planned", "dyads_all_meetings", "rescheduled", "cancelled"):
            put("adherence", "meetings", "program", col, getattr(a, col))
        if self.retention.rapport_by_in_person is not None:
            table("retention", "rapport_dyads", self.retention.rapport_by_in_person)
            for g, v in self.retention.rapport_means.items():
                put("retention", "rapport_mean", g, "mean", v)
        if self.skills:
            for name, t in self.skills.respondents.items():
                table("skills", f"respondents.{name}", t)
            for s in self.skills.rows:
                for col in ("n_pairs", "mean_change", "p_value", "rank_biserial"):
                    put("skills", s.skill, s.group, col, getattr(s, col))
            for skill, group in self.skills.hidden:
                put("skills", skill, group, "n_pairs", None)
        if self.objectives and self.objectives.published:
            for key, summary in self.objectives.summaries.items():
                put("objectives", "summary", key, "n", None if key in self.objectives.hidden else summary.n)
                put("objectives", "summary", key, "mean", None if key in self.objectives.hidden else summary.mean)
        if self.satisfaction:
            table("satisfaction", "respondents", self.satisfaction.respondents)
            for it in self.satisfaction.items:
                table("satisfaction", it.item_id, it.table)
            for sub in self.satisfaction.subscales:
                for g, v in sub.means.items():
                    put("satisfaction", f"subscale.{sub.id}", g, "mean", v)
        if self.themes:
            table("themes", "coded", self.themes.coded)
            for tr in self.themes.rows:
                for g, v in tr.mentioned.items():
                    put("themes", tr.theme.id, g, "mentioned", v)
        return rows


_FIELDS: dict[type, tuple[str, ...]] = {}


def _jsonable(x: Any) -> Any:
    # The common leaves first, by exact type (a StrEnum is a str, a numpy float a float: they go on).
    kind = type(x)
    if x is None or kind is str or kind is int or kind is bool:
        return x
    if kind is float:
        return None if math.isnan(x) else x
    if kind is tuple or kind is list:
        return [_jsonable(v) for v in x]
    if isinstance(x, ProtectedTable):
        return x.to_dict()
    if isinstance(x, Text):
        return {"es": x.es, "en": x.en}
    if isinstance(x, Enum):
        return x.value
    if isinstance(x, date):
        return x.isoformat()
    if is_dataclass(x) and not isinstance(x, type):
        names = _FIELDS.get(kind)
        if names is None:
            names = _FIELDS[kind] = tuple(f.name for f in fields(x) if not f.name.startswith("_"))
        return {name: _jsonable(getattr(x, name)) for name in names}
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, tuple | list):
        return [_jsonable(v) for v in x]
    if isinstance(x, float | np.floating):
        v = float(x)
        return None if math.isnan(v) else v
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, frozenset | set):
        return sorted(_jsonable(v) for v in x)
    return x


# ============================================================================= build


def _rate(a: int | None, b: int | None) -> float | None:
    return a / b if a is not None and b else None


def _funnel(stages: Sequence[FunnelStage]) -> tuple[FunnelRow, ...]:
    out = []
    first = prev = None
    for s in stages:
        if s.label is not None:
            label = s.label
        elif s.key in STAGE_LABELS:
            label = bilingual(STAGE_LABELS[s.key])
        else:
            raise ValueError(f"funnel stage {s.key!r} needs a label")
        total = s.mentors + s.mentees
        out.append(
            FunnelRow(s.key, label, s.mentors, s.mentees, total,
                      None if prev is None else _rate(total, prev), None if first is None else _rate(total, first))
        )
        first = total if first is None else first
        prev = total
    return tuple(out)


FEEDBACK_BUCKETS: tuple[tuple[str, str, int, int], ...] = (
    ("on_time", N_("On time"), -10**9, 0),
    ("late_1_3", N_("1–3 days late"), 1, 3),
    ("late_4_7", N_("4–7 days late"), 4, 7),
    ("late_8_14", N_("8–14 days late"), 8, 14),
    ("late_15", N_("Over 14 days late"), 15, 10**9),
)
NOT_SUBMITTED = N_("Not submitted")


def _adherence(inp: ReportInput) -> Adherence:
    held = np.array([d.meetings_held for d in inp.dyads], dtype=float)
    in_person = np.array([d.in_person_meetings for d in inp.dyads], dtype=float)
    plan = inp.meetings
    mix: list[tuple[str, Text, int]] = []
    fb = inp.feedback
    if fb is not None:
        late = np.array(fb.days_late, dtype=np.int64)
        for key, label, lo, hi in FEEDBACK_BUCKETS:
            mix.append((key, bilingual(label), int(((late >= lo) & (late <= hi)).sum())))
        mix.append(("missing", bilingual(NOT_SUBMITTED), max(fb.expected - late.size, 0)))
    per_dyad = plan.planned_per_dyad if plan else None
    # One definition everywhere: planned = meetings whose planned start has passed, as the sessions
    # statistics count them. An input without it (no sessions figures) falls back to the plan.
    if plan is not None and plan.planned_to_date is not None:
        planned_to_date: int | None = plan.planned_to_date
        total_held: int | None = plan.held if plan.held is not None else int(held.sum())
    elif per_dyad and held.size:
        planned_to_date, total_held = per_dyad * int(held.size), int(held.sum())
    else:
        planned_to_date, total_held = None, (int(held.sum()) if held.size else None)
    if inp.dyads and all(d.planned_to_date is not None for d in inp.dyads):
        all_meetings: int | None = sum(1 for d in inp.dyads if d.meetings_held >= (d.planned_to_date or 0))
    elif per_dyad and held.size:
        all_meetings = int((held >= per_dyad).sum())
    else:
        all_meetings = None
    return Adherence(
        planned_per_dyad=per_dyad,
        planned_to_date=planned_to_date,
        held=total_held,
        meetings_held=summarise(held),
        share_of_planned=_rate(total_held, planned_to_date),
        dyads_all_meetings=all_meetings,
        in_person=summarise(in_person),
        rescheduled=plan.rescheduled if plan else None,
        cancelled=plan.cancelled if plan else None,
        no_show=plan.no_show if plan else None,
        as_of=plan.as_of if plan else None,
        feedback_expected=fb.expected if fb else None,
        feedback_submitted=len(fb.days_late) if fb else None,
        feedback_on_time=mix[0][2] if fb else None,
        feedback_mix=tuple(mix),
        deadline_days=fb.deadline_days if fb else None,
    )


def _retention(inp: ReportInput, policy: DisclosurePolicy) -> Retention:
    status = [d.status for d in inp.dyads]
    started = len(status)
    completed = status.count(DyadStatus.COMPLETED)
    dissolved = status.count(DyadStatus.DISSOLVED)
    active = status.count(DyadStatus.ACTIVE)
    rated = [d for d in inp.dyads if d.rapport is not None]
    table = None
    means: dict[str, float | None] = {}
    if rated:
        groups = {
            "in_person_3plus": [d.rapport for d in rated if d.in_person_meetings > 2],
            "in_person_0to2": [d.rapport for d in rated if d.in_person_meetings <= 2],
        }
        table = protect_split({g: len(v) for g, v in groups.items()}, policy=policy)
        hidden = hidden_groups(table)
        for g, v in groups.items():
            means[g] = None if g in hidden or not v else float(np.mean(v))
        means["all"] = None if "all" in hidden else float(np.mean([d.rapport for d in rated]))  # type: ignore[misc]
    return Retention(
        started=started,
        completed=completed,
        dissolved=dissolved,
        active=active,
        at_risk=sum(1 for d in inp.dyads if d.at_risk and d.status is DyadStatus.ACTIVE),
        completion_rate=_rate(completed, started),
        rapport_by_in_person=table,
        rapport_means=means,
        rapport_dyads=len(rated),
    )


def _role_counts(responses: Sequence[Response], groups: Sequence[str] = ROLES) -> dict[str, int]:
    counts: Counter[str] = Counter(r.role for r in responses)  # Role is a StrEnum: its members are their values
    return {g: counts[g] for g in groups}


# ----------------------------------------------------------------------------- items, as published everywhere

LIKERT_BANDS: dict[int, tuple[tuple[int, ...], ...]] = {
    4: ((1, 2), (3, 4)),
    5: ((1, 2), (3,), (4, 5)),
    7: ((1, 2, 3), (4,), (5, 6, 7)),
}
BAND_NAMES: dict[int, tuple[str, ...]] = {
    2: (N_("Disagree ({points})"), N_("Agree ({points})")),
    3: (N_("Disagree ({points})"), N_("Neutral ({points})"), N_("Agree ({points})")),
}


def _span(band: tuple[int, ...]) -> str:
    return str(band[0]) if len(band) == 1 else f"{band[0]}–{band[-1]}"


def _interior_hidden(t: ProtectedTable) -> bool:
    rows = len(t.row_labels) - t.has_total_row
    cols = len(t.col_labels) - t.has_total_col
    return any(t.hidden[r][c] for r in range(rows) for c in range(cols))


def item_groups(instrument: Instrument, item_id: str, groups: Sequence[str] = ROLES) -> tuple[str, ...]:
    audience = instrument.item_audience(item_id)
    return tuple(g for g in groups if audience.includes(Role(g)))


def publish_items(
    instrument: Instrument,
    responses: Sequence[Response],
    *,
    policy: DisclosurePolicy,
    groups: Sequence[str] = ROLES,
    collapse: bool = True,
    item_ids: Sequence[str] | None = None,
    answers: AnswerMatrix | None = None,
) -> tuple[ProtectedTable, tuple[PublishedItem, ...]]:
    """The respondents split and every closed or numeric item of one
    administration, protected, in the one form they may be published in.

    Likert items of a section in which any answer cell would be hidden are
    published as bands (disagree / neutral / agree) instead, all of that
    section's items alike (with ``collapse``). A multiple-choice item is one
    table per option (chose / did not, per group): the sum of choices is never
    published. Numeric items give a summary per group of at least k (the total
    with them). A group hidden in the split is hidden in every item."""
    split = protect_split(_role_counts(responses, groups), policy=policy)
    gone = hidden_groups(split)
    wanted = [i for i in instrument.items() if i.type is not ItemType.OPEN_TEXT
              and (item_ids is None or i.id in item_ids)]
    dists = {d.item_id: d for d in item_distributions(instrument, responses, [i.id for i in wanted], answers=answers)}
    section_of = {i.id: s for s in instrument.sections for i in s.items}

    def table_of(dist: ItemDistribution, rows: Sequence[str], bands: Sequence[tuple[int, ...]] | None) -> ProtectedTable:
        counts = [list(dist.counts[g]) for g in rows]
        cols = [c for c, _ in dist.categories]
        if bands is not None:
            counts = [[sum(row[p - 1] for p in band) for band in bands] for row in counts]
            cols = ["-".join(map(str, band)) for band in bands]
        return protect_table(counts, policy=policy, row_labels=rows, col_labels=cols,
                             hide_rows=[i for i, g in enumerate(rows) if g in gone])

    full: dict[str, ProtectedTable] = {}
    for item in wanted:
        if item.type in (ItemType.LIKERT, ItemType.SINGLE_CHOICE):
            full[item.id] = table_of(dists[item.id], item_groups(instrument, item.id, groups), None)
    collapse_sections = {
        section_of[i.id].id for i in wanted
        if collapse and i.type is ItemType.LIKERT and _interior_hidden(full[i.id])
    }
    out: list[PublishedItem] = []
    for item in wanted:
        dist = dists[item.id]
        rows = item_groups(instrument, item.id, groups)
        section = section_of[item.id]
        if item.type is ItemType.NUMERIC:
            assert dist.numeric is not None
            numeric: dict[str, Summary | None] = {}
            ns = {g: dist.numeric[g].n for g in rows}
            nsplit = protect_split(ns, policy=policy) if len(rows) > 1 else None
            hid = set(gone) | (set(hidden_groups(nsplit)) if nsplit else set())
            for g in (*rows, *(("all",) if len(rows) > 1 else ())):
                s = dist.numeric[g]
                numeric[g] = None if g in hid or policy.small(s.n) or s.n == 0 else s
            out.append(PublishedItem(item.id, item.type, section.title, item.text, rows, numeric=numeric))
        elif item.type is ItemType.MULTIPLE_CHOICE:
            options = []
            for j, (value, label) in enumerate(dist.categories):
                counts = [[dist.counts[g][j], dist.respondents[g] - dist.counts[g][j]] for g in rows]
                t = protect_table(counts, policy=policy, row_labels=rows, col_labels=["chose", "not"],
                                  hide_rows=[i for i, g in enumerate(rows) if g in gone])
                options.append(ChoiceTable(value, label, t))
            out.append(PublishedItem(item.id, item.type, section.title, item.text, rows,
                                     categories=dist.categories, options=tuple(options)))
        elif item.type is ItemType.LIKERT and section.id in collapse_sections:
            assert item.scale is not None
            bands = LIKERT_BANDS[item.scale.points]
            names = BAND_NAMES[len(bands)]
            cats = tuple(("-".join(map(str, b)), bilingual(name, points=_span(b))) for name, b in zip(names, bands, strict=True))
            out.append(PublishedItem(item.id, item.type, section.title, item.text, rows, categories=cats,
                                     table=table_of(dist, rows, bands), collapsed=True))
        else:
            out.append(PublishedItem(item.id, item.type, section.title, item.text, rows, categories=dist.categories,
                                     table=full[item.id]))
    return split, tuple(out)


def _whole_groups(published: Mapping[str, PublishedItem], item_ids: Sequence[str], groups: Sequence[str]) -> set[str]:
    """Groups (and "all") whose answers to every one of ``item_ids`` are published whole."""
    out = {g for g in groups if all(i in published and published[i].whole(g) for i in item_ids)}
    if set(groups) <= out and all(published[i].whole("all") for i in item_ids if i in published):
        out.add("all")
    return out


# ----------------------------------------------------------------------------- skills


def _skills(inp: ReportInput, policy: DisclosurePolicy, seed: int, n_boot: int) -> SkillsSection | None:
    pre, post = inp.skills_pre, inp.skills_post
    if pre is None or post is None:
        return None
    if (pre.instrument.key, pre.instrument.version) != (post.instrument.key, post.instrument.version):
        raise ValueError("pre and post use different instruments")
    ins = pre.instrument
    # The Likert answers of each administration, read once for its item tables and its scores.
    pre_answers = answer_matrix([r.answers for r in pre.responses], likert_ids(ins))
    post_answers = answer_matrix([r.answers for r in post.responses], likert_ids(ins))
    changes = skill_changes(ins, pre.responses, post.responses, seed=seed, n_boot=n_boot,
                            answers=(pre_answers, post_answers))
    paired_keys = {r.respondent for r in pre.responses} & {r.respondent for r in post.responses}
    paired = [r for r in post.responses if r.respondent in paired_keys]
    respondents = {
        "pre": protect_split(_role_counts(pre.responses), policy=policy),
        "post": protect_split(_role_counts(post.responses), policy=policy),
        "paired": protect_split(_role_counts(paired), policy=policy),
    }
    # The item tables of both administrations, as /items publishes them: a mean is only given
    # for a group whose answers to the skill's items are published whole in both.
    published_pre = {p.item_id: p for p in publish_items(ins, pre.responses, policy=policy, answers=pre_answers)[1]}
    published_post = {p.item_id: p for p in publish_items(ins, post.responses, policy=policy, answers=post_answers)[1]}
    rows: list[SkillRow] = []
    hidden: list[tuple[str, str]] = []
    by_skill: dict[str, dict[str, PairedChange]] = {}
    labels: dict[str, Text] = {}
    for sc in changes:
        by_skill.setdefault(sc.skill, {})[sc.group] = sc.change
        labels[sc.skill] = sc.label
    for skill, per_group in by_skill.items():
        split = protect_split({g: per_group[g].n_pairs for g in ROLES}, policy=policy)
        gone = set(hidden_groups(split))
        items = ins.subscale(skill).items
        whole = _whole_groups(published_pre, items, ROLES) & _whole_groups(published_post, items, ROLES)
        for group in ("mentee", "mentor", "all"):
            c = per_group[group]
            if group in gone:
                hidden.append((skill, group))
                continue
            safe = group in whole
            rows.append(
                SkillRow(skill, labels[skill], group, c.n_pairs,
                         c.mean_before if safe else None, c.mean_after if safe else None,
                         c.mean_change if safe else None, c.mean_change_ci if safe else None,
                         c.p_value, c.p_method, c.p_reason, c.rank_biserial, c.rank_biserial_ci, c.ci_reason,
                         c.n_nonzero, not safe)
            )
    return SkillsSection(ins.key, respondents, tuple(rows), tuple(hidden), n_boot, 0.95)


# ----------------------------------------------------------------------------- objectives


def _objectives(inp: ReportInput, policy: DisclosurePolicy, seed: int, n_boot: int) -> ObjectivesSection | None:
    if not inp.achievement:
        return None
    with_data = [d for d in inp.achievement if d.measured is not None or d.mentee_perceived is not None
                 or d.mentor_perceived is not None or d.self_reported is not None]
    n = len(with_data)
    source = inp.perceived_source.value
    if n < policy.k:
        return ObjectivesSection(n, False, {}, {}, {}, (), perceived_source=source)
    # A perceived measure given for fewer than k dyads is someone's answer in a small group: withheld
    # everywhere (summary, gaps, correlation, points), as a hidden cell would be.
    hidden = tuple(who for who in ("mentee", "mentor")
                   if 0 < sum(getattr(d, f"{who}_perceived") is not None for d in with_data) < policy.k)
    if hidden:
        with_data = [replace(d, **{f"{who}_perceived": None for who in hidden}) for d in with_data]
    comp: AchievementComparison = achievement_comparison(with_data, seed=seed, n_boot=n_boot)
    points = tuple((d.measured, d.self_reported, d.mentee_perceived, d.mentor_perceived) for d in comp.dyads)
    return ObjectivesSection(n, True, comp.summaries, comp.gaps, comp.spearman, points, hidden, source)


# ----------------------------------------------------------------------------- satisfaction


def _agree_band(points: int) -> tuple[int, ...]:
    return LIKERT_BANDS[points][-1]


def _agree_share(item: PublishedItem, group: str, points: int) -> tuple[int, int] | None:
    """(answers in the agreeing band, answers) of ``group`` from published cells, or None."""
    t = item.table
    if t is None or group not in t.row_labels:
        return None
    r = t.row_labels.index(group)
    band = _agree_band(points)
    cols = ["-".join(map(str, band))] if item.collapsed else [str(p) for p in band]
    if any(t.hidden[r][t.col_labels.index(c)] for c in cols) or t.hidden[r][-1]:
        return None
    return sum(t.values[r][t.col_labels.index(c)] for c in cols), t.values[r][-1]


MEAN_DECIMALS: tuple[int, ...] = (1, 0)  # a mean is tried at these precisions, finest first, before it is withheld


class WithheldBecause(StrEnum):
    """Why a group's scale mean is withheld although the group is published."""

    REVEALS = "reveals_hidden_answers"  # at every precision, with what else is published, it fixes a hidden count
    PARTIAL = "partial_answers"  # some of the group skipped some of the scale's items: the mean is no linear figure
    BOUNDARY = "rounding_boundary"  # halfway between two printed values at every precision: not audited


def _bands_of(item: PublishedItem) -> tuple[tuple[int, ...], ...]:
    """The points (0-based) behind each interior column of an item table (``"4-5"``: points 4 and 5)."""
    assert item.table is not None
    cols = item.table.col_labels[: len(item.table.col_labels) - item.table.has_total_col]
    return tuple(tuple(int(x) - 1 for x in c.split("-")) for c in cols)


def _rounded(exact: Fraction, decimals: int) -> Fraction | None:
    """``exact`` printed at ``decimals``, or None when it lies halfway (a rule of rounding would decide)."""
    q = exact * 10**decimals
    if (q - math.floor(q)) == Fraction(1, 2):
        return None
    return Fraction(round(q), 10**decimals)


def _audited_means(
    ins: Instrument,
    by_id: Mapping[str, PublishedItem],
    respondents: ProtectedTable,
    answers: AnswerMatrix,
    is_mentor: np.ndarray,
    subscales: Sequence[str],
    agree: Mapping[str, Mapping[str, tuple[int, int] | None]],
    wanted: Mapping[str, Sequence[str]],
    bound: int,
) -> dict[tuple[str, str], tuple[Fraction, int] | WithheldBecause]:
    """The scale means of ``subscales`` (whose items are linked: audited together) that an exact
    audit (:func:`.disclosure.audit_figures`) proves safe: ``(subscale, group) -> (printed value,
    decimals)``, or why it is withheld. ``wanted[subscale]``: the groups to try, in order
    (mentors, mentees, everyone); ``agree``: the published shares (numerator, denominator).

    Every published count of the scales' item tables, the shares that agree and the means accepted
    so far constrain the unknown counts (per item, group and point); a mean is tried at each of
    :data:`MEAN_DECIMALS` and accepted at the first at which no hidden cell, and no count of a point
    published only in a band, is left with a single possible value."""
    item_ids = sorted({i for sid in subscales for i in ins.subscale(sid).items if i in by_id
                       and by_id[i].table is not None})
    tables: list[CountTable] = []
    where: dict[str, int] = {}
    truth: dict[Key, int] = {}
    cols = answers.columns(item_ids)
    assert cols is not None
    for j, item_id in enumerate(item_ids):
        item = by_id[item_id]
        assert item.table is not None
        scale = ins.item(item_id).scale
        assert scale is not None
        where[item_id] = len(tables)
        tables.append(CountTable.of(item.table, _bands_of(item), scale.points))
        for r, g in enumerate(item.groups):
            mask = is_mentor if g == "mentor" else ~is_mentor
            for p in range(scale.points):
                truth[(where[item_id], r, p)] = int(np.sum(cols[mask, j] == p + 1))

    def rows_of(item_id: str, g: str) -> range | tuple[int, ...]:
        groups = by_id[item_id].groups
        return range(len(groups)) if g == "all" else ((groups.index(g),) if g in groups else ())

    figures: list[LinearFigure] = []
    equal: list[list[tuple[int, int]]] = []
    linear: dict[tuple[str, str], bool] = {}
    for sid in subscales:
        sub = ins.subscale(sid)
        ids = [i for i in sub.items if i in where]
        block = answers.columns(list(sub.items))
        assert block is not None
        for g in ROLES:
            mask = is_mentor if g == "mentor" else ~is_mentor
            answered = np.sum(~np.isnan(block[mask]), axis=1)
            # Each of the group answered every item of the scale or none: the mean is a linear figure.
            linear[(sid, g)] = len(ids) == len(sub.items) and bool(np.all((answered == 0) | (answered == len(sub.items))))
            if linear[(sid, g)] and len(ids) > 1:
                equal.append([(where[i], r) for i in ids for r in rows_of(i, g)])
        linear[(sid, "all")] = all(linear[(sid, g)] for g in ROLES)
        for g, share in agree[sid].items():
            if share is not None:
                band = _agree_band(tables[where[ids[0]]].points)
                terms = {(where[i], r, p - 1): 1 for i in ids for r in rows_of(i, g) for p in band}
                figures.append(LinearFigure(f"{sid}/{g}/agree", terms, share[0], share[0]))
    for g, c in zip(respondents.col_labels, respondents.published()[0], strict=True):
        if c is None:
            continue
        for sid in subscales:  # the published number of respondents is each item's row of the group, when all answered
            ids = [i for i in ins.subscale(sid).items if i in where]
            if ids and linear.get((sid, g)) and sum(truth[(where[ids[0]], r, p)] for r in rows_of(ids[0], g)
                                                    for p in range(tables[where[ids[0]]].points)) == c:
                terms = {(where[ids[0]], r, p): 1 for r in rows_of(ids[0], g) for p in range(tables[where[ids[0]]].points)}
                figures.append(LinearFigure(f"{sid}/{g}/n", terms, c, c))
    out: dict[tuple[str, str], tuple[Fraction, int] | WithheldBecause] = {}
    for sid in subscales:
        sub = ins.subscale(sid)
        ids = [i for i in sub.items if i in where]
        for g in wanted[sid]:
            if not linear[(sid, g)]:
                out[(sid, g)] = WithheldBecause.PARTIAL
                continue
            values: dict[Key, int] = {}
            for i in ids:
                item = ins.item(i)
                assert item.scale is not None
                for r in rows_of(i, g):
                    for p in range(item.scale.points):
                        values[(where[i], r, p)] = item.scale.points - p if item.reverse else p + 1
            count = {(where[ids[0]], r, p): 1 for r in rows_of(ids[0], g) for p in range(tables[where[ids[0]]].points)}
            total, n = sum(c * truth[k] for k, c in values.items()), sum(truth[k] for k in count)
            exact = Fraction(total, n * len(ids))
            out[(sid, g)] = WithheldBecause.BOUNDARY
            for d in MEAN_DECIMALS:
                shown = _rounded(exact, d)
                if shown is None:
                    continue
                candidate = list(mean_figure(f"{sid}/{g}/mean", values, count, len(ids), shown, d))
                if audit_figures(tables, [*figures, *candidate], bound=bound, equal_totals=equal, truth=truth).safe:
                    figures += candidate
                    out[(sid, g)] = (shown, d)
                    break
                out[(sid, g)] = WithheldBecause.REVEALS
    return out


def _linked(ins: Instrument, subscales: Sequence[str]) -> list[list[str]]:
    """Subscales in groups that share items (transitively): each group is audited as one."""
    groups: list[tuple[set[str], list[str]]] = []
    for sid in subscales:
        items = set(ins.subscale(sid).items)
        hit = [g for g in groups if g[0] & items]
        merged = (items.union(*(g[0] for g in hit)), [s for g in hit for s in g[1]] + [sid])
        groups = [g for g in groups if g not in hit] + [merged]
    return [g[1] for g in groups]


def _satisfaction(inp: ReportInput, policy: DisclosurePolicy, collapse: bool = True) -> SatisfactionSection | None:
    adm = inp.closing
    if adm is None:
        return None
    ins = adm.instrument
    answers = answer_matrix([r.answers for r in adm.responses], likert_ids(ins))
    respondents, published = publish_items(ins, adm.responses, policy=policy, collapse=collapse, answers=answers)
    by_id = {p.item_id: p for p in published}
    items = [
        ItemTable(p.item_id, p.section, p.text, tuple(label for _, label in p.categories), p.table, p.collapsed,
                  tuple(k for k, _ in p.categories))
        for p in published if p.type is ItemType.LIKERT and p.table is not None
    ]
    subscales: list[Subscale] = []
    if ins.subscales:
        ids, scores = score_matrix(ins, [r.answers for r in adm.responses], answers=answers)
        is_mentor = np.array([r.role is Role.MENTOR for r in adm.responses], dtype=bool)
        gone = hidden_groups(respondents)
        plain: dict[str, tuple[dict[str, float | None], dict[str, float | None], dict[str, int | None]]] = {}
        shares: dict[str, dict[str, tuple[int, int] | None]] = {}
        wanted: dict[str, list[str]] = {}
        for s, sid in enumerate(ids):
            sub = ins.subscale(sid)
            points = ins.item(sub.items[0]).scale.points  # type: ignore[union-attr]
            whole = _whole_groups(by_id, sub.items, ROLES)
            col = scores[:, s]
            means: dict[str, float | None] = {}
            agree: dict[str, float | None] = {}
            decimals: dict[str, int | None] = {}
            shares[sid] = {}
            wanted[sid] = []
            for g, mask in (("mentor", is_mentor), ("mentee", ~is_mentor), ("all", np.ones_like(is_mentor))):
                vals = col[mask]
                vals = vals[~np.isnan(vals)]
                parts = [_agree_share(by_id[i], g, points) for i in sub.items if i in by_id]
                share = (None if not parts or any(x is None for x in parts) or not sum(x[1] for x in parts)  # type: ignore[misc]
                         else (sum(x[0] for x in parts), sum(x[1] for x in parts)))  # type: ignore[misc]
                shares[sid][g] = share
                agree[g] = None if share is None else share[0] / share[1]
                means[g], decimals[g] = None, None
                if vals.size and g in whole:  # every answer behind it is published: the mean adds nothing
                    means[g] = float(vals.mean())
                elif vals.size and g not in gone and any(i in by_id for i in sub.items):
                    wanted[sid].append(g)  # its answers are published in part: the audit decides
            plain[sid] = (means, agree, decimals)
        why: dict[str, dict[str, str]] = {sid: {} for sid in ids}
        for linked in _linked(ins, ids):
            if not any(wanted[sid] for sid in linked):
                continue
            found = _audited_means(ins, by_id, respondents, answers, is_mentor, linked, shares, wanted, len(adm.responses))
            for (sid, g), res in found.items():
                means, _, decimals = plain[sid]
                if isinstance(res, WithheldBecause):
                    why[sid][g] = res.value
                else:
                    means[g], decimals[g] = round(float(res[0]), res[1]), res[1]
        for sid in ids:
            sub = ins.subscale(sid)
            means, agree, decimals = plain[sid]
            subscales.append(Subscale(sid, sub.label, means, agree, tuple(g for g in ("mentor", "mentee", "all") if g in why[sid]),
                                      decimals, why[sid]))
    benefits: list[tuple[str, Text, int | None]] = []
    benefits_n = None
    benefits_text = None
    b = by_id.get(inp.benefits_item)
    if b is not None and b.type is ItemType.MULTIPLE_CHOICE:
        benefits_text = b.text
        group = "mentor" if ins.item_audience(b.item_id) is Audience.MENTORS else "all"
        row = group if group in b.groups or group == "all" else b.groups[0]
        for option in b.options:
            t = option.table
            benefits.append((option.option, option.label, t.cell(row, "chose") if row in t.row_labels else None))
            if benefits_n is None and row in t.row_labels:
                benefits_n = t.cell(row, "all")
    likert_points = [i.scale.points for i in ins.items() if i.type is ItemType.LIKERT and i.scale is not None]
    return SatisfactionSection(ins.key, respondents, tuple(items), tuple(subscales), tuple(benefits), benefits_n,
                               benefits_text, likert_points[0] if likert_points else 5)


# ----------------------------------------------------------------------------- open text


def open_text_terms(
    texts_by_role: Mapping[str, Sequence[str]], policy: DisclosurePolicy
) -> tuple[tuple[str, ...], tuple[TermCount, ...]]:
    """Terms of the open answers of the roles with at least ``k_text`` answers
    (a verbatim term never comes from a smaller role), and those roles."""
    roles = tuple(g for g, texts in texts_by_role.items() if policy.text_publishable(len(texts)))
    texts = [t for g in roles for t in texts_by_role[g]]
    terms = term_frequencies(texts, min_documents=policy.min_term_documents, top=60) if roles else ()
    return roles, terms


def _clouds(inp: ReportInput, policy: DisclosurePolicy) -> tuple[Cloud, ...]:
    adm = inp.closing
    if adm is None:
        return ()
    out = []
    for item_id in inp.open_text_items:
        if not adm.instrument.has_item(item_id):
            continue
        by_role: dict[str, list[str]] = {g: [] for g in item_groups(adm.instrument, item_id)}
        for r in adm.responses:  # one pass; a Role is a StrEnum, equal to (and hashed as) its value
            text = r.answers.get(item_id)
            if isinstance(text, str) and r.role in by_role:
                by_role[r.role].append(text)
        roles, terms = open_text_terms(by_role, policy)  # type: ignore[arg-type]
        out.append(Cloud(item_id, adm.instrument.item(item_id).text, {g: len(v) for g, v in by_role.items()},
                         bool(roles), terms, roles))
    return tuple(out)


# ----------------------------------------------------------------------------- themes


def _ordered_themes(themes: Sequence[Theme]) -> list[Theme]:
    """Each theme followed by its sub-themes (in the order given)."""
    top = [t for t in themes if t.parent is None]
    known = {t.id for t in top}
    out: list[Theme] = []
    for t in top:
        out.append(t)
        out += [s for s in themes if s.parent == t.id]
    out += [s for s in themes if s.parent is not None and s.parent not in known]
    return out


def themes_section(inp: ReportInput, policy: DisclosurePolicy) -> ThemesSection | None:
    if not inp.themes:
        return None
    summary = theme_counts(inp.codings, inp.themes)
    coded = protect_split({g: summary.coded[g] for g in ROLES}, policy=policy)
    gone = hidden_groups(coded)
    by_id = {tc.theme.id: tc for tc in summary.counts}
    rows = []
    for theme in _ordered_themes(inp.themes):
        tc = by_id[theme.id]
        counts = [[tc.responses[g], summary.coded[g] - tc.responses[g]] for g in ROLES]
        table = protect_table(counts, policy=policy, row_labels=list(ROLES), col_labels=["mentioned", "not"],
                              hide_rows=[i for i, g in enumerate(ROLES) if g in gone])
        mentioned = {g: table.cell(g, "mentioned") for g in (*ROLES, "all")}
        rows.append(ThemeRow(theme, mentioned, summary.agreement.get(theme.id)))
    quote_roles = tuple(g for g in ROLES if policy.text_publishable(summary.coded[g]))
    known = {t.id for t in inp.themes}
    quotes = tuple(q for q in inp.quotes if q.role.value in quote_roles and q.theme in known)
    return ThemesSection(coded, tuple(rows), summary.evaluators, quotes, quote_roles)


def build_report(
    inp: ReportInput,
    *,
    policy: DisclosurePolicy = DisclosurePolicy(),
    seed: int = 0,
    n_boot: int = 2000,
    collapse_likert: bool = True,
) -> ProgramReport:
    """Every figure of the program report, protected. Deterministic for a given ``seed``.

    With ``collapse_likert``, the Likert items of a closing-questionnaire section
    in which any answer cell would be hidden are published as bands instead
    (disagree / neutral / agree): fewer, larger cells, so small cohorts keep
    their figures. Only one form of each item is published, here and at
    ``/items`` alike, so the two can never be subtracted from each other."""
    training = tuple(TrainingRow(m.module_id, m.title, m.participants, m.completed, _rate(m.completed, m.participants))
                     for m in inp.training)
    scores = summarise(inp.matching.pair_scores) if inp.matching and inp.matching.pair_scores else None
    return ProgramReport(
        program=inp.program,
        policy=policy,
        funnel=_funnel(inp.funnel),
        training=training,
        training_rate=_rate(sum(m.completed for m in inp.training), sum(m.participants for m in inp.training)),
        matching=inp.matching,
        matching_scores=scores,
        adherence=_adherence(inp),
        retention=_retention(inp, policy),
        skills=_skills(inp, policy, seed, n_boot),
        objectives=_objectives(inp, policy, seed, n_boot),
        satisfaction=_satisfaction(inp, policy, collapse_likert),
        clouds=_clouds(inp, policy),
        themes=themes_section(inp, policy),
    )


# The rendering lives in .page (charts and the HTML/PDF page); re-exported here for callers.
from .page import program_report_html, render_html, render_pdf, report_charts  # noqa: E402

__all__ = [
    "Administration", "DyadRecord", "DyadStatus", "FeedbackForms", "FunnelStage", "MatchingSummary", "MeetingPlan",
    "PerceivedSource", "ProgramInfo", "ProgramReport", "PublishedItem", "ReportInput", "TrainingModule", "build_report",
    "open_text_terms", "program_report_html", "publish_items", "render_html", "render_pdf", "report_charts",
]
