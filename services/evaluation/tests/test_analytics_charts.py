"""Every chart renders to a valid PNG and a parseable SVG, deterministically, on Agg."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import matplotlib
import numpy as np
import pytest

from services.evaluation.analytics import (
    Chart,
    achievement_chart,
    bar_chart,
    cloud_layout,
    funnel_chart,
    likert_chart,
    skill_change_chart,
    stacked_share_chart,
    word_cloud_chart,
)
from services.evaluation.analytics.charts import LABELS, ChangeRow, FunnelBar, LikertItem, LikertRow

PNG = b"\x89PNG\r\n\x1a\n"
SCALE = ["Totalmente en desacuerdo", "En desacuerdo", "Neutral", "De acuerdo", "Totalmente de acuerdo"]


def charts(lang: str = "es") -> dict[str, Chart]:
    rng = np.random.default_rng(0)
    m = rng.uniform(10, 90, 14)
    big = rng.uniform(0, 100, 300)
    return {
        "likert": likert_chart(
            "likert", "Capacitación",
            [
                LikertItem("La plataforma en línea fue fácil de usar.", [
                    LikertRow("mentor", [None, None, 3, 7, 6], 16),
                    LikertRow("mentee", [None, None, None, None, None], None),
                    LikertRow("all", [0, 1, 5, 13, 11], 30),
                ]),
                LikertItem("El número de sesiones fue adecuado.", [LikertRow("all", [2, 3, 5, 10, 10], 30)]),
            ],
            SCALE, lang=lang,
        ),
        "likert4": likert_chart("likert4", "4", [LikertItem("x", [LikertRow("all", [5, 6, 7, 8], 26)])],
                                ["a", "b", "c", "d"], lang=lang),
        "skills": skill_change_chart(
            "skills", "Cambio", ["Asertividad", "Liderazgo"],
            [
                ChangeRow("Asertividad", "mentee", 12, 0.5, (0.2, 0.8), 0.7, (0.4, 0.9)),
                ChangeRow("Asertividad", "mentor", 16, 0.1, None, None, None),
                ChangeRow("Liderazgo", "mentee", 12, 0.3, (0.0, 0.6), 0.5, (0.1, 0.8)),
                # A percentile bootstrap interval that leaves the estimate out (the Peru demo's 60 pairs).
                ChangeRow("Liderazgo", "all", 60, 0.6, (0.3, 0.9), 1.0, (0.71, 0.97)),
            ],
            lang=lang,
        ),
        "dumbbell": achievement_chart("a", "Logro", list(m), list(np.clip(m + 12, 0, 100)), [None, *np.clip(m[1:] + 3, 0, 100)],
                                      lang=lang),
        "scatter": achievement_chart("b", "Logro", list(big), list(np.clip(big + 10, 0, 100)), list(big), lang=lang),
        "cloud": word_cloud_chart("c", "Nube", [("confianza", 9), ("investigación", 7), ("red", 5), ("becas", 2)], lang=lang),
        "empty_cloud": word_cloud_chart("e", "Nube", [], lang=lang),
        "funnel": funnel_chart("f", "Embudo", [FunnelBar("Postularon", 22, 26), FunnelBar("Concluyeron", 13, 13)], lang=lang),
        "feedback": stacked_share_chart("fb", "Formularios", [("A tiempo", 139), ("Tarde", 139), ("Sin entregar", 4)],
                                        ["#009E73", "#E69F00", "#9e9e9e"], lang=lang),
        "bars": bar_chart("b", "Beneficios", [("Red", 10), ("Colaboraciones", None)], lang=lang),
    }


@pytest.fixture(scope="module")
def rendered() -> dict[str, Chart]:
    return charts("es")


def test_every_chart_renders_png_and_svg(rendered: dict[str, Chart]) -> None:
    for name, chart in rendered.items():
        assert chart.png.startswith(PNG), name
        assert len(chart.png) > 2_000, name
        root = ET.fromstring(chart.svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name
        # Text stays text (searchable, readable by screen readers, and checked for translation), in DejaVu Sans
        assert b"<text" in chart.svg and b"DejaVu Sans" in chart.svg, name
        assert chart.alt and chart.title


def test_charts_are_deterministic_and_leave_no_global_state(rendered: dict[str, Chart]) -> None:
    before = dict(matplotlib.rcParams)
    again = charts("es")
    assert dict(matplotlib.rcParams) == before
    for name in rendered:
        assert again[name].svg == rendered[name].svg, name


def test_english_labels() -> None:
    en = funnel_chart("f", "Funnel", [FunnelBar("Applied", 1, 2)], lang="en")
    es = funnel_chart("f", "Funnel", [FunnelBar("Applied", 1, 2)], lang="es")
    assert en.svg != es.svg  # axis label and legend differ
    assert b">People<" in en.svg and b">Personas<" in es.svg and b"People" not in es.svg


def test_cloud_layout_is_deterministic_without_overlaps() -> None:
    terms = [(f"palabra{i}", 40 - i) for i in range(40)]
    one = cloud_layout(terms, 800, 340)
    assert one == cloud_layout(terms, 800, 340)
    assert one[0][0] == "palabra0" and one[0][3] == max(p[3] for p in one)
    assert len(one) >= 25
    # boxes (as measured by the layout) do not overlap: re-run the check from its output
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    renderer = FigureCanvasAgg(Figure(dpi=100)).get_renderer()
    boxes = []
    for i, (term, x, y, size) in enumerate(one):
        w, h, _ = renderer.get_text_width_height_descent(
            term, FontProperties(family="DejaVu Sans", size=size, weight="bold" if i < 3 else "normal"), ismath=False)
        boxes.append((x - w / 2, y - h / 2, x + w / 2, y + h / 2))
    for i, a in enumerate(boxes):
        assert 0 <= a[0] and a[2] <= 800 and 0 <= a[1] and a[3] <= 340
        for b in boxes[:i]:
            assert a[2] <= b[0] or a[0] >= b[2] or a[3] <= b[1] or a[1] >= b[3]


def test_pyplot_is_never_imported() -> None:
    code = (
        "import sys\n"
        "from services.evaluation.analytics import funnel_chart\n"
        "from services.evaluation.analytics.charts import FunnelBar\n"
        "funnel_chart('f', 't', [FunnelBar('a', 1, 2)])\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "import matplotlib; print(matplotlib.get_backend())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
