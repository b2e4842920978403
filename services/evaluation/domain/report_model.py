"""The program report as computed: every published figure of each section, and
its JSON (``to_dict``) and tidy-CSV (``tidy_rows``) forms."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date
from enum import Enum
from typing import Any

import numpy as np

from .disclosure import DisclosurePolicy, ProtectedTable
from .instruments import ItemType, Text
from .report_input import MatchingSummary, PerceivedSource, ProgramInfo
from .stats import PairedChange, Summary
from .terms import TermCount
from .themes import Quote, Theme


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
