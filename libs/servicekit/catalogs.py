"""Message catalogs (gettext, Babel): an app's ``.po`` files compiled when first used.

An app keeps ``locale/<lang>/LC_MESSAGES/<domain>.po`` under its own directory
(extracted and updated with Babel's tools) and asks for a language's
``Translations``; the catalog is compiled in memory once per process, so no
compiled ``.mo`` file is committed or can go stale. Only Babel is imported here:
an app's pure core may use it.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations


class Catalogs:
    """The catalogs of one app: ``<locale_dir>/<lang>/LC_MESSAGES/<domain>.po`` for each of ``languages``."""

    def __init__(self, locale_dir: Path, languages: tuple[str, ...], domain: str = "messages") -> None:
        self.locale_dir, self.languages, self.domain = locale_dir, languages, domain
        self._compiled: dict[str, Translations] = {}

    def path(self, lang: str) -> Path:
        return self.locale_dir / lang / "LC_MESSAGES" / f"{self.domain}.po"

    def translations(self, lang: str) -> Translations:
        """The compiled catalog of ``lang``; a language without a catalog is a ValueError."""
        if lang not in self.languages:
            raise ValueError(f"no catalog for {lang!r}")
        if lang not in self._compiled:
            with self.path(lang).open("rb") as f:
                catalog = read_po(f, locale=lang, domain=self.domain)
            buf = io.BytesIO()
            write_mo(buf, catalog)
            buf.seek(0)
            self._compiled[lang] = Translations(buf, domain=self.domain)
        return self._compiled[lang]
