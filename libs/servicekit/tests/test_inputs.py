"""The one input rule (servicekit.inputs): text PostgreSQL cannot store (NUL,
lone surrogates) is a 422 naming the field wherever it comes in (a body field,
a string deep inside JSON, a JSON key, a query parameter, the path), on both
backends, and nothing is written. Without the rule each of these requests
reaches the database, where PostgreSQL fails it as a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Query
from fastapi.testclient import TestClient
from pydantic import Field
from sqlmodel import func, select

from servicekit.app import create_service_app
from servicekit.auth import CurrentPrincipal
from servicekit.db import SessionDep
from servicekit.inputs import InputModel, find_unstorable, unstorable
from servicekit.outbox import emit
from servicekit.settings import BaseServiceSettings
from servicekit.testing import bearer

from .conftest import KitOutbox, Widget


class Part(InputModel):
    label: str = Field(max_length=50)


class NoteIn(InputModel):
    name: str = Field(min_length=1, max_length=50)
    tags: list[str] = Field(default_factory=list, max_length=10)
    parts: list[Part] = Field(default_factory=list, max_length=10)
    data: dict[str, Any] = Field(default_factory=dict, max_length=20)


def notes_router() -> APIRouter:
    router = APIRouter()

    @router.post("/v1/notes", status_code=201, operation_id="create_note")
    def create_note(body: NoteIn, session: SessionDep, _p: CurrentPrincipal) -> dict[str, str]:
        widget = Widget(name=body.name)
        session.add(widget)
        emit(session, KitOutbox, "note.created", subject=widget.id, payload={"tags": body.tags, "data": body.data})
        session.flush()
        return {"id": str(widget.id)}

    @router.get("/v1/notes", operation_id="find_notes")
    def find_notes(session: SessionDep, _p: CurrentPrincipal, name: Annotated[str, Query(max_length=50)]) -> list[str]:
        return [str(w.id) for w in session.exec(select(Widget).where(Widget.name == name))]

    @router.get("/v1/notes/{name}", operation_id="get_note")
    def get_note(name: str, session: SessionDep, _p: CurrentPrincipal) -> list[str]:
        return [str(w.id) for w in session.exec(select(Widget).where(Widget.name == name))]

    return router


@pytest.fixture()
def notes(kit_url: str, key_source: Any) -> Iterator[TestClient]:
    settings = BaseServiceSettings(service_name="kit", database_url=kit_url, log_level="WARNING")
    app = create_service_app(settings=settings, title="kit", description="input rule", routers=[notes_router()], key_source=key_source)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def stored(kit_session: Any) -> tuple[int, int]:
    return (
        kit_session.exec(select(func.count()).select_from(Widget)).one(),
        kit_session.exec(select(func.count()).select_from(KitOutbox)).one(),
    )


def raw_json(body: dict[str, Any]) -> bytes:
    # json.dumps writes a lone surrogate as the escape "\udxxx", as any client would.
    return json.dumps(body).encode()


BODIES = [
    ({"name": "a\x00b"}, "body.name", None),
    ({"name": "\x00"}, "body.name", None),
    ({"name": "tail\ud800"}, "body.name", "surrogate"),
    ({"name": "\udfff"}, "body.name", "surrogate"),
    ({"name": "ok", "tags": ["fine", "no\x00"]}, "body.tags", "tags[1]"),
    ({"name": "ok", "parts": [{"label": "fine"}, {"label": "x\x00"}]}, "body.parts.1.label", None),
    ({"name": "ok", "data": {"answer": "q\x00"}}, "body.data", "data['answer']"),
    ({"name": "ok", "data": {"a": [1, {"b": ["deep", "\ud83d"]}]}}, "body.data", "data['a'][1]['b'][1]"),
    ({"name": "ok", "data": {"key\x00": 1}}, "body.data", "the key"),
    ({"name": "ok", "data": {"\ud800": 1}}, "body.data", "the key"),
]


@pytest.mark.parametrize("body, field, where", BODIES)
def test_unstorable_text_in_a_body_is_a_422_naming_the_field(notes, kit_session, mint, body, field, where) -> None:
    before = stored(kit_session)
    r = notes.post("/v1/notes", content=raw_json(body), headers={**bearer(mint()), "content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    error = next(e for e in r.json()["errors"] if e["field"] == field)
    # pydantic's own str validation refuses a lone surrogate in a plain str
    # field first; the rule covers every other place text can hide.
    assert error["code"] == "text_not_storable" or (where == "surrogate" and error["code"] == "string_unicode"), error
    assert where in (None, "surrogate") or where in error["message"], error
    assert "\x00" not in r.text and "\\u0000" not in r.text  # the value is never echoed
    assert stored(kit_session) == before


def test_storable_text_passes_the_rule(notes, kit_session, mint) -> None:
    body = {"name": "Ñandú ✓ 😀", "tags": ["ok"], "data": {"k": ["v", 1, None, {"x": "line\nbreak\ttab"}]}}
    r = notes.post("/v1/notes", content=raw_json(body), headers={**bearer(mint()), "content-type": "application/json"})
    assert r.status_code == 201, r.text
    assert stored(kit_session) == (1, 1)


@pytest.mark.parametrize(
    "url, field",
    [
        ("/v1/notes?name=%00", "query.name"),
        ("/v1/notes?name=a%00b", "query.name"),
        ("/v1/notes?name=ok&other=%00", "query.other"),
        ("/v1/notes?%00=x", "query.[...]"),
        ("/v1/notes/a%00b", "path"),
    ],
)
def test_unstorable_text_in_a_query_or_path_is_a_422_naming_it(notes, mint, url: str, field: str) -> None:
    r = notes.get(url, headers=bearer(mint()))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert r.json()["request_id"] == r.headers["x-request-id"]


def test_percent_escapes_that_decode_badly_become_replacement_characters_not_surrogates(notes, mint) -> None:
    # %ED%A0%80 is the UTF-8-like form of U+D800: decoded with replacement, it is storable.
    assert notes.get("/v1/notes?name=%ED%A0%80", headers=bearer(mint())).status_code == 200
    assert notes.get("/v1/notes/%ED%A0%80", headers=bearer(mint())).status_code == 200


def test_the_rule_itself() -> None:
    assert unstorable("plain") is None and unstorable("tab\tnew\nline é 😀 \ufffd \uffff") is None
    assert unstorable("\x00") == "NUL (U+0000)" and unstorable("x\udc00") == "a lone surrogate (U+DC00)"
    assert find_unstorable({"a": ({"b"}, ["c", "\x00"])}) == ("['a'][1][1]", "NUL (U+0000)")
    assert find_unstorable([1, 2.5, None, True, b"\x00"]) is None  # only text is text
