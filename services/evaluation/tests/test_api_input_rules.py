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
