"""The shared input rules hold in every app, for every route, including ones
added later: a new request model that forgets servicekit's ``InputModel``, or
a new string field without a bound, fails here.

- Every model a route reads its body or form from (and every model nested in
  one) is an ``InputModel``: unknown fields refused, every text storable.
- Every app runs ``StorableTextMiddleware`` (paths and query strings) and a
  body limit (``BodyLimitMiddleware``).
- Every string a request may carry, as published in the app's OpenAPI
  document (which contract tests generate data from), is bounded: a
  ``maxLength``, an ``enum``, a ``const``, a fixed-size ``format`` or a
  pattern whose every repetition is bounded. Free-form JSON values (survey
  answers, xAPI extensions) are bounded by the body limit alone; the rule for
  their text is the storable-text one.
"""

from __future__ import annotations

import datetime
import importlib
import re
import types
import typing
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from servicekit.inputs import InputModel, StorableTextMiddleware
from servicekit.limits import BodyLimitMiddleware

SERVICES = ("participants", "matching", "sessions", "evaluation", "notifications")

# Models read by hand, with the same rule applied by the code that reads them.
CHECKED_BY_HAND = {
    # OAuth forms: RFC 6749 answers every malformed parameter with a 400
    # invalid_request, so gateway.routers.auth._check_parameters applies the
    # rule (servicekit.inputs.unstorable) and its own bounds instead of a 422.
    "gateway.routers.auth.TokenRequest",
    "gateway.routers.auth.RevocationRequest",
}
# Request bodies validated by another layer than the OpenAPI schema: SCIM
# parses its own payloads (gateway.scim.common.json_body applies the rule,
# gateway.scim.common.text bounds each attribute), and its documents describe
# the SCIM standard's schemas.
SCIM = re.compile(r"^/scim/")


@cache
def apps() -> dict[str, FastAPI]:
    from gateway.config import Settings
    from gateway.main import create_app

    built = {"gateway": create_app(Settings(database_url="sqlite://"))}
    for name in SERVICES:
        main = importlib.import_module(f"services.{name}.main")
        config = importlib.import_module(f"services.{name}.config")
        built[name] = main.create_app(config.Settings(database_url="sqlite://"))
    return built


def _models(annotation: Any, seen: set[type[BaseModel]]) -> Iterator[type[BaseModel]]:
    origin = typing.get_origin(annotation)
    if origin is not None:
        for arg in typing.get_args(annotation):
            if not isinstance(arg, (str, int, float, bool, type(None))) or isinstance(arg, type):
                yield from _models(arg, seen)
        return
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in seen:
        seen.add(annotation)
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models(field.annotation, seen)


def _input_models(app: FastAPI) -> dict[str, list[str]]:
    """Request model -> the routes reading it."""
    found: dict[str, list[str]] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        seen: set[type[BaseModel]] = set()
        for param in route.dependant.body_params:
            for model in _models(param.field_info.annotation, seen):
                found.setdefault(f"{model.__module__}.{model.__qualname__}", []).append(route.path)
                if not issubclass(model, InputModel) and f"{model.__module__}.{model.__qualname__}" not in CHECKED_BY_HAND:
                    found[f"{model.__module__}.{model.__qualname__}"].append("NOT AN InputModel")
    return found


@pytest.mark.parametrize("name", ("gateway", *SERVICES))
def test_every_request_model_follows_the_input_rule(name: str) -> None:
    models = _input_models(apps()[name])
    assert models, "no request models found: the walk is broken"
    offenders = sorted(model for model, uses in models.items() if "NOT AN InputModel" in uses)
    assert offenders == [], f"request models that are not servicekit InputModels: {offenders}"


@pytest.mark.parametrize("name", ("gateway", *SERVICES))
def test_every_app_checks_paths_queries_and_body_sizes(name: str) -> None:
    installed = {m.cls for m in apps()[name].user_middleware}
    assert {StorableTextMiddleware, BodyLimitMiddleware} <= installed


# -- every date and instant is bounded ----------------------------------------------------


def _temporal_fields(app: FastAPI) -> Iterator[tuple[str, Any]]:
    """(where, FieldInfo) of every date or datetime a request may carry."""
    seen: set[type[BaseModel]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        for param in route.dependant.query_params + route.dependant.path_params:
            if _is_temporal(param.field_info.annotation):
                yield f"{route.path} {param.name}", param.field_info
        for param in route.dependant.body_params:
            for model in _models(param.field_info.annotation, seen):
                for name, field in model.model_fields.items():
                    if _is_temporal(field.annotation):
                        yield f"{model.__module__}.{model.__qualname__}.{name}", field


def _is_temporal(annotation: Any) -> bool:
    if typing.get_origin(annotation) is not None:
        return any(_is_temporal(a) for a in typing.get_args(annotation))
    return isinstance(annotation, type) and issubclass(annotation, (datetime.date, datetime.datetime))


def _bounds(field: Any) -> set[str]:
    found: set[str] = set()

    def scan(metadata: Any) -> None:
        for item in metadata:
            found.update(k for k in ("ge", "gt", "le", "lt") if getattr(item, k, None) is not None)
            scan(getattr(item, "metadata", ()))

    scan(field.metadata)
    annotation = field.annotation
    for arg in typing.get_args(annotation) or (annotation,):
        if typing.get_origin(arg) is typing.Annotated:
            scan(typing.get_args(arg)[1:])
    return found


@pytest.mark.parametrize("name", ("gateway", *SERVICES))
def test_every_date_and_instant_a_request_may_carry_is_bounded(name: str) -> None:
    """Unbounded instants reach the database, and one far enough out (year
    10000 in UTC) is stored by PostgreSQL but can never be read back: every
    later list of that table is a 500. servicekit.types Day and Instant bound
    them to 2000-2100."""
    unbounded = [where for where, field in _temporal_fields(apps()[name]) if not ({"ge", "gt"} & _bounds(field) and {"le", "lt"} & _bounds(field))]
    assert unbounded == [], f"dates or instants without bounds: {unbounded}"


# -- every string is bounded -----------------------------------------------------------

BOUNDED_FORMATS = {"uuid", "date", "date-time", "time", "binary"}
_UNBOUNDED_REPEAT = re.compile(r"(?<!\\)(?:[*+]|\{\d+,\})")


def _bounded_pattern(pattern: str) -> bool:
    """Anchored, and every repetition has an upper bound."""
    body = re.sub(r"\\.", "", pattern)  # escaped characters repeat nothing
    body = re.sub(r"\[[^\]]*\]", "c", body)  # a class is one character
    return pattern.startswith("^") and pattern.endswith("$") and not _UNBOUNDED_REPEAT.search(body)


def _strings(doc: dict[str, Any], schema: dict[str, Any], where: str, seen: frozenset[int]) -> Iterator[tuple[str, dict[str, Any]]]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if id(schema) in seen:
        return
    seen = seen | {id(schema)}
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _strings(doc, sub, where, seen)
    kind = schema.get("type")
    if kind == "string":
        yield where, schema
    for prop, sub in schema.get("properties", {}).items():
        yield from _strings(doc, sub, f"{where}.{prop}", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _strings(doc, schema["additionalProperties"], f"{where}.*", seen)
    if isinstance(schema.get("propertyNames"), dict):
        yield from _strings(doc, schema["propertyNames"], f"{where}.<key>", seen)
    if isinstance(schema.get("items"), dict):
        yield from _strings(doc, schema["items"], f"{where}[]", seen)


def _bounded(schema: dict[str, Any]) -> bool:
    return (
        "maxLength" in schema
        or "enum" in schema
        or "const" in schema
        or schema.get("format") in BOUNDED_FORMATS
        or _bounded_pattern(schema.get("pattern", ""))
    )


@pytest.mark.parametrize("name", ("gateway", *SERVICES))
def test_every_string_a_request_may_carry_is_bounded(name: str) -> None:
    doc = apps()[name].openapi()
    unbounded: list[str] = []
    for path, item in doc["paths"].items():
        if SCIM.match(path):
            continue
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            where = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                for at, schema in _strings(doc, param.get("schema", {}), f"{where} {param['in']}.{param['name']}", frozenset()):
                    if not _bounded(schema):
                        unbounded.append(at)
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                for at, schema in _strings(doc, content.get("schema", {}), f"{where} body", frozenset()):
                    if not _bounded(schema) and media != "text/csv":  # the roster file: bounded by its upload limit
                        unbounded.append(at)
    assert unbounded == [], "strings without a bound:\n" + "\n".join(sorted(set(unbounded)))


def test_the_pattern_bound_check_itself() -> None:
    assert _bounded_pattern(r"^[a-z0-9][a-z0-9_-]{0,59}$") and _bounded_pattern(r"^(ascending|descending)$")
    assert _bounded_pattern(r"^\d{4}-\d{2}$") and _bounded_pattern(r"^[+*]{1,3}$")
    assert not _bounded_pattern(r"^[a-z]+$") and not _bounded_pattern(r"^a.*$") and not _bounded_pattern(r"^a{2,}$")
    assert not _bounded_pattern(r"[a-z]{1,3}")  # not anchored
