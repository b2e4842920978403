"""Closed and numeric items of an administration in the one form they may be
published in, the same in the report and at ``/items``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from .disclosure import (
    DisclosurePolicy,
    ProtectedTable,
    hidden_groups,
    protect_split,
    protect_table,
)
from .i18n import bilingual
from .instruments import AnswerMatrix, Instrument, ItemType, Role
from .labels import BAND_NAMES
from .report_input import ROLES
from .report_model import ChoiceTable, PublishedItem
from .stats import ItemDistribution, Response, Summary, item_distributions


def role_counts(responses: Sequence[Response], groups: Sequence[str] = ROLES) -> dict[str, int]:
    counts: Counter[str] = Counter(r.role for r in responses)  # Role is a StrEnum: its members are their values
    return {g: counts[g] for g in groups}


LIKERT_BANDS: dict[int, tuple[tuple[int, ...], ...]] = {
    4: ((1, 2), (3, 4)),
    5: ((1, 2), (3,), (4, 5)),
    7: ((1, 2, 3), (4,), (5, 6, 7)),
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
    split = protect_split(role_counts(responses, groups), policy=policy)
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


def whole_groups(published: Mapping[str, PublishedItem], item_ids: Sequence[str], groups: Sequence[str]) -> set[str]:
    """Groups (and "all") whose answers to every one of ``item_ids`` are published whole."""
    out = {g for g in groups if all(i in published and published[i].whole(g) for i in item_ids)}
    if set(groups) <= out and all(published[i].whole("all") for i in item_ids if i in published):
        out.add("all")
    return out
