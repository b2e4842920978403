"""Open answers as terms: lowercased, accent-insensitive counts without the Spanish and
English stop words shipped in ``stopwords/``, and in how many answers each term appears."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import chain


def stop_words(lang: str) -> frozenset[str]:
    """The shipped stop words of ``lang`` ("es" or "en"), normalised like terms."""
    text = resources.files(__package__).joinpath("stopwords", f"{lang}.txt").read_text(encoding="utf-8")
    words = (w for line in text.splitlines() if not line.startswith("#") for w in line.split())
    return frozenset(normalise_term(w) for w in words)


_COMBINING = re.compile(r"[\u0300-\u036f]")
_TOKEN = re.compile(r"[^\W\d_]+")


@cache
def normalise_term(word: str) -> str:
    """Lowercased (casefolded) and without accents: "Investigación" -> "investigacion"."""
    return _COMBINING.sub("", unicodedata.normalize("NFD", word.casefold())).replace("ß", "ss")


@dataclass(frozen=True)
class TermCount:
    """``term`` is the most used spelling (accents kept), ``key`` the normalised
    form that was counted; ``documents`` is how many responses used it."""

    term: str
    key: str
    count: int
    documents: int


def term_frequencies(
    texts: Iterable[str],
    *,
    languages: Sequence[str] = ("es", "en"),
    extra_stop_words: Iterable[str] = (),
    min_length: int = 3,
    min_documents: int = 1,
    top: int | None = 60,
) -> tuple[TermCount, ...]:
    """Term counts for a word cloud, most frequent first (ties: alphabetical key)."""
    stop = set().union(*(stop_words(lang) for lang in languages)) | {normalise_term(w) for w in extra_stop_words}
    # Each distinct text is split once (short answers repeat: "Más reuniones presenciales."); tokens
    # are counted in bulk (Counter over all of them, C code), then each distinct spelling is normalised
    # and filtered once; documents count the distinct keys of each text.
    texts = list(texts)
    split = {text: _TOKEN.findall(text.lower()) for text in dict.fromkeys(texts)}
    tokens = [split[text] for text in texts]
    spelled = Counter(chain.from_iterable(tokens))
    keys = {token: normalise_term(token) for token in spelled}
    kept = {token: key for token, key in keys.items() if len(key) >= min_length and key not in stop}
    counts: Counter[str] = Counter()
    spellings: dict[str, dict[str, int]] = defaultdict(dict)
    for token, key in kept.items():
        n = spelled[token]
        counts[key] += n
        spellings[key][token] = n
    distinct_keys = {text: {keys[t] for t in doc} for text, doc in split.items()}
    documents = Counter(chain.from_iterable(distinct_keys[text] for text in texts))
    terms = [
        TermCount(min(spellings[k].items(), key=lambda kv: (-kv[1], kv[0]))[0], k, c, documents[k])
        for k, c in counts.items()
        if documents[k] >= min_documents
    ]
    terms.sort(key=lambda t: (-t.count, t.key))
    return tuple(terms[:top] if top is not None else terms)
