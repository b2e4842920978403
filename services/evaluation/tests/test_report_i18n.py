"""Both languages, complete: every word of the report and its charts comes from the catalogs.

* every msgid has a non-empty, non-fuzzy msgstr in both catalogs, and the catalogs hold exactly the
  msgids the code and the template use (extraction with Babel finds nothing outside them);
* the template has no literal words: everything visible is ``_()`` or data;
* rendered, the Spanish page (HTML text, chart text, alt texts) holds no English word of the
  catalogs, and the English page no Spanish one.
"""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from jinja2 import nodes

from services.evaluation.domain import build_report, render_html, report_charts
from services.evaluation.domain.i18n import LANGUAGES, catalog_path
from services.evaluation.domain.page import _environment

from .analytics_cohorts import mexico_pilot

DOMAIN = Path(__file__).resolve().parent.parent / "domain"
PY_SOURCES = ("labels.py", "report.py", "page.py", "charts.py")
KEYWORDS = {"_": None, "N_": None, "w": None}


def extracted() -> set[str]:
    found = set()
    for name in PY_SOURCES:
        found |= {msg for _, msg, _, _ in extract_from_file("python", DOMAIN / name, keywords=KEYWORDS)}
    template = DOMAIN / "templates" / "report.html.j2"
    found |= {msg for _, msg, _, _ in extract_from_file("jinja2.ext:babel_extract", template, keywords={"_": None},
                                                        options={"trim_blocks": "true", "lstrip_blocks": "true"})}
    return found


def catalog(lang: str):  # noqa: ANN201
    with catalog_path(lang).open("rb") as f:
        return read_po(f, locale=lang)


def test_every_msgid_is_translated_in_both_catalogs_and_nothing_is_left_outside() -> None:
    used = extracted()
    assert len(used) > 150
    for lang in LANGUAGES:
        cat = catalog(lang)
        ids = {m.id for m in cat if m.id}
        assert ids == used, (lang, sorted(used - ids), sorted(ids - used))
        for m in cat:
            if not m.id:
                continue
            assert m.string and str(m.string).strip(), (lang, m.id)
            assert not m.fuzzy, (lang, m.id)
            # the same placeholders on both sides
            assert set(re.findall(r"{(\w+)}", m.id)) == set(re.findall(r"{(\w+)}", str(m.string))), (lang, m.id)


def test_the_template_has_no_literal_words() -> None:
    env = _environment()
    source = (DOMAIN / "templates" / "report.html.j2").read_text(encoding="utf-8")
    # the literal parts in order (expressions left out), so tags split by an expression join up again
    literal = "".join(node.data for node in env.parse(source).find_all(nodes.TemplateData))
    visible = re.sub(r"<[^>]*>", " ", literal)
    assert not re.search(r"[^\W\d_]{2,}", visible), f"literal text in the template: {visible.strip()[:200]!r}"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self.skip += 1
        for name, value in attrs:
            if name == "alt" and value:
                self.texts.append(value)
            if name == "src" and value and value.startswith("data:image/svg+xml;base64,"):
                svg = base64.b64decode(value.split(",", 1)[1]).decode("utf-8")
                inner = _Text()
                inner.feed(svg)
                self.texts += inner.texts

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            self.texts.append(data.strip())


def visible(page: str) -> list[str]:
    parser = _Text()
    parser.feed(page)
    return parser.texts


def words_only_in(lang: str) -> set[str]:
    """Catalog strings of ``lang`` (without placeholders) that the other language words differently."""
    other = "en" if lang == "es" else "es"
    mine = {m.id: str(m.string) for m in catalog(lang) if m.id}
    theirs = {m.id: str(m.string) for m in catalog(other) if m.id}
    return {s for mid, s in mine.items() if "{" not in s and s != theirs[mid] and len(s) > 2}


@pytest.fixture(scope="module")
def pages() -> dict[str, list[str]]:
    inp = mexico_pilot()
    full = build_report(inp)
    empty = build_report(replace(inp, achievement=(), closing=None, skills_pre=None, themes=(), codings=()))
    out = {}
    for lang in LANGUAGES:
        texts = []
        for report in (full, empty):
            texts += visible(render_html(report, report_charts(report, lang=lang, png=False), lang=lang))
        out[lang] = texts
    return out


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_word_of_the_other_language_is_shown(pages: dict[str, list[str]], lang: str) -> None:
    foreign = words_only_in("en" if lang == "es" else "es")
    shown = pages[lang]
    leaks = sorted({t for t in shown if t in foreign})
    assert not leaks, leaks
    # method names, reasons and stage labels are words too
    if lang == "es":
        joined = " ".join(shown)
        for english in ("optimal", "Applied", "exact (scipy)", "non-zero", "Hidden", "Everyone"):
            assert english not in joined, english
