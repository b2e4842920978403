"""Every chart renders to a valid PNG and a parseable SVG, deterministically, on Agg."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import matplotlib
import numpy as np
import pytest

from services.evaluation.domain import (
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
from services.evaluation.domain.charts import LABELS, ChangeRow, FunnelBar, LikertItem, LikertRow

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
        "from services.evaluation.domain import funnel_chart\n"
        "from services.evaluation.domain.charts import FunnelBar\n"
        "funnel_chart('f', 't', [FunnelBar('a', 1, 2)])\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "import matplotlib; print(matplotlib.get_backend())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_every_chart_is_laid_out_inside_its_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    """No layout engine runs: each chart places its axes from measured texts. Nothing may be cut at the
    figure's edge, the title stays above the axes, the legend below them (tick labels and axis label
    included), and the row labels left of them."""
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from services.evaluation.domain import charts as charts_module
    from services.evaluation.domain.chart_layout import SwatchLegend

    drawn: list[tuple[str, Figure]] = []
    render = charts_module.render

    def keeping(name, title, alt, size, draw, png=True):  # type: ignore[no-untyped-def]
        def draw_and_keep(fig: Figure) -> None:
            draw(fig)
            drawn.append((title, fig))
        return render(name, title, alt, size, draw_and_keep, png)

    monkeypatch.setattr(charts_module, "render", keeping)
    kinds = len(charts("es"))
    charts("en")
    long = "Una afirmación larga que ocupa casi todo el ancho de la figura y que debe partirse en líneas " * 2
    likert_chart("long", "Largo", [LikertItem(long, [LikertRow("mentor", [None, 2, 3, None, 9], 120),
                                                     LikertRow("mentee", [40, 2, 3, 1, 9], 55)])], SCALE)
    funnel_chart("f", "Embudo", [FunnelBar("Postularon", 40_000, 60_000), FunnelBar("Seleccionadas por el comité", 2, 3)])
    bar_chart("b", "Beneficios", [("Colaboraciones con otras universidades e institutos", 12_345), ("Red", None)])
    assert len(drawn) == 2 * kinds + 3
    for title, fig in drawn:
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        page = fig.bbox
        tight = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)  # inches -> pixels
        assert tight.x0 >= page.x0 - 1 and tight.y0 >= page.y0 - 1, title
        assert tight.x1 <= page.x1 + 1 and tight.y1 <= page.y1 + 1, title
        shown = [ax for ax in fig.axes if ax.axison]
        extents = [ax.get_tightbbox(renderer) for ax in shown]
        for legend in [*fig.legends, *fig.findobj(SwatchLegend)]:
            top = legend.get_window_extent(renderer).y1
            assert all(top <= e.y0 + 1 for e in extents), title
        heads = [t for t in fig.findobj(Text) if t.get_text() == title and t.axes is None]
        for head in heads:
            assert all(head.get_window_extent(renderer).y0 >= ax.bbox.y1 for ax in shown), title
        for ax in shown:
            for label in ax.texts:
                if label.get_transform() is not ax.transData and label.get_horizontalalignment() == "right":
                    assert label.get_window_extent(renderer).x1 <= ax.bbox.x0 + 0.5, (title, label.get_text())


@pytest.mark.parametrize(("labels", "ncol"), [
    (["En desacuerdo (1–2)", "Neutral (3)", "De acuerdo (4–5)", "Oculto para proteger a quienes respondieron"], 3),
    (["A tiempo (139)", "1–3 días tarde (27)", "4–7 días tarde (45)", "8–14 días tarde (67)", "Sin entregar (4)"], 3),
    (["Mentoradas", "Mentoras"], 2),
    (["Ápice (ÉÁ)", "pq", "gy"], 1),
])
def test_swatch_legends_sit_where_matplotlib_puts_a_legend(labels: list[str], ncol: int) -> None:
    """A SwatchLegend is matplotlib's Legend of the same patches drawn without its nested boxes: every
    swatch and label, and its height, where the Legend puts them in the SVG (a matplotlib upgrade that
    moves them fails here)."""
    import io

    from matplotlib.backends.backend_mixed import MixedModeRenderer
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from services.evaluation.domain.chart_layout import STYLE, ChartCanvas, SvgRenderer, SwatchLegend

    handles = [Patch(facecolor=c, edgecolor="white", hatch="////" if i == len(labels) - 1 else None)
               for i, c in enumerate(["#e66101", "#cfcfcf", "#5e3c99", "#bdbdbd", "#0072B2"][: len(labels)])]
    found = []
    with matplotlib.rc_context(STYLE):
        for ours in (False, True):
            fig = Figure(figsize=(8, 3), dpi=72)  # the SVG's units: points
            ChartCanvas(fig)
            renderer = SvgRenderer(8 * 72, 3 * 72, io.StringIO())
            if ours:
                legend = SwatchLegend(fig, list(zip(handles, labels, strict=True)), ncol)
                fig.draw(MixedModeRenderer(fig, 8, 3, 72, renderer))
                parts = [p.get_window_extent(renderer).extents for p in legend.parts]
                height = legend.height * 72
            else:
                mpl = fig.legend(handles=handles, labels=labels, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=ncol)
                fig.draw(MixedModeRenderer(fig, 8, 3, 72, renderer))
                parts = [a.get_window_extent(renderer).extents for pair in zip(mpl.legend_handles, mpl.texts, strict=True)
                         for a in pair]
                height = mpl.get_window_extent(renderer).height + mpl.borderaxespad * mpl.prop.get_size_in_points()
            found.append((np.array(parts), height))
    assert np.allclose(found[0][0], found[1][0], atol=1e-6)
    assert found[0][1] == pytest.approx(found[1][1], abs=1e-6)


@pytest.mark.parametrize("which", ["x", "y"])
def test_drawn_ticks_sit_where_matplotlib_puts_its_ticks(which: str) -> None:
    """draw_ticks draws an axis' ticks as one line of marks and a text per label: the labels, the
    marks and the axis label where matplotlib's own ticks put them in the SVG, grid lines included."""
    import io

    from matplotlib.backends.backend_mixed import MixedModeRenderer
    from matplotlib.figure import Figure

    from services.evaluation.domain.chart_layout import STYLE, ChartCanvas, SvgRenderer, draw_ticks, few_ticks

    found = []
    with matplotlib.rc_context(STYLE):
        for ours in (False, True):
            fig = Figure(figsize=(6, 4), dpi=72)
            ChartCanvas(fig)
            ax = fig.add_axes((0.2, 0.2, 0.7, 0.7))
            ax.plot([-0.37, 1.62], [12.5, 3_480.0])  # automatic limits, uneven numbers
            axis = ax.xaxis if which == "x" else ax.yaxis
            few_ticks(axis)
            axis.set_label_text("Etiqueta")
            if ours:
                draw_ticks(ax, which, grid={"color": "#dddddd", "linewidth": 0.6})
            else:
                ax.grid(axis=which, color="#dddddd", linewidth=0.6)
            renderer = SvgRenderer(6 * 72, 4 * 72, io.StringIO())
            fig.draw(MixedModeRenderer(fig, 6, 4, 72, renderer))
            if ours:
                labels = [t for t in ax.texts]
            else:
                labels = [t.label1 for t in axis.get_major_ticks() if t.label1.get_text()]
                labels = [t for t in labels if t.get_visible() and ax.viewLim.contains(
                    *((t.get_position()[0], ax.viewLim.y0) if which == "x" else (ax.viewLim.x0, t.get_position()[1])))]
            found.append(([t.get_text() for t in labels], np.array([t.get_window_extent(renderer).extents for t in labels]),
                          np.array(axis.label.get_window_extent(renderer).extents)))
    (names, boxes, label), (our_names, our_boxes, our_label) = found
    assert names == our_names and len(names) >= 3
    assert np.allclose(boxes, our_boxes, atol=1e-6)
    assert np.allclose(label, our_label, atol=1e-6)
