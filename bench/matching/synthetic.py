"""Seeded synthetic cohorts shaped like the pilots' questionnaires, at any size.

Campuses have academic units; mentors are senior academics and mentees students
(different career stages); objectives and expertise come from a 30-code taxonomy
with a few popular codes; interests from 60 tags; most people speak Spanish,
many English, a few Portuguese or Quechua; availability is two to four weekly
slots of one to three hours in local daytime, converted to UTC from UTC-5
(so some slots cross midnight); about one mentee in ten opts in to requests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from services.matching.domain import Cohort, Mentee, Mentor, Requests
from services.matching.enums import Delivery

OBJECTIVES = tuple(f"obj{k:02d}" for k in range(30))
INTERESTS = tuple(f"tag{k:02d}" for k in range(60))
LANGUAGES = (("es", 0.9), ("en", 0.5), ("pt", 0.1), ("qu", 0.05))
IDENTITIES = ("first_generation", "indigenous", "mother", "lgbtq", "rural")
DELIVERIES = (Delivery.virtual, Delivery.hybrid, Delivery.in_person)
UTC_OFFSET_MINUTES = 300


def synthetic_cohort(mentees: int, mentors: int, capacity: int, seed: int) -> Cohort:
    """A reproducible cohort: the same arguments always give the same cohort."""
    rng = np.random.default_rng(seed)
    campuses = max(3, mentors // 250)
    popularity = 1.0 / np.arange(1, len(OBJECTIVES) + 1) ** 0.8
    popularity /= popularity.sum()
    mentor_ids = [f"r{k:05d}" for k in range(mentors)]

    def common(prefix: str, k: int) -> dict[str, Any]:
        campus = int(rng.integers(campuses))
        spoken = frozenset(code for code, share in LANGUAGES if rng.random() < share) or frozenset({"es"})
        return {
            "id": f"{prefix}{k:05d}",
            "campus_id": f"campus-{campus}",
            "academic_unit_id": f"campus-{campus}/unit-{int(rng.integers(8))}",
            "interests": _pick(rng, INTERESTS, 3, 6),
            "languages": spoken,
            "availability": _availability(rng),
            "delivery": DELIVERIES[int(rng.choice(3, p=[0.4, 0.4, 0.2]))],
        }

    mentor_people = tuple(
        Mentor(
            **common("r", k),
            career_stage="senior",
            expertise=_pick(rng, OBJECTIVES, 3, 6, popularity),
            capacity=capacity,
            identity_tags=_pick(rng, IDENTITIES, 1, 2) if rng.random() < 0.3 else frozenset(),
        )
        for k in range(mentors)
    )
    mentee_people = tuple(
        Mentee(
            **common("e", k),
            career_stage="student",
            objectives=_pick(rng, OBJECTIVES, 2, 4, popularity),
            requests=_requests(rng, mentor_ids) if rng.random() < 0.1 else None,
        )
        for k in range(mentees)
    )
    return Cohort(mentors=mentor_people, mentees=mentee_people)


def _pick(rng: np.random.Generator, codes: tuple[str, ...], low: int, high: int, p: np.ndarray | None = None) -> frozenset[str]:
    size = int(rng.integers(low, high + 1))
    return frozenset(codes[k] for k in rng.choice(len(codes), size=size, replace=False, p=p))


def _availability(rng: np.random.Generator) -> tuple[tuple[int, int, int], ...]:
    slots = []
    for _ in range(int(rng.integers(2, 5))):
        weekday = int(rng.integers(6))
        start = int(rng.integers(16, 40)) * 30 + UTC_OFFSET_MINUTES
        length = int(rng.integers(2, 7)) * 30
        weekday, start = (weekday + start // 1440) % 7, start % 1440
        slots.append((weekday, start, start + length))
    return tuple(slots)


def _requests(rng: np.random.Generator, mentor_ids: list[str]) -> Requests:
    requested = mentor_ids[int(rng.integers(len(mentor_ids)))] if mentor_ids and rng.random() < 0.2 else None
    avoid = frozenset({mentor_ids[int(rng.integers(len(mentor_ids)))]}) if mentor_ids and rng.random() < 0.2 else frozenset()
    return Requests(identity_match=_pick(rng, IDENTITIES, 1, 2), requested_mentor_id=requested, avoid_ids=avoid)
