"""Cohorts for the engine tests: the Mexico and Peru pilots, and random small cohorts."""

from __future__ import annotations

import itertools
import random
from typing import Any

from hypothesis import strategies as st

from services.matching.domain import Cohort, HardRules, Mentee, Mentor, Pair, Requests, Settings
from services.matching.enums import Delivery, Mode

OBJECTIVES = ("funding", "publishing", "leadership", "networking", "teaching", "career_plan")
INTERESTS = ("running", "reading", "music", "hiking", "chess", "cooking", "cinema")
WEEKDAY_SLOTS = ((0, 900, 1080), (1, 960, 1140), (2, 840, 960), (3, 1020, 1200), (4, 780, 900))
CAMPUS_LABELS = {"norte": "Campus Norte", "centro": "Campus Centro", "sur": "Campus Sur"}


def mexico_pilot() -> Cohort:
    """16 mentors and 14 mentees across three campuses and nine academic units."""
    campuses = tuple(CAMPUS_LABELS)
    units = ("physics", "chemistry", "computing")

    def profile(k: int, prefix: str) -> dict[str, Any]:
        campus = campuses[k % 3]
        return {
            "id": f"{prefix}{k:02d}",
            "campus_id": campus,
            "academic_unit_id": f"{campus}/{units[(k // 3) % 3]}",
            "interests": frozenset({INTERESTS[k % 7], INTERESTS[(k * 3 + 1) % 7]}),
            "languages": frozenset({"es"} | ({"en"} if k % 2 else set())),
            "availability": (WEEKDAY_SLOTS[k % 5], WEEKDAY_SLOTS[(k + 2) % 5]),
            "delivery": (Delivery.hybrid, Delivery.virtual, Delivery.in_person)[k % 3],
        }

    mentors = tuple(
        Mentor(**profile(k, "mx-r"), career_stage="professor", expertise=frozenset(OBJECTIVES[k % 6 : k % 6 + 3]))
        for k in range(16)
    )
    mentees = tuple(
        Mentee(
            **profile(k + 1, "mx-e"), career_stage="student", objectives=frozenset({OBJECTIVES[k % 6], OBJECTIVES[(k + 2) % 6]})
        )
        for k in range(14)
    )
    return Cohort(mentors=mentors, mentees=mentees, labels=CAMPUS_LABELS)


def peru_pilot() -> Cohort:
    """20 mentors with capacity 2 and 40 mentees of one university with five faculties."""
    faculties = ("engineering", "science", "medicine", "economics", "architecture")

    def profile(k: int, prefix: str) -> dict[str, Any]:
        return {
            "id": f"pe-{prefix}{k:02d}",
            "campus_id": "lima",
            "academic_unit_id": faculties[k % 5],
            "interests": frozenset({INTERESTS[k % 7], INTERESTS[(k + 4) % 7]}),
            "languages": frozenset({"es"} | ({"qu"} if k % 4 == 0 else set())),
            "availability": (WEEKDAY_SLOTS[k % 5],) if prefix == "r" else (WEEKDAY_SLOTS[k % 5], WEEKDAY_SLOTS[(k + 1) % 5]),
            "delivery": Delivery.hybrid if k % 2 else Delivery.virtual,
        }

    mentors = tuple(
        Mentor(**profile(k, "r"), career_stage="professional", expertise=frozenset(OBJECTIVES[k % 4 : k % 4 + 3]), capacity=2)
        for k in range(20)
    )
    mentees = tuple(
        Mentee(**profile(k, "e"), career_stage="student", objectives=frozenset({OBJECTIVES[k % 6]})) for k in range(40)
    )
    return Cohort(mentors=mentors, mentees=mentees)


PERU_SETTINGS = Settings(rules=HardRules(different_campus=False, different_academic_unit=True), max_capacity=2)

_slots = st.sampled_from((*WEEKDAY_SLOTS[:3], (6, 1380, 1500), (0, 0, 45), (0, 910, 1000)))


@st.composite
def small_cohorts(draw: st.DrawFn, max_mentees: int = 6, max_mentors: int = 4) -> tuple[Cohort, Settings]:
    """A random cohort of at most ``max_mentees`` x ``max_mentors`` (capacities 1-2) and random rules."""
    n = draw(st.integers(1, max_mentees))
    m = draw(st.integers(1, max_mentors))
    mentor_ids = [f"r{j}" for j in range(m)]

    def profile(prefix: str, k: int) -> dict[str, Any]:
        return {
            "id": f"{prefix}{k}",
            "campus_id": draw(st.sampled_from("ABC")),
            "academic_unit_id": draw(st.sampled_from(("u1", "u2", "u3"))),
            "career_stage": draw(st.sampled_from(("student", "senior", None))),
            "interests": draw(st.frozensets(st.sampled_from(INTERESTS[:4]), max_size=3)),
            "languages": draw(st.frozensets(st.sampled_from(("es", "en", "qu")), min_size=1, max_size=2)),
            "availability": tuple(draw(st.lists(_slots, min_size=1, max_size=3))),
            "delivery": draw(st.sampled_from(tuple(Delivery))),
        }

    mentors = [
        Mentor(
            **profile("r", j),
            expertise=draw(st.frozensets(st.sampled_from(OBJECTIVES[:4]), max_size=3)),
            capacity=draw(st.integers(1, 2)),
            identity_tags=draw(st.frozensets(st.sampled_from(("mother", "rural")), max_size=1)),
        )
        for j in range(m)
    ]
    requests = st.none() | st.builds(
        Requests,
        identity_match=st.frozensets(st.sampled_from(("mother", "rural")), max_size=2),
        requested_mentor_id=st.none() | st.sampled_from(mentor_ids or ["nobody"]),
        avoid_ids=st.frozensets(st.sampled_from(mentor_ids or ["nobody"]), max_size=1),
    )
    mentees = [
        Mentee(
            **profile("e", i),
            objectives=draw(st.frozensets(st.sampled_from(OBJECTIVES[:4]), max_size=3)),
            requests=draw(requests),
        )
        for i in range(n)
    ]
    all_pairs = [Pair(e.id, r.id) for e, r in itertools.product(mentees, mentors)]
    rules = HardRules(
        different_campus=draw(st.booleans()),
        different_academic_unit=draw(st.booleans()),
        shared_language=draw(st.booleans()),
        min_weekly_overlap_minutes=draw(st.sampled_from((0, 0, 0, 30))),
        mentor_capacity=draw(st.booleans()),
        forbidden_pairs=frozenset(draw(st.lists(st.sampled_from(all_pairs), max_size=2))) if all_pairs else frozenset(),
    )
    settings = Settings(
        rules=rules, max_capacity=draw(st.integers(1, 2)), mode=draw(st.sampled_from((Mode.one_to_one, Mode.peer)))
    )
    return Cohort(mentors=tuple(mentors), mentees=tuple(mentees)), settings


def random_cohort(mentees: int, mentors: int, capacity: int, seed: int) -> Cohort:
    """A seeded random cohort of any size (four campuses, three units each)."""
    rng = random.Random(seed)

    def profile(prefix: str, k: int) -> dict[str, Any]:
        campus = rng.randrange(4)
        return {
            "id": f"{prefix}{k:04d}",
            "campus_id": f"c{campus}",
            "academic_unit_id": f"c{campus}/u{rng.randrange(3)}",
            "interests": frozenset(rng.sample(INTERESTS, rng.randint(1, 3))),
            "languages": frozenset(rng.sample(("es", "en", "qu"), rng.randint(1, 2))),
            "availability": tuple(rng.sample(WEEKDAY_SLOTS, rng.randint(1, 3))),
            "delivery": rng.choice(tuple(Delivery)),
        }

    return Cohort(
        mentors=tuple(
            Mentor(**profile("r", j), career_stage="senior", expertise=frozenset(rng.sample(OBJECTIVES, 3)), capacity=capacity)
            for j in range(mentors)
        ),
        mentees=tuple(
            Mentee(**profile("e", i), career_stage="student", objectives=frozenset(rng.sample(OBJECTIVES, 2)))
            for i in range(mentees)
        ),
    )
