"""Interview themes as evaluators code them: which themes a response carries (its consensus
coding, or else what every one of its coders names; a sub-theme implies its parent), how many
responses carry each, and agreement between coders per theme (Cohen's kappa, scikit-learn).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .instruments import Role, Text
from .stats import GROUPS


@dataclass(frozen=True)
class Theme:
    """A theme of a codebook; ``parent`` is the theme a sub-theme belongs to."""

    id: str
    label: Text
    parent: str | None = None


@dataclass(frozen=True)
class Quote:
    """A verbatim excerpt cleared for publication: its speaker consented to quotes
    and it is de-identified. Published only under the theme it illustrates and
    only when the speaker's role has at least ``k_text`` coded interviews."""

    theme: str
    role: Role
    text: str


@dataclass(frozen=True)
class ThemeCoding:
    """Themes an evaluator assigned to one response (an interview, an open answer).

    ``units`` optionally gives her codes per coding unit of the response (an
    interview's answers, by question key); ``themes`` is what she attributed to
    the whole response (the union of her units' codes). ``consensus`` marks the
    reconciled coding of a response (written by the lead coder after the
    independent ones): it decides the response's themes and takes no part in
    agreement."""

    response_id: str
    role: Role
    themes: frozenset[str]
    evaluator: str = ""
    units: tuple[tuple[str, frozenset[str]], ...] = ()
    consensus: bool = False


@dataclass(frozen=True)
class ThemeCount:
    theme: Theme
    responses: Mapping[str, int]  # per group: coded responses that carry the theme


@dataclass(frozen=True)
class Agreement:
    """Agreement between coders on one theme: Cohen's kappa (the mean over coder
    pairs when more than two coded), how many pairs gave a defined kappa, the
    units compared (summed over pairs) and the observed share of units on which
    the two coders of a pair agreed (pooled over pairs)."""

    kappa: float | None
    pairs: int
    units: int
    observed: float | None


@dataclass(frozen=True)
class ThemeSummary:
    counts: tuple[ThemeCount, ...]  # in the order of the themes given
    coded: Mapping[str, int]  # per group: responses coded at all
    evaluators: int
    agreement: Mapping[str, float | None] = field(default_factory=dict)  # Cohen's kappa per theme
    agreements: Mapping[str, Agreement] = field(default_factory=dict)


def cohen_kappa(first: Sequence[bool], second: Sequence[bool]) -> float | None:
    """Cohen's kappa of two coders' yes/no marks on the same units (scikit-learn's
    ``cohen_kappa_score``). ``None`` when it is undefined: no unit, or both coders
    gave every unit the same single mark, so that chance agreement is 1."""
    if len(first) != len(second):
        raise ValueError("both coders must mark the same units")
    if not first or len(set(first) | set(second)) < 2:
        return None
    from sklearn.metrics import (
        cohen_kappa_score,  # imported on first use: scikit-learn is slow to import
    )

    return float(cohen_kappa_score(list(first), list(second), labels=[False, True]))


def _closure(codes: frozenset[str], parent: Mapping[str, str | None]) -> frozenset[str]:
    """The codes with the parent theme of each sub-theme."""
    return codes | {p for c in codes if (p := parent.get(c)) is not None}


def carried_themes(codings: Sequence[ThemeCoding], themes: Sequence[Theme]) -> frozenset[str]:
    """The themes one response carries (the rule of :func:`theme_counts`): its consensus coding's, else those
    every evaluator who coded it named; sub-themes bring their parent."""
    parent = {t.id: t.parent for t in themes}
    consensus = [c for c in codings if c.consensus]
    if consensus:
        return _closure(consensus[0].themes, parent)
    independent = [c for c in codings if not c.consensus]
    return frozenset.intersection(*(_closure(c.themes, parent) for c in independent)) if independent else frozenset()


def theme_counts(codings: Sequence[ThemeCoding], themes: Sequence[Theme]) -> ThemeSummary:
    """Responses per theme, per group, and agreement between coders per theme.

    Sub-themes imply their parent: a coding that names a sub-theme carries its
    parent theme too (in counts and in agreement). A theme has at most one
    parent, itself a theme without parent (two levels).

    A response carries a theme when its consensus coding names it; without a
    consensus, when every evaluator who coded it named it (they agreed; a
    response coded by one evaluator carries her themes).

    ``agreement[theme]`` is Cohen's kappa between two evaluators on whether each
    unit carries the theme, over the units both coded: the units of a response
    (an interview's answers) when both coded it unit by unit, else the response
    itself. With more than two evaluators it is the mean of the pairwise kappas
    (over the pairs for which kappa is defined). Kappa is undefined, and
    ``None``, when a pair gave every shared unit the same single mark (neither
    ever used the theme, or both used it everywhere), and without double coding.
    Consensus codings take no part in agreement. ``agreements[theme]`` adds the
    number of pairs, units compared and the observed share of agreement."""
    known = {t.id for t in themes}
    parent = {t.id: t.parent for t in themes}
    for t in themes:
        if t.parent is not None and (t.parent not in known or parent[t.parent] is not None or t.parent == t.id):
            raise ValueError(f"theme {t.id!r}: its parent must be a theme without parent")
    by_response: dict[str, list[ThemeCoding]] = defaultdict(list)
    for c in codings:
        unknown = (c.themes | frozenset().union(*(codes for _, codes in c.units))) - known
        if unknown:
            raise ValueError(f"response {c.response_id!r}: unknown themes {sorted(unknown)}")
        by_response[c.response_id].append(c)
    counts = {t.id: {g: 0 for g in GROUPS} for t in themes}
    coded = {g: 0 for g in GROUPS}
    marks: dict[tuple[str, str], list[tuple[frozenset[str], frozenset[str]]]] = defaultdict(list)
    for rid, cs in by_response.items():
        roles = {c.role for c in cs}
        if len(roles) > 1:
            raise ValueError(f"response {rid!r} is coded with two roles")
        group = next(iter(roles)).value
        coded[group] += 1
        coded["all"] += 1
        consensus = [c for c in cs if c.consensus]
        independent = sorted((c for c in cs if not c.consensus), key=lambda c: c.evaluator)
        if len(consensus) > 1 or len({c.evaluator for c in independent}) < len(independent):
            raise ValueError(f"response {rid!r} is coded twice by one evaluator (or has two consensus codings)")
        for t in carried_themes(cs, themes):
            counts[t][group] += 1
            counts[t]["all"] += 1
        for i, a in enumerate(independent):
            for b in independent[i + 1 :]:
                units_a, units_b = dict(a.units), dict(b.units)
                shared = sorted(units_a.keys() & units_b.keys()) if units_a and units_b else []
                pairs = [(units_a[u], units_b[u]) for u in shared] if shared else [(a.themes, b.themes)]
                marks[(a.evaluator, b.evaluator)].extend((_closure(x, parent), _closure(y, parent)) for x, y in pairs)
    agreements = {}
    for t in themes:
        kappas, units, agreed = [], 0, 0
        for pair_marks in marks.values():
            first = [t.id in x for x, _ in pair_marks]
            second = [t.id in y for _, y in pair_marks]
            units += len(first)
            agreed += sum(x == y for x, y in zip(first, second, strict=True))
            if (k := cohen_kappa(first, second)) is not None:
                kappas.append(k)
        agreements[t.id] = Agreement(
            kappa=float(np.mean(kappas)) if kappas else None, pairs=len(kappas), units=units,
            observed=agreed / units if units else None,
        )
    return ThemeSummary(
        counts=tuple(ThemeCount(t, counts[t.id]) for t in themes),
        coded=coded,
        evaluators=len({c.evaluator for c in codings if not c.consensus}),
        agreement={t: a.kappa for t, a in agreements.items()},
        agreements=agreements,
    )
