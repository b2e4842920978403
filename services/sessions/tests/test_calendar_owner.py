"""A calendar feed answers only while its owner's gateway account is active
(services.sessions.owners): suspended or deleted -> 404 as an unknown feed,
reinstated -> served again, gateway unreachable -> 503 (fail closed), and the
answer is reused for the configured time only."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from icalendar import Calendar

from servicekit.problems import ProblemError

from services.sessions.owners import AccountStatuses
from services.sessions.tests.conftest import ok


def _feeds(world: Any) -> tuple[Any, str, str]:
    inst = world.institution()
    dyad = world.dyad(inst)
    mentee = ok(dyad.mentee.post("/v1/meetings/calendar-tokens"), 201)["token"]
    mentor = ok(dyad.mentor.post("/v1/meetings/calendar-tokens"), 201)["token"]
    return dyad, mentee, mentor


def test_a_suspended_owners_feed_answers_as_an_unknown_one_until_she_is_reinstated(world: Any, fake_gateway: Any) -> None:
    dyad, mentee, mentor = _feeds(world)
    url = f"/v1/meetings/calendar/{mentee}.ics"
    assert len(Calendar.from_ical(world.http.get(url).content).walk("VEVENT")) == 12
    fake_gateway.suspended.add(dyad.payload["mentee"]["account_id"])
    suspended = world.http.get(url)
    unknown = world.http.get("/v1/meetings/calendar/" + "A" * 43 + ".ics")
    assert suspended.status_code == unknown.status_code == 404
    assert suspended.json()["detail"] == unknown.json()["detail"] and "BEGIN:VCALENDAR" not in suspended.text
    # her counterpart's feed of the same dyad is untouched
    assert world.http.get(f"/v1/meetings/calendar/{mentor}.ics").status_code == 200
    fake_gateway.suspended.clear()
    assert world.http.get(url).status_code == 200


def test_an_unreachable_gateway_closes_every_feed_with_503_never_the_calendar(world: Any, fake_gateway: Any) -> None:
    _dyad, mentee, _mentor = _feeds(world)
    fake_gateway.down = True
    r = world.http.get(f"/v1/meetings/calendar/{mentee}.ics")
    assert r.status_code == 503 and r.headers["retry-after"] and r.headers["content-type"] == "application/problem+json"
    assert "VEVENT" not in r.text
    # an unknown feed is still 404: the gateway is never asked about it
    asked = fake_gateway.asked
    assert world.http.get("/v1/meetings/calendar/" + "B" * 43 + ".ics").status_code == 404
    assert fake_gateway.asked == asked
    fake_gateway.down = False
    assert world.http.get(f"/v1/meetings/calendar/{mentee}.ics").status_code == 200


def _statuses(handler: Any, clock: Any, cache_seconds: float = 30.0, tokens: Any = "default") -> AccountStatuses:
    class Tokens:
        async def token(self) -> str:
            return "svc-token"

    return AccountStatuses("http://gateway.test/", Tokens() if tokens == "default" else tokens, cache_seconds=cache_seconds,
                           transport=httpx.MockTransport(handler), clock=clock)


def test_each_answer_is_reused_for_the_configured_time_only() -> None:
    asyncio.run(_reused_for_the_configured_time_only())


async def _reused_for_the_configured_time_only() -> None:
    now, calls, status = [0.0], [], ["active"]

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.raw_path.decode())
        assert request.headers["authorization"] == "Bearer svc-token"
        return httpx.Response(200, json={"account_id": "x", "status": status[0]})

    statuses = _statuses(handler, lambda: now[0])
    assert await statuses.is_active("acct/1") is True
    assert calls == ["/internal/accounts/acct%2F1/status"]  # the id is one path segment, whatever it holds
    status[0] = "suspended"
    now[0] = 29.9
    assert await statuses.is_active("acct/1") is True and len(calls) == 1  # within the bound: the cached answer
    now[0] = 30.0
    assert await statuses.is_active("acct/1") is False and len(calls) == 2  # at the bound: asked again
    status[0] = "unknown"  # a deleted account
    now[0] = 61.0
    assert await statuses.is_active("acct/1") is False


@pytest.mark.parametrize("answer", [
    httpx.Response(500, json={}), httpx.Response(403, json={"type": "urn:aliada:problem:insufficient-scope"}),
    httpx.Response(200, json={"status": "maybe"}), httpx.Response(200, content=b"not json"),
])
def test_anything_but_a_clear_answer_fails_closed(answer: httpx.Response) -> None:
    statuses = _statuses(lambda request: answer, lambda: 0.0)
    with pytest.raises(ProblemError) as refused:
        asyncio.run(statuses.is_active("acct-1"))
    assert refused.value.status == 503


def test_without_a_client_identity_every_feed_fails_closed() -> None:
    statuses = _statuses(lambda request: httpx.Response(200, json={"status": "active"}), lambda: 0.0, tokens=None)
    with pytest.raises(ProblemError) as refused:
        asyncio.run(statuses.is_active("acct-1"))
    assert refused.value.status == 503
