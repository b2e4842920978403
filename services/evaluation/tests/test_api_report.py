"""The program report over HTTP with the other services mocked at the transport level."""

from __future__ import annotations

import csv
import re
import io

from services.evaluation.tests.test_api_administrations import skills_answers


def _cohort(world) -> None:
    pre, post = world.administer(moment="pre", anonymous=True), world.administer(moment="post", anonymous=True)
    for n in range(12):
        headers, _, _ = world.person("mentor" if n < 6 else "mentee")
        assert world.answer(pre["id"], headers, skills_answers(2)).status_code == 201
        assert world.answer(post["id"], headers, skills_answers(3 + n % 2)).status_code == 201


def test_program_report_json_csv_html_charts(world):
    _cohort(world)
    url = f"/v1/reports/programs/{world.program_id}"
    r = world.http.get(url, headers=world.coordinator)
    assert r.status_code == 200, r.text
    rep = r.json()
    funnel = {f["key"]: f for f in rep["funnel"]}
    assert (funnel["applied"]["total"], funnel["matched"]["mentees"], funnel["completed"]["total"]) == (60, 14, 26)
    assert (rep["retention"]["started"], rep["retention"]["completed"], rep["retention"]["dissolved"]) == (14, 13, 1)
    assert rep["adherence"]["feedback_on_time"] == 150 and rep["adherence"]["planned_per_dyad"] == 12
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
    # forwarded the caller's token to each service
    assert {c.split()[0] for c in world.fake.calls} == {"participants", "matching", "sessions"}


def test_a_dependency_down_is_a_503(world):
    _cohort(world)
    world.fake.down.add("sessions")
    r = world.http.get(f"/v1/reports/programs/{world.program_id}", headers=world.coordinator)
    assert r.status_code == 503 and r.json()["service"] == "sessions"
    assert r.headers["content-type"].startswith("application/problem+json")


def test_evaluator_refused_by_upstream_and_other_institution(world, other_world):
    url = f"/v1/reports/programs/{world.program_id}"
    assert world.http.get(url, headers=world.evaluator).status_code == 403  # upstream reports are for coordinators
    assert world.http.get(url, headers=other_world.coordinator).status_code == 404


def test_comparison_of_two_programs(world):
    _cohort(world)
    second = world.fake.program(world.institution_id, name="Mentoras STEM 2027")
    url = f"/v1/reports/institutions/{world.institution_id}/comparison"
    r = world.http.get(url, params={"programs": f"{world.program_id},{second}"}, headers=world.coordinator)
    assert r.status_code == 200, r.text
    figures = {f["figure"]: f["values"] for f in r.json()["figures"]}
    assert figures["retention.completion_rate"] == {str(world.program_id): 13 / 14, str(second): 13 / 14}
    assert world.http.get(url, params={"programs": str(second)}, headers=world.coordinator).status_code == 422
