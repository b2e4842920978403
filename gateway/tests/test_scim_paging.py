"""SCIM paging and payload bounds (RFC 7644 §3.4.2.4): startIndex below 1
reads as 1 and count below 0 as 0; a startIndex no database offset can hold,
or a value that is not an integer, is a 400 invalidValue in a SCIM error
body, never a 500, in the query of a list and in the body of a search; a
payload over the SCIM limit, or with text that cannot be stored, is a SCIM
error too."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.scim.router import MAX_START_INDEX
from gateway.tests.scim_support import (  # noqa: F401 - fixtures
    USER,
    Scim,
    idp_a,
    participants,
    participants_up,
    scim_admin,
    scim_error,
    scim_gw,
)

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
HUGE = [MAX_START_INDEX + 1, 2**63, 2**64 + 5, 10**30]
NOT_INTEGERS = ["abc", "1.5", "", "1e3", "0x10", "١"]


@pytest.fixture(scope="module")
def some_users(idp_a: Scim) -> str:  # noqa: F811
    marker = "paging"
    for i in range(3):
        idp_a.create_user(f"{marker}-{i}@uni.example")
    return f'userName sw "{marker}-"'


@pytest.mark.parametrize("resource", ["/Users", "/Groups"])
def test_start_index_and_count_below_their_floor_are_read_as_the_floor(idp_a: Scim, some_users: str, resource: str) -> None:  # noqa: F811
    for start in (-5, 0, 1):
        r = idp_a.get(resource, params={"startIndex": start})
        assert r.status_code == 200, r.text
        assert r.json()["startIndex"] == 1
    for count in (-1, 0):
        r = idp_a.get(resource, params={"count": count})
        assert r.status_code == 200 and r.json()["itemsPerPage"] == 0 and r.json()["Resources"] == [], r.text
    assert idp_a.get(resource, params={"count": 10**30}).status_code == 200  # capped to the largest page


@pytest.mark.parametrize("resource", ["/Users", "/Groups"])
def test_a_start_index_too_large_or_not_an_integer_is_invalid_value(idp_a: Scim, some_users: str, resource: str) -> None:  # noqa: F811
    for start in HUGE:
        scim_error(idp_a.get(resource, params={"startIndex": start}), 400, "invalidValue")
    for value in NOT_INTEGERS:
        scim_error(idp_a.get(resource, params={"startIndex": value}), 400, "invalidValue")
        scim_error(idp_a.get(resource, params={"count": value}), 400, "invalidValue")
    last = idp_a.get(resource, params={"startIndex": MAX_START_INDEX})
    assert last.status_code == 200 and last.json()["startIndex"] == MAX_START_INDEX, last.text
    assert last.json().get("Resources", []) == []


@pytest.mark.parametrize("resource", ["/Users", "/Groups"])
def test_the_same_bounds_hold_in_a_search_body(idp_a: Scim, some_users: str, resource: str) -> None:  # noqa: F811
    def search(**fields: Any) -> Any:
        return idp_a.post(f"{resource}/.search", json={"schemas": [SEARCH], **fields})

    assert search(startIndex=-3, count=1).status_code == 200
    for start in HUGE:
        scim_error(search(startIndex=start), 400, "invalidValue")
    for start in ("abc", 1.5, [1], {"a": 1}):
        scim_error(search(startIndex=start), 400)
    raw = b'{"schemas": ["' + SEARCH.encode() + b'"], "startIndex": 1e400}'
    scim_error(idp_a.post(f"{resource}/.search", content=raw), 400)


def test_payloads_over_the_limit_or_with_unstorable_text_are_scim_errors(idp_a: Scim) -> None:  # noqa: F811
    big = {"schemas": [USER], "userName": "big@uni.example", "displayName": "x" * (3 * 1024 * 1024)}
    r = idp_a.post("/Users", json=big)
    body = scim_error(r, 413)
    assert "bytes" in body["detail"]
    for user in (
        {"schemas": [USER], "userName": "nul\x00@uni.example"},
        {"schemas": [USER], "userName": "ok-nul@uni.example", "name": {"givenName": "A\x00na"}},
        {"schemas": [USER], "userName": "ok-sur@uni.example", "externalId": "x\ud800"},
    ):
        r = idp_a.request("POST", "/Users", content=json.dumps(user).encode())
        body = scim_error(r, 400, "invalidValue")
        assert "cannot be stored" in body["detail"]
    deep = b'{"schemas": ["' + USER.encode() + b'"], "userName": "deep@uni.example", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    scim_error(idp_a.request("POST", "/Users", content=deep), 400, "invalidSyntax")
