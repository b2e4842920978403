"""The pure core of interviews: the default guide, the stratified sample, quotable excerpts."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from services.evaluation.domain import Role
from services.evaluation.domain.interviews import DEFAULT_GUIDES, Candidate, excerpt_problem, propose_sample


def test_the_default_guides_ask_both_sides_the_same_things() -> None:
    mentor, mentee = DEFAULT_GUIDES[Role.MENTOR], DEFAULT_GUIDES[Role.MENTEE]
    assert len(mentor) == len(mentee) == 8
    for guide in (mentor, mentee):
        assert len({q.key for q in guide}) == 8
        assert all("¿" in q.text.es and q.text.es.endswith("?") and q.text.en.endswith("?") for q in guide)
    shared = ["overall", "gains", "challenges", "anything_else"]
    assert [q.key for q in mentor if q.key in shared] == [q.key for q in mentee if q.key in shared] == shared
    assert {"mentee_gains", "mentee_challenges", "mentee_career", "own_career"} <= {q.key for q in mentor}
    assert {"mentor_gains", "mentor_challenges", "own_career", "mentor_impact"} <= {q.key for q in mentee}


def _cohort(n: int, seed: int) -> list[Candidate]:
    rng = np.random.default_rng(seed)
    stages = rng.choice(["senior", "mid_career", "early_career", "postdoctoral"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    fields = rng.choice(["physics", "chemistry", "biology", "mathematics", "__none__"], size=n, p=[0.35, 0.25, 0.2, 0.15, 0.05])
    return [Candidate(f"p{i:03d}", str(s), None if f == "__none__" else str(f)) for i, (s, f) in enumerate(zip(stages, fields, strict=True))]


def _distance(sample: list[Candidate], cohort: list[Candidate], n: int) -> float:
    total = 0.0
    for dim in ("career_stage", "stem_field"):
        have = Counter(c.value(dim) for c in cohort)
        got = Counter(c.value(dim) for c in sample)
        total += sum(abs(got[v] - n * k / len(cohort)) for v, k in have.items())
    return total


def test_the_sample_is_the_closest_to_every_quota() -> None:
    # against every possible sample of a small cohort, by brute force
    for seed in range(6):
        cohort = _cohort(12, seed)
        for n in (3, 5):
            picks = propose_sample(Role.MENTOR, cohort, n, seed=seed)
            chosen = [p.candidate for p in picks]
            best = min(_distance(list(s), cohort, n) for s in itertools.combinations(cohort, n))
            assert _distance(chosen, cohort, n) == pytest.approx(best), (seed, n)
            assert [p.position for p in picks] == list(range(1, n + 1))


def test_the_sample_is_deterministic_for_a_seed_and_explains_each_pick() -> None:
    cohort = _cohort(40, 3)
    first = propose_sample(Role.MENTEE, cohort, 5, seed=11)
    assert propose_sample(Role.MENTEE, list(reversed(cohort)), 5, seed=11) == first  # the order given does not matter
    others = {tuple(p.candidate.key for p in propose_sample(Role.MENTEE, cohort, 5, seed=s)) for s in range(12)}
    assert len(others) > 1  # ties are broken by the seed
    for pick in first:
        assert [s.dimension for s in pick.strata] in (["career_stage", "stem_field"], ["stem_field", "career_stage"])
        assert pick.strata[0].members <= pick.strata[1].members
        for s in pick.strata:
            assert s.population == 40 and s.target == pytest.approx(5 * s.members / 40) and s.in_sample >= 1
        assert pick.reason.en.startswith("Represents ") and pick.reason.es.startswith("Representa ")
    assert propose_sample(Role.MENTOR, cohort, 0) == ()
    with pytest.raises(ValueError):
        propose_sample(Role.MENTOR, cohort[:3], 4)
    with pytest.raises(ValueError):
        propose_sample(Role.MENTOR, [cohort[0], cohort[0]], 1)


def test_a_lone_stratum_with_a_quota_near_one_is_represented() -> None:
    # eight mentors, one early career (a quota of 5/8): the closest sample takes her
    cohort = [Candidate(f"m{i}", s, f) for i, (s, f) in enumerate([
        ("senior", "physics"), ("senior", "physics"), ("senior", "chemistry"), ("mid_career", "physics"),
        ("mid_career", "chemistry"), ("mid_career", "biology"), ("mid_career", "physics"), ("early_career", "biology")])]
    for seed in range(10):
        picks = propose_sample(Role.MENTOR, cohort, 5, seed=seed)
        assert Counter(p.candidate.career_stage for p in picks) == {"senior": 2, "mid_career": 2, "early_career": 1}


ANSWER = "Me llamo Rosa y en la Facultad de Química soy la única mujer del grupo; al principio no me daban tareas."


@pytest.mark.parametrize("excerpt", [
    "soy la única mujer del grupo",
    "[...] en [su facultad] soy la única mujer del grupo; [...] no me daban tareas.",
    "SOY LA ÚNICA   mujer del grupo",  # case and spaces do not matter
    "[…] al principio no me daban tareas",
])
def test_an_excerpt_is_her_words_with_bracketed_edits(excerpt: str) -> None:
    assert excerpt_problem(ANSWER, excerpt) is None


@pytest.mark.parametrize("excerpt", [
    "soy la única mujer del laboratorio",  # words she did not say
    "no me daban tareas [...] soy la única mujer",  # out of order
    "[...] [Rosa] [...]",  # nothing of hers
    "soy la [única mujer",  # a bracket left open
    "[" + "x" * 81 + "] soy la única mujer",  # an edit too long
    ANSWER + " " + ANSWER,  # longer than the answer
])
def test_anything_else_is_not_an_excerpt(excerpt: str) -> None:
    problem = excerpt_problem(ANSWER, excerpt)
    assert problem is not None and "Rosa" not in problem and "laboratorio" not in problem


def test_the_sample_is_always_solved() -> None:
    # many cohorts, with keys in every order (participant ids are random): the integer program never fails
    rng = np.random.default_rng(5)
    for trial in range(60):
        size = int(rng.integers(2, 40))
        cohort = [Candidate(f"{rng.integers(0, 2**63):x}-{i}", str(rng.choice(["a", "b", "c"])),
                            None if rng.random() < 0.1 else str(rng.choice(["x", "y", "z", "w"]))) for i in range(size)]
        n = int(rng.integers(1, size + 1))
        picks = propose_sample(Role.MENTEE, cohort, n, seed=trial)
        assert len({p.candidate.key for p in picks}) == n
