"""The program report: inputs as plain dataclasses, figures computed and protected,
then one self-contained HTML page a funder can open offline.

Three steps, so the service can time, cache and serve each:

``build_report(ReportInput, policy=...) -> ProgramReport``
    every figure, with respondent answers protected by :mod:`.disclosure`;
    a :class:`ProgramReport` holds only publishable values (``to_dict`` for JSON,
    ``tidy_rows`` for a tidy CSV).
``report_charts(report, lang=...) -> dict[str, Chart]``
    the charts (SVG and PNG).
``render_html(report, charts, lang=...) -> str``
    the page: every chart embedded as a ``data:`` URI, tables with hidden
    cells marked, inline CSS, no external resource.

What is protected. Answers to instruments (Likert counts, choices, scores,
perceived achievement, rapport ratings, open text, interview themes) follow the
policy: groups and cells under ``k`` are hidden, with their complements. Program
counts that are not anyone's answers (the funnel, training completion,
matching, meetings held, feedback forms on time, dyads completed or dissolved)
are published as they are: they are what the program reports to its funder.
Dyads are never named: per-dyad achievement is shown without ids, sorted by
measured achievement, and only when there are at least ``k`` dyads.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from enum import Enum, StrEnum
from typing import Any

import numpy as np

from .charts import (
    OKABE_ITO,
    ChangeRow,
    Chart,
    FunnelBar,
    LikertItem,
    LikertRow,
    achievement_chart,
    bar_chart,
    funnel_chart,
    likert_chart,
    skill_change_chart,
    stacked_share_chart,
    word_cloud_chart,
)
from .disclosure import DisclosurePolicy, ProtectedTable, hidden_groups, protect_split, protect_table
from .instruments import Audience, Instrument, ItemType, Lang, Role, Text
from .stats import (
    AchievementComparison,
    DyadAchievement,
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

T = Text

# ============================================================================= inputs

STAGE_LABELS: dict[str, Text] = {
    "applied": T("Postularon", "Applied"),
    "selected": T("Seleccionadas", "Selected"),
    "confirmed": T("Confirmaron", "Confirmed"),
    "trained": T("Capacitadas", "Trained"),
    "matched": T("Emparejadas", "Matched"),
    "completed": T("Concluyeron", "Completed"),
}


@dataclass(frozen=True, kw_only=True)
class ProgramInfo:
    program_id: str
    name: str
    institution: str
    period: str = ""
    generated_on: str = ""


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
    planned_per_dyad: int
    rescheduled: int = 0
    cancelled: int = 0


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
    service's early warning for an active dyad."""

    dyad_id: str
    status: DyadStatus
    meetings_held: int
    in_person_meetings: int
    rapport: float | None = None
    at_risk: bool = False


@dataclass(frozen=True)
class Administration:
    """One instrument given to a group at one moment, with its submitted responses."""

    instrument: Instrument
    moment: str
    responses: tuple[Response, ...]


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
    planned_per_dyad: int | None
    meetings_held: Summary
    share_of_planned: float | None
    dyads_all_meetings: int | None
    in_person: Summary
    rescheduled: int | None
    cancelled: int | None
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


@dataclass(frozen=True)
class SkillRow:
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
    dyads: int
    published: bool
    summaries: Mapping[str, Summary]
    gaps: Mapping[str, PairedChange]
    spearman: Mapping[str, float | None]
    points: tuple[tuple[float | None, float | None, float | None], ...]  # (measured, mentee, mentor), no ids
    hidden: tuple[str, ...] = ()  # perceived measures ("mentee", "mentor") withheld: fewer than k dyads answered


@dataclass(frozen=True)
class ItemTable:
    item_id: str
    section: Text
    text: Text
    categories: tuple[Text, ...]
    table: ProtectedTable  # rows mentor / mentee (+ all), columns categories (+ all)
    collapsed: bool = False  # categories are bands of points (disagree / neutral / agree)


@dataclass(frozen=True)
class SatisfactionSection:
    instrument: str
    respondents: ProtectedTable
    items: tuple[ItemTable, ...]
    subscales: tuple[tuple[str, Text, Mapping[str, float | None]], ...]  # id, label, mean per group
    benefits: tuple[tuple[str, Text, int | None], ...]  # option, label, mentors choosing it
    benefits_respondents: int | None
    benefits_text: Text | None


@dataclass(frozen=True)
class Cloud:
    item_id: str
    text: Text
    responses: int
    published: bool
    terms: tuple[TermCount, ...]


@dataclass(frozen=True)
class ThemeRow:
    theme: Theme
    mentioned: Mapping[str, int | None]  # per group, None when hidden
    agreement: float | None


@dataclass(frozen=True)
class ThemesSection:
    coded: ProtectedTable
    rows: tuple[ThemeRow, ...]
    evaluators: int


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
        out = _jsonable(self)
        assert isinstance(out, dict)
        if self.matching is not None:
            out["matching"].pop("pair_scores", None)
        return out

    def tidy_rows(self) -> list[dict[str, Any]]:
        """One row per published figure of the tables: section, table, row,
        column, value (``None`` when hidden) and hidden."""
        rows: list[dict[str, Any]] = []

        def table(section: str, name: str, t: ProtectedTable) -> None:
            for r, label in enumerate(t.row_labels):
                for c, col in enumerate(t.col_labels):
                    hid = t.hidden[r][c]
                    rows.append({"section": section, "table": name, "row": label, "column": col,
                                 "value": None if hid else t.values[r][c], "hidden": hid})

        for f in self.funnel:
            for col, v in (("mentors", f.mentors), ("mentees", f.mentees), ("all", f.total)):
                rows.append({"section": "funnel", "table": "stages", "row": f.key, "column": col, "value": v, "hidden": False})
        if self.skills:
            for name, t in self.skills.respondents.items():
                table("skills", f"respondents.{name}", t)
            for s in self.skills.rows:
                for col in ("n_pairs", "mean_change", "p_value", "rank_biserial"):
                    rows.append({"section": "skills", "table": s.skill, "row": s.group, "column": col,
                                 "value": getattr(s, col), "hidden": False})
            for skill, group in self.skills.hidden:
                rows.append({"section": "skills", "table": skill, "row": group, "column": "n_pairs", "value": None, "hidden": True})
        if self.satisfaction:
            table("satisfaction", "respondents", self.satisfaction.respondents)
            for it in self.satisfaction.items:
                table("satisfaction", it.item_id, it.table)
        if self.themes:
            table("themes", "coded", self.themes.coded)
            for tr in self.themes.rows:
                for g, v in tr.mentioned.items():
                    rows.append({"section": "themes", "table": tr.theme.id, "row": g, "column": "mentioned",
                                 "value": v, "hidden": v is None})
        return rows


def _jsonable(x: Any) -> Any:
    if isinstance(x, ProtectedTable):
        return x.to_dict()
    if isinstance(x, Text):
        return {"es": x.es, "en": x.en}
    if isinstance(x, Enum):
        return x.value
    if is_dataclass(x) and not isinstance(x, type):
        return {f.name: _jsonable(getattr(x, f.name)) for f in fields(x) if not f.name.startswith("_")}
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, tuple | list):
        return [_jsonable(v) for v in x]
    if isinstance(x, float | np.floating):
        v = float(x)
        return None if math.isnan(v) else v
    if isinstance(x, np.integer):
        return int(x)
    return x


# ============================================================================= build


def _rate(a: int, b: int) -> float | None:
    return a / b if b else None


def _funnel(stages: Sequence[FunnelStage]) -> tuple[FunnelRow, ...]:
    out = []
    first = prev = None
    for s in stages:
        label = s.label or STAGE_LABELS.get(s.key)
        if label is None:
            raise ValueError(f"funnel stage {s.key!r} needs a label")
        total = s.mentors + s.mentees
        out.append(
            FunnelRow(s.key, label, s.mentors, s.mentees, total,
                      None if prev is None else _rate(total, prev), None if first is None else _rate(total, first))
        )
        first = total if first is None else first
        prev = total
    return tuple(out)


FEEDBACK_BUCKETS: tuple[tuple[str, Text, int, int], ...] = (
    ("on_time", T("A tiempo", "On time"), -10**9, 0),
    ("late_1_3", T("1–3 días tarde", "1–3 days late"), 1, 3),
    ("late_4_7", T("4–7 días tarde", "4–7 days late"), 4, 7),
    ("late_8_14", T("8–14 días tarde", "8–14 days late"), 8, 14),
    ("late_15", T("Más de 14 días tarde", "Over 14 days late"), 15, 10**9),
)


def _adherence(inp: ReportInput) -> Adherence:
    held = np.array([d.meetings_held for d in inp.dyads], dtype=float)
    in_person = np.array([d.in_person_meetings for d in inp.dyads], dtype=float)
    plan = inp.meetings
    mix: list[tuple[str, Text, int]] = []
    fb = inp.feedback
    if fb is not None:
        late = np.array(fb.days_late, dtype=np.int64)
        for key, label, lo, hi in FEEDBACK_BUCKETS:
            mix.append((key, label, int(((late >= lo) & (late <= hi)).sum())))
        mix.append(("missing", T("Sin entregar", "Not submitted"), max(fb.expected - late.size, 0)))
    planned = plan.planned_per_dyad if plan else None
    return Adherence(
        planned_per_dyad=planned,
        meetings_held=summarise(held),
        share_of_planned=float(held.sum() / (planned * held.size)) if planned and held.size else None,
        dyads_all_meetings=int((held >= planned).sum()) if planned and held.size else None,
        in_person=summarise(in_person),
        rescheduled=plan.rescheduled if plan else None,
        cancelled=plan.cancelled if plan else None,
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
            means[g] = None if g in hidden else float(np.mean(v))
        means["all"] = None if table.hidden[0][-1] else float(np.mean([d.rapport for d in rated]))  # type: ignore[misc]
    return Retention(
        started=started,
        completed=completed,
        dissolved=dissolved,
        active=active,
        at_risk=sum(1 for d in inp.dyads if d.at_risk and d.status is DyadStatus.ACTIVE),
        completion_rate=_rate(completed, started),
        rapport_by_in_person=table,
        rapport_means=means,
    )


def _role_counts(responses: Sequence[Response]) -> dict[str, int]:
    mentors = sum(1 for r in responses if r.role is Role.MENTOR)
    return {"mentor": mentors, "mentee": len(responses) - mentors}


def _skills(inp: ReportInput, policy: DisclosurePolicy, seed: int, n_boot: int) -> SkillsSection | None:
    pre, post = inp.skills_pre, inp.skills_post
    if pre is None or post is None:
        return None
    if (pre.instrument.key, pre.instrument.version) != (post.instrument.key, post.instrument.version):
        raise ValueError("pre and post use different instruments")
    changes = skill_changes(pre.instrument, pre.responses, post.responses, seed=seed, n_boot=n_boot)
    paired_keys = {r.respondent for r in pre.responses} & {r.respondent for r in post.responses}
    paired = [r for r in post.responses if r.respondent in paired_keys]
    respondents = {
        "pre": protect_split(_role_counts(pre.responses), policy=policy),
        "post": protect_split(_role_counts(post.responses), policy=policy),
        "paired": protect_split(_role_counts(paired), policy=policy),
    }
    rows: list[SkillRow] = []
    hidden: list[tuple[str, str]] = []
    by_skill: dict[str, dict[str, PairedChange]] = {}
    labels: dict[str, Text] = {}
    for sc in changes:
        by_skill.setdefault(sc.skill, {})[sc.group] = sc.change
        labels[sc.skill] = sc.label
    for skill, per_group in by_skill.items():
        split = protect_split({g: per_group[g].n_pairs for g in ("mentor", "mentee")}, policy=policy)
        gone = set(hidden_groups(split)) | ({"all"} if split.hidden[0][-1] else set())
        for group in ("mentee", "mentor", "all"):
            c = per_group[group]
            if group in gone:
                hidden.append((skill, group))
                continue
            rows.append(
                SkillRow(skill, labels[skill], group, c.n_pairs, c.mean_before, c.mean_after, c.mean_change,
                         c.mean_change_ci, c.p_value, c.p_method, c.p_reason, c.rank_biserial, c.rank_biserial_ci,
                         c.ci_reason)
            )
    return SkillsSection(pre.instrument.key, respondents, tuple(rows), tuple(hidden), n_boot, 0.95)


def _objectives(inp: ReportInput, policy: DisclosurePolicy, seed: int, n_boot: int) -> ObjectivesSection | None:
    if not inp.achievement:
        return None
    with_data = [d for d in inp.achievement if any(v is not None for v in (d.measured, d.mentee_perceived, d.mentor_perceived))]
    n = len(with_data)
    if n < policy.k:
        return ObjectivesSection(n, False, {}, {}, {}, ())
    # A perceived measure given for fewer than k dyads is someone's answer in a small group: withheld
    # everywhere (summary, gaps, correlation, points), as a hidden cell would be.
    hidden = tuple(who for who in ("mentee", "mentor")
                   if 0 < sum(1 for d in with_data if getattr(d, f"{who}_perceived") is not None) < policy.k)
    if hidden:
        with_data = [replace(d, **{f"{who}_perceived": None for who in hidden}) for d in with_data]
    comp: AchievementComparison = achievement_comparison(with_data, seed=seed, n_boot=n_boot)
    points = tuple((d.measured, d.mentee_perceived, d.mentor_perceived) for d in comp.dyads)
    return ObjectivesSection(n, True, comp.summaries, comp.gaps, comp.spearman, points, hidden)


LIKERT_BANDS: dict[int, tuple[tuple[int, ...], ...]] = {
    4: ((1, 2), (3, 4)),
    5: ((1, 2), (3,), (4, 5)),
    7: ((1, 2, 3), (4,), (5, 6, 7)),
}
BAND_NAMES: dict[int, tuple[Text, ...]] = {
    2: (T("En desacuerdo", "Disagree"), T("De acuerdo", "Agree")),
    3: (T("En desacuerdo", "Disagree"), T("Neutral", "Neutral"), T("De acuerdo", "Agree")),
}


def _span(band: tuple[int, ...]) -> str:
    return str(band[0]) if len(band) == 1 else f"{band[0]}–{band[-1]}"


def _interior_hidden(t: ProtectedTable) -> bool:
    rows = len(t.row_labels) - t.has_total_row
    cols = len(t.col_labels) - t.has_total_col
    return any(t.hidden[r][c] for r in range(rows) for c in range(cols))


def _satisfaction(inp: ReportInput, policy: DisclosurePolicy, collapse: bool = True) -> SatisfactionSection | None:
    adm = inp.closing
    if adm is None:
        return None
    ins = adm.instrument
    respondents = protect_split(_role_counts(adm.responses), policy=policy)
    gone = hidden_groups(respondents)
    likert = [i.id for i in ins.items() if i.type is ItemType.LIKERT]
    section_of = {i.id: s for s in ins.sections for i in s.items}
    dists = item_distributions(ins, adm.responses, likert)

    def table_of(dist: Any, bands: Sequence[tuple[int, ...]] | None) -> ProtectedTable:
        audience = ins.item_audience(dist.item_id)
        groups = [g for g in ("mentor", "mentee") if audience.includes(Role(g))]
        counts = [list(dist.counts[g]) for g in groups]
        cols = [c for c, _ in dist.categories]
        if bands is not None:
            counts = [[sum(row[p - 1] for p in band) for band in bands] for row in counts]
            cols = ["-".join(map(str, band)) for band in bands]
        return protect_table(counts, policy=policy, row_labels=groups, col_labels=cols,
                             hide_rows=[i for i, g in enumerate(groups) if g in gone])

    full = {d.item_id: table_of(d, None) for d in dists}
    collapse_sections = {
        section_of[d.item_id].id for d in dists if collapse and _interior_hidden(full[d.item_id])
    }
    items: list[ItemTable] = []
    for d in dists:
        section = section_of[d.item_id]
        if section.id in collapse_sections:
            points = len(d.categories)
            bands = LIKERT_BANDS[points]
            labels = tuple(
                T(f"{name.es} ({_span(b)})", f"{name.en} ({_span(b)})")
                for name, b in zip(BAND_NAMES[len(bands)], bands, strict=True)
            )
            items.append(ItemTable(d.item_id, section.title, d.text, labels, table_of(d, bands), True))
        else:
            items.append(ItemTable(d.item_id, section.title, d.text, tuple(label for _, label in d.categories),
                                   full[d.item_id], False))
    subscales = []
    if ins.subscales:
        ids, scores = score_matrix(ins, [r.answers for r in adm.responses])
        is_mentor = np.array([r.role is Role.MENTOR for r in adm.responses], dtype=bool)
        for s, sid in enumerate(ids):
            col = scores[:, s]
            ns = {"mentor": int((~np.isnan(col[is_mentor])).sum()), "mentee": int((~np.isnan(col[~is_mentor])).sum())}
            split = protect_split(ns, policy=policy)
            hid = set(hidden_groups(split)) | set(gone)
            means: dict[str, float | None] = {}
            for g, mask in (("mentor", is_mentor), ("mentee", ~is_mentor), ("all", np.ones_like(is_mentor))):
                vals = col[mask]
                vals = vals[~np.isnan(vals)]
                hidden_all = g == "all" and split.hidden[0][-1]
                means[g] = None if (g in hid or hidden_all or vals.size == 0) else float(vals.mean())
            subscales.append((sid, ins.subscale(sid).label, means))
    benefits: list[tuple[str, Text, int | None]] = []
    benefits_n = None
    benefits_text = None
    if ins.has_item(inp.benefits_item) and ins.item(inp.benefits_item).type is ItemType.MULTIPLE_CHOICE:
        item = ins.item(inp.benefits_item)
        benefits_text = item.text
        dist = item_distributions(ins, adm.responses, [item.id])[0]
        group = "mentor" if ins.item_audience(item.id) is Audience.MENTORS else "all"
        n = dist.respondents[group]
        hide_all = (group == "mentor" and "mentor" in gone) or policy.small(n)
        benefits_n = None if hide_all else n
        for (value, label), c in zip(dist.categories, dist.counts[group], strict=True):
            if hide_all:
                benefits.append((value, label, None))
                continue
            t = protect_table([[c, n - c]], policy=policy, col_labels=["chose", "not"])
            benefits.append((value, label, t.cell("0", "chose")))
    return SatisfactionSection(ins.key, respondents, tuple(items), tuple(subscales), tuple(benefits), benefits_n,
                               benefits_text)


def _clouds(inp: ReportInput, policy: DisclosurePolicy) -> tuple[Cloud, ...]:
    adm = inp.closing
    if adm is None:
        return ()
    out = []
    for item_id in inp.open_text_items:
        if not adm.instrument.has_item(item_id):
            continue
        texts = [r.answers[item_id] for r in adm.responses if isinstance(r.answers.get(item_id), str)]
        ok = policy.text_publishable(len(texts))
        terms = term_frequencies(texts, min_documents=policy.min_term_documents, top=60) if ok else ()  # type: ignore[arg-type]
        out.append(Cloud(item_id, adm.instrument.item(item_id).text, len(texts), ok, terms))
    return tuple(out)


def _themes(inp: ReportInput, policy: DisclosurePolicy) -> ThemesSection | None:
    if not inp.themes:
        return None
    summary = theme_counts(inp.codings, inp.themes)
    coded = protect_split({g: summary.coded[g] for g in ("mentor", "mentee")}, policy=policy)
    gone = hidden_groups(coded)
    rows = []
    for tc in summary.counts:
        counts = [[tc.responses[g], summary.coded[g] - tc.responses[g]] for g in ("mentor", "mentee")]
        table = protect_table(counts, policy=policy, row_labels=["mentor", "mentee"], col_labels=["mentioned", "not"],
                              hide_rows=[i for i, g in enumerate(("mentor", "mentee")) if g in gone])
        mentioned = {g: table.cell(g, "mentioned") for g in ("mentor", "mentee", "all")}
        rows.append(ThemeRow(tc.theme, mentioned, summary.agreement.get(tc.theme.id)))
    return ThemesSection(coded, tuple(rows), summary.evaluators)


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
    their figures. Only one form of each item is published, so the two can
    never be subtracted from each other."""
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
        themes=_themes(inp, policy),
    )


# ============================================================================= charts

UI: dict[str, dict[str, str]] = {
    "es": {
        "report": "Informe del programa",
        "protection": "Protección de las personas que respondieron: se ocultan los grupos y celdas con menos de {k} respuestas "
                      "(los textos abiertos necesitan {k_text}), y también las celdas que permitirían deducirlos restando de los totales. "
                      "Las celdas ocultas se marcan así: {mark}.",
        "hidden": "oculto",
        "funnel": "Embudo de la convocatoria y capacitación",
        "funnel_chart": "Embudo de la convocatoria",
        "stage": "Etapa", "mentors": "Mentoras", "mentees": "Mentoradas", "all": "Todas", "of_previous": "De la etapa anterior",
        "module": "Módulo", "participants": "Participantes", "completed": "Concluyeron", "rate": "Tasa",
        "training_overall": "Conclusión de la capacitación: {rate}.",
        "matching": "Calidad del emparejamiento",
        "matched": "Mentoradas emparejadas", "substitutes": "Mentoras suplentes", "mean_score": "Puntaje medio de las parejas",
        "min_score": "Puntaje mínimo", "blocking": "Parejas que preferirían otro emparejamiento", "algorithm": "Método",
        "adherence": "Reuniones y retroalimentación",
        "planned": "Reuniones previstas por díada", "held_median": "Reuniones realizadas por díada (mediana)",
        "share_planned": "Reuniones realizadas sobre las previstas", "all_meetings": "Díadas con todas sus reuniones",
        "in_person_median": "Reuniones presenciales por díada (mediana)", "rescheduled": "Reuniones reprogramadas",
        "cancelled": "Reuniones canceladas", "feedback_chart": "Formularios de retroalimentación (plazo: {d} días)",
        "forms_on_time": "Formularios a tiempo", "forms": "Formularios de retroalimentación", "share": "Proporción",
        "retention": "Permanencia y salud de las díadas",
        "started": "Díadas iniciadas", "dyads_completed": "Díadas que concluyeron", "dissolved": "Díadas disueltas",
        "active": "Díadas activas", "at_risk": "Díadas activas en riesgo",
        "completion": "{c} de {s} díadas concluyeron ({rate}).",
        "rapport": "Sintonía (1–5) según reuniones presenciales", "group": "Grupo", "dyads": "Díadas", "mean": "Media",
        "in_person_3plus": "Más de 2 presenciales", "in_person_0to2": "2 o menos presenciales",
        "skills": "Cambio en habilidades (antes y después)",
        "skills_chart": "Cambio por habilidad",
        "skill": "Habilidad", "n_pairs": "Pares", "pre": "Antes", "post": "Después", "change": "Cambio (IC 95 %)",
        "p": "p (Wilcoxon)", "r": "r biserial (IC 95 %)",
        "skills_note": "Prueba de rangos con signo de Wilcoxon (bilateral; diferencias nulas descartadas). Efecto: correlación biserial por rangos "
                       "r = (W+ − W−) / (W+ + W−); intervalos de confianza por bootstrap percentil con {b} remuestras y semilla fija.",
        "respondents": "Respuestas", "paired": "Emparejadas",
        "objectives": "Logro de objetivos: medido y percibido",
        "objectives_chart": "Logro de objetivos por díada",
        "measure": "Medida", "measured": "Medido", "mentee_p": "Percibido (mentorada)", "mentor_p": "Percibido (mentora)",
        "median": "Mediana", "iqr": "Rango intercuartílico",
        "gap": "Diferencia", "gap_mentee": "Mentorada − medido", "gap_mentor": "Mentora − medido", "gap_mm": "Mentorada − mentora",
        "too_few": "Oculto: menos de {k} díadas con datos.",
        "satisfaction": "Satisfacción con el programa",
        "item": "Pregunta", "section": "Sección", "subscale": "Escala", "benefits": "Beneficios señalados por las mentoras",
        "option": "Opción", "chose": "La eligieron",
        "clouds": "Nubes de palabras",
        "responses": "respuestas", "cloud_hidden": "Oculto: menos de {k} respuestas de texto.",
        "term": "Término", "count": "Frecuencia", "documents": "Respuestas",
        "themes": "Temas de las entrevistas",
        "theme": "Tema", "agreement": "Acuerdo entre codificadoras", "coded": "Entrevistas codificadas",
        "no_data": "Sin datos.",
        "generated": "Generado el {d}",
    },
    "en": {
        "report": "Program report",
        "protection": "Protecting respondents: groups and cells with fewer than {k} responses are hidden (open text needs {k_text}), "
                      "and so are the cells that would let anyone work them out by subtracting from the totals. Hidden cells are marked {mark}.",
        "hidden": "hidden",
        "funnel": "Call funnel and training",
        "funnel_chart": "Call funnel",
        "stage": "Stage", "mentors": "Mentors", "mentees": "Mentees", "all": "Everyone", "of_previous": "Of the previous stage",
        "module": "Module", "participants": "Participants", "completed": "Completed", "rate": "Rate",
        "training_overall": "Training completion: {rate}.",
        "matching": "Matching quality",
        "matched": "Mentees matched", "substitutes": "Substitute mentors", "mean_score": "Mean pair score",
        "min_score": "Lowest pair score", "blocking": "Pairs that would rather be matched otherwise", "algorithm": "Method",
        "adherence": "Meetings and feedback",
        "planned": "Meetings planned per dyad", "held_median": "Meetings held per dyad (median)",
        "share_planned": "Meetings held of those planned", "all_meetings": "Dyads that held every meeting",
        "in_person_median": "In-person meetings per dyad (median)", "rescheduled": "Meetings rescheduled",
        "cancelled": "Meetings cancelled", "feedback_chart": "Feedback forms (deadline: {d} days)",
        "forms_on_time": "Forms on time", "forms": "Feedback forms", "share": "Share",
        "retention": "Retention and dyad health",
        "started": "Dyads started", "dyads_completed": "Dyads completed", "dissolved": "Dyads dissolved",
        "active": "Dyads active", "at_risk": "Active dyads at risk",
        "completion": "{c} of {s} dyads completed ({rate}).",
        "rapport": "Rapport (1–5) by in-person meetings", "group": "Group", "dyads": "Dyads", "mean": "Mean",
        "in_person_3plus": "More than 2 in person", "in_person_0to2": "2 or fewer in person",
        "skills": "Skills change (before and after)",
        "skills_chart": "Change per skill",
        "skill": "Skill", "n_pairs": "Pairs", "pre": "Before", "post": "After", "change": "Change (95 % CI)",
        "p": "p (Wilcoxon)", "r": "Rank-biserial r (95 % CI)",
        "skills_note": "Wilcoxon signed-rank test (two-sided; zero differences dropped). Effect size: matched-pairs rank-biserial correlation "
                       "r = (W+ − W−) / (W+ + W−); percentile bootstrap confidence intervals, {b} resamples, fixed seed.",
        "respondents": "Responses", "paired": "Paired",
        "objectives": "Objectives: measured and perceived achievement",
        "objectives_chart": "Achievement of objectives per dyad",
        "measure": "Measure", "measured": "Measured", "mentee_p": "Perceived (mentee)", "mentor_p": "Perceived (mentor)",
        "median": "Median", "iqr": "Interquartile range",
        "gap": "Gap", "gap_mentee": "Mentee − measured", "gap_mentor": "Mentor − measured", "gap_mm": "Mentee − mentor",
        "too_few": "Hidden: fewer than {k} dyads with data.",
        "satisfaction": "Satisfaction with the program",
        "item": "Question", "section": "Section", "subscale": "Scale", "benefits": "Benefits named by mentors",
        "option": "Option", "chose": "Chose it",
        "clouds": "Word clouds",
        "responses": "responses", "cloud_hidden": "Hidden: fewer than {k} text responses.",
        "term": "Term", "count": "Frequency", "documents": "Responses",
        "themes": "Interview themes",
        "theme": "Theme", "agreement": "Agreement between coders", "coded": "Interviews coded",
        "no_data": "No data.",
        "generated": "Generated on {d}",
    },
}


def _u(lang: str, key: str) -> str:
    return UI["en" if lang == "en" else "es"][key]


def report_charts(report: ProgramReport, *, lang: Lang = "es", png: bool = True) -> dict[str, Chart]:
    """Every chart of the report, keyed by name. ``png=False`` skips the PNGs
    (the HTML page embeds the SVGs)."""
    charts: dict[str, Chart] = {}
    k = report.policy.k
    if report.funnel:
        bars = [FunnelBar(f.label.get(lang), f.mentors, f.mentees) for f in report.funnel]
        charts["funnel"] = funnel_chart("funnel", _u(lang, "funnel_chart"), bars, lang=lang, png=png)
    mix = report.adherence.feedback_mix
    if mix:
        colours = (OKABE_ITO["green"], OKABE_ITO["yellow"], OKABE_ITO["orange"], OKABE_ITO["vermillion"],
                   OKABE_ITO["purple"], "#9e9e9e")
        charts["feedback"] = stacked_share_chart(
            "feedback", _u(lang, "feedback_chart").format(d=report.adherence.deadline_days),
            [(label.get(lang), n) for _, label, n in mix], colours, lang=lang, png=png,
        )
    if report.skills and report.skills.rows:
        labels = {r.skill: r.label.get(lang) for r in report.skills.rows}
        skills = list(dict.fromkeys(r.skill for r in report.skills.rows))
        rows = [
            ChangeRow(labels[r.skill], r.group, r.n_pairs, r.mean_change or 0.0, r.mean_change_ci, r.rank_biserial,
                      r.rank_biserial_ci)
            for r in report.skills.rows
            if r.group != "all" and r.mean_change is not None
        ]
        charts["skills"] = skill_change_chart("skills", _u(lang, "skills_chart"), [labels[s] for s in skills], rows,
                                              lang=lang, png=png)
    obj = report.objectives
    if obj and obj.published:
        charts["objectives"] = achievement_chart(
            "objectives", _u(lang, "objectives_chart"), [p[0] for p in obj.points], [p[1] for p in obj.points],
            [p[2] for p in obj.points], lang=lang, png=png,
        )
    sat = report.satisfaction
    if sat:
        by_section: dict[str, list[ItemTable]] = {}
        for it in sat.items:
            by_section.setdefault(it.section.get(lang), []).append(it)
        for n, (section, its) in enumerate(by_section.items()):
            items = []
            for it in its:
                t = it.table
                ncat = len(it.categories)
                rows = []
                for r, g in enumerate(t.row_labels):
                    pub = t.published()[r]
                    rows.append(LikertRow(g, list(pub[:ncat]), pub[ncat] if t.has_total_col else pub[0]))
                items.append(LikertItem(it.text.get(lang), rows))
            scale = [c.get(lang) for c in its[0].categories]
            charts[f"likert_{n}"] = likert_chart(f"likert_{n}", section, items, scale, lang=lang, k=k, png=png)
        if sat.benefits:
            charts["benefits"] = bar_chart("benefits", _u(lang, "benefits"),
                                           [(label.get(lang), c) for _, label, c in sat.benefits], lang=lang, k=k, png=png)
    for i, cloud in enumerate(report.clouds):
        if cloud.published:
            charts[f"cloud_{i}"] = word_cloud_chart(f"cloud_{i}", cloud.text.get(lang),
                                                    [(t.term, t.count) for t in cloud.terms], lang=lang, png=png)
    return charts


# ============================================================================= HTML

CSS = """
:root { --ink:#1d1d1f; --muted:#5f6368; --line:#d9d9de; --band:#f5f5f7; --accent:#0072B2; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; color:var(--ink); background:#fff; }
main { max-width: 980px; margin: 0 auto; padding: 32px 28px 64px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 18px; }
header .kicker { color: var(--accent); font-weight: 600; letter-spacing: .04em; text-transform: uppercase; font-size: 12px; }
h1 { font-size: 28px; margin: 4px 0 2px; }
header p { margin: 2px 0; color: var(--muted); }
h2 { font-size: 20px; margin: 36px 0 10px; padding-top: 10px; border-top: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
nav ol { columns: 2; margin: 8px 0 0; padding-left: 20px; color: var(--muted); }
nav a { color: var(--accent); text-decoration: none; }
.note { background: var(--band); border-left: 4px solid var(--accent); padding: 10px 14px; font-size: 13.5px; margin: 12px 0; }
.muted { color: var(--muted); font-size: 13px; }
figure { margin: 14px 0 18px; }
figure img { width: 100%; height: auto; display: block; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
td:not(:first-child) { white-space: nowrap; }
thead th { background: var(--band); font-weight: 600; }
td.hidden { color: #8a8a8f; font-style: italic; background: repeating-linear-gradient(45deg, #fafafa, #fafafa 4px, #efefef 4px, #efefef 8px); }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; margin: 10px 0 14px; }
.kpi { background: var(--band); border-radius: 8px; padding: 10px 12px; }
.kpi b { display: block; font-size: 22px; }
.kpi span { font-size: 12.5px; color: var(--muted); }
@media print { h2 { break-before: auto; } figure, table { break-inside: avoid; } }
"""


class _Page:
    def __init__(self, report: ProgramReport, charts: Mapping[str, Chart], lang: str) -> None:
        self.r, self.charts, self.lang = report, charts, lang
        self.parts: list[str] = []
        self.mark = f'<span class="muted"><i>{_u(lang, "hidden")}</i></span>'

    def u(self, key: str, **kw: Any) -> str:
        return html.escape(_u(self.lang, key).format(**kw))

    def add(self, s: str) -> None:
        self.parts.append(s)

    def num(self, v: float | int | None, digits: int = 2, pct: bool = False, signed: bool = False) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "–"
        if pct:
            return f"{100 * v:.0f} %"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"

    def cell(self, v: Any, hidden: bool = False, **kw: Any) -> str:
        if hidden:
            return f'<td class="hidden">{self.u("hidden")}</td>'
        return f"<td>{html.escape(v if isinstance(v, str) else self.num(v, **kw))}</td>"

    def table(self, head: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.add("<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead><tbody>")
        for row in rows:
            self.add("<tr>" + "".join(c if c.startswith("<td") else f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
        self.add("</tbody></table>")

    def figure(self, name: str) -> None:
        chart = self.charts.get(name)
        if chart is None:
            return
        data = base64.b64encode(chart.svg).decode("ascii")
        self.add(
            f'<figure><img src="data:image/svg+xml;base64,{data}" alt="{html.escape(chart.alt)}"></figure>'
        )

    def kpis(self, items: Sequence[tuple[str, str]]) -> None:
        self.add('<div class="kpis">' + "".join(f"<div class=kpi><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>"
                                                 for k, v in items) + "</div>")

    def group(self, g: str) -> str:
        return _u(self.lang, {"mentor": "mentors", "mentee": "mentees", "all": "all"}.get(g, g)) if g in ("mentor", "mentee", "all") else g

    def protected(self, t: ProtectedTable, row_names: Mapping[str, str], col_names: Sequence[str], first: str) -> None:
        head = [first, *col_names]
        rows = []
        for r, label in enumerate(t.row_labels):
            cells = [row_names.get(label, label)]
            for c in range(len(t.col_labels)):
                cells.append(self.cell(t.values[r][c] if not t.hidden[r][c] else None, t.hidden[r][c]))
            rows.append(cells)
        self.table(head, rows)


def render_html(report: ProgramReport, charts: Mapping[str, Chart] | None = None, *, lang: Lang = "es") -> str:
    """The self-contained HTML page: charts inline as ``data:`` URIs, CSS inline,
    no script, no external resource."""
    charts = charts if charts is not None else report_charts(report, lang=lang, png=False)
    p = _Page(report, charts, lang)
    r = report
    pol = r.policy
    groups = {"mentor": p.group("mentor"), "mentee": p.group("mentee"), "all": p.group("all"), "n": p.u("respondents")}
    sections = ["funnel", "matching", "adherence", "retention", "skills", "objectives", "satisfaction", "clouds", "themes"]
    p.add(f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
          f'<meta name="viewport" content="width=device-width, initial-scale=1">'
          f"<title>{html.escape(r.program.name)} · {p.u('report')}</title><style>{CSS}</style></head><body><main>")
    p.add(f'<header><div class="kicker">{p.u("report")}</div><h1>{html.escape(r.program.name)}</h1>'
          f"<p>{html.escape(r.program.institution)}{' · ' + html.escape(r.program.period) if r.program.period else ''}</p>"
          + (f"<p>{p.u('generated', d=r.program.generated_on)}</p>" if r.program.generated_on else "") + "</header>")
    p.add('<div class="note">' + html.escape(_u(lang, "protection").format(k=pol.k, k_text=pol.k_text, mark="§"))
          .replace("§", p.mark) + "</div>")
    p.add("<nav><ol>" + "".join(f'<li><a href="#{s}">{p.u(s)}</a></li>' for s in sections) + "</ol></nav>")

    # --- funnel and training
    p.add(f'<h2 id="funnel">{p.u("funnel")}</h2>')
    if r.funnel:
        p.figure("funnel")
        p.table([p.u("stage"), groups["mentor"], groups["mentee"], groups["all"], p.u("of_previous")],
                [[f.label.get(lang), p.num(f.mentors), p.num(f.mentees), p.num(f.total), p.num(f.of_previous, pct=True)]
                 for f in r.funnel])
    if r.training:
        p.table([p.u("module"), p.u("participants"), p.u("completed"), p.u("rate")],
                [[t.title.get(lang), p.num(t.participants), p.num(t.completed), p.num(t.rate, pct=True)] for t in r.training])
        p.add(f'<p>{p.u("training_overall", rate=p.num(r.training_rate, pct=True))}</p>')
    if not r.funnel and not r.training:
        p.add(f'<p class="muted">{p.u("no_data")}</p>')

    # --- matching
    p.add(f'<h2 id="matching">{p.u("matching")}</h2>')
    if r.matching:
        m = r.matching
        s = r.matching_scores
        p.kpis([
            (p.u("matched"), f"{m.matched_mentees:,} / {m.mentees:,}"),
            (p.u("substitutes"), p.num(m.substitutes)),
            (p.u("mean_score"), p.num(s.mean if s else None)),
            (p.u("min_score"), p.num(s.minimum if s else None)),
            (p.u("blocking"), p.num(m.blocking_pairs)),
            (p.u("algorithm"), m.algorithm),
        ])
    else:
        p.add(f'<p class="muted">{p.u("no_data")}</p>')

    # --- adherence
    a = r.adherence
    p.add(f'<h2 id="adherence">{p.u("adherence")}</h2>')
    p.kpis([
        (p.u("planned"), p.num(a.planned_per_dyad)),
        (p.u("held_median"), p.num(a.meetings_held.median, 1)),
        (p.u("share_planned"), p.num(a.share_of_planned, pct=True)),
        (p.u("all_meetings"), p.num(a.dyads_all_meetings)),
        (p.u("in_person_median"), p.num(a.in_person.median, 1)),
        (p.u("rescheduled"), p.num(a.rescheduled)),
        (p.u("forms_on_time"), f"{p.num(a.feedback_on_time)} / {p.num(a.feedback_expected)}" if a.feedback_expected else "–"),
    ])
    p.figure("feedback")
    if a.feedback_mix and a.feedback_expected:
        p.table([p.u("forms"), p.u("count"), p.u("share")],
                [[label.get(lang), p.num(n), p.num(n / a.feedback_expected, pct=True)] for _, label, n in a.feedback_mix])

    # --- retention
    ret = r.retention
    p.add(f'<h2 id="retention">{p.u("retention")}</h2>')
    p.add(f"<p><b>{p.u('completion', c=ret.completed, s=ret.started, rate=p.num(ret.completion_rate, pct=True))}</b></p>")
    p.kpis([(p.u("started"), p.num(ret.started)), (p.u("dyads_completed"), p.num(ret.completed)),
            (p.u("dissolved"), p.num(ret.dissolved)), (p.u("active"), p.num(ret.active)),
            (p.u("at_risk"), p.num(ret.at_risk))])
    if ret.rapport_by_in_person is not None:
        t = ret.rapport_by_in_person
        p.add(f"<h3>{p.u('rapport')}</h3>")
        rows = []
        for g in (*t.col_labels,):
            hid = t.hidden[0][t.col_labels.index(g)]
            name = p.u(g) if g != "all" else groups["all"]
            rows.append([name, p.cell(None, True) if hid else p.cell(t.values[0][t.col_labels.index(g)]),
                         p.cell(ret.rapport_means.get(g), ret.rapport_means.get(g) is None)])
        p.table([p.u("group"), p.u("dyads"), p.u("mean")], rows)

    # --- skills
    p.add(f'<h2 id="skills">{p.u("skills")}</h2>')
    sk = r.skills
    if sk:
        p.figure("skills")
        resp = []
        for name in ("pre", "post", "paired"):
            t = sk.respondents[name]
            resp.append([p.u(name), *(p.cell(t.values[0][i], t.hidden[0][i]) for i in range(len(t.col_labels)))])
        p.table([p.u("respondents"), groups["mentor"], groups["mentee"], groups["all"]], resp)
        rows = []
        for s in sk.rows:
            ci = f" [{s.mean_change_ci[0]:+.2f}, {s.mean_change_ci[1]:+.2f}]" if s.mean_change_ci else ""
            rci = f" [{s.rank_biserial_ci[0]:+.2f}, {s.rank_biserial_ci[1]:+.2f}]" if s.rank_biserial_ci else ""
            pv = ("<0.001" if s.p_value < 0.001 else f"{s.p_value:.3f}") if s.p_value is not None else (s.p_reason or "–")
            rows.append([s.label.get(lang), p.group(s.group), p.num(s.n_pairs), p.num(s.mean_before), p.num(s.mean_after),
                         p.num(s.mean_change, signed=True) + ci, pv, p.num(s.rank_biserial, signed=True) + rci])
        for skill, group in sk.hidden:
            label = next((x.label.get(lang) for x in sk.rows if x.skill == skill), skill)
            rows.append([label, p.group(group), *([p.cell(None, True)] * 6)])
        p.table([p.u("skill"), p.u("group"), p.u("n_pairs"), p.u("pre"), p.u("post"), p.u("change"), p.u("p"), p.u("r")], rows)
        p.add(f'<p class="muted">{p.u("skills_note", b=f"{sk.n_boot:,}")}</p>')
    else:
        p.add(f'<p class="muted">{p.u("no_data")}</p>')

    # --- objectives
    p.add(f'<h2 id="objectives">{p.u("objectives")}</h2>')
    obj = r.objectives
    if obj and obj.published:
        p.figure("objectives")
        rows = []
        for key, name in (("measured", "measured"), ("mentee", "mentee_p"), ("mentor", "mentor_p")):
            s = obj.summaries[key]
            if key in obj.hidden:
                rows.append([p.u(name), *([p.cell(None, True)] * 4)])
                continue
            rows.append([p.u(name), p.num(s.n), p.num(s.mean, 1), p.num(s.median, 1),
                         f"{p.num(s.q1, 1)} – {p.num(s.q3, 1)}" if s.n else "–"])
        p.table([p.u("measure"), "n", p.u("mean"), p.u("median"), p.u("iqr")], rows)
        rows = []
        for key, name in (("mentee_vs_measured", "gap_mentee"), ("mentor_vs_measured", "gap_mentor"), ("mentee_vs_mentor", "gap_mm")):
            g = obj.gaps[key]
            if any(who in obj.hidden for who in key.split("_vs_")):
                rows.append([p.u(name), *([p.cell(None, True)] * 4)])
                continue
            ci = f" [{g.mean_change_ci[0]:+.1f}, {g.mean_change_ci[1]:+.1f}]" if g.mean_change_ci else ""
            pv = ("<0.001" if g.p_value < 0.001 else f"{g.p_value:.3f}") if g.p_value is not None else (g.p_reason or "–")
            rows.append([p.u(name), p.num(g.n_pairs), p.num(g.mean_change, 1, signed=True) + ci, pv,
                         p.num(g.rank_biserial, signed=True)])
        p.table([p.u("gap"), p.u("dyads"), p.u("change"), p.u("p"), "r"], rows)
    elif obj:
        p.add(f'<p class="muted">{p.u("too_few", k=pol.k)}</p>')
    else:
        p.add(f'<p class="muted">{p.u("no_data")}</p>')

    # --- satisfaction
    p.add(f'<h2 id="satisfaction">{p.u("satisfaction")}</h2>')
    sat = r.satisfaction
    if sat:
        p.protected(sat.respondents, {"n": p.u("respondents")}, [groups["mentor"], groups["mentee"], groups["all"]], "")
        if sat.subscales:
            p.table([p.u("subscale"), groups["mentor"], groups["mentee"], groups["all"]],
                    [[label.get(lang), *(p.cell(means[g], means[g] is None) for g in ("mentor", "mentee", "all"))]
                     for _, label, means in sat.subscales])
        for name in sorted(n for n in charts if n.startswith("likert_")):
            p.figure(name)
        for it in sat.items:
            p.add(f"<h3>{html.escape(it.text.get(lang))}</h3>")
            cats = [c.get(lang) for c in it.categories] + ([p.u("all")] if it.table.has_total_col else [])
            p.protected(it.table, groups, cats, p.u("group"))
        if sat.benefits:
            p.add(f"<h3>{p.u('benefits')}</h3>")
            p.figure("benefits")
            p.table([p.u("option"), p.u("chose")],
                    [[label.get(lang), p.cell(c, c is None)] for _, label, c in sat.benefits])
    else:
        p.add(f'<p class="muted">{p.u("no_data")}</p>')

    # --- clouds
    p.add(f'<h2 id="clouds">{p.u("clouds")}</h2>')
    if not r.clouds:
        p.add(f'<p class="muted">{p.u("no_data")}</p>')
    for i, cloud in enumerate(r.clouds):
        p.add(f"<h3>{html.escape(cloud.text.get(lang))} <span class='muted'>({cloud.responses:,} {p.u('responses')})</span></h3>")
        if not cloud.published:
            p.add(f'<p class="muted">{p.u("cloud_hidden", k=pol.k_text)}</p>')
            continue
        p.figure(f"cloud_{i}")
        p.table([p.u("term"), p.u("count"), p.u("documents")],
                [[t.term, p.num(t.count), p.num(t.documents)] for t in cloud.terms[:15]])

    # --- themes
    p.add(f'<h2 id="themes">{p.u("themes")}</h2>')
    th = r.themes
    if th:
        p.protected(th.coded, {"n": p.u("coded")}, [groups["mentor"], groups["mentee"], groups["all"]], "")
        p.table([p.u("theme"), groups["mentor"], groups["mentee"], groups["all"], p.u("agreement")],
                [[tr.theme.label.get(lang), *(p.cell(tr.mentioned[g], tr.mentioned[g] is None) for g in ("mentor", "mentee", "all")),
                  p.num(tr.agreement, pct=True)] for tr in th.rows])
    else:
        p.add(f'<p class="muted">{p.u("no_data")}</p>')

    p.add("</main></body></html>")
    return "".join(p.parts)


def program_report_html(
    inp: ReportInput, *, policy: DisclosurePolicy = DisclosurePolicy(), lang: Lang = "es", seed: int = 0
) -> str:
    """``build_report``, its charts and the page, in one call."""
    report = build_report(inp, policy=policy, seed=seed)
    return render_html(report, report_charts(report, lang=lang, png=False), lang=lang)

