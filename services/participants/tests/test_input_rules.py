"""servicekit's input rule in the participants service: text PostgreSQL
cannot store (NUL, lone surrogates) is a 422 naming the field wherever it
comes in (a name, free text, a JSON object of an xAPI statement, a key, a
query filter, the path), on both backends, and nothing is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from services.participants.tests.conftest import Caller, World, institution_body, snapshot
from services.participants.tests.test_xapi import V, Lms, lms, statement  # noqa: F401 - the lms fixture

BAD = ["a\x00b", "\x00", "tail\ud800", "\udfff"]


def send(caller: Caller, method: str, url: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    # json.dumps writes a lone surrogate as an escape, as a client would.
    return caller.request(method, url, content=json.dumps(body).encode(), headers={"content-type": "application/json", **(headers or {})})


def refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    names = [e["field"] for e in response.json()["errors"]]
    assert any(f == field or f.startswith(field + ".") for f in names), response.text


@pytest.mark.parametrize("bad", BAD)
def test_unstorable_text_in_bodies_is_refused(bad: str, admin: Caller, coordinator: Caller, world: World, engine: Engine) -> None:
    before = snapshot(engine)
    refused(send(admin, "POST", "/v1/institutions", institution_body("nul-name", name=f"Uni {bad} versidad")), "body.name")
    refused(send(admin, "PATCH", f"/v1/institutions/{world.a['id']}", {"name": bad}), "body.name")
    refused(send(coordinator, "POST", f"/v1/institutions/{world.a['id']}/campuses", {"name": "Sur", "city": f"Tula {bad}"}), "body.city")
    assert snapshot(engine) == before


@pytest.mark.parametrize("bad", BAD)
def test_unstorable_text_inside_an_xapi_statement_is_refused(bad: str, lms: Lms, engine: Engine) -> None:  # noqa: F811
    actor = lms.members[0]["lms_id"]
    before = snapshot(engine)
    variants = [
        (statement(actor, context={"platform": f"Moodle {bad}"}), "body.context"),
        (statement(actor, context={f"key{bad}": "x"}), "body.context"),
        (statement(actor, result={"extensions": {"http://x.example/e": [bad]}}), "body.result.extensions"),
        (statement(actor, result={"response": bad}), "body.result.response"),
        ({**statement(actor), "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"es": bad}}}, "body.verb.display"),
    ]
    for body, field in variants:
        refused(send(lms.client, "POST", "/v1/xapi/statements", body, V), field)
        refused(send(lms.client, "POST", "/v1/xapi/statements", [statement(actor), body], V), field.replace("body.", "body.1.", 1))
    assert snapshot(engine) == before


def test_unstorable_text_in_a_query_or_path_is_refused(coordinator: Caller, world: World) -> None:
    for url, field in (
        (f"/v1/institutions/{world.a['id']}/campuses?limit=1&cursor=%00", "query.cursor"),
        (f"/v1/institutions/{world.a['id']}/participants?lms_id=moodle%00", "query.lms_id"),
        ("/v1/institutions/%00", "path"),
    ):
        r = coordinator.get(url)
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == [field], r.text
