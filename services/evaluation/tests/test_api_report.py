"""The program report over HTTP with the other services mocked at the transport level."""

from __future__ import annotations

import csv
import io
import re
import uuid

from sqlalchemy import text

from services.evaluation.access import dyad_pseudonym
from services.evaluation.tests.conftest import all_rows
from services.evaluation.tests.test_api_administrations import skills_answers


def _cohort(world) -> None:
    pre, post = world.administer(moment="pre", anonymous=True), world.administer(moment="post", anonymous=True)
    for n in range(12):
        headers, _, _ = world.person("mentor" if n < 6 else "mentee")
        assert world.answer(pre["id"], headers, skills_answers(2)).status_code == 201
        assert world.answer(post["id"], headers, skills_answers(3 + n % 2)).status_code == 201


def test_program_report_json_csv_html_charts(world):
    _cohort(world)
    world.fake.calls.clear()
    url = f"/v1/reports/programs/{world.program_id}"
    r = world.http.get(url, headers=world.coordinator)
    assert r.status_code == 200, r.text
    rep = r.json()
    funnel = {f["key"]: f for f in rep["funnel"]}
    assert (funnel["applied"]["total"], funnel["matched"]["mentees"], funnel["completed"]["total"]) == (60, 14, 26)
    assert (rep["retention"]["started"], rep["retention"]["completed"], rep["retention"]["dissolved"]) == (14, 13, 1)
    assert rep["adherence"]["feedback_on_time"] == 150 and rep["adherence"]["planned_per_dyad"] == 12
    # per dyad, from sessions: 13 dyads held 12 meetings, the dissolved one 3; every late form's own delay
    assert rep["adherence"]["meetings_held"]["n"] == 14 and rep["adherence"]["meetings_held"]["minimum"] == 3
    assert rep["adherence"]["dyads_all_meetings"] == 13 and rep["adherence"]["in_person"]["maximum"] == 3
    mix = {key: n for key, _, n in rep["adherence"]["feedback_mix"]}
    assert mix["missing"] == 10 and mix["late_15"] == 0 and sum(mix.values()) == 318
    assert mix["late_1_3"] + mix["late_4_7"] + mix["late_8_14"] == 158
    assert rep["objectives"]["published"] and rep["objectives"]["summaries"]["measured"]["n"] == 14
    assert rep["matching"]["substitutes"] == 2 and "pair_scores" not in rep["matching"]
    assert rep["training_rate"] == 1.0
    assert {row["n_pairs"] for row in rep["skills"]["rows"] if row["group"] == "all"} == {12}

    r = world.http.get(f"{url}/report.csv", headers=world.coordinator)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[0].keys() == {"section", "table", "row", "column", "value", "hidden"}
    assert any(x["section"] == "skills" for x in rows)

    r = world.http.get(f"{url}/report.html", params={"lang": "en"}, headers=world.coordinator)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<html" in r.text and "data:image/svg+xml" in r.text
    # Self-contained: nothing is fetched from the network when it opens.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?https?://""", r.text)

    svg = world.http.get(f"{url}/charts/funnel.svg", headers=world.coordinator)
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    png = world.http.get(f"{url}/charts/skills.png", headers=world.coordinator)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert world.http.get(f"{url}/charts/nope.svg", headers=world.coordinator).status_code == 404
    # the inputs were read from each service with this service's own token (reports:read), never the caller's
    assert {c.split()[0] for c in world.fake.calls} == {"participants", "matching", "sessions"}
    assert {c.split()[2] for c in world.fake.calls} == {"client"}


def test_a_dependency_down_is_a_503(world):
    _cohort(world)
    world.fake.down.add("sessions")
    r = world.http.get(f"/v1/reports/programs/{world.program_id}", headers=world.coordinator)
    assert r.status_code == 503 and r.json()["service"] == "sessions"
    assert r.headers["content-type"].startswith("application/problem+json")


def test_evaluators_get_the_report_other_institutions_do_not(world, other_world, app):
    url = f"/v1/reports/programs/{world.program_id}"
    r = world.http.get(url, headers=world.evaluator)
    assert r.status_code == 200 and r.json()["retention"]["completed"] == 13
    for headers in (other_world.coordinator, other_world.evaluator):
        world.fake.calls.clear()
        assert world.http.get(url, headers=headers).status_code == 404
        # authorized on the program's institution before anything else is read
        assert [c.split()[1] for c in world.fake.calls] == [f"/v1/programs/{world.program_id}"]
    world.fake.calls.clear()
    mentee, _, _ = world.person("mentee")
    assert world.http.get(url, headers=mentee).status_code == 403 and world.fake.calls == []
    # Without its own credentials the service forwards the caller's token: the upstreams refuse evaluators.
    tokens, app.state.report_tokens = app.state.report_tokens, None
    try:
        assert world.http.get(url, headers=world.evaluator).status_code == 403
        assert world.http.get(url, headers=world.coordinator).status_code == 200
    finally:
        app.state.report_tokens = tokens


def test_comparison_of_two_programs(world):
    _cohort(world)
    second = world.fake.program(world.institution_id, name="Mentoras STEM 2027")
    url = f"/v1/reports/institutions/{world.institution_id}/comparison"
    r = world.http.get(url, params={"programs": f"{world.program_id},{second}"}, headers=world.coordinator)
    assert r.status_code == 200, r.text
    figures = {f["figure"]: f["values"] for f in r.json()["figures"]}
    assert figures["retention.completion_rate"] == {str(world.program_id): 13 / 14, str(second): 13 / 14}
    assert world.http.get(url, params={"programs": str(second)}, headers=world.coordinator).status_code == 422


def test_measured_against_perceived_per_dyad_from_the_questionnaires(world, app, engine):
    """A program whose members did not assess their objectives in the sessions: perceived achievement
    comes from the perceived-achievement questionnaires, and the report says so."""
    mentees = world.administer("objectives-mentee", moment="post", audience="mentees", anonymous=True)
    mentors = world.administer("objectives-mentor", moment="post", audience="mentors", anonymous=True)
    url = f"/v1/reports/programs/{world.program_id}"
    for i in range(1, 14):  # the 13 completed dyads
        # the first mentee was in the dissolved dyad before: her answer goes to the completed one
        extra = {"status": "dissolved", "activated_at": "2025-12-01T00:00:00Z"} if i == 1 else None
        headers, sub, _ = world.person("mentee")
        if extra:
            world.fake.join_dyad(sub, world.program_id, 0, **extra)
        world.fake.join_dyad(sub, world.program_id, i)
        assert world.answer(mentees["id"], headers, {"achieved": 60 + 3 * i}).status_code == 201
    for i in range(1, 4):  # three mentors: a group under k, withheld everywhere
        headers, _, _ = world.dyad_member("mentor", i)
        assert world.answer(mentors["id"], headers, {"achieved": 50 + 2 * i}).status_code == 201
    objectives = world.http.get(url, headers=world.evaluator).json()["objectives"]
    assert objectives["hidden"] == ["mentor"] and objectives["summaries"]["mentor"]["n"] == 0
    assert objectives["summaries"]["mentee"]["n"] == 13
    assert all(point[3] is None for point in objectives["points"]) and objectives["gaps"]["mentor_vs_measured"]["n_pairs"] == 0
    assert objectives["perceived_source"] == "survey" and objectives["measured_source"] == "milestones"
    html = world.http.get(f"{url}/report.html", headers=world.evaluator, params={"lang": "en"}).text
    assert 'Perceived by the mentor</td><td class="hidden">' in html
    assert "perceived-achievement questionnaires" in html
    for i in range(4, 14):
        headers, _, _ = world.dyad_member("mentor", i)
        assert world.answer(mentors["id"], headers, {"achieved": 50 + 2 * i}).status_code == 201
    objectives = world.http.get(url, headers=world.evaluator).json()["objectives"]
    assert objectives["published"] and objectives["hidden"] == [] and objectives["dyads"] == 14
    # measured = confirmed milestones (dyad i confirmed min(i, 8) of 8), self-reported progress apart
    expected = {(100.0 * min(i, 8) / 8, 40.0 + 4 * i, 60.0 + 3 * i, 50.0 + 2 * i) for i in range(1, 14)} | {(0.0, 0.0, None, None)}
    assert {tuple(p) for p in objectives["points"]} == expected
    gap = sum(60.0 + 3 * i - 100.0 * min(i, 8) / 8 for i in range(1, 14)) / 13
    assert abs(objectives["gaps"]["mentee_vs_measured"]["mean_change"] - gap) < 1e-9
    assert objectives["gaps"]["mentee_vs_mentor"]["n_pairs"] == 13
    assert objectives["gaps"]["mentee_vs_mentor"]["mean_change"] == 17.0  # mean of 10 + i
    assert objectives["gaps"]["mentee_vs_mentor"]["mean_change_ci"] is not None
    # Stored: the dyad's keyed pseudonym, never its id.
    rows = all_rows(engine)
    with engine.connect() as conn:
        stored = {ref for (ref,) in conn.execute(text("SELECT dyad_ref FROM responses"))}
    key = app.state.pseudonym_key
    assert stored == {dyad_pseudonym(key, world.program_id, uuid.UUID(d)) for d in world.fake.dyad_ids[str(world.program_id)][1:]}
    assert not any(d in str(rows) for d in world.fake.dyad_ids[str(world.program_id)])


def test_a_perceived_answer_is_not_written_while_sessions_is_down(world, engine):
    adm = world.administer("objectives-mentee", moment="post", audience="mentees", anonymous=True)
    headers, _, _ = world.dyad_member("mentee", 3)
    world.fake.down.add("sessions")
    r = world.answer(adm["id"], headers, {"achieved": 70})
    assert r.status_code == 503 and r.json()["service"] == "sessions"
    assert all_rows(engine)["responses"] == []
    world.fake.down.clear()
    assert world.answer(adm["id"], headers, {"achieved": 70}).status_code == 201
    # other instruments never ask sessions
    world.fake.down.add("sessions")
    skills = world.administer(moment="pre")
    assert world.answer(skills["id"], headers, skills_answers(3)).status_code == 201


def test_perceived_achievement_from_the_members_assessments(world):
    """Both members assessed their objectives in the sessions service: the report shows perceived and
    measured per dyad for both roles, the perception gap with its interval, and names its sources."""
    world.fake.assessments[str(world.program_id)] = True
    url = f"/v1/reports/programs/{world.program_id}"
    report = world.http.get(url, headers=world.coordinator).json()
    obj = report["objectives"]
    assert obj["published"] and obj["perceived_source"] == "assessments" and obj["hidden"] == []
    assert obj["summaries"]["mentee"]["n"] == 13 and obj["summaries"]["mentor"]["n"] == 13
    assert obj["summaries"]["measured"]["n"] == 14 and obj["summaries"]["self_reported"]["n"] == 14
    gap = obj["gaps"]["mentee_vs_mentor"]
    assert gap["n_pairs"] == 13 and gap["mean_change"] == 17.0 and gap["mean_change_ci"][0] <= 17.0 <= gap["mean_change_ci"][1]
    assert {tuple(p) for p in obj["points"]} >= {(100.0, 80.0, 90.0, 70.0)}  # dyad 10: 8 of 8 confirmed
    for lang, words in (("es", ("Medido: hitos verificados", "Avance autorreportado", "Percibido por la mentora",
                                "brecha de percepción")),
                        ("en", ("Measured: verified milestones", "Self-reported progress", "Perceived by the mentor",
                                "perception gap"))):
        html = world.http.get(f"{url}/report.html", headers=world.coordinator, params={"lang": lang}).text
        for w in words:
            assert w in html, (lang, w)
    # rapport is fed from the outcomes: 14 dyads, 7 met in person more than twice
    ret = report["retention"]
    assert ret["rapport_dyads"] == 14
    assert ret["rapport_by_in_person"]["cells"] == [[7, 7, 14]]
    assert ret["rapport_means"]["in_person_3plus"] is not None and ret["rapport_means"]["all"] is not None
