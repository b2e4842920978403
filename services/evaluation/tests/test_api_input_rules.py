"""servicekit's input rule in the evaluation service: a survey answer (a JSON
value of any shape) or a query carrying text PostgreSQL cannot store (NUL,
lone surrogates) is a 422 naming the field, on both backends, and nothing is
written. Answers are personal: the problem never repeats them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.evaluation.tests.conftest import all_rows
from services.evaluation.tests.test_api_analysis import closing_answers

BAD = ["a\x00b", "\x00", "tail\ud800", "\udfff"]


def send(world: Any, method: str, url: str, headers: dict[str, str], body: Any) -> Any:
    # json.dumps writes a lone surrogate as an escape, as a client would.
    return world.http.request(method, url, content=json.dumps(body).encode(), headers={**headers, "content-type": "application/json"})


def refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]], response.text
    assert "\\u0000" not in response.text and "Gané" not in response.text


@pytest.mark.parametrize("bad", BAD)
def test_unstorable_text_in_an_answer_is_refused_and_nothing_is_stored(world: Any, engine: Any, bad: str) -> None:
    adm = world.administer("closing-assessment", moment="closing")
    headers, _, _ = world.person("mentee")
    answers = closing_answers("mentee", 1)
    text_item = next(k for k, v in answers.items() if isinstance(v, str))
    likert_item = next(k for k, v in answers.items() if isinstance(v, int))
    before = all_rows(engine)
    mine = f"/v1/administrations/{adm['id']}/responses/mine"
    variants = [
        {**answers, text_item: f"Gané confianza {bad}"},
        {**answers, likert_item: [bad]},
        {**answers, f"extra{bad}": 1},  # in a key
        {**answers, text_item: {"nested": [bad]}},
    ]
    for body in variants:
        refused(send(world, "PUT", mine, headers, {"answers": body}), "body.answers")
        refused(send(world, "POST", f"{mine}/submission", headers, {"answers": body}), "body.answers")
    assert all_rows(engine) == before
    assert send(world, "POST", f"{mine}/submission", headers, {"answers": answers}).status_code == 201


def test_unstorable_text_in_a_query_is_refused(world: Any) -> None:
    for url in ("/v1/instruments?key=%00", "/v1/administrations?program_id=a%00b"):
        r = world.http.get(url, headers=world.coordinator)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"].startswith("query.")


@pytest.mark.parametrize(
    "opens, closes, field",
    [
        ("2026-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "body.closes_at"),  # year 10000 in UTC
        ("0001-01-01T00:00:00+14:00", "2026-01-01T00:00:00Z", "body.opens_at"),  # year 0 in UTC
        ("1999-12-31T23:59:59Z", "2026-01-01T00:00:00Z", "body.opens_at"),
        ("2026-01-01T00:00:00Z", "2101-01-01T00:00:00Z", "body.closes_at"),
        ("2026-01-01T00:00:00", "2026-02-01T00:00:00Z", "body.opens_at"),  # no time zone
    ],
)
def test_instants_out_of_range_are_refused_and_every_list_stays_readable(world: Any, engine: Any, opens: str, closes: str, field: str) -> None:
    """An instant PostgreSQL stores but no datetime can read back would turn
    every later list of administrations into a 500."""
    before = all_rows(engine)
    body = {"instrument_id": world.builtin_id("soft-skills"), "program_id": str(world.program_id), "audience": "everyone",
            "moment": "pre", "opens_at": opens, "closes_at": closes}  # fmt: skip
    refused(world.http.post("/v1/administrations", json=body, headers=world.coordinator), field)
    assert all_rows(engine) == before
    assert world.http.get("/v1/administrations", headers=world.coordinator).status_code == 200
