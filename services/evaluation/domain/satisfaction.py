"""The satisfaction section: the closing questionnaire's items, and scale means
published only where an exact audit proves they reveal no hidden answer."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from fractions import Fraction

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
)
from .instruments import (
    AnswerMatrix,
    Audience,
    Instrument,
    ItemType,
    Role,
    Text,
    answer_matrix,
    likert_ids,
    score_matrix,
)
from .publish import LIKERT_BANDS, publish_items, whole_groups
from .report_input import ROLES, ReportInput
from .report_model import ItemTable, PublishedItem, SatisfactionSection, Subscale


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
    known: np.ndarray | None = None  # the tables earlier audits found: each audit adds figures to the same tables
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
                audit = audit_figures(tables, [*figures, *candidate], bound=bound, equal_totals=equal, truth=truth,
                                      known=known)
                known = audit.witnesses
                if audit.safe:
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


def satisfaction_section(inp: ReportInput, policy: DisclosurePolicy, collapse: bool = True) -> SatisfactionSection | None:
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
            whole = whole_groups(by_id, sub.items, ROLES)
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
