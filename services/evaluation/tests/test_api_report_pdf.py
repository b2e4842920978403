"""The PDF report (read back with poppler's pdftotext and pdfinfo) and the per-program disclosure settings,
over HTTP with the other services mocked at the transport level."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jose import jwt

from servicekit.testing import TEST_AUDIENCE, TEST_ISSUER, bearer

from services.evaluation.tests.test_api_administrations import skills_answers
from services.evaluation.tests.test_api_analysis import closing_answers

A4_POINTS = (595.276, 841.89)


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} (poppler-utils) is needed: scripts/ensure-system-packages installs it")
    return path


def pdf_text(pdf: bytes, tmp_path: Path, *args: str) -> str:
    f = tmp_path / "report.pdf"
    f.write_bytes(pdf)
    out = subprocess.run([poppler("pdftotext"), *args, str(f), "-"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _cohort(world) -> None:
    pre, post = world.administer(moment="pre", anonymous=True), world.administer(moment="post", anonymous=True)
    closing = world.administer("closing-assessment", moment="closing", anonymous=True)
    for n in range(12):
        role = "mentor" if n < 6 else "mentee"
        headers, _, _ = world.person(role)
        assert world.answer(pre["id"], headers, skills_answers(2)).status_code == 201
        assert world.answer(post["id"], headers, skills_answers(3 + n % 2)).status_code == 201
        assert world.answer(closing["id"], headers, closing_answers(role, n)).status_code == 201


def test_the_pdf_report_is_a4_names_the_institution_and_the_period_and_nothing_overflows(world, tmp_path):
    _cohort(world)
    world.fake.assessments[str(world.program_id)] = True
    url = f"/v1/reports/programs/{world.program_id}/report.pdf"
    r = world.http.get(url, headers=world.evaluator, params={"lang": "es"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    f = tmp_path / "r.pdf"
    f.write_bytes(r.content)
    info = subprocess.run([poppler("pdfinfo"), str(f)], capture_output=True, text=True, timeout=60).stdout
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert size and abs(float(size[1]) - A4_POINTS[0]) < 1 and abs(float(size[2]) - A4_POINTS[1]) < 1, info
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])
    assert pages >= 3
    text = pdf_text(r.content, tmp_path)
    flat = " ".join(text.split())
    institution = world.fake.institutions[str(world.institution_id)]
    assert institution in flat and str(world.institution_id) not in flat
    assert "del 4 de agosto de 2025 al 30 de enero de 2026" in flat  # first phase start to last phase end
    for words in ("Informe del programa", "Logro de objetivos", "Medido: hitos verificados", "Sintonía",
                  "Satisfacción con el programa", "brecha de percepción", "No se codificó ninguna entrevista"):
        assert words in flat, words
    # every word inside the page: no table or label runs past the right edge
    bbox = pdf_text(r.content, tmp_path, "-bbox")
    words = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"', bbox)
    assert words and all(float(x_max) <= A4_POINTS[0] - 20 for _, x_max in words), max(float(x) for _, x in words)

    english = world.http.get(url, headers=world.evaluator, params={"lang": "en"})
    assert english.status_code == 200
    flat_en = " ".join(pdf_text(english.content, tmp_path).split())
    assert "Program report" in flat_en and "August 4, 2025 to January 30, 2026" in flat_en


def test_the_pdf_is_authorized_as_the_html(world, other_world, mint):
    url = f"/v1/reports/programs/{world.program_id}/report.pdf"
    for headers in (other_world.coordinator, other_world.evaluator):
        assert world.http.get(url, headers=headers).status_code == 404
    mentee, _, _ = world.person("mentee")
    mentor, _, _ = world.person("mentor")
    assert world.http.get(url, headers=mentee).status_code == 403
    assert world.http.get(url, headers=mentor).status_code == 403
    client = bearer(mint(sub="cli-x", roles=[], scope="webhooks:write", client_id="cli-x"))
    assert world.http.get(url, headers=client).status_code == 403
    assert world.http.get(url).status_code == 401


def _expired(mint) -> dict[str, str]:  # noqa: ANN001
    now = int(datetime.now(UTC).timestamp())
    return bearer(mint(sub="coord-late", tid="x", roles=["coordinator"], iat=now - 3600, exp=now - 1800))


def test_disclosure_settings_are_per_program_never_below_the_floor_and_apply_everywhere(world):
    url = f"/v1/reports/programs/{world.program_id}/disclosure"
    r = world.http.get(url, headers=world.coordinator)
    assert r.status_code == 200, r.text
    # a program that has not chosen: k at the floor, k_text at the platform's default for programs (10),
    # which a program may lower down to the floor of k_text (5)
    assert r.json() == {"program_id": str(world.program_id), "min_cell": 5, "min_text": 10,
                        "floor": {"min_cell": 5, "min_text": 5}, "customised": False, "updated_at": None}
    low = world.http.put(url, json={"min_cell": 5, "min_text": 5}, headers=world.coordinator)
    assert low.status_code == 200 and low.json()["min_text"] == 5
    assert world.http.put(url, json={"min_cell": 5, "min_text": 4}, headers=world.coordinator).status_code == 422
    bad = world.http.put(url, json={"min_cell": 4, "min_text": 10}, headers=world.coordinator)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.min_cell"
    bad = world.http.put(url, json={"min_cell": 8, "min_text": 7}, headers=world.coordinator)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.min_text"
    assert world.http.put(url, json={"min_cell": 2, "min_text": 10}, headers=world.coordinator).status_code == 422
    r = world.http.put(url, json={"min_cell": 7, "min_text": 12}, headers=world.coordinator)
    assert r.status_code == 200 and r.json()["min_cell"] == 7 and r.json()["customised"]
    assert world.http.get(url, headers=world.coordinator).json()["min_text"] == 12
    # the program's k applies to every endpoint that publishes answers
    _cohort(world)  # 6 mentors and 6 mentees: under k = 7 each
    base = f"/v1/reports/programs/{world.program_id}"
    report = world.http.get(base, headers=world.evaluator).json()
    assert report["policy"]["k"] == 7 and report["policy"]["k_text"] == 12
    assert report["satisfaction"]["respondents"]["cells"] == [[None, None, 12]]
    items = world.http.get(f"{base}/items", headers=world.evaluator).json()
    assert items["k"] == 7
    assert world.http.get(f"{base}/skills", headers=world.evaluator).json()["k"] == 7
    assert world.http.get(f"{base}/text", headers=world.evaluator).json()["k_text"] == 12


def test_the_disclosure_settings_are_the_coordinators(world, other_world, mint):
    url = f"/v1/reports/programs/{world.program_id}/disclosure"
    body = {"min_cell": 6, "min_text": 10}
    for headers in (other_world.coordinator,):
        assert world.http.get(url, headers=headers).status_code == 404
        assert world.http.put(url, json=body, headers=headers).status_code == 404
    mentee, _, _ = world.person("mentee")
    for headers in (world.evaluator, mentee, other_world.evaluator,
                    bearer(mint(sub="cli-x", roles=[], scope="reports:read", client_id="cli-x"))):
        assert world.http.get(url, headers=headers).status_code == 403
        assert world.http.put(url, json=body, headers=headers).status_code == 403
    assert world.http.get(url, headers=_expired(mint)).status_code == 401
    forged = jwt.encode({"sub": "x", "tid": str(world.institution_id), "roles": ["coordinator"], "iss": TEST_ISSUER,
                         "aud": TEST_AUDIENCE, "exp": int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())},
                        "not-the-key", algorithm="HS256")
    assert world.http.put(url, json=body, headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert world.http.get(url, headers=world.coordinator).json()["customised"] is False  # nothing was written


def test_items_and_the_report_publish_the_same_cells(world):
    _cohort(world)
    base = f"/v1/reports/programs/{world.program_id}"
    report = world.http.get(base, headers=world.coordinator).json()
    items = {i["item_id"]: i for i in world.http.get(f"{base}/items", headers=world.coordinator).json()["items"]
             if i["type"] == "likert" and i["item_id"].split(".")[0] in ("staff", "call", "training", "contribution")}
    assert items
    for it in report["satisfaction"]["items"]:
        assert items[it["item_id"]]["table"] == it["table"], it["item_id"]
        assert items[it["item_id"]]["collapsed"] == it["collapsed"]
