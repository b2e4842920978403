"""Validate a cohort and encode it as NumPy arrays: the problem every other module reads.

People are put in canonical order (sorted by id) so that the result never
depends on the order of the input. Set-valued answers become 0/1 incidence
matrices over a vocabulary built from the cohort (sorted codes), so that
"how many codes do these two people share" is a matrix product.

Availability becomes a weekly bitmap of 7 x 96 quarter hours per person. Runs of
adjacent quarter hours that no one in the cohort tells apart are merged into one
column carrying their length in minutes (an exact compression: the overlap in
minutes is unchanged), and columns where nobody is available are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.matching.enums import Delivery, Mode

from .model import Cohort, CohortError, Mentee, Mentor, Profile, Settings

F32 = NDArray[np.float32]
I32 = NDArray[np.int32]
I64 = NDArray[np.int64]

QUARTERS_PER_DAY = 96
WEEK_QUARTERS = 7 * QUARTERS_PER_DAY
DELIVERY_CODES = {Delivery.virtual: 0, Delivery.in_person: 1, Delivery.hybrid: 2}


@dataclass(frozen=True)
class Side:
    """One side of the cohort (mentees or mentors), row i = the i-th person by id."""

    ids: tuple[str, ...]
    campus: I32
    unit: I32
    stage: I32
    """Career stage code, -1 when not given."""
    topics: F32
    """(n, T) incidence: a mentee's objectives, or a mentor's expertise."""
    interests: F32
    languages: F32
    availability: F32
    """(n, Q): mentees hold the minutes of each merged run they are free in, mentors 0/1."""
    delivery: F32
    """(n, 3) one-hot delivery preference: virtual, in_person, hybrid."""
    identity: F32
    """(n, D): a mentee's identity_match request, or a mentor's consented identity tags."""


@dataclass(frozen=True)
class Problem:
    """A validated, encoded cohort with its settings."""

    settings: Settings
    mentees: Side
    mentors: Side
    mentee_people: tuple[Mentee, ...]
    mentor_people: tuple[Mentor, ...]
    labels: Mapping[str, str]
    mentee_index: Mapping[str, int]
    mentor_index: Mapping[str, int]
    requested: I32
    """(n,) index of the mentor an opted-in mentee asked for, or -1."""
    has_requests: NDArray[np.bool_]
    """(n,) the mentee opted in and asked for an identity match or for a mentor of this cohort."""
    forbidden: I64
    """(f, 2) [mentee, mentor] pairs forbidden by the coordinator."""
    avoid: I64
    """(a, 2) [mentee, mentor] pairs from opted-in mentees' avoid lists."""
    pinned: I32
    """(n,) mentor a mentee is pinned to, or -1."""
    capacity: I64
    """(m,) how many mentees each mentor may take."""
    residual: I64
    """(m,) capacity left once the pinned pairs are placed."""

    @property
    def peer_mode(self) -> bool:
        return self.settings.mode == Mode.peer


def build_problem(cohort: Cohort, settings: Settings) -> Problem:
    """Validate ``cohort`` and ``settings`` and encode them; raise ``CohortError`` on contradictions."""
    _check_settings(settings)
    mentees = tuple(sorted(cohort.mentees, key=lambda p: p.id))
    mentors = tuple(sorted(cohort.mentors, key=lambda p: p.id))
    mentee_index = _index(mentees, "mentee")
    mentor_index = _index(mentors, "mentor")
    for mentor in mentors:
        if mentor.capacity < 0:
            raise CohortError(f"mentor {mentor.id}: capacity must be >= 0")

    people: tuple[Profile, ...] = mentees + mentors
    mentee_side, mentor_side = _encode_sides(mentees, mentors, people)

    rules = settings.rules
    forbidden = _pair_indices(rules.forbidden_pairs, mentee_index, mentor_index, "forbidden_pairs")
    avoid = _avoid_indices(mentees, mentor_index)
    requested = np.full(len(mentees), -1, np.int32)
    has_requests = np.zeros(len(mentees), bool)
    for i, mentee in enumerate(mentees):
        if mentee.requests is None:
            continue
        wanted = mentee.requests.requested_mentor_id
        requested[i] = mentor_index.get(wanted, -1) if wanted is not None else -1
        has_requests[i] = bool(mentee.requests.identity_match) or requested[i] >= 0

    own = np.array([m.capacity for m in mentors], np.int64)
    capacity = (
        np.minimum(own, settings.max_capacity)
        if rules.mentor_capacity
        else np.full(len(mentors), settings.max_capacity, np.int64)
    )
    pinned = _pins(rules.pinned_pairs, mentee_index, mentor_index, forbidden, avoid, len(mentees))
    residual = capacity - np.bincount(pinned[pinned >= 0], minlength=len(mentors))
    if (residual < 0).any():
        full = [mentors[j].id for j in np.flatnonzero(residual < 0)]
        raise CohortError(f"pinned_pairs exceed the capacity of mentors {full}")

    return Problem(
        settings=settings,
        mentees=mentee_side,
        mentors=mentor_side,
        mentee_people=mentees,
        mentor_people=mentors,
        labels=dict(cohort.labels),
        mentee_index=mentee_index,
        mentor_index=mentor_index,
        requested=requested,
        has_requests=has_requests,
        forbidden=forbidden,
        avoid=avoid,
        pinned=pinned,
        capacity=capacity,
        residual=residual,
    )


def _check_settings(settings: Settings) -> None:
    weights = vars(settings.weights).values()
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise CohortError("weights must be finite and >= 0")
    if settings.max_capacity < 0:
        raise CohortError("max_capacity must be >= 0")
    if settings.availability_target_minutes <= 0:
        raise CohortError("availability_target_minutes must be > 0")
    if settings.rules.min_weekly_overlap_minutes < 0:
        raise CohortError("min_weekly_overlap_minutes must be >= 0")
    if settings.candidates_per_mentee < 1 or settings.dense_limit < 0:
        raise CohortError("candidates_per_mentee must be >= 1 and dense_limit >= 0")


def _index(people: Sequence[Profile], role: str) -> dict[str, int]:
    index = {p.id: i for i, p in enumerate(people)}
    if len(index) != len(people):
        raise CohortError(f"duplicate {role} ids")
    return index


def _encode_sides(mentees: Sequence[Mentee], mentors: Sequence[Mentor], people: Sequence[Profile]) -> tuple[Side, Side]:
    n = len(mentees)
    campus = _codes([p.campus_id for p in people])
    unit = _codes([p.academic_unit_id for p in people])
    stage = _codes([p.career_stage for p in people])
    topics = _incidence([p.objectives for p in mentees] + [p.expertise for p in mentors])
    interests = _incidence([p.interests for p in people])
    languages = _incidence([p.languages for p in people])
    identity = _incidence(
        [p.requests.identity_match if p.requests else frozenset() for p in mentees] + [p.identity_tags for p in mentors]
    )
    runs, minutes = _merge_runs(_bitmap(people))
    delivery = np.zeros((len(people), len(DELIVERY_CODES)), np.float32)
    delivery[np.arange(len(people)), [DELIVERY_CODES[Delivery(p.delivery)] for p in people]] = 1.0

    def side(rows: slice, availability: F32) -> Side:
        return Side(
            ids=tuple(p.id for p in people[rows]),
            campus=campus[rows],
            unit=unit[rows],
            stage=stage[rows],
            topics=topics[rows],
            interests=interests[rows],
            languages=languages[rows],
            availability=availability,
            delivery=delivery[rows],
            identity=identity[rows],
        )

    mentee_av = runs[:n].astype(np.float32) * minutes
    mentor_av = runs[n:].astype(np.float32)
    return side(slice(0, n), mentee_av), side(slice(n, None), mentor_av)


def _codes(values: Sequence[str | None]) -> I32:
    """Integer code per value (sorted vocabulary); ``None`` becomes -1."""
    vocab = {v: k for k, v in enumerate(sorted({v for v in values if v is not None}))}
    return np.array([vocab[v] if v is not None else -1 for v in values], np.int32)


def _incidence(sets: Sequence[Iterable[str]]) -> F32:
    """0/1 matrix: row r has a 1 in the column of each code of ``sets[r]``."""
    items = [tuple(s) for s in sets]
    vocab = {c: k for k, c in enumerate(sorted({c for s in items for c in s}))}
    out = np.zeros((len(items), len(vocab)), np.float32)
    rows = np.repeat(np.arange(len(items)), [len(s) for s in items])
    cols = np.array([vocab[c] for s in items for c in s], np.int64)
    out[rows, cols] = 1.0
    return out


def _bitmap(people: Sequence[Profile]) -> NDArray[np.bool_]:
    """(N, 672) weekly quarter-hour availability; slots may cross midnight and wrap Sunday to Monday."""
    owner, start, end = [], [], []
    for row, person in enumerate(people):
        for weekday, first, last in person.availability:
            if not (0 <= weekday <= 6 and 0 <= first < 1440 and first < last <= first + 1440):
                raise CohortError(f"{person.id}: invalid availability slot {(weekday, first, last)}")
            owner.append(row)
            start.append(weekday * QUARTERS_PER_DAY - (-first // 15))
            end.append(weekday * QUARTERS_PER_DAY + last // 15)
    o, s, e = (np.array(v, np.int64) for v in (owner, start, end))
    keep = e > s
    o, s, e = o[keep], s[keep], e[keep]
    wraps = e > WEEK_QUARTERS
    width = WEEK_QUARTERS + 1
    opens = np.concatenate([o * width + s, o[wraps] * width])
    closes = np.concatenate([o * width + np.minimum(e, WEEK_QUARTERS), o[wraps] * width + e[wraps] - WEEK_QUARTERS])
    size = len(people) * width
    delta = np.bincount(opens, minlength=size) - np.bincount(closes, minlength=size)
    return np.cumsum(delta.reshape(len(people), width)[:, :WEEK_QUARTERS].T, axis=0).T > 0


def _merge_runs(bitmap: NDArray[np.bool_]) -> tuple[NDArray[np.bool_], F32]:
    """Merge adjacent quarter-hour columns equal for everyone; drop columns nobody is free in."""
    change = np.any(bitmap[:, 1:] != bitmap[:, :-1], axis=0)
    starts = np.flatnonzero(np.concatenate(([True], change)))
    minutes = (np.diff(np.append(starts, WEEK_QUARTERS)) * 15).astype(np.float32)
    runs = bitmap[:, starts]
    used = runs.any(axis=0)
    return runs[:, used], minutes[used]


def _pair_indices(pairs: Iterable[tuple[str, str]], mentees: Mapping[str, int], mentors: Mapping[str, int], rule: str) -> I64:
    rows = []
    for mentee_id, mentor_id in sorted(pairs):
        if mentee_id not in mentees or mentor_id not in mentors:
            raise CohortError(f"{rule}: unknown pair ({mentee_id}, {mentor_id})")
        rows.append((mentees[mentee_id], mentors[mentor_id]))
    return np.array(rows, np.int64).reshape(-1, 2)


def _avoid_indices(mentees: Sequence[Mentee], mentors: Mapping[str, int]) -> I64:
    """Pairs from opted-in mentees' avoid lists; ids of people outside the cohort are ignored."""
    rows = [
        (i, mentors[other])
        for i, mentee in enumerate(mentees)
        if mentee.requests is not None
        for other in sorted(mentee.requests.avoid_ids)
        if other in mentors
    ]
    return np.array(rows, np.int64).reshape(-1, 2)


def _pins(
    pairs: Iterable[tuple[str, str]], mentees: Mapping[str, int], mentors: Mapping[str, int], forbidden: I64, avoid: I64, n: int
) -> I32:
    pinned = np.full(n, -1, np.int32)
    blocked = {(int(i), int(j)) for i, j in np.concatenate([forbidden, avoid])}
    ids = sorted(pairs)
    for (mentee_id, mentor_id), (i, j) in zip(ids, _pair_indices(ids, mentees, mentors, "pinned_pairs"), strict=True):
        if pinned[i] >= 0:
            raise CohortError(f"pinned_pairs: mentee {mentee_id} is pinned to two mentors")
        if (int(i), int(j)) in blocked:
            raise CohortError(f"pinned_pairs: ({mentee_id}, {mentor_id}) is also forbidden or avoided")
        pinned[i] = j
    return pinned
