"""servicekit's input rule in the sessions service: text PostgreSQL cannot
store (NUL, lone surrogates) in a diary entry, an objective, meeting notes or
a query is a 422 naming the field, on both backends, and nothing is written."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.sessions.tests.conftest import objective_body, ok, snapshot

BAD = ["a\x00b", "\x00", "tail\ud800", "\udfff lead", "ok\n\x00\n"]


@pytest.fixture
def started(world: Any, frozen: Any) -> Any:
    inst = world.institution()
    dyad = world.dyad(inst)
    frozen.set(datetime.fromisoformat(dyad.meetings()[0]["start"]) + timedelta(hours=2))
    return inst, dyad


def refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    # The field, or an item of it (pydantic names list items itself).
    assert any(f == field or f.startswith(field + ".") for f in (e["field"] for e in response.json()["errors"])), response.text


def send(caller: Any, method: str, url: str, body: dict[str, Any]) -> Any:
    # json.dumps writes a lone surrogate as an escape, as a client would.
    return caller.request(method, url, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


@pytest.mark.parametrize("bad", BAD)
def test_unstorable_text_is_refused_everywhere_a_member_writes(started: Any, engine: Any, bad: str) -> None:
    _inst, dyad = started
    meeting = dyad.meetings()[0]
    before = snapshot(engine)
    diary = {"dyad_id": dyad.id, "text": f"Hoy {bad}", "entry_date": "2026-08-04"}
    refused(send(dyad.mentee, "POST", "/v1/diary", diary), "body.text")
    refused(send(dyad.mentee, "POST", "/v1/objectives", objective_body(dyad.id, plan=f"Draft one proposal {bad} per month")), "body.plan")
    refused(send(dyad.mentee, "POST", "/v1/objectives", objective_body(dyad.id, resources=["mentor review", bad])), "body.resources")
    refused(send(dyad.mentee, "POST", f"/v1/meetings/{meeting['id']}/confirmation", {"notes": bad}), "body.notes")
    assert snapshot(engine) == before


def test_unstorable_text_in_a_query_or_path_is_refused(started: Any) -> None:
    _inst, dyad = started
    r = dyad.mentee.get("/v1/diary?dyad_id=%00")
    refused(r, "query.dyad_id")
    assert dyad.mentee.get("/v1/diary/%00").status_code == 422
    ok(dyad.mentee.get("/v1/diary", params={"dyad_id": dyad.id}))


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01"])
def test_dates_and_instants_out_of_range_are_refused(started: Any, engine: Any, day: str) -> None:
    _inst, dyad = started
    before = snapshot(engine)
    refused(dyad.mentee.post("/v1/diary", json={"dyad_id": dyad.id, "text": "Hoy", "entry_date": day}), "body.entry_date")
    refused(dyad.mentee.post("/v1/objectives", json=objective_body(dyad.id, due_date=day)), "body.due_date")
    meeting = dyad.meetings()[1]
    refused(dyad.mentee.post(f"/v1/meetings/{meeting['id']}/reschedule", json={"start": f"{day}T10:00:00+14:00"}), "body.start")
    assert snapshot(engine) == before
