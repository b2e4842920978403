"""The report's charts and its page: HTML (Jinja2) and the same page as an A4 PDF (WeasyPrint).

Every word comes from the gettext catalogs (:mod:`.i18n`): the template calls
``_("...")`` and this module marks its labels with ``N_``. Instrument texts
(items, sections, options) come bilingual from the instruments themselves.
Numbers and dates are formatted here, dates with Babel in the page's language.

The page is one file: CSS inline, charts as ``data:`` SVG, no script, no
external resource. The PDF is that page with the print rules of the same CSS
(A4, margins, page numbers); tables wrap their cells and repeat their header on
a new page, long labels wrap, and no table or chart is wider than the page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .chart_layout import clear_measures
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
)
from .cloud import word_cloud_chart
from .disclosure import DisclosurePolicy
from .i18n import N_, Words
from .instruments import Lang
from .publish import LIKERT_BANDS
from .report import build_report
from .report_model import ProgramReport
from .stats import MIN_NONZERO

TEMPLATES = Path(__file__).resolve().parent / "templates"

GROUP_NAMES = {"mentor": N_("Mentors"), "mentee": N_("Mentees"), "all": N_("Everyone")}
SINGLE_GROUP = {"mentor": N_("Mentor"), "mentee": N_("Mentee"), "all": N_("Everyone")}
ALGORITHMS = {"optimal": N_("optimal (the highest total score)"), "stable": N_("stable (no pair would rather swap)")}
P_METHODS = {"exact": N_("exact"), "exact_ties": N_("exact, with tied ranks"), "normal": N_("normal approximation")}
REASONS = {
    "no_pairs": N_("no one answered both times"),
    "no_change": N_("nobody changed: there is no change to test"),
    "too_few_nonzero": N_("only {n} changed; the test needs {m}"),
}
RAPPORT_GROUPS = {"in_person_3plus": N_("More than 2 in person"), "in_person_0to2": N_("2 or fewer in person"),
                  "all": N_("All rated dyads")}
PERCEIVED_SOURCES = {
    "assessments": N_("Perceived achievement: each member's own assessment of her dyad's objectives, given in the "
                      "sessions at the end of the mentoring."),
    "survey": N_("Perceived achievement: the answers to the perceived-achievement questionnaires (this program "
                 "did not assess its objectives in the sessions)."),
}
SECTIONS = (
    ("funnel", N_("Call funnel and training")),
    ("matching", N_("Matching quality")),
    ("adherence", N_("Meetings and feedback")),
    ("retention", N_("Retention, dyad health and rapport")),
    ("objectives", N_("Objectives: measured and perceived achievement")),
    ("skills", N_("Skills change (before and after)")),
    ("satisfaction", N_("Satisfaction with the program")),
    ("clouds", N_("Open answers")),
    ("themes", N_("Interview themes")),
)


# ============================================================================= charts


class _Memo:
    """A small in-process LRU of rendered charts and PDFs, keyed by a digest of the report's published
    figures (``to_dict``) and the language: the same report is drawn once, whoever asks again (the HTML
    page, a chart, the PDF). Only published values enter the key and the cache."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key: tuple[Any, ...], value: Any) -> Any:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


_CHARTS = _Memo()
_PDFS = _Memo(8)


def clear_caches() -> None:
    """Forget every drawn chart and PDF, and the measured sizes of chart texts (benchmarks measure a
    first drawing with it)."""
    for memo in (_CHARTS, _PDFS):
        with memo.lock:
            memo.items.clear()
    clear_measures()


def report_digest(report: ProgramReport) -> str:
    return hashlib.sha256(json.dumps(report.to_dict(), sort_keys=True, default=str).encode()).hexdigest()


def report_charts(report: ProgramReport, *, lang: Lang = "es", png: bool = True) -> dict[str, Chart]:
    """Every chart of the report, keyed by name. ``png=False`` skips the PNGs
    (the HTML page and the PDF embed the SVGs). Drawn once per report and language (:class:`_Memo`)."""
    key = ("charts", report_digest(report), lang, png)
    cached = _CHARTS.get(key)
    if cached is None and not png:
        cached = _CHARTS.get(("charts", key[1], lang, True))
    if cached is not None:
        return dict(cached)
    return dict(_CHARTS.put(key, _draw_charts(report, lang=lang, png=png)))


def _draw_charts(report: ProgramReport, *, lang: Lang = "es", png: bool = True) -> dict[str, Chart]:
    w = Words(lang)
    charts: dict[str, Chart] = {}
    k = report.policy.k
    if report.funnel:
        bars = [FunnelBar(f.label.get(lang), f.mentors, f.mentees) for f in report.funnel]
        charts["funnel"] = funnel_chart("funnel", w("Call funnel"), bars, lang=lang, png=png)
    mix = report.adherence.feedback_mix
    if mix and sum(n for _, _, n in mix):
        colours = (OKABE_ITO["green"], OKABE_ITO["yellow"], OKABE_ITO["orange"], OKABE_ITO["vermillion"],
                   OKABE_ITO["purple"], "#9e9e9e")
        charts["feedback"] = stacked_share_chart(
            "feedback", w("Feedback forms (deadline: {d} days)", d=report.adherence.deadline_days),
            [(label.get(lang), n) for _, label, n in mix], colours, lang=lang, png=png,
        )
    if report.skills and report.skills.rows:
        labels = {r.skill: r.label.get(lang) for r in report.skills.rows}
        skills = list(dict.fromkeys(r.skill for r in report.skills.rows))
        rows = [
            ChangeRow(labels[r.skill], r.group, r.n_pairs, r.mean_change, r.mean_change_ci, r.rank_biserial,
                      r.rank_biserial_ci)
            for r in report.skills.rows
            if r.group != "all" and (r.mean_change is not None or r.rank_biserial is not None)
        ]
        if rows:
            charts["skills"] = skill_change_chart("skills", w("Change per skill"), [labels[s] for s in skills], rows,
                                                  lang=lang, png=png)
    obj = report.objectives
    if obj and obj.published:
        charts["objectives"] = achievement_chart(
            "objectives", w("Achievement of objectives per dyad"), [p[0] for p in obj.points], [p[2] for p in obj.points],
            [p[3] for p in obj.points], self_reported=[p[1] for p in obj.points], lang=lang, png=png,
        )
    sat = report.satisfaction
    if sat:
        by_section: dict[str, list[Any]] = {}
        for it in sat.items:
            by_section.setdefault(it.section.get(lang), []).append(it)
        for n, (section, its) in enumerate(by_section.items()):
            items = []
            for it in its:
                t = it.table
                ncat = len(it.categories)
                rows_: list[LikertRow] = []
                for r, g in enumerate(t.row_labels):
                    pub = t.published()[r]
                    rows_.append(LikertRow(g, list(pub[:ncat]), pub[ncat] if t.has_total_col else pub[0]))
                items.append(LikertItem(it.text.get(lang), rows_))
            scale = [c.get(lang) for c in its[0].categories]
            charts[f"likert_{n}"] = likert_chart(f"likert_{n}", section, items, scale, lang=lang, k=k, png=png)
        if sat.benefits and any(c is not None for _, _, c in sat.benefits):
            charts["benefits"] = bar_chart("benefits", w("Benefits named by mentors"),
                                           [(label.get(lang), c) for _, label, c in sat.benefits], lang=lang, k=k, png=png)
    for i, cloud in enumerate(report.clouds):
        if cloud.published and cloud.terms:
            charts[f"cloud_{i}"] = word_cloud_chart(f"cloud_{i}", cloud.text.get(lang),
                                                    [(t.term, t.count) for t in cloud.terms], lang=lang, png=png)
    return charts


# ============================================================================= the page


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, hidden or not, and an optional second line (an interval)."""

    text: str
    hidden: bool = False
    sub: str = ""
    left: bool = False


class Formatter:
    def __init__(self, lang: str) -> None:
        self.lang = "en" if lang == "en" else "es"
        self.w = Words(self.lang)

    def num(self, v: float | int | None, digits: int = 2, *, pct: bool = False, signed: bool = False) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "–"
        if pct:
            return f"{100 * v:.0f} %"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"

    def ci(self, ci: tuple[float, float] | None, digits: int = 2) -> str:
        return f"[{ci[0]:+.{digits}f}, {ci[1]:+.{digits}f}]" if ci else ""

    def cell(self, v: Any, hidden: bool = False, **kw: Any) -> Cell:
        if hidden:
            return Cell(self.w("hidden"), True)
        return Cell(v if isinstance(v, str) else self.num(v, **kw))

    def date(self, d: Any) -> str:
        return format_date(d, format="long", locale=self.lang) if d else ""

    def group(self, g: str) -> str:
        return self.w(GROUP_NAMES[g]) if g in GROUP_NAMES else g

    def p_value(self, p: float | None, reason: str | None, n_nonzero: int | None = None) -> Cell:
        if p is not None:
            return Cell("<0.001" if p < 0.001 else f"{p:.3f}")
        return Cell(self.reason(reason, n_nonzero), left=True) if reason else Cell("–")

    def reason(self, code: str | None, n_nonzero: int | None = None) -> str:
        if code is None:
            return ""
        return self.w(REASONS.get(code, code), n=n_nonzero if n_nonzero is not None else 0, m=MIN_NONZERO)


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _protected_rows(f: Formatter, t: Any, names: Mapping[str, str]) -> list[list[Cell]]:
    rows = []
    for r, label in enumerate(t.row_labels):
        cells = [Cell(names.get(label, label), left=True)]
        for c in range(len(t.col_labels)):
            cells.append(f.cell(None if t.hidden[r][c] else t.values[r][c], t.hidden[r][c]))
        rows.append(cells)
    return rows


def _figure(charts: Mapping[str, Chart], name: str) -> dict[str, str] | None:
    chart = charts.get(name)
    if chart is None:
        return None
    return {"src": "data:image/svg+xml;base64," + base64.b64encode(chart.svg).decode("ascii"), "alt": chart.alt,
            "name": name}


def page_context(report: ProgramReport, charts: Mapping[str, Chart], lang: str) -> dict[str, Any]:
    """What the template shows, formatted: strings and cells, no logic left to the template
    beyond loops and "is there anything to show"."""
    f = Formatter(lang)
    w = f.w
    r = report
    pol = r.policy
    groups = {g: f.group(g) for g in ("mentor", "mentee", "all")}
    ctx: dict[str, Any] = {"lang": f.lang, "_": w, "k": pol.k, "k_text": pol.k_text}
    period = r.program.period
    ctx["header"] = {
        "name": r.program.name,
        "institution": r.program.institution,
        "period": w("{start} to {end}", start=f.date(period[0]), end=f.date(period[1])) if period else "",
        "generated": f.date(r.program.generated_on),
    }
    ctx["sections"] = [(key, w(title)) for key, title in SECTIONS]
    fig = lambda name: _figure(charts, name)  # noqa: E731
    ctx["fig"] = fig

    # --- funnel and training
    ctx["funnel"] = [[Cell(x.label.get(lang), left=True), Cell(f.num(x.mentors)), Cell(f.num(x.mentees)),
                      Cell(f.num(x.total)), Cell(f.num(x.of_previous, pct=True))] for x in r.funnel]
    ctx["training"] = [[Cell(t.title.get(lang), left=True), Cell(f.num(t.participants)), Cell(f.num(t.completed)),
                        Cell(f.num(t.rate, pct=True))] for t in r.training]
    ctx["training_rate"] = f.num(r.training_rate, pct=True)

    # --- matching
    m, s = r.matching, r.matching_scores
    ctx["matching"] = None if m is None else [
        (w("Mentees matched"), f"{m.matched_mentees:,} / {m.mentees:,}"),
        (w("Substitute mentors"), f.num(m.substitutes)),
        (w("Mean pair score"), f.num(s.mean if s else None)),
        (w("Lowest pair score"), f.num(s.minimum if s else None)),
        (w("Pairs that would rather be matched otherwise"), f.num(m.blocking_pairs)),
        (w("Method"), w(ALGORITHMS[m.algorithm]) if m.algorithm in ALGORITHMS else m.algorithm),
    ]

    # --- adherence
    a = r.adherence
    ctx["adherence"] = {
        "kpis": [
            (w("Meetings held of those planned to date"),
             f"{f.num(a.held)} / {f.num(a.planned_to_date)}" if a.planned_to_date is not None else "–"),
            (w("Share held"), f.num(a.share_of_planned, pct=True)),
            (w("Meetings held per dyad (median)"), f.num(a.meetings_held.median, 1)),
            (w("Dyads that held every planned meeting"), f.num(a.dyads_all_meetings)),
            (w("In-person meetings per dyad (median)"), f.num(a.in_person.median, 1)),
            (w("Meetings rescheduled"), f.num(a.rescheduled)),
            (w("Meetings cancelled"), f.num(a.cancelled)),
            (w("Forms on time"), f"{f.num(a.feedback_on_time)} / {f.num(a.feedback_expected)}" if a.feedback_expected else "–"),
        ],
        "definition": w("Planned to date: the meetings whose planned start had passed on {d}, as the sessions service "
                        "counts them; {n} meetings were planned per dyad.",
                        d=f.date(a.as_of) or "–", n=f.num(a.planned_per_dyad)) if a.planned_to_date is not None else "",
        "mix": [[Cell(label.get(lang), left=True), Cell(f.num(n)), Cell(f.num(n / a.feedback_expected, pct=True))]
                for _, label, n in a.feedback_mix] if a.feedback_mix and a.feedback_expected else [],
    }

    # --- retention and rapport
    ret = r.retention
    rapport = None
    if ret.rapport_by_in_person is not None:
        t = ret.rapport_by_in_person
        rows = []
        for c, g in enumerate(t.col_labels):
            hid = t.hidden[0][c]
            mean = ret.rapport_means.get(g)
            rows.append([Cell(w(RAPPORT_GROUPS[g]), left=True), f.cell(None if hid else t.values[0][c], hid),
                         f.cell(mean, mean is None)])
        rapport = {"rows": rows}
    ctx["retention"] = {
        "completion": w("{c} of {s} dyads completed ({rate}).", c=ret.completed, s=ret.started,
                        rate=f.num(ret.completion_rate, pct=True)),
        "kpis": [(w("Dyads started"), f.num(ret.started)), (w("Dyads completed"), f.num(ret.completed)),
                 (w("Dyads dissolved"), f.num(ret.dissolved)), (w("Dyads active"), f.num(ret.active)),
                 (w("Active dyads at risk"), f.num(ret.at_risk))],
        "rapport": rapport,
        "rapport_dyads": ret.rapport_dyads,
    }

    # --- objectives
    obj = r.objectives
    objectives: dict[str, Any] | None = None
    if obj is not None and obj.published:
        names = {"measured": w("Measured: verified milestones"), "self_reported": w("Self-reported progress"),
                 "mentee": w("Perceived by the mentee"), "mentor": w("Perceived by the mentor")}
        summary = []
        for key in ("measured", "self_reported", "mentee", "mentor"):
            sm = obj.summaries.get(key)
            if key in obj.hidden or sm is None:
                summary.append([Cell(names[key], left=True), *([f.cell(None, True)] * 4)])
                continue
            summary.append([Cell(names[key], left=True), Cell(f.num(sm.n)), Cell(f.num(sm.mean, 1)), Cell(f.num(sm.median, 1)),
                            Cell(f"{f.num(sm.q1, 1)} – {f.num(sm.q3, 1)}" if sm.n else "–")])
        gaps = []
        for key, name in (("mentee_vs_mentor", w("Mentee − mentor (perception gap)")),
                          ("mentee_vs_measured", w("Mentee − measured")), ("mentor_vs_measured", w("Mentor − measured"))):
            g = obj.gaps[key]
            if any(who in obj.hidden for who in key.split("_vs_")):
                gaps.append([Cell(name, left=True), *([f.cell(None, True)] * 3)])
                continue
            gaps.append([Cell(name, left=True), Cell(f.num(g.n_pairs)),
                         Cell(f.num(g.mean_change, 1, signed=True), sub=f.ci(g.mean_change_ci, 1) or f.reason(g.ci_reason, g.n_nonzero)),
                         f.p_value(g.p_value, g.p_reason, g.n_nonzero)])
        dyads = []
        for i, (meas, selfr, mentee, mentor) in enumerate(obj.points, start=1):
            dyads.append([Cell(str(i), left=True), Cell(f.num(meas, 0)), Cell(f.num(selfr, 0)),
                          f.cell(mentee, "mentee" in obj.hidden, digits=0), f.cell(mentor, "mentor" in obj.hidden, digits=0)])
        objectives = {"summary": summary, "gaps": gaps, "dyads": dyads,
                      "source": w(PERCEIVED_SOURCES.get(obj.perceived_source, PERCEIVED_SOURCES["assessments"])),
                      "hidden": [w("Perceived by the {who} is withheld: fewer than {k} dyads gave it.",
                                   who=w(SINGLE_GROUP[h]).lower(), k=pol.k) for h in obj.hidden]}
    ctx["objectives"] = objectives
    ctx["objectives_empty"] = (
        "" if objectives else
        w("No dyad has objectives with data yet.") if obj is None else
        w("Fewer than {k} dyads have objectives with data ({n}): nothing is shown.", k=pol.k, n=obj.dyads)
    )

    # --- skills
    sk = r.skills
    skills = None
    if sk:
        resp = []
        for name, label in (("pre", w("Before")), ("post", w("After")), ("paired", w("Both times"))):
            t = sk.respondents[name]
            resp.append([Cell(label, left=True), *(f.cell(t.values[0][i], t.hidden[0][i]) for i in range(len(t.col_labels)))])
        rows = []
        labels = {x.skill: x.label.get(lang) for x in sk.rows}
        for x in sk.rows:
            change = (Cell(f.num(x.mean_change, signed=True), sub=f.ci(x.mean_change_ci))
                      if not x.means_withheld else Cell(w("withheld"), True))
            effect = (Cell(f.num(x.rank_biserial, signed=True),
                           sub=f.ci(x.rank_biserial_ci) or f.reason(x.ci_reason, x.n_nonzero))
                      if x.rank_biserial is not None else Cell(f.reason(x.p_reason, x.n_nonzero) or "–", left=True))
            rows.append([Cell(x.label.get(lang), left=True), Cell(f.group(x.group), left=True), Cell(f.num(x.n_pairs)),
                         f.cell(x.mean_before, x.means_withheld), f.cell(x.mean_after, x.means_withheld), change,
                         effect, f.p_value(x.p_value, x.p_reason, x.n_nonzero)])
        for skill, group in sk.hidden:
            rows.append([Cell(labels.get(skill, skill), left=True), Cell(f.group(group), left=True),
                         *([f.cell(None, True)] * 6)])
        methods = sorted({x.p_method for x in sk.rows if x.p_method})
        skills = {"respondents": resp, "rows": rows, "n_boot": f"{sk.n_boot:,}",
                  "methods": ", ".join(w(P_METHODS.get(mm, mm)) for mm in methods),
                  "withheld": any(x.means_withheld for x in sk.rows)}
    ctx["skills"] = skills

    # --- satisfaction
    sat = r.satisfaction
    satisfaction = None
    if sat:
        items = []
        for it in sat.items:
            cats = [c.get(lang) for c in it.categories] + ([w("All")] if it.table.has_total_col else [])
            items.append({"text": it.text.get(lang), "head": [w("Group"), *cats],
                          "rows": _protected_rows(f, it.table, groups), "collapsed": it.collapsed})
        subscales = [[Cell(sub.label.get(lang), left=True),
                      # A mean is printed at the decimals it was proven safe at (the audit of satisfaction.satisfaction_section).
                      *(f.cell(sub.means[g], sub.means[g] is None,
                               digits=2 if sub.decimals.get(g) is None else sub.decimals[g]) for g in ("mentor", "mentee", "all")),
                      *(f.cell(sub.agree[g], sub.agree[g] is None, pct=True) for g in ("mentor", "mentee", "all"))]
                     for sub in sat.subscales]
        likert = [fig(n) for n in sorted((n for n in charts if n.startswith("likert_")), key=lambda x: int(x.split("_")[1]))]
        points = sat.points
        agree_band = LIKERT_BANDS.get(points, ((points,),))[-1]
        satisfaction = {
            "points": points,
            "agree_band": f"{agree_band[0]}–{agree_band[-1]}" if len(agree_band) > 1 else str(agree_band[0]),
            "respondents": _protected_rows(f, sat.respondents, {"n": w("Responses")}),
            "subscales": subscales,
            "withheld": any(sub.withheld for sub in sat.subscales),
            "rounded": any(d is not None for sub in sat.subscales for d in sub.decimals.values()),
            "likert": [x for x in likert if x],
            "items": items,
            "collapsed": any(it.collapsed for it in sat.items),
            "benefits": [[Cell(label.get(lang), left=True), f.cell(c, c is None)] for _, label, c in sat.benefits],
            "benefits_n": f.num(sat.benefits_respondents),
        }
    ctx["satisfaction"] = satisfaction

    # --- open answers
    clouds = []
    for i, cloud in enumerate(r.clouds):
        counts = ", ".join(f"{f.group(g)}: {n:,}" for g, n in cloud.responses.items())
        entry: dict[str, Any] = {"title": cloud.text.get(lang), "counts": counts, "figure": fig(f"cloud_{i}"),
                                 "terms": [], "note": ""}
        if not cloud.published:
            entry["note"] = w("Not shown: no role gave at least {k} answers.", k=pol.k_text)
        else:
            left_out = [f.group(g) for g in cloud.responses if g not in cloud.roles and cloud.responses[g]]
            if left_out:
                entry["note"] = w("Only the answers of the roles with at least {k} of them are used; left out: {who}.",
                                  k=pol.k_text, who=", ".join(left_out))
            entry["terms"] = [[Cell(t.term, left=True), Cell(f.num(t.count)), Cell(f.num(t.documents))] for t in cloud.terms[:15]]
            if not cloud.terms:
                entry["note"] = w("No word was used in at least {m} answers.", m=pol.min_term_documents)
        clouds.append(entry)
    ctx["clouds"] = clouds

    # --- themes
    th = r.themes
    themes = None
    if th and (th.coded.values[0][-1] > 0):
        rows = []
        parents = {tr.theme.id for tr in th.rows if tr.theme.parent is None}
        for tr in th.rows:
            sub = tr.theme.parent is not None and tr.theme.parent in parents
            rows.append({"sub": sub, "cells": [
                Cell(tr.theme.label.get(lang), left=True),
                *(f.cell(tr.mentioned[g], tr.mentioned[g] is None) for g in ("mentor", "mentee", "all")),
                Cell(f.num(tr.agreement, 2)),
            ]})
        quotes: dict[str, list[dict[str, str]]] = {}
        for q in th.quotes:
            quotes.setdefault(q.theme, []).append({"text": q.text, "role": w(SINGLE_GROUP[q.role.value])})
        labels = {tr.theme.id: tr.theme.label.get(lang) for tr in th.rows}
        themes = {
            "coded": _protected_rows(f, th.coded, {"n": w("Interviews coded")}),
            "rows": rows,
            "evaluators": th.evaluators,
            "quotes": [{"theme": labels.get(t, t), "items": qs} for t, qs in quotes.items()],
            "quote_note": w("Quotes are shown only from roles with at least {k} coded interviews, with the speaker's "
                            "consent.", k=pol.k_text),
        }
    ctx["themes"] = themes
    ctx["themes_empty"] = w("No interview was coded.") if th is None or not themes else ""
    return ctx


def render_html(report: ProgramReport, charts: Mapping[str, Chart] | None = None, *, lang: Lang = "es",
                print_css: bool = False) -> str:
    """The self-contained HTML page: charts inline as ``data:`` URIs, CSS inline,
    no script, no external resource."""
    charts = charts if charts is not None else report_charts(report, lang=lang, png=False)
    ctx = page_context(report, charts, lang)
    ctx["print"] = print_css
    return _environment().get_template("report.html.j2").render(**ctx)


def render_pdf(report: ProgramReport, charts: Mapping[str, Chart] | None = None, *, lang: Lang = "es") -> bytes:
    """The same page as an A4 PDF (WeasyPrint), for funders."""
    from weasyprint import HTML

    key = ("pdf", report_digest(report), lang)
    cached = _PDFS.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    page = render_html(report, charts, lang=lang, print_css=True)
    return _PDFS.put(key, HTML(string=page).write_pdf())  # type: ignore[no-any-return]


def program_report_html(inp: Any, *, policy: Any = None, lang: Lang = "es", seed: int = 0) -> str:
    """``build_report``, its charts and the page, in one call."""
    report = build_report(inp, policy=policy or DisclosurePolicy(), seed=seed)
    return render_html(report, report_charts(report, lang=lang, png=False), lang=lang)

