"""Interviews as a workflow, over the API: guides, a stratified sample, interviews with and without consent, the
codebook with sub-themes, two coders and Cohen's kappa, a consensus, quotes with and without consent and below and
above k_text, and what reaches the report."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session

from services.evaluation import analysis, interview_quotes
from services.evaluation.tests.conftest import all_rows
from services.evaluation.tests.interview_world import MENTEE_ANSWERS, MENTEES, MENTORS, NO_RESEARCH, make_interview_world


@pytest.fixture
def iw(world: Any) -> Any:
    return make_interview_world(world)


@pytest.fixture
def small_k(app: Any) -> Iterator[None]:
    """k = 3 and k_text = 3, so that a handful of interviews can clear the threshold."""
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"min_cell": 3, "min_text": 3, "default_min_text": 3})
    try:
        yield
    finally:
        app.state.settings = settings


def _fields(r: Any) -> list[str]:
    return [e["field"] for e in r.json().get("errors", [])]


# ----------------------------------------------------------------------------- guides


def test_default_and_custom_guides(iw: Any) -> None:
    http, w = iw.http, iw.world
    defaults = http.get("/v1/interviews/default-guides", headers=w.evaluator).json()
    assert [g["role"] for g in defaults] == ["mentor", "mentee"] and all(len(g["questions"]) == 8 for g in defaults)
    for g in defaults:
        assert len({q["key"] for q in g["questions"]}) == 8
        assert all(q["text"]["es"].strip() and q["text"]["en"].strip() for q in g["questions"])
    assert [q["key"] for q in defaults[1]["questions"]][:3] == ["overall", "gains", "challenges"]

    made = http.get(f"/v1/interviews/guides/{iw.guides['mentee']}", headers=w.evaluator).json()
    assert made["role"] == "mentee" and made["questions"] == defaults[1]["questions"] and made["program_id"] == iw.program
    custom = {"program_id": iw.program, "role": "mentor", "title": {"es": "Cierre breve", "en": "Short closing"},
              "questions": [{"key": "overall", "text": {"es": "¿Cómo te fue?", "en": "How did it go?"}},
                            {"key": "next", "text": {"es": "¿Y ahora qué sigue?", "en": "What comes next?"}}]}
    r = http.post("/v1/interviews/guides", json=custom, headers={**w.coordinator, "Idempotency-Key": "g1"})
    assert r.status_code == 201 and r.headers["Location"] == f"/v1/interviews/guides/{r.json()['id']}"
    again = http.post("/v1/interviews/guides", json=custom, headers={**w.coordinator, "Idempotency-Key": "g1"})
    assert again.json()["id"] == r.json()["id"]
    listed = http.get("/v1/interviews/guides", params={"program_id": iw.program}, headers=w.evaluator).json()["items"]
    assert len(listed) == 3

    twice = {**custom, "questions": custom["questions"] + [custom["questions"][0]]}
    assert _fields(http.post("/v1/interviews/guides", json=twice, headers=w.coordinator)) == ["body.questions"]
    nul = {**custom, "questions": [{"key": "overall", "text": {"es": "¿Cómo\x00?", "en": "How?"}}]}
    assert _fields(http.post("/v1/interviews/guides", json=nul, headers=w.coordinator)) == ["body.questions.0.text.es"]
    # evaluators read guides but do not write them
    assert http.post("/v1/interviews/guides", json=custom, headers=w.evaluator).status_code == 403


# ----------------------------------------------------------------------------- the sample


def test_a_sample_represents_career_stages_and_fields_and_explains_each_pick(iw: Any) -> None:
    http, w = iw.http, iw.world
    body = {"program_id": iw.program, "mentors": 5, "mentees": 5, "seed": 7}
    r = http.post("/v1/interviews/samples", json=body, headers=w.coordinator)
    assert r.status_code == 201, r.text
    sample = r.json()
    picks = sample["picks"]
    mentors = [p for p in picks if p["role"] == "mentor"]
    mentees = [p for p in picks if p["role"] == "mentee"]
    assert len(mentors) == 5 and len(mentees) == 5 and [p["position"] for p in mentees] == [1, 2, 3, 4, 5]
    consenting = set(map(str, iw.mentors[:-NO_RESEARCH] + iw.mentees[:-NO_RESEARCH]))
    assert {p["participant_id"] for p in picks} <= consenting
    assert sample["dimensions"] == ["career_stage", "stem_field"] and "age" in sample["not_stratified"]
    # the population is who consents to research: 8 mentors, 10 mentees
    assert sum(sample["population"]["mentor"]["career_stage"].values()) == 8
    assert sample["population"]["mentee"]["career_stage"] == {"graduate_student": 4, "undergraduate_student": 6}
    # 6 of 10 mentees are undergraduates: a quota of 3 of 5; each field of the mentees is represented; the only
    # early-career mentor (a quota of 5/8) is in
    stages = Counter(p["career_stage"] for p in mentees)
    assert stages == {"undergraduate_student": 3, "graduate_student": 2}
    assert {p["stem_field"] for p in mentees} >= {"computer_science", "biology", "mathematics"}
    assert {p["career_stage"] for p in mentors} == {"senior", "mid_career", "early_career"}
    first = mentees[0]
    assert first["chosen_by"] == "proposal" and not first["interviewed"]
    assert {s["dimension"] for s in first["strata"]} == {"career_stage", "stem_field"}
    assert all(s["population"] == 10 and s["in_sample"] >= 1 for s in first["strata"])
    assert first["strata"][0]["members"] <= first["strata"][1]["members"]  # the rarer stratum first
    assert "of 10 mentees" in first["reason"]["en"] and "de 10 mentoradas" in first["reason"]["es"]

    # deterministic for a seed
    same = http.post("/v1/interviews/samples", json=body, headers=w.coordinator).json()
    assert [p["participant_id"] for p in same["picks"]] == [p["participant_id"] for p in picks]

    # swaps: another consenting mentee; never a mentor, someone without research consent, or someone already in
    sid, pick = sample["id"], mentees[-1]
    outside = next(str(p) for p in iw.mentees[:-NO_RESEARCH] if str(p) not in {m["participant_id"] for m in mentees})
    url = f"/v1/interviews/samples/{sid}/picks/{pick['id']}"
    assert _fields(http.put(url, json={"participant_id": str(iw.mentors[0])}, headers=w.coordinator)) == ["body.participant_id"]
    assert _fields(http.put(url, json={"participant_id": str(iw.mentees[-1])}, headers=w.coordinator)) == ["body.participant_id"]
    assert http.put(url, json={"participant_id": mentees[0]["participant_id"]}, headers=w.coordinator).status_code == 409
    swapped = http.put(url, json={"participant_id": outside}, headers=w.coordinator)
    assert swapped.status_code == 200, swapped.text
    new = [p for p in swapped.json()["picks"] if p["role"] == "mentee"][-1]
    assert new["participant_id"] == outside and new["chosen_by"] == "coordinator" and new["position"] == 5
    assert new["reason"]["en"].startswith("Chosen by the coordinator") and new["strata"][0]["in_sample"] >= 1

    accepted = http.post(f"/v1/interviews/samples/{sid}/acceptance", headers=w.coordinator)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert http.put(url, json={"participant_id": outside}, headers=w.coordinator).status_code == 409
    assert http.post(f"/v1/interviews/samples/{sid}/acceptance", headers=w.coordinator).status_code == 409

    # bad input names the field; evaluators never see who was picked
    too_many = http.post("/v1/interviews/samples", json={**body, "mentors": 9}, headers=w.coordinator)
    assert too_many.status_code == 422 and _fields(too_many) == ["body.mentors"]
    assert http.post("/v1/interviews/samples", json={**body, "mentors": 0, "mentees": 0}, headers=w.coordinator).status_code == 422
    assert http.get(f"/v1/interviews/samples/{sid}", headers=w.evaluator).status_code == 403
    assert http.post("/v1/interviews/samples", json=body, headers=w.evaluator).status_code == 403
    assert len(http.get("/v1/interviews/samples", params={"program_id": iw.program}, headers=w.coordinator).json()["items"]) == 2

    # once interviewed, the pick says so
    iw.recorded(uuid.UUID(mentees[0]["participant_id"]), "mentee")
    shown = http.get(f"/v1/interviews/samples/{sid}", headers=w.coordinator).json()["picks"]
    assert [p["interviewed"] for p in shown if p["role"] == "mentee"] == [True, False, False, False, False]


# ----------------------------------------------------------------------------- interviews


def test_recording_checks_consent_the_guide_and_every_answer(iw: Any, engine: Any) -> None:
    w = iw.world
    no_research = iw.mentees[-1]
    r = iw.record(no_research, "mentee")
    assert r.status_code == 409 and _fields(r) == ["consents.research"], r.text
    no_quotes = iw.mentees[1]  # research, but no consent to quotes
    r = iw.record(no_quotes, "mentee", quote_consent=True)
    assert r.status_code == 409 and _fields(r) == ["consents.quotes"]
    before = all_rows(engine)

    r = iw.record(iw.mentees[0], "mentee", answers={**MENTEE_ANSWERS, "own_career": "Quiero postular a un posgrado.",
                                                  "salary": "No es una pregunta de la guía."})
    assert r.status_code == 422 and _fields(r) == ["body.answers.salary"]
    assert _fields(iw.record(iw.mentees[0], "mentee", guide_id=iw.guides["mentor"])) == ["body.guide_id"]
    assert _fields(iw.record(iw.mentees[0], "mentee", guide_id=str(uuid.uuid4()))) == ["body.guide_id"]
    r = iw.record(iw.mentees[0], "mentee", answers={"overall": "Bien\x00", "gains": "x" * 20001})
    assert r.status_code == 422 and sorted(_fields(r)) == ["body.answers.gains", "body.answers.overall"]
    assert "x" * 50 not in r.text  # the answer is not echoed
    assert _fields(iw.record(iw.mentees[0], "mentee", answers={"Overall Q": "Bien"})) == ["body.answers.Overall Q.[key]"]
    assert _fields(iw.record(iw.mentees[0], "mentee", answers={})) == ["body.answers"]
    assert _fields(iw.record(iw.mentees[0], "mentee", answers={"overall": "   "})) == ["body.answers.overall"]
    assert _fields(iw.record(iw.mentees[0], "mentee", conducted_on="2999-01-01")) == ["body.conducted_on"]
    assert _fields(iw.record(iw.mentees[0], "mentee", language="fr")) == ["body.language"]
    assert all_rows(engine) == before, "a refused interview wrote something"

    made = iw.recorded(iw.mentees[0], "mentee", quote_consent=True)
    assert made["code"].startswith("E-") and len(made["code"]) == 7 and made["view"] == "interviewer"
    assert made["answers"] == MENTEE_ANSWERS and made["participant_id"] == str(iw.mentees[0]) and made["role"] == "mentee"
    assert made["questions"][0]["key"] == "overall" and not made["settled"]
    assert iw.record(iw.mentees[0], "mentee").status_code == 409  # once per program
    # a coordinator may interview; an evaluator not named interviewer may not
    assert iw.record(iw.mentors[0], "mentor", headers=w.coordinator).status_code == 201
    assert iw.record(iw.mentors[1], "mentor", headers=iw.outsider).status_code == 403


def test_who_reads_an_interview(iw: Any, other_world: Any, mint: Any) -> None:
    http, w = iw.http, iw.world
    made = iw.recorded(iw.mentees[0], "mentee")
    url = f"/v1/interviews/{made['id']}"

    coder = http.get(url, headers=iw.coder_a).json()
    assert coder["view"] == "coder" and coder["answers"] == MENTEE_ANSWERS and coder["code"] == made["code"]
    assert coder["participant_id"] is None and coder["interviewer"] is None and coder["conducted_on"] is None
    assert str(iw.mentees[0]) not in http.get(url, headers=iw.coder_a).text
    for headers in (w.coordinator, iw.outsider):
        record = http.get(url, headers=headers).json()
        assert record["view"] == "record" and record["answers"] is None and record["questions"] is None
        assert MENTEE_ANSWERS["gains"] not in http.get(url, headers=headers).text
    assert http.get(url, headers=iw.interviewer).json()["view"] == "interviewer"

    mentee, _, _ = w.person("mentee")
    assert http.get(url, headers=mentee).status_code == 403
    assert http.get(url, headers=other_world.coordinator).status_code == 404
    assert http.get(url, headers=other_world.evaluator).status_code == 404
    listed = http.get("/v1/interviews", params={"program_id": iw.program}, headers=iw.coder_b).json()["items"]
    assert [(i["code"], i["participant_id"]) for i in listed] == [(made["code"], None)]
    assert http.get("/v1/interviews", params={"program_id": iw.program}, headers=other_world.coordinator).json()["items"] == []


# ----------------------------------------------------------------------------- the codebook


def test_codebook_with_sub_themes(iw: Any) -> None:
    http, w = iw.http, iw.world
    iw.codebook()
    book = http.get(f"/v1/interviews/codebooks/{iw.program}", headers=w.evaluator).json()
    assert [t["code"] for t in book["themes"]] == ["gendered-roles", "confidence", "journeys"]
    assert [s["code"] for s in book["themes"][0]["sub_themes"]] == ["workplace-bias"]
    assert book["themes"][0]["sub_themes"][0]["parent"] == "gendered-roles"
    assert book["themes"][1]["definition"]["en"].startswith("When she talks about")

    base = f"/v1/interviews/codebooks/{iw.program}/themes"
    label = {"es": "Acoso", "en": "Harassment"}
    r = http.post(base, json={"code": "harassment", "label": label, "parent": "workplace-bias"}, headers=w.coordinator)
    assert r.status_code == 422 and _fields(r) == ["body.parent"]  # a sub-theme of a sub-theme
    assert _fields(http.post(base, json={"code": "harassment", "label": label, "parent": "nope"}, headers=w.coordinator)) == ["body.parent"]
    assert http.post(base, json={"code": "confidence", "label": label}, headers=w.coordinator).status_code == 409
    assert _fields(http.post(base, json={"code": "Bad Code", "label": label}, headers=w.coordinator)) == ["body.code"]
    assert _fields(http.post(base, json={"code": "x", "label": {"es": "a" * 201, "en": "b"}}, headers=w.coordinator)) == ["body.label.es"]

    made = http.post(base, json={"code": "harassment", "label": label, "parent": "gendered-roles"}, headers=iw.coder_a)
    assert made.status_code == 201 and made.json()["parent"] == "gendered-roles"
    moved = http.patch(f"{base}/harassment", json={"parent": "journeys", "label": {"es": "Acoso laboral", "en": "Workplace harassment"}},
                       headers=w.coordinator)
    assert moved.status_code == 200 and moved.json()["parent"] == "journeys" and moved.json()["label"]["es"] == "Acoso laboral"
    assert _fields(http.patch(f"{base}/gendered-roles", json={"parent": "journeys"}, headers=w.coordinator)) == ["body.parent"]
    assert http.patch(f"{base}/nope", json={"parent": None}, headers=w.coordinator).status_code == 404
    assert http.delete(f"{base}/gendered-roles", headers=w.coordinator).status_code == 409  # has sub-themes
    assert http.delete(f"{base}/harassment", headers=w.coordinator).status_code == 204

    # the themes summary (reports) knows the codebook too
    summary = http.get(f"/v1/reports/programs/{iw.program}/themes", headers=w.coordinator).json()
    assert [t["theme"]["code"] for t in summary["themes"]] == ["gendered-roles", "workplace-bias", "confidence", "journeys", "strike"]
    assert summary["themes"][1]["theme"]["parent"] == "gendered-roles" and summary["source"] == "open_answers"


# ----------------------------------------------------------------------------- coding and agreement

# Four interviews (two mentors, two mentees), five answers each: 20 units. Coder A and coder B's marks per unit:
#   confidence: A on units {0,1,2,3,5,6,7,10,11,15}, B on {0,1,2,3,5,6,10,11,15,16}: p_o = 18/20, p_e = .5, kappa = .8
#   gendered-roles: A through its sub-theme on {4, 9} and directly on {14}; B on {4, 9, 14, 19}:
#     p_o = 19/20, p_e = .15 x .2 + .85 x .8 = .71, kappa = (.95 - .71) / .29 = 0.8276
#   workplace-bias: A on {4, 9}, B never: p_o = .9, p_e = .9, kappa = 0
#   journeys: nobody: undefined (null)
A = {"confidence": {0, 1, 2, 3, 5, 6, 7, 10, 11, 15}, "workplace-bias": {4, 9}, "gendered-roles": {14}}
B = {"confidence": {0, 1, 2, 3, 5, 6, 10, 11, 15, 16}, "gendered-roles": {4, 9, 14, 19}}


def _codes(marks: dict[str, set[int]], n: int, keys: list[str]) -> dict[str, list[str]]:
    return {k: sorted(code for code, units in marks.items() if n * 5 + j in units) for j, k in enumerate(keys)}


def test_two_coders_code_independently_and_agree_with_a_known_kappa(iw: Any, engine: Any) -> None:
    http, w = iw.http, iw.world
    iw.codebook()
    made = [iw.recorded(iw.mentors[0], "mentor"), iw.recorded(iw.mentors[3], "mentor"),
            iw.recorded(iw.mentees[0], "mentee"), iw.recorded(iw.mentees[5], "mentee")]
    keys = [list(m["answered"]) for m in made]

    first = made[0]["id"]
    bad = http.put(f"/v1/interviews/{first}/codings/mine", json={"codes": {"overall": ["nope"], "own_career": ["confidence"]}},
                   headers=iw.coder_a)
    assert bad.status_code == 422 and sorted(_fields(bad)) == ["body.codes.overall", "body.codes.own_career"]
    assert _fields(http.put(f"/v1/interviews/{first}/codings/mine", json={"codes": {"overall": ["Bad"]}},
                            headers=iw.coder_a)) == ["body.codes.overall.0"]
    draft = http.put(f"/v1/interviews/{first}/codings/mine", json={"codes": {"overall": ["confidence"]}}, headers=iw.coder_b)
    assert draft.status_code == 200 and draft.json()["status"] == "draft"
    # not a coder: the interviewer, the coordinator, an evaluator off the team
    for headers in (iw.interviewer, w.coordinator, iw.outsider):
        assert http.put(f"/v1/interviews/{first}/codings/mine", json={"codes": {}}, headers=headers).status_code == 403

    for n, m in enumerate(made):
        r = iw.code(m["id"], iw.coder_a, _codes(A, n, keys[n]))
        assert r.status_code == 201, r.text
    # coder A submitted hers: she reads the submitted ones only (B's draft is not shown)
    shown = http.get(f"/v1/interviews/{first}/codings", headers=iw.coder_a).json()["codings"]
    assert [c["coder"] for c in shown] == [f"coder-a-{w.institution_id.hex[:6]}"]
    # coder B has not submitted: she cannot read A's codes
    assert http.get(f"/v1/interviews/{first}/codings", headers=iw.coder_b).status_code == 403
    assert http.get(f"/v1/interviews/{first}/codings/mine", headers=iw.coder_b).json()["codes"] == {"overall": ["confidence"],
                                                                                                     **{k: [] for k in keys[0][1:]}}
    for n, m in enumerate(made):
        assert iw.code(m["id"], iw.coder_b, _codes(B, n, keys[n])).status_code == 201
    assert iw.code(first, iw.coder_b, {}).status_code == 409  # once
    both = http.get(f"/v1/interviews/{first}/codings", headers=iw.coder_b).json()["codings"]
    assert len(both) == 2 and all(set(c["codes"]) == set(keys[0]) for c in both)

    summary = http.get(f"/v1/reports/programs/{iw.program}/themes", headers=w.evaluator).json()
    assert summary["source"] == "interviews" and summary["evaluators"] == 2
    kappa = {t["theme"]["code"]: t["kappa"] for t in summary["themes"]}
    assert kappa["confidence"]["kappa"] == pytest.approx(0.8) and kappa["confidence"]["units"] == 20
    assert kappa["confidence"]["observed"] == pytest.approx(0.9) and kappa["confidence"]["pairs"] == 1
    assert kappa["gendered-roles"]["kappa"] == pytest.approx(0.24 / 0.29)
    assert kappa["workplace-bias"]["kappa"] == pytest.approx(0.0)
    assert kappa["journeys"]["kappa"] is None and kappa["journeys"]["observed"] == 1.0
    assert {t["theme"]["code"]: t["agreement"] for t in summary["themes"]}["confidence"] == pytest.approx(0.8)
    assert summary["coded"]["cells"] == [[None, None, None]]  # two mentors, two mentees: under k

    def carried() -> dict[str, int]:
        with Session(engine) as session:
            _, themes, codings = analysis.theme_inputs(session, w.institution_id, w.program_id)
        from services.evaluation.domain import theme_counts

        return {c.theme.id: c.responses["all"] for c in theme_counts(codings, themes).counts}

    # what the interviews carry: both coders agreed on confidence in all four, on gendered roles in three
    assert carried() == {"gendered-roles": 3, "workplace-bias": 0, "confidence": 4, "journeys": 0, "strike": 0}

    # the lead coder reconciles the fourth interview; coder B is not the lead
    last = made[3]["id"]
    reconciled = {keys[3][0]: ["confidence"], keys[3][4]: ["gendered-roles"]}
    assert http.put(f"/v1/interviews/{last}/consensus", json={"codes": reconciled}, headers=iw.coder_b).status_code == 403
    r = http.put(f"/v1/interviews/{last}/consensus", json={"codes": reconciled}, headers=iw.coder_a)
    assert r.status_code == 200 and r.json()["consensus"] and r.json()["status"] == "submitted"
    assert carried()["gendered-roles"] == 4
    again = http.get(f"/v1/reports/programs/{iw.program}/themes", headers=w.evaluator).json()
    assert {t["theme"]["code"]: t["kappa"] for t in again["themes"]} == kappa  # the consensus takes no part in agreement
    assert http.get(f"/v1/interviews/{last}", headers=w.coordinator).json()["consensus"] is True

    # the report's themes section has them, sub-themes included, with kappa as agreement
    report = http.get(f"/v1/reports/programs/{iw.program}", headers=w.evaluator)
    assert report.status_code == 200, report.text
    rows = {r["theme"]["id"]: r for r in report.json()["themes"]["rows"]}
    assert rows["workplace-bias"]["theme"]["parent"] == "gendered-roles"
    assert rows["confidence"]["agreement"] == pytest.approx(0.8)
    assert MENTEE_ANSWERS["gains"] not in report.text and made[0]["code"] not in report.text


def test_consensus_needs_two_codings(iw: Any) -> None:
    iw.codebook()
    made = iw.recorded(iw.mentees[0], "mentee")
    assert iw.code(made["id"], iw.coder_a, {"overall": ["confidence"]}).status_code == 201
    r = iw.http.put(f"/v1/interviews/{made['id']}/consensus", json={"codes": {"overall": ["confidence"]}}, headers=iw.coder_a)
    assert r.status_code == 409
    assert iw.http.get(f"/v1/interviews/{made['id']}", headers=iw.coder_a).json()["settled"] is False


# ----------------------------------------------------------------------------- quotes


def _settle(iw: Any, interview_id: str, codes: dict[str, list[str]]) -> None:
    for coder in (iw.coder_a, iw.coder_b):
        assert iw.code(interview_id, coder, codes).status_code == 201


QUOTE = "[...] hablo en las reuniones del [grupo] sin pedir permiso"


def test_quotes_need_consent_a_settled_theme_and_k_text(iw: Any, small_k: None, engine: Any) -> None:
    http, w = iw.http, iw.world
    iw.codebook()
    quoted = iw.recorded(iw.mentees[0], "mentee", quote_consent=True)  # consents to quotes
    silent = iw.recorded(iw.mentees[2], "mentee", quote_consent=False)
    url = f"/v1/interviews/{quoted['id']}/quotes"
    body = {"question": "gains", "theme": "confidence", "excerpt": QUOTE, "deidentified": True}

    # bad input names the field
    assert _fields(http.post(url, json={**body, "excerpt": "Hablo con mi jefe del laboratorio sin miedo"}, headers=iw.coder_a)) == ["body.excerpt"]
    assert _fields(http.post(url, json={**body, "excerpt": "[...] [todo] [...]"}, headers=iw.coder_a)) == ["body.excerpt"]
    assert _fields(http.post(url, json={**body, "excerpt": "sin pedir [permiso"}, headers=iw.coder_a)) == ["body.excerpt"]
    assert _fields(http.post(url, json={**body, "question": "own_career"}, headers=iw.coder_a)) == ["body.question"]
    assert _fields(http.post(url, json={**body, "theme": "nope"}, headers=iw.coder_a)) == ["body.theme"]
    assert _fields(http.post(url, json={**body, "deidentified": False}, headers=iw.coder_a)) == ["body.deidentified"]
    assert _fields(http.post(url, json={**body, "excerpt": "sin pedir\x00 permiso"}, headers=iw.coder_a)) == ["body.excerpt"]
    assert http.post(url, json=body, headers=iw.interviewer).status_code == 403  # coders only

    made = http.post(url, json=body, headers={**iw.coder_a, "Idempotency-Key": "q1"})
    assert made.status_code == 201, made.text
    q = made.json()
    assert q["excerpt"] == QUOTE and q["role"] == "mentee" and not q["publishable"]
    assert q["withheld_because"] == ["interview_not_settled", "role_below_k_text"]
    assert made.headers["Location"] == f"/v1/interviews/quotes/{q['id']}"
    other = http.post(f"/v1/interviews/{silent['id']}/quotes", json={**body, "theme": "confidence"}, headers=iw.coder_b).json()
    off_theme = http.post(url, json={**body, "theme": "gendered-roles"}, headers=iw.coder_b).json()

    codes = {"gains": ["confidence"], "challenges": ["strike"]}  # strike brings journeys; nobody names gendered roles
    _settle(iw, quoted["id"], codes)
    _settle(iw, silent["id"], codes)

    def status(quote_id: str) -> list[str]:
        return http.get(f"/v1/interviews/quotes/{quote_id}", headers=iw.coder_b).json()["withheld_because"]

    assert status(q["id"]) == ["role_below_k_text"]  # two mentee interviews settled; k_text is 3
    assert status(other["id"]) == ["no_quote_consent", "role_below_k_text"]
    assert status(off_theme["id"]) == ["theme_not_attributed", "role_below_k_text"]
    with Session(engine) as session:
        cleared = interview_quotes.report_quotes(session, w.institution_id, w.program_id)
    assert [(c.theme, c.role.value, c.text) for c in cleared] == [("confidence", "mentee", QUOTE)]

    third = iw.recorded(iw.mentees[4], "mentee")
    _settle(iw, third["id"], {"overall": ["journeys"]})
    assert status(q["id"]) == [] and status(other["id"]) == ["no_quote_consent"]
    listed = http.get("/v1/interviews/quotes", params={"program_id": iw.program}, headers=iw.coder_a).json()["items"]
    assert [(i["id"], i["publishable"]) for i in listed] == [(q["id"], True), (other["id"], False), (off_theme["id"], False)]
    assert http.get("/v1/interviews/quotes", params={"program_id": iw.program}, headers=w.coordinator).status_code == 403
    assert http.get("/v1/interviews/quotes", params={"program_id": iw.program}, headers=iw.outsider).status_code == 403

    # into the report input: the cleared quote, with the themes and sub-themes
    report = http.get(f"/v1/reports/programs/{iw.program}", headers=w.coordinator)
    assert report.status_code == 200, report.text
    with Session(engine) as session:
        inp = analysis.report_input(session, _Admin(), w.program_id, _upstream_for(iw), b"k")
    assert [(x.theme, x.text) for x in inp.quotes] == [("confidence", QUOTE)]
    assert {t.id: t.parent for t in inp.themes}["strike"] == "journeys"
    assert {c.response_id for c in inp.codings} == {quoted["code"], silent["code"], third["code"]}

    # only its author or the lead coder deletes a quote
    assert http.delete(f"/v1/interviews/quotes/{q['id']}", headers=iw.coder_b).status_code == 403
    assert http.delete(f"/v1/interviews/quotes/{other['id']}", headers=iw.coder_a).status_code == 204
    assert http.get(f"/v1/interviews/quotes/{other['id']}", headers=iw.coder_a).status_code == 404


class _Admin:
    """An admin principal for calling report_input directly (every institution)."""

    is_admin, is_client, tenant_id, subject, roles = True, False, None, "admin", frozenset({"admin"})


def _upstream_for(iw: Any) -> dict[str, Any]:
    from services.evaluation.clients.upstream import Funnel, Institution, MatchingOutcomes, Program, ProgramOutcomes, TrainingStats

    data = iw.world.fake.report_payloads(iw.program)
    program = Program.model_validate(iw.world.fake.programs[iw.program])
    return {"program": program, "institution": Institution(id=program.institution_id, name="Universidad de prueba"),
            "funnel": Funnel.model_validate(data["funnel"]),
            "training": TrainingStats.model_validate(data["training"]),
            "matching": MatchingOutcomes.model_validate(data["matching"]),
            "outcomes": ProgramOutcomes.model_validate(data["outcomes"])}


def test_the_default_cohort_is_what_the_sample_reads() -> None:
    # a guard on the fixture itself: ten mentors and twelve mentees, two of each without research consent
    assert len(MENTORS) == 10 and len(MENTEES) == 12 and NO_RESEARCH == 2
