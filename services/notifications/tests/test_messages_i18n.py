"""Both languages, complete: every word of a message comes from the catalogs, and each
catalog holds exactly the msgids the code and the templates use, translated."""

from __future__ import annotations

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from services.notifications.domain.compose import LANGUAGES, SERVICE_DIR, TEMPLATES_DIR, Context, Recipient, catalog_path, compose, zone
from services.notifications.enums import OBLIGATIONS, MessageKind

FACTS = {"number": 3, "start": "2026-09-01T15:00:00+00:00", "previous_start": "2026-08-31T15:00:00+00:00", "duration_minutes": 60,
         "role": "mentee", "confirm_by": "2026-08-10T05:00:00+00:00", "due_at": "2026-09-03T16:00:00+00:00", "meeting_id": "m"}


def extracted() -> set[str]:
    found = {m for _, m, _, _ in extract_from_file("python", SERVICE_DIR / "domain" / "compose.py", keywords={"w": None, "N_": None})}
    for name in ("message.txt.j2", "message.html.j2"):
        found |= {m for _, m, _, _ in extract_from_file("jinja2.ext:babel_extract", TEMPLATES_DIR / name, keywords={"_": None},
                                                        options={"trim_blocks": "true", "lstrip_blocks": "true"})}
    return found | set(OBLIGATIONS.values())


def test_every_msgid_is_translated_in_both_catalogs_and_nothing_is_left_outside() -> None:
    used = extracted()
    assert len(used) > 30
    for lang in LANGUAGES:
        with catalog_path(lang).open("rb") as f:
            catalog = read_po(f, locale=lang)
        assert {m.id for m in catalog if m.id} == used, lang
        assert all(m.string and not m.fuzzy for m in catalog if m.id), lang


@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_kind_is_written_in_each_language_without_the_other(kind: MessageKind) -> None:
    ctx = Context(institution="UNSA", counterpart="Berta", action_url="https://app.test/x", unsubscribe_url="https://api.test/u")
    es = compose(kind, FACTS, Recipient("Ana", "es", zone("America/Lima")), ctx)
    en = compose(kind, FACTS, Recipient("Ana", "en", zone("America/Lima")), ctx)
    assert es.subject != en.subject and es.text != en.text
    assert "Hola, Ana:" in es.text and "Hello Ana," in en.text
    if kind.value.startswith("meeting"):
        assert "10:00" in es.text and "10:00\u202fAM" in en.text  # 15:00 UTC in Lima
    assert ("https://api.test/u" in es.text) is (kind not in OBLIGATIONS)
    assert ("Por qué recibes este mensaje" in es.text) is (kind in OBLIGATIONS)


def test_html_escapes_what_it_is_given() -> None:
    out = compose(MessageKind.match_announced, {"role": "mentee"}, Recipient("<b>Ana</b>", "es", zone(None)), Context(institution="A & B"))
    assert "&lt;b&gt;Ana&lt;/b&gt;" in out.html and "A &amp; B" in out.html
    assert "<b>Ana</b>" in out.text
