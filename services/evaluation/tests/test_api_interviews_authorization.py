"""Every interview endpoint against every kind of caller.

Another institution's staff get 404 for this institution's programs and records (or an empty list where a list is
filtered by institution); a mentor or mentee, and an API client, get 403; an expired or forged token 401. An
evaluator of the institution off the interview team reads guides, the team, the codebook and interview records (no
answers), and nothing more. A refused write writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from servicekit.testing import attack_tokens, bearer

from services.evaluation.tests.conftest import all_rows
from services.evaluation.tests.interview_world import MENTEE_ANSWERS, make_interview_world

DEFAULT = {"mentee": 403, "other_coordinator": 404, "other_evaluator": 404, "client": 403, "report_client": 403}
COORDINATOR_ONLY = {**DEFAULT, "other_evaluator": 403, "outsider": 403}
EMPTY = "200 []"  # a list filtered by institution: nothing of this one


def _endpoints(ids: dict[str, str]) -> list[tuple[str, str, str, Any, dict[str, Any]]]:
    p, i, q, s, k, g = ids["program"], ids["interview"], ids["quote"], ids["sample"], ids["pick"], ids["guide"]
    person = ids["person"]
    guide_body = {"program_id": p, "role": "mentee"}
    interview_body = {"program_id": p, "guide_id": ids["mentee_guide"], "participant_id": ids["free"], "conducted_on": "2024-02-10",
                      "quote_consent": False, "answers": {"overall": "Bien."}}
    theme = {"code": "new-theme", "label": {"es": "Nuevo", "en": "New"}}
    codes = {"codes": {"overall": ["confidence"]}}
    quote = {"question": "gains", "theme": "confidence", "excerpt": "Ahora hablo", "deidentified": True}
    return [
        ("list_default_interview_guides", "GET", "/v1/interviews/default-guides", None,
         {**DEFAULT, "other_coordinator": 200, "other_evaluator": 200, "outsider": 200}),
        ("create_interview_guide", "POST", "/v1/interviews/guides", guide_body, COORDINATOR_ONLY),
        ("list_interview_guides", "GET", f"/v1/interviews/guides?program_id={p}", None,
         {**DEFAULT, "other_coordinator": EMPTY, "other_evaluator": EMPTY, "outsider": 200}),
        ("get_interview_guide", "GET", f"/v1/interviews/guides/{g}", None, {**DEFAULT, "outsider": 200}),
        ("list_interview_team", "GET", f"/v1/interviews/teams/{p}", None, {**DEFAULT, "outsider": 200}),
        ("set_interview_team_member", "PUT", f"/v1/interviews/teams/{p}/members/someone", {"coder": True}, COORDINATOR_ONLY),
        ("remove_interview_team_member", "DELETE", f"/v1/interviews/teams/{p}/members/{ids['coder_b']}", None, COORDINATOR_ONLY),
        ("propose_interview_sample", "POST", "/v1/interviews/samples", {"program_id": p, "mentors": 1, "mentees": 1}, COORDINATOR_ONLY),
        ("list_interview_samples", "GET", f"/v1/interviews/samples?program_id={p}", None,
         {**COORDINATOR_ONLY, "other_coordinator": EMPTY}),
        ("get_interview_sample", "GET", f"/v1/interviews/samples/{s}", None, COORDINATOR_ONLY),
        ("swap_interview_sample_pick", "PUT", f"/v1/interviews/samples/{s}/picks/{k}", {"participant_id": ids["free"]}, COORDINATOR_ONLY),
        ("accept_interview_sample", "POST", f"/v1/interviews/samples/{s}/acceptance", None, COORDINATOR_ONLY),
        ("get_codebook", "GET", f"/v1/interviews/codebooks/{p}", None, {**DEFAULT, "outsider": 200}),
        ("create_codebook_theme", "POST", f"/v1/interviews/codebooks/{p}/themes", theme, {**DEFAULT, "outsider": 201}),
        ("update_codebook_theme", "PATCH", f"/v1/interviews/codebooks/{p}/themes/journeys", {"label": theme["label"]},
         {**DEFAULT, "outsider": 200}),
        ("delete_codebook_theme", "DELETE", f"/v1/interviews/codebooks/{p}/themes/journeys", None, {**DEFAULT, "outsider": 204}),
        ("list_interview_quotes", "GET", f"/v1/interviews/quotes?program_id={p}", None,
         {**DEFAULT, "other_coordinator": 403, "outsider": 403}),
        ("get_interview_quote", "GET", f"/v1/interviews/quotes/{q}", None, {**DEFAULT, "other_coordinator": 403, "outsider": 403}),
        ("delete_interview_quote", "DELETE", f"/v1/interviews/quotes/{q}", None, {**DEFAULT, "other_coordinator": 403, "outsider": 403}),
        ("export_interview_data_subject", "GET", f"/v1/interviews/data-subjects/{person}/export", None, {**DEFAULT, "outsider": 403}),
        ("erase_interview_data_subject", "POST", f"/v1/interviews/data-subjects/{person}/erasure", None, {**DEFAULT, "outsider": 403}),
        ("record_interview", "POST", "/v1/interviews", interview_body, {**DEFAULT, "outsider": 403}),
        ("list_interviews", "GET", f"/v1/interviews?program_id={p}", None,
         {**DEFAULT, "other_coordinator": EMPTY, "other_evaluator": EMPTY, "outsider": 200}),
        ("get_interview", "GET", f"/v1/interviews/{i}", None, {**DEFAULT, "outsider": 200}),
        ("list_interview_codings", "GET", f"/v1/interviews/{i}/codings", None, {**DEFAULT, "outsider": 403}),
        ("get_my_interview_coding", "GET", f"/v1/interviews/{i}/codings/mine", None, {**DEFAULT, "outsider": 403}),
        ("save_my_interview_coding", "PUT", f"/v1/interviews/{i}/codings/mine", codes, {**DEFAULT, "outsider": 403}),
        ("submit_my_interview_coding", "POST", f"/v1/interviews/{i}/codings/mine/submission", codes, {**DEFAULT, "outsider": 403}),
        ("write_interview_consensus", "PUT", f"/v1/interviews/{i}/consensus", codes, {**DEFAULT, "outsider": 403}),
        ("create_interview_quote", "POST", f"/v1/interviews/{i}/quotes", quote, {**DEFAULT, "outsider": 403}),
    ]


@pytest.fixture
def scene(world: Any, other_world: Any, mint: Any) -> dict[str, Any]:
    iw = make_interview_world(world)
    iw.codebook()
    made = iw.recorded(iw.mentees[0], "mentee", quote_consent=True)
    assert iw.code(made["id"], iw.coder_a, {"gains": ["confidence"]}).status_code == 201
    quote = iw.http.post(f"/v1/interviews/{made['id']}/quotes", headers=iw.coder_a, json={
        "question": "gains", "theme": "confidence", "excerpt": "Ahora hablo en las reuniones", "deidentified": True}).json()
    sample = iw.http.post("/v1/interviews/samples", json={"program_id": iw.program, "mentors": 1, "mentees": 1},
                          headers=world.coordinator).json()
    suffix = world.institution_id.hex[:6]
    ids = {"program": iw.program, "interview": made["id"], "quote": quote["id"], "sample": sample["id"],
           "pick": sample["picks"][0]["id"], "guide": iw.guides["mentee"], "mentee_guide": iw.guides["mentee"],
           "person": str(iw.mentees[0]), "free": str(iw.mentees[3]), "coder_b": f"coder-b-{suffix}"}
    mentee, _, _ = world.person("mentee")
    callers = {
        "mentee": mentee,
        "other_coordinator": other_world.coordinator,
        "other_evaluator": other_world.evaluator,
        "outsider": iw.outsider,
        "client": bearer(mint(sub="cli-a", tid=str(world.institution_id), scope="", client_id="cli-a")),
        "report_client": bearer(mint(sub="svc-evaluation", scope="reports:read research:read", client_id="svc-evaluation")),
    }
    return {"iw": iw, "ids": ids, "callers": callers}


def test_every_interview_route_is_in_the_matrix(app: Any) -> None:
    ops = {op["operationId"] for path, item in app.openapi()["paths"].items() if path.startswith("/v1/interviews")
           for op in item.values()}
    assert ops == {name for name, *_ in _endpoints({k: "x" for k in ("program", "interview", "quote", "sample", "pick", "guide",
                                                                     "mentee_guide", "person", "free", "coder_b")})}


def test_authorization_matrix(scene: dict[str, Any], engine: Any) -> None:
    http = scene["iw"].http
    for name, method, path, body, expected in _endpoints(scene["ids"]):
        for caller, want in expected.items():
            if caller == "outsider" and want in (200, 201, 204) and method != "GET":
                continue  # allowed writes are exercised in the workflow tests
            before = all_rows(engine) if method != "GET" else None
            r = http.request(method, path, json=body, headers=scene["callers"][caller])
            if want == EMPTY:
                assert r.status_code == 200 and r.json()["items"] == [], (name, caller, r.text)
                continue
            assert r.status_code == want, (name, caller, r.status_code, r.text)
            if r.status_code >= 400:
                assert r.headers["content-type"] == "application/problem+json", (name, caller)
                assert MENTEE_ANSWERS["gains"] not in r.text
                if before is not None:
                    assert all_rows(engine) == before, f"{name}: a refused {caller} wrote something"
            elif method == "GET" and name == "get_interview":
                assert r.json()["answers"] is None, "only the interviewer and the coders read answers"


def test_a_bad_token_opens_nothing(scene: dict[str, Any], signing_key: Any) -> None:
    http = scene["iw"].http
    tokens = attack_tokens(signing_key)
    for name, method, path, body, _ in _endpoints(scene["ids"]):
        for kind in ("expired", "hs256_public_der", "foreign_key_same_kid", "alg_none"):
            r = http.request(method, path, json=body, headers=bearer(tokens[kind]))
            assert r.status_code == 401, (name, kind, r.text)
        assert http.request(method, path, json=body).status_code == 401, name


def test_a_coder_reads_others_codes_only_after_submitting_hers(scene: dict[str, Any]) -> None:
    iw, i = scene["iw"], scene["ids"]["interview"]
    assert iw.http.get(f"/v1/interviews/{i}/codings", headers=iw.coder_b).status_code == 403
    assert iw.http.put(f"/v1/interviews/{i}/codings/mine", json={"codes": {"gains": []}}, headers=iw.coder_b).status_code == 200
    assert iw.http.get(f"/v1/interviews/{i}/codings", headers=iw.coder_b).status_code == 403  # a draft is not enough
    assert iw.code(i, iw.coder_b, {"gains": []}).status_code == 201
    assert len(iw.http.get(f"/v1/interviews/{i}/codings", headers=iw.coder_b).json()["codings"]) == 2
    # the interviewer is not a coder: she never reads codes
    assert iw.http.get(f"/v1/interviews/{i}/codings", headers=iw.interviewer).status_code == 403
