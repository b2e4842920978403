"""Semi-structured interviews: the default guide, a stratified sample, quotable excerpts. Pure functions.

Default guide (:data:`DEFAULT_GUIDES`)
    Eight open questions per role, Spanish and English, in Aliada's own words:
    how well the program worked for her, what she gained and what was hard,
    what her counterpart gained and found hard, what the program will change in
    careers in STEM (the mentee's, and the mentor's own or her mentee's effect on
    her), and anything else she wants to say. The mentor and mentee versions ask
    the same things from each side of the dyad.

Sample (:func:`propose_sample`)
    Picks ``n`` of a role's candidates so that the sample's mix of career stages
    and of STEM fields follows the role's mix among the candidates (everyone of
    the role who consents to research). Age is not collected by the platform,
    so it is not a stratum; career stage stands closest to it. Each candidate
    has one value per dimension (her first STEM field; "not given" is a value
    of its own). The quota of a value is ``n * (candidates with it) /
    (candidates)``; the sample taken is the one closest to every quota at once
    (least total ``|picked - quota|``), found exactly by a small integer program
    over the career stage x field cells (scipy's ``milp``), ties broken by seeded
    shuffles. The same candidates and
    seed always give the same picks, and each pick says which strata it
    represents.

Excerpts (:func:`excerpt_problem`)
    A quote is an excerpt of one answer, de-identified by its coder: pieces of
    the answer, in their order, joined by editorial marks in square brackets
    (``[...]`` for a cut, ``[her faculty]`` for a replacement). Nothing outside
    brackets may be absent from the answer, and the pieces together are never
    longer than the answer.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from .instruments import Role, Text

T = Text

# ----------------------------------------------------------------------------- the default guide


@dataclass(frozen=True)
class GuideQuestion:
    key: str
    text: Text


def _questions(*pairs: tuple[str, str, str]) -> tuple[GuideQuestion, ...]:
    return tuple(GuideQuestion(key, T(es, en)) for key, es, en in pairs)


_OVERALL = ("overall", "Mirando hacia atrás, ¿dirías que el programa cumplió lo que esperabas de él?",
            "Looking back, would you say the programme lived up to what you hoped for?")
_GAINS = ("gains", "¿Qué te llevas tú, en lo personal, de haber participado?",
          "What have you personally taken away from taking part?")
_CHALLENGES = ("challenges", "¿Qué fue lo más difícil para ti a lo largo del programa?",
               "What was hardest for you along the way?")
_ANYTHING_ELSE = ("anything_else", "¿Quieres añadir algo más sobre tu paso por el programa?",
                  "Would you like to add anything else about your time in the programme?")

DEFAULT_GUIDES: dict[Role, tuple[GuideQuestion, ...]] = {
    Role.MENTOR: _questions(
        _OVERALL,
        _GAINS,
        _CHALLENGES,
        ("mentee_gains", "¿Qué crees que ganó tu mentorada (o tus mentoradas) con este acompañamiento?",
         "What do you think your mentee (or mentees) gained from working with you?"),
        ("mentee_challenges", "¿Con qué obstáculos se encontró tu mentorada en este tiempo?",
         "What obstacles did your mentee run into during this time?"),
        ("mentee_career", "¿Cómo crees que el programa marcará el camino de tu mentorada en STEM?",
         "How do you expect the programme to shape your mentee's path in STEM?"),
        ("own_career", "¿El programa ha cambiado algo en tu propia carrera en STEM, o lo cambiará?",
         "Has the programme changed anything in your own career in STEM, or will it?"),
        _ANYTHING_ELSE,
    ),
    Role.MENTEE: _questions(
        _OVERALL,
        _GAINS,
        _CHALLENGES,
        ("mentor_gains", "¿Tu mentora sacó algo de trabajar contigo? ¿Qué?",
         "Did your mentor get something out of working with you? What?"),
        ("mentor_challenges", "¿Hubo algo que a tu mentora le costara en el camino?",
         "Was anything hard for your mentor along the way?"),
        ("own_career", "¿Cómo crees que el programa marcará tu propio camino en STEM?",
         "How do you expect the programme to shape your own path in STEM?"),
        ("mentor_impact", "¿Crees que el programa cambió algo para tu mentora, o que lo cambiará?",
         "Do you think the programme changed anything for your mentor, or will?"),
        _ANYTHING_ELSE,
    ),
}
DEFAULT_TITLES = {
    Role.MENTOR: T("Entrevista de cierre: mentoras", "Closing interview: mentors"),
    Role.MENTEE: T("Entrevista de cierre: mentoradas", "Closing interview: mentees"),
}

# ----------------------------------------------------------------------------- the sample

DIMENSIONS = ("career_stage", "stem_field")
NOT_GIVEN = T("no informado", "not given")
DIMENSION_NAMES = {"career_stage": T("etapa de carrera", "career stage"), "stem_field": T("campo STEM", "STEM field")}
NOT_STRATIFIED = {"age": T("La plataforma no recoge la edad: la muestra no se estratifica por edad; la etapa de carrera es "
                           "lo más cercano.",
                           "The platform does not collect age: the sample is not stratified by age; career stage comes "
                           "closest.")}


@dataclass(frozen=True)
class Candidate:
    """Someone who may be interviewed: ``key`` identifies her (a participant id)."""

    key: str
    career_stage: str | None
    stem_field: str | None

    def value(self, dimension: str) -> str | None:
        return self.career_stage if dimension == "career_stage" else self.stem_field


@dataclass(frozen=True)
class StratumFill:
    """One stratum a pick fills: among ``population`` candidates of the role, ``members``
    have this value; the sample's quota for it (``target``) and how many picks have it."""

    dimension: str
    value: str | None
    members: int
    population: int
    target: float
    in_sample: int


@dataclass(frozen=True)
class Pick:
    candidate: Candidate
    position: int  # 1-based, in the seeded order
    strata: tuple[StratumFill, ...]  # the rarer stratum first
    reason: Text


def _label(value: str | None, lang: str) -> str:
    return (NOT_GIVEN.es if lang == "es" else NOT_GIVEN.en) if value is None else value


def _reason(role: Role, strata: Sequence[StratumFill]) -> Text:
    who = {"es": "mentoras" if role is Role.MENTOR else "mentoradas", "en": "mentors" if role is Role.MENTOR else "mentees"}
    es, en = [], []
    for s in strata:
        name = DIMENSION_NAMES[s.dimension]
        es.append(f"{name.es} «{_label(s.value, 'es')}» ({s.members} de {s.population} {who['es']}: cupo {s.target:.2f}, "
                  f"{s.in_sample} en la muestra)")
        en.append(f"{name.en} '{_label(s.value, 'en')}' ({s.members} of {s.population} {who['en']}: a quota of {s.target:.2f}, "
                  f"{s.in_sample} in the sample)")
    return T("Representa " + " y ".join(es) + ".", "Represents " + " and ".join(en) + ".")


def explain(role: Role, candidate: Candidate, candidates: Sequence[Candidate], sample: Sequence[Candidate],
            position: int) -> Pick:
    """Why ``candidate`` (one of ``sample``, drawn from ``candidates``) is in the sample: the strata she represents."""
    population, n = len(candidates), len(sample)
    fills = []
    for d in DIMENSIONS:
        v = candidate.value(d)
        members = sum(1 for c in candidates if c.value(d) == v)
        fills.append(StratumFill(d, v, members, population, n * members / population, sum(1 for c in sample if c.value(d) == v)))
    fills.sort(key=lambda f: (f.members, DIMENSIONS.index(f.dimension)))
    strata = tuple(fills)
    return Pick(candidate, position, strata, _reason(role, strata))


def propose_sample(role: Role, candidates: Sequence[Candidate], n: int, *, seed: int = 0) -> tuple[Pick, ...]:
    """``n`` of ``candidates`` (one role) whose mix of career stages and of STEM fields is closest to theirs.

    The quota of a value is ``n * (candidates with it) / (candidates)``. Among all samples of ``n``, the one
    with the least total distance from the quotas (the sum of ``|picked - quota|`` over every value of both
    dimensions) is taken. Candidates of one career stage x field are interchangeable here, so the integer
    program (scipy's ``milp``, HiGHS) decides how many to take from each such cell; equally close samples are
    told apart by a shuffle of the cells seeded by ``seed`` and the role, and within a cell candidates are taken
    in a seeded shuffle too. The same candidates and seed always give the same sample; picks are numbered in the
    seeded order. Raises ``ValueError`` when ``n`` exceeds the candidates or a key repeats."""
    if len({c.key for c in candidates}) != len(candidates):
        raise ValueError("a candidate appears twice")
    if not 0 <= n <= len(candidates):
        raise ValueError(f"{n} asked, {len(candidates)} candidates")
    if n == 0:
        return ()
    base = sorted(candidates, key=lambda c: c.key)
    size = len(base)
    rng = np.random.default_rng([seed, zlib.crc32(role.value.encode())])
    rank = np.empty(size)
    rank[rng.permutation(size)] = np.arange(size)
    cells: dict[tuple[str | None, str | None], list[int]] = {}
    for i in sorted(range(size), key=lambda i: rank[i]):  # each cell's members in the seeded order
        cells.setdefault((base[i].career_stage, base[i].stem_field), []).append(i)
    keys = sorted(cells, key=lambda c: tuple((v is None, v or "") for v in c))
    cell_rank = rng.permutation(len(keys))
    strata = [(d, v) for d in DIMENSIONS for v in sorted({c.value(d) for c in base}, key=lambda x: (x is None, x or ""))]
    index = {"career_stage": 0, "stem_field": 1}
    member = np.array([[1.0 if cell[index[d]] == v else 0.0 for cell in keys] for d, v in strata])  # (strata, cells)
    sizes = np.array([len(cells[c]) for c in keys], dtype=float)
    # In units of 1/size every quota (n x members) and every distance are integers: the objective's values
    # differ by at least 1, and the seeded tie-break, below 1 over any n picks, only orders equally close samples.
    quota = member @ sizes * n
    m, k = len(keys), len(strata)
    cost = np.concatenate([(cell_rank + 1) / (m * n + 1), np.ones(k)])  # y (picks per cell), then e >= |size x picked - quota|
    rows = [np.concatenate([np.ones(m), np.zeros(k)])]
    lower, upper = [float(n)], [float(n)]
    for i in range(k):
        e = np.zeros(k)
        e[i] = 1.0
        rows.append(np.concatenate([-size * member[i], e]))  # e - size x picked >= -quota
        lower.append(-quota[i])
        upper.append(np.inf)
        rows.append(np.concatenate([size * member[i], e]))  # e + size x picked >= quota
        lower.append(quota[i])
        upper.append(np.inf)
    result = milp(cost, constraints=LinearConstraint(np.array(rows), lower, upper),
                  integrality=np.concatenate([np.ones(m), np.zeros(k)]),
                  bounds=Bounds(np.zeros(m + k), np.concatenate([sizes, np.full(k, np.inf)])),
                  options={"mip_rel_gap": 0.0})
    if not result.success:  # the problem always has a solution: any n candidates
        raise RuntimeError(f"the sample could not be solved: {result.message}")
    take = np.rint(result.x[:m]).astype(int)
    chosen = sorted((i for c, t in zip(keys, take, strict=True) for i in cells[c][:t]), key=lambda i: rank[i])
    sample = [base[i] for i in chosen]
    return tuple(explain(role, c, base, sample, position) for position, c in enumerate(sample, start=1))


def strata_summary(candidates: Sequence[Candidate]) -> dict[str, dict[str | None, int]]:
    """How many candidates have each value, per dimension."""
    return {d: dict(sorted(Counter(c.value(d) for c in candidates).items(), key=lambda kv: (kv[0] is None, kv[0] or "")))
            for d in DIMENSIONS}


# ----------------------------------------------------------------------------- excerpts

_EDIT = re.compile(r"\[[^\[\]]{1,80}\]")
_SPACE = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def excerpt_problem(answer: str, excerpt: str) -> str | None:
    """Why ``excerpt`` is not a de-identified excerpt of ``answer`` (``None`` when it is)."""
    source, quote = _squash(answer).casefold(), _squash(excerpt)
    if "[" in _EDIT.sub("", quote) or "]" in _EDIT.sub("", quote):
        return "square brackets are for editorial marks only: [...] for a cut, [a replacement] of at most 80 characters"
    pieces = [p.strip() for p in _EDIT.split(quote)]
    pieces = [p for p in pieces if p]
    if not pieces:
        return "the excerpt holds no words of the answer"
    if sum(len(p) for p in pieces) > len(source):
        return "the excerpt is longer than the answer"
    at = 0
    for number, piece in enumerate(pieces, start=1):
        found = source.find(piece.casefold(), at)
        if found < 0:  # the message never repeats her words
            return (f"piece {number} of the excerpt (outside square brackets) is not in the answer after the pieces before "
                    "it: quote her words in their order, and mark every edit in square brackets")
        at = found + len(piece)
    return None
