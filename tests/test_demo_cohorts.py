"""`make demo`'s cohorts hold the pilots' figures (the pilots' published figures, tools/demo/pilots.py): who
applies, who is selected and confirms, the roles staff assign, the campuses
the matching rule must work across, the lateness mix, the spread of skill
changes, and the months each phase falls in. The demo itself runs against
`make run`; this checks the data it plays, without a platform."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from tools.demo.cohort import SKILLS, draw
from tools.demo.pilots import MEXICO, PERU, Pilot


def _pairable(pilot: Pilot) -> int:
    """How many mentees can have a mentor of another campus at once (augmenting paths)."""
    people = [p for p in draw(pilot) if p.is_member]
    mentors = [p for p in people if p.role == "mentor"] * pilot.capacity
    mentees = [p for p in people if p.role == "mentee"]
    taken: dict[int, int] = {}

    def place(i: int, seen: set[int]) -> bool:
        for j, mentor in enumerate(mentors):
            if j in seen or (pilot.campus_rule and mentor.campus == mentees[i].campus):
                continue
            seen.add(j)
            if j not in taken or place(taken[j], seen):
                taken[j] = i
                return True
        return False

    return sum(place(i, set()) for i in range(len(mentees)))


def test_mexico_selects_more_than_confirm_and_staff_split_the_roles() -> None:
    people = draw(MEXICO)
    selected = [p for p in people if p.assigned is not None]
    members = [p for p in people if p.is_member]
    assert (len(people), len(selected), len(members)) == (33, 32, 30)
    assert Counter(p.role for p in members) == {"mentor": 16, "mentee": 14}
    assert any(p.assigned is not None and not p.confirms for p in people), "a selected applicant never confirms"
    differ = Counter((p.sought, p.assigned) for p in members if p.sought != p.assigned)
    assert differ == {("mentee", "mentor"): 1, ("mentor", "mentee"): 2}
    # 14 pairs across campuses, two mentors left over as substitutes.
    assert _pairable(MEXICO) == 14
    assert len({(p.campus, p.unit) for p in members}) >= 6 and len({p.campus for p in members}) == 5


def test_peru_has_twenty_mentors_with_two_mentees_each() -> None:
    members = [p for p in draw(PERU) if p.is_member]
    assert Counter(p.role for p in members) == {"mentor": 20, "mentee": 40}
    assert _pairable(PERU) == 40


@pytest.mark.parametrize("pilot", [MEXICO, PERU], ids=lambda p: p.key)
def test_half_the_members_are_late_and_skills_move_as_people_do(pilot: Pilot) -> None:
    people = draw(pilot)
    assert draw(pilot) == people, "the same seed draws the same cohort"
    members = [p for p in people if p.is_member]
    assert sum(p.punctual for p in members) == len(members) // 2
    means = [sum(p.skills_change[s] for s in SKILLS) / len(SKILLS) for p in members]
    improved = sum(m > 0.15 for m in means) / len(means)
    dropped = sum(m < -0.15 for m in means) / len(means)
    assert improved > 0.5 and 0 < dropped < 0.25, (improved, dropped)
    assert len({p.name for p in people}) == len(people)


@pytest.mark.parametrize("year", [2027, 2028])
def test_the_phases_fall_in_the_pilots_months(year: int) -> None:
    def months(pilot: Pilot) -> dict[str, tuple[str, str]]:
        d0 = date(year, *pilot.call_opens)
        return {k: ((d0 + timedelta(days=a)).strftime("%m"), (d0 + timedelta(days=b)).strftime("%m"))
                for k, a, b in pilot.spans}  # fmt: skip

    for pilot in (MEXICO, PERU):
        spans = [(a, b) for _, a, b in pilot.spans]
        assert all(a <= b for a, b in spans) and all(b < c for (_, b), (c, _) in zip(spans, spans[1:], strict=False))
    # Peru (seed 001, Figure 1): launch in March, training April to June, the pairs meet in July,
    # mentoring sessions to January, the impact evaluation in February.
    peru = months(PERU)
    assert peru["call"][0] == "03" and peru["training"] == ("04", "06")
    assert peru["mentoring"] == ("07", "01") and peru["evaluation"][0] == "02"
    # Mexico: twelve weekly meetings fit in the mentoring phase, which ends as the autumn semester does.
    first, last = next((a, b) for k, a, b in MEXICO.spans if k == "mentoring")
    assert last - first >= 7 * MEXICO.meetings and months(MEXICO)["mentoring"][1] in ("11", "12")


def test_peru_interviews_answer_the_default_guides_in_the_codebook_themes() -> None:
    """Ten interviews (five per role), the eight questions of the platform's default guide
    for her role, every code in the codebook (three themes and their sub-themes), each of the
    three themes carried by both roles, and each quote verbatim in one coded answer."""
    from services.evaluation.domain.interviews import DEFAULT_GUIDES
    from tools.demo.interviews import CODEBOOK, MENTEES, MENTORS

    themes = {code for code, parent, *_ in CODEBOOK if parent is None}
    parents = {code: parent or code for code, parent, *_ in CODEBOOK}
    assert themes == {"gendered-roles", "confidence", "journeys"}
    assert (len(MENTORS), len(MENTEES)) == (5, 5)
    for role, people in (("mentor", MENTORS), ("mentee", MENTEES)):
        keys = {q.key for q in next(v for k, v in DEFAULT_GUIDES.items() if k.value == role)}
        carried: Counter = Counter()
        for person in people:
            assert person.role == role and set(person.answers) == keys
            used = {code for _, codes in person.answers.values() for code in codes}
            assert used <= set(parents), used - set(parents)
            carried.update({parents[c] for c in used})
            holding = [codes for text, codes in person.answers.values() if person.quote in text]
            assert len(holding) == 1 and holding[0], person.quote
        assert set(carried) == themes and all(n >= 2 for n in carried.values()), (role, carried)
    texts = [text for p in (*MENTORS, *MENTEES) for text, _ in p.answers.values()]
    assert len(set(texts)) == len(texts), "every answer is her own"


def test_only_the_interviewing_pilot_asks_for_quotes_and_the_rest_of_the_cohort_is_unchanged() -> None:
    peru = [p for p in draw(PERU) if p.is_member]
    share = sum("quotes" in p.consents for p in peru) / len(peru)
    assert 0.5 < share < 0.9 and all({"program", "research"} <= set(p.consents) for p in peru)
    assert not any("quotes" in p.consents for p in draw(MEXICO))
    assert PERU.interviews and not MEXICO.interviews
    # consent to quotes has its own draws: without it the same women apply, with the same habits
    from dataclasses import replace

    plain = draw(replace(PERU, quotes_share=0.0))
    assert [replace(p, consents=()) for p in draw(PERU)] == [replace(p, consents=()) for p in plain]
