"""The program report's figures: from a :class:`.report_input.ReportInput`, every
figure computed and protected, then one self-contained HTML page (and the same
page as an A4 PDF) a funder can open offline.

Three steps, so the service can time, cache and serve each:

``build_report(ReportInput, policy=...) -> ProgramReport``
    every figure (here; the items in :mod:`.publish`, the satisfaction section in
    :mod:`.satisfaction`), with respondent answers protected by :mod:`.disclosure`;
    a :class:`.report_model.ProgramReport` holds only publishable values
    (``to_dict`` for JSON, ``tidy_rows`` for a tidy CSV). The words of the
    figures are in :mod:`.labels`.
``report_charts(report, lang=...) -> dict[str, Chart]``
    the charts (SVG, PNG on request).
``render_html(report, charts, lang=...) -> str`` / ``render_pdf(...) -> bytes``
    the page (:mod:`.page`): a Jinja2 template, words from the gettext catalogs
    (:mod:`.i18n`), every chart embedded as a ``data:`` URI, no external resource.

What is protected. Answers to instruments (Likert counts, choices, scores,
perceived achievement, rapport ratings, open text, interview themes and quotes)
follow the policy: cells of 1 to k - 1 respondents are hidden, with whatever
would let a reader work them out (:mod:`.disclosure`). Every table of answers
is made by one function (:func:`.publish.publish_items`) whether it appears in the
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

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from .disclosure import DisclosurePolicy, hidden_groups, protect_split, protect_table
from .i18n import bilingual
from .instruments import Text, answer_matrix, likert_ids
from .labels import FEEDBACK_BUCKETS, NOT_SUBMITTED, STAGE_LABELS
from .publish import item_groups, publish_items, role_counts, whole_groups
from .report_input import ROLES, DyadStatus, FunnelStage, ReportInput
from .report_model import (
    Adherence,
    Cloud,
    FunnelRow,
    ObjectivesSection,
    ProgramReport,
    Retention,
    SkillRow,
    SkillsSection,
    ThemeRow,
    ThemesSection,
    TrainingRow,
)
from .satisfaction import satisfaction_section
from .stats import (
    AchievementComparison,
    PairedChange,
    achievement_comparison,
    skill_changes,
    summarise,
)
from .terms import TermCount, term_frequencies
from .themes import Theme, theme_counts

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
        "pre": protect_split(role_counts(pre.responses), policy=policy),
        "post": protect_split(role_counts(post.responses), policy=policy),
        "paired": protect_split(role_counts(paired), policy=policy),
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
        whole = whole_groups(published_pre, items, ROLES) & whole_groups(published_post, items, ROLES)
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
        satisfaction=satisfaction_section(inp, policy, collapse_likert),
        clouds=_clouds(inp, policy),
        themes=themes_section(inp, policy),
    )
