"""The program report: figures of the simulated Mexico pilot, protection, a self-contained
HTML page, and that page rendered by headless Chromium."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.evaluation.domain import (
    DisclosurePolicy,
    ProgramReport,
    build_report,
    render_html,
    report_charts,
)
from services.evaluation.domain.disclosure import ProtectedTable

from .analytics_cohorts import mexico_pilot, synthetic_program

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def report() -> ProgramReport:
    return build_report(mexico_pilot())


@pytest.fixture(scope="module")
def page(report: ProgramReport) -> str:
    return render_html(report, report_charts(report, lang="es", png=False), lang="es")


def tables(report: ProgramReport) -> list[ProtectedTable]:
    out = []
    if report.skills:
        out += list(report.skills.respondents.values())
    if report.satisfaction:
        out.append(report.satisfaction.respondents)
        out += [it.table for it in report.satisfaction.items]
    if report.themes:
        out.append(report.themes.coded)
    if report.retention.rapport_by_in_person:
        out.append(report.retention.rapport_by_in_person)
    return out


def test_the_pilot_figures(report: ProgramReport) -> None:
    assert [f.key for f in report.funnel] == ["applied", "selected", "confirmed", "trained", "matched", "completed"]
    assert report.retention.started == 14 and report.retention.completed == 13 and report.retention.dissolved == 1
    mix = {key: n for key, _, n in report.adherence.feedback_mix}
    submitted = report.adherence.feedback_submitted
    assert mix["on_time"] == submitted // 2 and sum(mix.values()) == report.adherence.feedback_expected
    assert report.training_rate == 1.0
    skills = {(r.skill, r.group) for r in report.skills.rows}
    assert len({s for s, _ in skills}) == 7 and ("assertiveness", "mentee") in skills
    for row in report.skills.rows:
        assert row.rank_biserial is not None and row.rank_biserial_ci is not None and row.p_value is not None
    obj = report.objectives
    assert obj.published and obj.dyads == 14
    assert obj.gaps["mentee_vs_measured"].mean_change > obj.gaps["mentor_vs_measured"].mean_change
    policy = report.policy
    for c in report.clouds:  # a role's words are used only from k_text answers of that role on
        assert c.published == any(n >= policy.k_text for n in c.responses.values())
        assert set(c.roles) == {g for g, n in c.responses.items() if n >= policy.k_text}
    assert report.clouds[0].published and report.clouds[0].terms
    assert report.clouds[0].responses == {"mentee": 12}  # 14 mentees, 2 did not answer the closing questionnaire


def test_small_groups_are_suppressed(report: ProgramReport) -> None:
    k = report.policy.k
    found_hidden = False
    for t in tables(report):
        for r, row in enumerate(t.published()):
            for c, v in enumerate(row):
                if v is None:
                    found_hidden = True
                else:
                    assert v >= k, f"{t.row_labels[r]}/{t.col_labels[c]} = {v}"
    assert found_hidden
    for cloud in report.clouds:
        assert all(t.documents >= report.policy.min_term_documents for t in cloud.terms)


def test_json_never_carries_hidden_values_or_dyad_ids(report: ProgramReport) -> None:
    data = report.to_dict()
    text = json.dumps(data)
    assert '"d000' not in text and "p000" not in text and "pair_scores" not in text
    items = data["satisfaction"]["items"]
    for got, item in zip(items, report.satisfaction.items, strict=True):
        assert got["table"]["cells"] == [list(r) for r in item.table.published()]
    assert report.tidy_rows() and all(set(r) == {"section", "table", "row", "column", "value", "hidden"} for r in report.tidy_rows())
    hidden_rows = [r for r in report.tidy_rows() if r["hidden"]]
    assert hidden_rows and all(r["value"] is None for r in hidden_rows)


def test_groups_under_k_withhold_their_statistics() -> None:
    inp = synthetic_program(4, 14, seed=3)
    report = build_report(inp)
    # 4 mentors: hidden, and "everyone" with them; the 14 mentees (a group of at least k) stay
    assert {g for s, g in report.skills.hidden} == {"mentor", "all"}
    assert {r.group for r in report.skills.rows} == {"mentee"}
    assert all(v is None for _, _, v in report.satisfaction.benefits)
    tiny = build_report(synthetic_program(2, 3, seed=3))
    assert tiny.objectives is not None and not tiny.objectives.published
    assert not any(c.published for c in tiny.clouds)
    strict = build_report(inp, policy=DisclosurePolicy(k=10))
    assert len(strict.skills.rows) <= len(report.skills.rows)


def test_report_is_deterministic() -> None:
    a = build_report(mexico_pilot()).to_dict()
    b = build_report(mexico_pilot()).to_dict()
    assert a == b


def test_html_is_self_contained(report: ProgramReport, page: str) -> None:
    assert page.startswith("<!doctype html>")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"https?://", page)
    assert "<script" not in page.lower() and "@import" not in page and "<link" not in page.lower()
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/svg+xml;base64,") for s in sources)
    charts = report_charts(report, png=False)
    assert len(sources) == len(charts)
    for name in ("funnel", "feedback", "skills", "objectives", "benefits", "cloud_0", "likert_0"):
        assert name in charts
    for section in ("funnel", "matching", "adherence", "retention", "skills", "objectives", "satisfaction", "clouds", "themes"):
        assert f'id="{section}"' in page
    assert "13 de 14 díadas concluyeron" in page
    assert 'class="hidden"' in page


def test_english_page(report: ProgramReport) -> None:
    page = render_html(report, lang="en")
    assert '<html lang="en">' in page and "13 of 14 dyads completed" in page and "Skills change" in page


def test_html_renders_in_headless_chromium(page: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("headless Chromium is needed for this test: install it with `apt-get install -y chromium`")
    html_file = tmp_path / "report.html"
    html_file.write_text(page, encoding="utf-8")
    shot = tmp_path / "report.png"
    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1100,5200", f"--screenshot={shot}",
        html_file.as_uri(),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert shot.exists(), out.stderr[-2000:]
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    assert image.size == (1100, 5200)
    pixels = np.asarray(image)
    assert pixels.std() > 20  # not a blank page
    accent = np.all(np.abs(pixels.astype(int) - [0, 114, 178]) < 12, axis=2).sum()
    orange = np.all(np.abs(pixels.astype(int) - [230, 159, 0]) < 12, axis=2).sum()
    assert accent > 2_000 and orange > 2_000  # the header rule, links and the charts' colours
    if os.environ.get("ALIADA_REPORT_SCREENSHOT"):
        shutil.copy(shot, os.environ["ALIADA_REPORT_SCREENSHOT"])


def test_a_perceived_measure_from_fewer_than_k_dyads_is_withheld() -> None:
    inp = mexico_pilot()
    # Only three mentors rated their mentee's achievement: their answers stay out of every figure.
    few = tuple(replace(d, mentor_perceived=d.mentor_perceived if i < 3 else None) for i, d in enumerate(inp.achievement))
    report = build_report(replace(inp, achievement=few))
    obj = report.objectives
    assert obj.published and obj.hidden == ("mentor",)
    assert obj.summaries["mentor"].n == 0 and obj.gaps["mentor_vs_measured"].n_pairs == 0 and obj.spearman["measured~mentor"] is None
    assert all(point[3] is None for point in obj.points) and obj.summaries["mentee"].n == 14
    page = render_html(report, {}, lang="en")  # the tables only
    section = page[page.index('id="objectives"'):page.index('id="skills"')]
    # the mentor row (4 cells), the two gaps that use it (3 cells each), the mentor column of the 14 dyads
    assert section.count('class="hidden"') == 4 + 2 * 3 + 14
    assert "fewer than 5 dyads gave it" in section
