"""The report's words in Spanish and English, from gettext catalogs.

One catalog per language, ``services/evaluation/locale/<lang>/LC_MESSAGES/report.po``,
msgids in English. The catalogs are plain ``.po`` files in the repository; Babel
compiles each one in memory the first time it is needed (``load`` at start-up
checks both), so no compiled ``.mo`` is committed and nothing is built before
the service runs.

In code, ``N_("...")`` marks a msgid where the language is not known yet (a
table of labels); ``gettext(lang, msgid)`` or a :class:`Words` object (``w("...")``)
translates it; :func:`bilingual` gives both languages as a :class:`Text` for the
JSON report. Placeholders use ``str.format`` fields (``{k}``).
"""

from __future__ import annotations

from pathlib import Path

from servicekit.catalogs import Catalogs

from .instruments import Text

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "report"
LANGUAGES = ("es", "en")


def N_(msgid: str) -> str:  # noqa: N802 (the gettext convention)
    """Marks ``msgid`` for extraction; translated later."""
    return msgid


CATALOGS = Catalogs(LOCALE_DIR, LANGUAGES, DOMAIN)
catalog_path = CATALOGS.path
translations = CATALOGS.translations


def load() -> None:
    """Compile both catalogs now (start-up), so a broken catalog fails early."""
    for lang in LANGUAGES:
        translations(lang)


def gettext(lang: str, msgid: str, **fields: object) -> str:
    text = translations("en" if lang == "en" else "es").gettext(msgid)
    return text.format(**fields) if fields else text


def ngettext(lang: str, singular: str, plural: str, n: int, **fields: object) -> str:
    text = translations("en" if lang == "en" else "es").ngettext(singular, plural, n)
    return text.format(n=n, **fields)


def bilingual(msgid: str, **fields: object) -> Text:
    return Text(gettext("es", msgid, **fields), gettext("en", msgid, **fields))


class Words:
    """``w = Words(lang); w("Mentors")``: the words of one language."""

    def __init__(self, lang: str) -> None:
        self.lang = "en" if lang == "en" else "es"

    def __call__(self, msgid: str, **fields: object) -> str:
        return gettext(self.lang, msgid, **fields)

    def n(self, singular: str, plural: str, n: int, **fields: object) -> str:
        return ngettext(self.lang, singular, plural, n, **fields)
