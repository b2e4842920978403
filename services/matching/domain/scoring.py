"""Pair scores: six components in [0, 1], computed for a block of mentees against
every mentor at once with matrix products (no Python loop over pairs).

For mentee ``e`` and mentor ``r`` (``|X|`` is the number of codes in ``X``):

- ``objectives`` = |objectives(e) ∩ expertise(r)| / |objectives(e)|: the share of
  her objectives the mentor has expertise in (0 if she gave none).
- ``availability`` = min(1, overlap / target): ``overlap`` is the number of weekly
  minutes both are free (quarter-hour bitmaps, UTC), ``target`` the settings'
  ``availability_target_minutes`` (60 by default: one weekly meeting).
- ``interests`` = (interests both have) / (interests either has), the Jaccard
  index (0 if neither gave any).
- ``languages`` = 1 if they share at least one language, else 0.
- ``delivery`` = 1 for the same preference, 0.5 when one of them is hybrid,
  0 for virtual against in person.
- ``requests`` (only for a mentee who opted in and asked for something) =
  the larger of: the share of the identity tags she asked for that the mentor
  shares (|asked ∩ tags(r)| / |asked|), and 1 if ``r`` is the mentor she asked for.

The pair score is the weighted mean ``Σ w_c · v_c / Σ w_c``. For a mentee who made
no request, ``requests`` is left out of both sums (neutral: it neither helps nor
hurts any mentor). With every weight at 0 the score is 0.

Every matrix product here counts integers or looks up one-hot codes, so it is
exact in float32: a pair's score is bitwise the same whichever block of mentees
computes it. The solvers rely on this when they score one mentee again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .encode import F32, I64, Problem

COMPONENTS = ("objectives", "availability", "interests", "languages", "delivery", "requests")

# Rows and columns: virtual, in_person, hybrid (one-hot codes, so the lookup is a matrix product).
DELIVERY_TABLE = np.array(
    [
        [1.0, 0.0, 0.5],  # virtual against virtual, in_person, hybrid
        [0.0, 1.0, 0.5],  # in_person
        [0.5, 0.5, 1.0],  # hybrid
    ],
    np.float32,
)


@dataclass(frozen=True)
class Scored:
    """Scores of a block of mentees (rows) against all mentors (columns)."""

    components: dict[str, F32]
    score: F32
    overlap_minutes: F32
    shared_languages: F32


def score_rows(problem: Problem, rows: I64) -> Scored:
    """Every component and the pair score for mentees ``rows`` against every mentor."""
    e, r = problem.mentees, problem.mentors
    settings = problem.settings

    objectives = _share(e.topics[rows], r.topics)
    overlap = e.availability[rows] @ r.availability.T
    availability = np.minimum(overlap / np.float32(settings.availability_target_minutes), np.float32(1.0))
    interests = _jaccard(e.interests[rows], r.interests)
    shared_languages = e.languages[rows] @ r.languages.T
    languages = (shared_languages > 0).astype(np.float32)
    delivery = e.delivery[rows] @ (DELIVERY_TABLE @ r.delivery.T)
    requests = _share(e.identity[rows], r.identity)
    asked = problem.requested[rows]
    hit = np.flatnonzero(asked >= 0)
    requests[hit, asked[hit]] = 1.0
    has_requests = problem.has_requests[rows]
    requests[~has_requests] = 0.0

    components = {
        "objectives": objectives,
        "availability": availability,
        "interests": interests,
        "languages": languages,
        "delivery": delivery,
        "requests": requests,
    }
    return Scored(components, _weighted_mean(problem, components, has_requests), overlap, shared_languages)


def component_weights(problem: Problem, has_requests: bool) -> dict[str, float]:
    """The weight each component carries for a mentee (``requests`` is 0 unless she asked)."""
    weights = {name: float(getattr(problem.settings.weights, name)) for name in COMPONENTS}
    if not has_requests:
        weights["requests"] = 0.0
    return weights


def _weighted_mean(problem: Problem, components: dict[str, F32], has_requests: np.ndarray) -> F32:
    w = problem.settings.weights
    total = np.zeros_like(components["objectives"])
    for name in COMPONENTS[:-1]:
        weight = np.float32(getattr(w, name))
        if weight:
            total += weight * components[name]
    w_requests = np.float32(w.requests)
    total += (w_requests * has_requests.astype(np.float32))[:, None] * components["requests"]
    denominator = np.float32(sum(getattr(w, name) for name in COMPONENTS[:-1])) + w_requests * has_requests.astype(np.float32)
    safe = np.where(denominator > 0, denominator, np.float32(1.0))
    total /= safe[:, None]
    total[denominator == 0] = 0.0
    return total


def _share(mine: F32, theirs: F32) -> F32:
    """|A ∩ B| / |A| for every row pair; 0 where A is empty."""
    inter = mine @ theirs.T
    size = mine.sum(axis=1)
    inter /= np.where(size > 0, size, np.float32(1.0))[:, None]
    return inter


def _jaccard(mine: F32, theirs: F32) -> F32:
    """Jaccard index (shared codes / codes in either) for every row pair; 0 where both are empty."""
    inter = mine @ theirs.T
    union = mine.sum(axis=1)[:, None] + theirs.sum(axis=1)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
