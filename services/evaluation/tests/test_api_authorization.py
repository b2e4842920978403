"""Who sees what: evaluators aggregates only, coordinators who responded, a person her own answers."""

from __future__ import annotations

from services.evaluation.tests.test_api_administrations import skills_answers


def test_authorization_matrix(world, other_world):
    a_headers, _, a_participant = world.person("mentee")
    b_headers, _, _ = world.person("mentee")
    adm = world.administer()  # named (not anonymous)
    assert world.answer(adm["id"], a_headers, skills_answers(3)).status_code == 201
    base = f"/v1/administrations/{adm['id']}"

    # she sees her own answers; another mentee never sees them
    assert world.http.get(f"{base}/responses/mine", headers=a_headers).json()["answers"]["assertiveness.1"] == 3
    assert world.http.get(f"{base}/responses/mine", headers=b_headers).status_code == 404

    # the coordinator sees who responded, never what
    r = world.http.get(f"{base}/respondents", headers=world.coordinator)
    assert r.status_code == 200 and r.json()["participant_ids"] == [str(a_participant)]
    assert "answers" not in r.text and "assertiveness" not in r.text
    assert world.http.get(f"{base}/responses/mine", headers=world.coordinator).status_code == 404

    # evaluators: aggregates only
    assert world.http.get(f"{base}/respondents", headers=world.evaluator).status_code == 403
    assert world.http.get(f"{base}/responses/mine", headers=world.evaluator).status_code == 404
    assert world.http.get(f"/v1/reports/programs/{world.program_id}/items", headers=world.evaluator).status_code == 200
    assert world.http.get(base, headers=world.evaluator).status_code == 200
    assert world.http.post("/v1/administrations", json={}, headers=world.evaluator).status_code == 422

    # evaluators get the whole program report (its inputs are read with the service's own reports:read token),
    # still never anyone's answers
    report = f"/v1/reports/programs/{world.program_id}"
    for path in (report, f"{report}/report.html"):
        r = world.http.get(path, headers=world.evaluator)
        assert r.status_code == 200, (path, r.text)
        assert "assertiveness.1" not in r.text and str(a_participant) not in r.text, path
    assert world.http.get(f"{report}/open-answers", headers=world.evaluator).json() == []  # named administrations: none
    for headers in (other_world.evaluator, other_world.coordinator):
        for path in (report, f"{report}/report.html", f"{report}/report.csv", f"{report}/charts/funnel.svg"):
            assert world.http.get(path, headers=headers).status_code == 404, path
    assert world.http.get(f"/v1/reports/institutions/{other_world.institution_id}/comparison", params={
        "programs": f"{world.program_id},{other_world.program_id}"}, headers=world.evaluator).status_code == 404

    # respondents do not read aggregates nor administer
    for path in (f"/v1/reports/programs/{world.program_id}/items", f"/v1/reports/programs/{world.program_id}/skills", base,
                 f"{base}/respondents", "/v1/administrations", report, f"{report}/report.html"):
        assert world.http.get(path, headers=a_headers).status_code == 403, path
    assert world.http.post(f"{base}/closing", headers=a_headers).status_code == 403

    # another institution's coordinator and evaluator: 404 everywhere
    for headers in (other_world.coordinator, other_world.evaluator):
        for path in (base, f"{base}/respondents", f"/v1/reports/programs/{world.program_id}/items",
                     f"/v1/reports/programs/{world.program_id}/skills", f"/v1/reports/programs/{world.program_id}/text",
                     f"/v1/reports/programs/{world.program_id}/themes"):
            r = world.http.get(path, headers=headers)
            assert r.status_code in ((404,) if headers is other_world.coordinator or "respondents" not in path else (403, 404)), path
    assert world.http.post(f"{base}/closing", headers=other_world.coordinator).status_code == 404
    assert world.http.get(f"/v1/reports/programs/{world.program_id}", headers=other_world.coordinator).status_code == 404
    assert world.http.get(f"/v1/administrations", headers=other_world.coordinator).json()["items"] == []

    # a program of another institution cannot be administered
    body = {"instrument_id": world.builtin_id("soft-skills"), "program_id": str(other_world.program_id), "audience": "everyone",
            "moment": "pre", "opens_at": "2026-01-01T00:00:00Z", "closes_at": "2026-02-01T00:00:00Z"}
    assert world.http.post("/v1/administrations", json=body, headers=world.coordinator).status_code == 404
    r = world.http.post("/v1/administrations", json={**body, "closes_at": "2025-01-01T00:00:00Z"}, headers=world.coordinator)
    assert r.status_code == 422
