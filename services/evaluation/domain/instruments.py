"""Instrument templates as data: versioned, sections, typed items, es/en text, scoring.

An :class:`Instrument` is a frozen value. Building one checks it (unique ids,
labelled Likert points, options, subscales that name Likert items of one
scale); a contradiction raises :class:`InstrumentError`. Institutions copy a
built-in instrument (:meth:`Instrument.copy`) and edit the copy; each edit is a
new version (:meth:`Instrument.revise`). ``to_dict`` / ``from_dict`` give the
JSON form the service stores.

Answers are plain JSON values keyed by item id: an ``int`` (Likert point
``1..points``), a number (numeric), a ``str`` (single choice: the option value;
open text), a list of option values (multiple choice), or ``None`` (no answer).
:func:`check_response` names every bad item; :func:`validate_response` raises
:class:`ResponseError` with that list or returns the normalised answers.

Scoring: a reverse-coded Likert item counts ``points + 1 - value``; a subscale
is the mean of its items, provided at least ``min_answered`` of them were
answered (default: half of them, rounded up), else ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from itertools import chain
from operator import itemgetter
from typing import Any, Literal

import numpy as np

Lang = Literal["es", "en"]
LANGS: tuple[Lang, ...] = ("es", "en")
Answer = int | float | str | Sequence[str] | None


class InstrumentError(ValueError):
    """The instrument definition contradicts itself."""


class Role(StrEnum):
    """The respondent's role. Peer mentors answer as mentors."""

    MENTOR = "mentor"
    MENTEE = "mentee"


class Audience(StrEnum):
    MENTORS = "mentors"
    MENTEES = "mentees"
    EVERYONE = "everyone"

    def includes(self, role: Role | None) -> bool:
        if self is Audience.EVERYONE or role is None:
            return True
        return (self is Audience.MENTORS) == (role is Role.MENTOR)


class ItemType(StrEnum):
    LIKERT = "likert"
    NUMERIC = "numeric"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    OPEN_TEXT = "open_text"


@dataclass(frozen=True)
class Text:
    """The same text in Spanish and English."""

    es: str
    en: str

    def __post_init__(self) -> None:
        if not self.es.strip() or not self.en.strip():
            raise InstrumentError(f"text needs both es and en: {self!r}")

    def get(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.es


@dataclass(frozen=True)
class LikertScale:
    """A Likert scale of 4, 5 or 7 points, each labelled (point ``i`` is ``labels[i - 1]``)."""

    labels: tuple[Text, ...]

    @property
    def points(self) -> int:
        return len(self.labels)

    def __post_init__(self) -> None:
        if self.points not in (4, 5, 7):
            raise InstrumentError(f"a Likert scale has 4, 5 or 7 labelled points, not {self.points}")

    @property
    def neutral(self) -> int | None:
        """The middle point of an odd scale, ``None`` for 4 points."""
        return (self.points + 1) // 2 if self.points % 2 else None


@dataclass(frozen=True)
class Option:
    value: str
    label: Text


@dataclass(frozen=True, kw_only=True)
class Item:
    """One question. Only the fields of its ``type`` may be set."""

    id: str
    type: ItemType
    text: Text
    audience: Audience = Audience.EVERYONE
    required: bool = True
    scale: LikertScale | None = None
    reverse: bool = False
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    options: tuple[Option, ...] = ()
    max_choices: int | None = None
    max_length: int = 4000

    def __post_init__(self) -> None:
        where = f"item {self.id!r}"
        if not self.id or not self.id.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise InstrumentError(f"{where}: ids use letters, digits, '-', '_' and '.'")
        t = self.type
        if (t is ItemType.LIKERT) != (self.scale is not None):
            raise InstrumentError(f"{where}: a Likert item, and only a Likert item, has a scale")
        if self.reverse and t is not ItemType.LIKERT:
            raise InstrumentError(f"{where}: only Likert items are reverse-coded")
        if t is not ItemType.NUMERIC and (self.minimum is not None or self.maximum is not None or self.integer):
            raise InstrumentError(f"{where}: minimum, maximum and integer are for numeric items")
        if t is ItemType.NUMERIC and self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise InstrumentError(f"{where}: minimum above maximum")
        choice = t in (ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_CHOICE)
        if choice:
            values = [o.value for o in self.options]
            if len(values) < 2 or len(set(values)) != len(values) or not all(values):
                raise InstrumentError(f"{where}: a choice item has at least two options with distinct values")
        elif self.options:
            raise InstrumentError(f"{where}: only choice items have options")
        if self.max_choices is not None and (
            t is not ItemType.MULTIPLE_CHOICE or not 1 <= self.max_choices <= len(self.options)
        ):
            raise InstrumentError(f"{where}: max_choices is between 1 and the number of options, on multiple choice")
        if self.max_length < 1:
            raise InstrumentError(f"{where}: max_length must be positive")

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)

    def categories(self) -> tuple[tuple[str, Text], ...]:
        """The answer categories of a closed item, in order: ``(key, label)``."""
        if self.scale is not None:
            return tuple((str(i + 1), label) for i, label in enumerate(self.scale.labels))
        return tuple((o.value, o.label) for o in self.options)


@dataclass(frozen=True, kw_only=True)
class Section:
    id: str
    title: Text
    items: tuple[Item, ...]
    audience: Audience = Audience.EVERYONE


@dataclass(frozen=True, kw_only=True)
class Subscale:
    """A score: the mean of its (Likert) items after reverse coding."""

    id: str
    label: Text
    items: tuple[str, ...]
    min_answered: int | None = None

    @property
    def needed(self) -> int:
        return self.min_answered if self.min_answered is not None else math.ceil(len(self.items) / 2)


@dataclass(frozen=True, kw_only=True)
class Instrument:
    """A versioned questionnaire template. ``key`` and ``version`` identify it;
    ``derived_from`` names the ``(key, version)`` it was copied from."""

    key: str
    version: int
    title: Text
    description: Text
    sections: tuple[Section, ...]
    subscales: tuple[Subscale, ...] = ()
    derived_from: tuple[str, int] | None = None
    _index: Mapping[str, Item] = field(init=False, repr=False, compare=False, default_factory=dict)
    _audience: Mapping[str, Audience] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.version < 1:
            raise InstrumentError("versions start at 1")
        index: dict[str, Item] = {}
        audience: dict[str, Audience] = {}
        section_ids = [s.id for s in self.sections]
        if len(set(section_ids)) != len(section_ids):
            raise InstrumentError("duplicate section ids")
        for section in self.sections:
            for item in section.items:
                if item.id in index:
                    raise InstrumentError(f"duplicate item id {item.id!r}")
                if section.audience is not Audience.EVERYONE and item.audience not in (Audience.EVERYONE, section.audience):
                    raise InstrumentError(f"item {item.id!r}: its audience contradicts its section's")
                index[item.id] = item
                audience[item.id] = item.audience if item.audience is not Audience.EVERYONE else section.audience
        if not index:
            raise InstrumentError("an instrument has at least one item")
        subscale_ids = [s.id for s in self.subscales]
        if len(set(subscale_ids)) != len(subscale_ids):
            raise InstrumentError("duplicate subscale ids")
        for sub in self.subscales:
            if not sub.items:
                raise InstrumentError(f"subscale {sub.id!r} has no items")
            points = set()
            for item_id in sub.items:
                item = index.get(item_id)
                if item is None:
                    raise InstrumentError(f"subscale {sub.id!r} names unknown item {item_id!r}")
                if item.scale is None:
                    raise InstrumentError(f"subscale {sub.id!r}: item {item_id!r} is not Likert")
                points.add(item.scale.points)
            if len(points) != 1:
                raise InstrumentError(f"subscale {sub.id!r} mixes Likert scales")
            if not 1 <= sub.needed <= len(sub.items):
                raise InstrumentError(f"subscale {sub.id!r}: min_answered out of range")
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_audience", audience)

    def items(self) -> Iterator[Item]:
        for section in self.sections:
            yield from section.items

    def item(self, item_id: str) -> Item:
        return self._index[item_id]

    def has_item(self, item_id: str) -> bool:
        return item_id in self._index

    def item_audience(self, item_id: str) -> Audience:
        """The effective audience of an item (its own, or its section's)."""
        return self._audience[item_id]

    def subscale(self, subscale_id: str) -> Subscale:
        return next(s for s in self.subscales if s.id == subscale_id)

    def copy(self, key: str, *, title: Text | None = None) -> Instrument:
        """An institution's own copy, at version 1, remembering its origin."""
        return replace(self, key=key, version=1, title=title or self.title, derived_from=(self.key, self.version))

    def revise(self, **changes: Any) -> Instrument:
        """The next version with ``changes`` (any field but key and version)."""
        if {"key", "version", "derived_from"} & changes.keys():
            raise InstrumentError("a revision keeps its key and origin; its version is the next one")
        return replace(self, version=self.version + 1, **changes)

    def to_dict(self) -> dict[str, Any]:
        return _instrument_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Instrument:
        return _instrument_from_dict(data)


# ----------------------------------------------------------------------------- JSON form


def _text(t: Text) -> dict[str, str]:
    return {"es": t.es, "en": t.en}


def _item_to_dict(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item.id, "type": item.type.value, "text": _text(item.text)}
    if item.audience is not Audience.EVERYONE:
        out["audience"] = item.audience.value
    if not item.required:
        out["required"] = False
    if item.scale is not None:
        out["scale"] = [_text(t) for t in item.scale.labels]
    if item.reverse:
        out["reverse"] = True
    for name in ("minimum", "maximum", "max_choices"):
        if getattr(item, name) is not None:
            out[name] = getattr(item, name)
    if item.integer:
        out["integer"] = True
    if item.options:
        out["options"] = [{"value": o.value, "label": _text(o.label)} for o in item.options]
    if item.type is ItemType.OPEN_TEXT:
        out["max_length"] = item.max_length
    return out


def _instrument_to_dict(ins: Instrument) -> dict[str, Any]:
    return {
        "key": ins.key,
        "version": ins.version,
        "title": _text(ins.title),
        "description": _text(ins.description),
        "derived_from": list(ins.derived_from) if ins.derived_from else None,
        "sections": [
            {
                "id": s.id,
                "title": _text(s.title),
                "audience": s.audience.value,
                "items": [_item_to_dict(i) for i in s.items],
            }
            for s in ins.sections
        ],
        "subscales": [
            {"id": s.id, "label": _text(s.label), "items": list(s.items), "min_answered": s.min_answered}
            for s in ins.subscales
        ],
    }


def _t(d: Mapping[str, str]) -> Text:
    return Text(es=d["es"], en=d["en"])


def _item_from_dict(d: Mapping[str, Any]) -> Item:
    return Item(
        id=d["id"],
        type=ItemType(d["type"]),
        text=_t(d["text"]),
        audience=Audience(d.get("audience", "everyone")),
        required=d.get("required", True),
        scale=LikertScale(tuple(_t(x) for x in d["scale"])) if "scale" in d else None,
        reverse=d.get("reverse", False),
        minimum=d.get("minimum"),
        maximum=d.get("maximum"),
        integer=d.get("integer", False),
        options=tuple(Option(o["value"], _t(o["label"])) for o in d.get("options", ())),
        max_choices=d.get("max_choices"),
        max_length=d.get("max_length", 4000),
    )


def _instrument_from_dict(d: Mapping[str, Any]) -> Instrument:
    try:
        return Instrument(
            key=d["key"],
            version=int(d["version"]),
            title=_t(d["title"]),
            description=_t(d["description"]),
            derived_from=tuple(d["derived_from"]) if d.get("derived_from") else None,  # type: ignore[arg-type]
            sections=tuple(
                Section(
                    id=s["id"],
                    title=_t(s["title"]),
                    audience=Audience(s.get("audience", "everyone")),
                    items=tuple(_item_from_dict(i) for i in s["items"]),
                )
                for s in d["sections"]
            ),
            subscales=tuple(
                Subscale(id=s["id"], label=_t(s["label"]), items=tuple(s["items"]), min_answered=s.get("min_answered"))
                for s in d.get("subscales", ())
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InstrumentError):
            raise
        raise InstrumentError(f"malformed instrument: {exc!r}") from exc


# ----------------------------------------------------------------------------- responses


@dataclass(frozen=True)
class ResponseIssue:
    """One bad item: ``code`` is one of unknown_item, not_for_role, missing,
    wrong_type, out_of_range, not_integer, unknown_option, duplicate_option,
    too_many_choices, empty, too_long."""

    item_id: str
    code: str
    message: str


class ResponseError(ValueError):
    def __init__(self, issues: Sequence[ResponseIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("; ".join(f"{i.item_id}: {i.message}" for i in self.issues))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_answer(item: Item, value: object) -> tuple[ResponseIssue | None, Answer]:
    """One answer against its item: an issue, or the normalised value."""

    def bad(code: str, message: str) -> tuple[ResponseIssue, None]:
        return ResponseIssue(item.id, code, message), None

    t = item.type
    if t is ItemType.LIKERT:
        assert item.scale is not None
        if not _is_number(value) or int(value) != value:  # type: ignore[arg-type]
            return bad("wrong_type", f"expected a whole number 1-{item.scale.points}")
        if not 1 <= int(value) <= item.scale.points:  # type: ignore[arg-type]
            return bad("out_of_range", f"{value} is not a point of the 1-{item.scale.points} scale")
        return None, int(value)  # type: ignore[arg-type]
    if t is ItemType.NUMERIC:
        if not _is_number(value):
            return bad("wrong_type", "expected a number")
        number = float(value)  # type: ignore[arg-type]
        if item.integer and number != int(number):
            return bad("not_integer", "expected a whole number")
        if (item.minimum is not None and number < item.minimum) or (item.maximum is not None and number > item.maximum):
            return bad("out_of_range", f"{value} is outside {item.minimum}-{item.maximum}")
        return None, int(number) if item.integer else number
    if t is ItemType.SINGLE_CHOICE:
        if not isinstance(value, str):
            return bad("wrong_type", "expected one option value")
        if item.option(value) is None:
            return bad("unknown_option", f"{value!r} is not an option")
        return None, value
    if t is ItemType.MULTIPLE_CHOICE:
        if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
            return bad("wrong_type", "expected a list of option values")
        unknown = [v for v in value if item.option(v) is None]
        if unknown:
            return bad("unknown_option", f"not options: {', '.join(map(repr, unknown))}")
        if len(set(value)) != len(value):
            return bad("duplicate_option", "an option is chosen twice")
        if item.max_choices is not None and len(value) > item.max_choices:
            return bad("too_many_choices", f"at most {item.max_choices} options")
        order = {o.value: i for i, o in enumerate(item.options)}
        return None, tuple(sorted(value, key=order.__getitem__))
    if not isinstance(value, str):
        return bad("wrong_type", "expected text")
    text = value.strip()
    if not text:
        return bad("empty", "the text is empty")
    if len(text) > item.max_length:
        return bad("too_long", f"longer than {item.max_length} characters")
    return None, text


def _normalise(instrument: Instrument, answers: Mapping[str, object], role: Role | None, complete: bool):
    issues: list[ResponseIssue] = []
    clean: dict[str, Answer] = {}
    for item_id, value in answers.items():
        if not instrument.has_item(item_id):
            issues.append(ResponseIssue(item_id, "unknown_item", "no such item in this instrument"))
            continue
        if value is None:
            continue
        item = instrument.item(item_id)
        if not instrument.item_audience(item_id).includes(role):
            issues.append(ResponseIssue(item_id, "not_for_role", f"this item is not asked of {role.value}s"))  # type: ignore[union-attr]
            continue
        issue, normalised = _check_answer(item, value)
        if issue is not None:
            issues.append(issue)
        else:
            clean[item_id] = normalised
    if complete:
        for item in instrument.items():
            if item.required and item.id not in clean and instrument.item_audience(item.id).includes(role):
                if not any(i.item_id == item.id for i in issues):
                    issues.append(ResponseIssue(item.id, "missing", "this item needs an answer"))
    return tuple(issues), clean


def check_response(
    instrument: Instrument, answers: Mapping[str, object], *, role: Role | None = None, complete: bool = True
) -> tuple[ResponseIssue, ...]:
    """Every problem of ``answers``, one issue per bad item (empty when valid).

    ``role`` restricts the items to those asked of her; ``complete=False``
    checks a draft (required items may still be missing)."""
    return _normalise(instrument, answers, role, complete)[0]


def validate_response(
    instrument: Instrument, answers: Mapping[str, object], *, role: Role | None = None, complete: bool = True
) -> dict[str, Answer]:
    """The normalised answers (unanswered items left out), or :class:`ResponseError`."""
    issues, clean = _normalise(instrument, answers, role, complete)
    if issues:
        raise ResponseError(issues)
    return clean


# ----------------------------------------------------------------------------- scoring


def scored_value(item: Item, value: Answer) -> float | None:
    """A Likert answer after reverse coding (``points + 1 - value``), or ``None``."""
    if item.scale is None or value is None:
        return None
    v = int(value)  # type: ignore[arg-type]
    return float(item.scale.points + 1 - v if item.reverse else v)


def score_response(instrument: Instrument, answers: Mapping[str, Answer]) -> dict[str, float | None]:
    """Subscale scores of one (validated) response."""
    ids, matrix = score_matrix(instrument, [answers])
    return {sid: (None if math.isnan(x) else float(x)) for sid, x in zip(ids, matrix[0], strict=True)}


@dataclass(frozen=True)
class AnswerMatrix:
    """The numeric answers (Likert points, numbers) of many responses to ``item_ids``: ``values`` is
    (responses, items), NaN where an item is unanswered. Read once, used for the item tables and the
    scores alike (:func:`answer_matrix`)."""

    item_ids: tuple[str, ...]
    values: np.ndarray

    def columns(self, item_ids: Sequence[str]) -> np.ndarray | None:
        """The columns of ``item_ids`` (responses, len(item_ids)), or None if one is not here."""
        index = {item_id: j for j, item_id in enumerate(self.item_ids)}
        if any(i not in index for i in item_ids):
            return None
        return self.values[:, [index[i] for i in item_ids]]


def answer_matrix(responses: Sequence[Mapping[str, Answer]], item_ids: Sequence[str]) -> AnswerMatrix:
    """The numeric answers of many responses to ``item_ids``. Each response is read once, by C code
    (an ``itemgetter`` of every item; ``get``, where some are unanswered, and numpy reads None as NaN):
    a pass per item and response in Python was most of the time of a large report."""
    ids = tuple(item_ids)
    if not ids:
        return AnswerMatrix(ids, np.empty((len(responses), 0)))
    every = itemgetter(*ids) if len(ids) > 1 else (lambda answers: (answers[ids[0]],))
    partial = False

    def row(answers: Mapping[str, Answer]) -> tuple[Answer | None, ...]:
        nonlocal partial
        try:
            return every(answers)  # type: ignore[no-any-return]
        except KeyError:  # an unanswered item: None, which numpy reads as NaN
            partial = True
            return tuple(map(answers.get, ids))

    rows = list(map(row, responses))
    if not partial:
        try:
            flat = np.fromiter(chain.from_iterable(rows), dtype=float, count=len(rows) * len(ids))
            return AnswerMatrix(ids, flat.reshape(len(rows), len(ids)))
        except TypeError:  # an answer stored as None
            pass
    return AnswerMatrix(ids, np.array(rows, dtype=float).reshape(len(rows), len(ids)))


def likert_ids(instrument: Instrument) -> tuple[str, ...]:
    """The instrument's Likert items, in order: what :func:`answer_matrix` reads for its tables and scores."""
    return tuple(i.id for i in instrument.items() if i.type is ItemType.LIKERT)


def score_matrix(
    instrument: Instrument, responses: Sequence[Mapping[str, Answer]], subscales: Sequence[str] | None = None,
    *, answers: AnswerMatrix | None = None,
) -> tuple[tuple[str, ...], np.ndarray]:
    """Subscale scores of many responses: ``(subscale ids, array (responses, subscales))``,
    NaN where too few items were answered. Vectorised over responses; ``answers``, when
    given, is these responses' :func:`answer_matrix` (read once for the item tables too)."""
    chosen = [instrument.subscale(s) for s in subscales] if subscales is not None else list(instrument.subscales)
    item_ids = sorted({i for s in chosen for i in s.items})
    col = {item_id: j for j, item_id in enumerate(item_ids)}
    given = answers.columns(item_ids) if answers is not None else None
    raw = given.copy() if given is not None else answer_matrix(responses, item_ids).values
    for item_id, j in col.items():
        item = instrument.item(item_id)
        if item.reverse:
            assert item.scale is not None
            raw[:, j] = item.scale.points + 1 - raw[:, j]
    out = np.full((len(responses), len(chosen)), np.nan)
    for s, sub in enumerate(chosen):
        block = raw[:, [col[i] for i in sub.items]]
        answered = np.sum(~np.isnan(block), axis=1)
        total = np.nansum(block, axis=1)
        ok = answered >= sub.needed
        out[ok, s] = total[ok] / answered[ok]
    return tuple(s.id for s in chosen), out
