"""One input rule for every text value a request carries: it must be storable.

PostgreSQL refuses two kinds of characters that JSON, forms and URLs can all
carry: NUL (U+0000, in ``text`` and in ``json``/``jsonb`` alike) and lone
UTF-16 surrogates (U+D800 to U+DFFF, which have no UTF-8 encoding; JSON
spells them ``"\\ud800"``). SQLite stores both, so without one rule the same
request is a 201 on one backend and a 500 on the other. The rule is checked
where input enters, never in domain code:

- **request bodies and form fields**: every request model derives from
  ``InputModel`` (each service's ``Input``/``CreateModel``/``UpdateModel``
  does), whose validator walks every field value, strings inside nested
  lists and JSON objects (keys too) included, and answers 422 naming the
  field (``body.answers``: ``contains NUL (U+0000) at answers["q1"]``);
- **query strings and paths**: ``StorableTextMiddleware`` (installed by
  ``create_service_app``) answers 422 naming the parameter (``query.status``)
  before any route runs;
- **bodies read by hand** (SCIM, uploads): ``find_unstorable`` on the parsed
  value.

Error messages never repeat the value: it may be long, or personal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from starlette.types import ASGIApp, Receive, Scope, Send

from servicekit.problems import PROBLEM_MEDIA_TYPE, TYPE_PREFIX, FieldError, Problem

UNSTORABLE_CODE = "text_not_storable"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_MAX_SHOWN_NAME = 64


def unstorable(value: str) -> str | None:
    """What in this string cannot be stored, or None."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    return "NUL (U+0000)" if found.group() == "\x00" else f"a lone surrogate (U+{ord(found.group()):04X})"


def _key(key: Any) -> str:
    shown = str(key)
    if unstorable(shown) is not None or len(shown) > _MAX_SHOWN_NAME:
        return "[...]"
    return f"[{shown!r}]" if isinstance(key, str) else f"[{shown}]"


def find_unstorable(value: Any, path: str = "") -> tuple[str, str] | None:
    """(where, what) of the first string in ``value`` (walking lists, tuples,
    sets, dicts with their keys, and models that are not ``InputModel``s)
    that cannot be stored; None when all can."""
    if isinstance(value, str):
        what = unstorable(value)
        return None if what is None else (path, what)
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}{_key(key)}"
            if isinstance(key, str) and (what := unstorable(key)) is not None:
                return (f"{where} (the key)", what)
            if (found := find_unstorable(item, where)) is not None:
                return found
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            if (found := find_unstorable(item, f"{path}[{index}]")) is not None:
                return found
        return None
    if isinstance(value, InputModel):
        return None  # checked by its own validator, with a precise location
    if isinstance(value, BaseModel):
        for name, item in value.__dict__.items():
            if (found := find_unstorable(item, f"{path}.{name}")) is not None:
                return found
    return None


class InputModel(BaseModel):
    """Base of every request body and form: unknown fields refused, and every
    text value storable (module doc). Subclasses may relax ``extra``."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any, info: ValidationInfo) -> Any:
        found = find_unstorable(value, info.field_name or "")
        if found is not None:
            where, what = found
            inside = f" at {where}" if where != info.field_name else ""
            raise PydanticCustomError(UNSTORABLE_CODE, "Contains {what}{inside}, which cannot be stored", {"what": what, "inside": inside})
        return value


def _refusal(errors: list[FieldError]) -> Problem:
    return Problem(
        type=f"{TYPE_PREFIX}validation-error",
        title="Request validation failed",
        status=422,
        detail=f"{len(errors)} field{'s are' if len(errors) != 1 else ' is'} invalid: {', '.join(e.field for e in errors)}",
        errors=errors,
    )


def _query_errors(query: bytes) -> Iterable[FieldError]:
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        what = unstorable(name) or unstorable(value)
        if what is not None:
            shown = name if unstorable(name) is None and len(name) <= _MAX_SHOWN_NAME else "[...]"
            yield FieldError(field=f"query.{shown}", message=f"Contains {what}, which cannot be stored", code=UNSTORABLE_CODE)


class StorableTextMiddleware:
    """Pure ASGI: a path or query parameter that cannot be stored gets a 422
    problem naming it, before routing. Servers decode percent-escapes as UTF-8
    with replacement, so only NUL (``%00``) can arrive this way."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            errors: list[FieldError] = []
            path: str = scope.get("path", "")
            if (what := unstorable(path)) is not None:
                errors.append(FieldError(field="path", message=f"Contains {what}, which cannot be stored", code=UNSTORABLE_CODE))
            query: bytes = scope.get("query_string", b"")
            if b"%00" in query or b"\x00" in query:
                errors.extend(_query_errors(query))
            if errors:
                problem = _refusal(errors)
                problem.instance = path if not unstorable(path) else None
                problem.request_id = (scope.get("state") or {}).get("request_id")
                response = JSONResponse(problem.model_dump(exclude_none=True), status_code=422, media_type=PROBLEM_MEDIA_TYPE)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
