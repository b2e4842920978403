"""Password guessing is slowed without locking the person out (issue 14,
finding 12), and the client address behind every per-address limit cannot be
forged (finding 10). Addresses are TestClient peers; the forged ones are
X-Forwarded-For headers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from gateway.ratelimit import address_key
from gateway.tests.conftest import PASSWORD, Gateway, GatewayFactory

TOKEN = "/v1/auth/token"


def from_address(gw: Gateway, address: str, **headers: str) -> Any:
    client = gw.peer(address, **headers)
    return lambda password, username: client.post(TOKEN, data={"grant_type": "password", "username": username, "password": password})


@pytest.fixture
def gw(make_gateway: GatewayFactory) -> Gateway:
    return make_gateway(login_rate_limit_per_address="3/minute", login_rate_limit_per_account="8/hour", token_rate_limit_per_ip="1000/minute")


@pytest.fixture
def victim(gw: Gateway) -> str:
    return gw.create_account(gw.bearer(), ["mentee"])["email"]


def test_an_attacker_at_one_address_is_stopped_and_the_owner_elsewhere_signs_in(gw: Gateway, victim: str) -> None:
    attacker = from_address(gw, "203.0.113.66")
    assert [attacker("wrong-guess", victim).status_code for _ in range(5)] == [400, 400, 400, 429, 429]
    assert attacker(PASSWORD, victim).status_code == 429  # even the right password, from there
    assert attacker(PASSWORD, victim.upper()).status_code == 429  # the same account however spelled
    owner = from_address(gw, "198.51.100.7")
    assert owner(PASSWORD, victim).status_code == 200
    # The attacker's address is limited for this account only.
    other = gw.create_account(gw.bearer(), ["mentee"])["email"]
    assert attacker(PASSWORD, other).status_code == 200


def test_an_ipv6_attacker_cannot_rotate_through_her_own_network(gw: Gateway, victim: str) -> None:
    codes = [from_address(gw, f"2001:db8:aa:bb::{i:x}")("wrong-guess", victim).status_code for i in range(1, 6)]
    assert codes == [400, 400, 400, 429, 429]
    assert from_address(gw, "2001:db8:aa:cc::1")(PASSWORD, victim).status_code == 200  # another /64
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1" and address_key("2001:db8::1") == "2001:db8::/64"


def test_the_backstop_holds_against_many_addresses_but_spares_where_she_signed_in(gw: Gateway, victim: str) -> None:
    home = from_address(gw, "198.51.100.7")
    assert home(PASSWORD, victim).status_code == 200  # her usual address, remembered
    # Two failures each from many addresses: each stays under its own limit.
    codes = [from_address(gw, f"192.0.2.{n}")("wrong-guess", victim).status_code for n in range(1, 7) for _ in range(2)]
    assert codes[:8] == [400] * 8 and codes[8:] == [429] * 4  # the account's backstop: 8 failures
    assert from_address(gw, "192.0.2.200")(PASSWORD, victim).status_code == 429  # a new address, even with her password
    assert home(PASSWORD, victim).status_code == 200  # but not where she signed in before


def test_a_forged_forwarded_header_gives_no_new_address(make_gateway: GatewayFactory) -> None:
    """Nobody is trusted by default: an X-Forwarded-For from a loopback peer is
    ignored, so rotating it does not escape the per-address limit."""
    gw = make_gateway(token_rate_limit_per_ip="3/minute")
    client = gw.peer("127.0.0.1")
    form = {"grant_type": "password", "username": f"{uuid.uuid4().hex}@uni.example", "password": "x" * 12}
    codes = [client.post(TOKEN, data=form, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(5)]
    assert codes == [400, 400, 400, 429, 429]


def test_a_trusted_proxys_header_is_believed(make_gateway: GatewayFactory) -> None:
    gw = make_gateway(token_rate_limit_per_ip="3/minute", trusted_proxies="10.0.0.0/8")
    proxy = gw.peer("10.0.0.9")
    form = {"grant_type": "password", "username": f"{uuid.uuid4().hex}@uni.example", "password": "x" * 12}

    def through(client_address: str) -> int:
        return proxy.post(TOKEN, data=form, headers={"X-Forwarded-For": client_address}).status_code

    assert [through("203.0.113.1") for _ in range(4)] == [400, 400, 400, 429]  # one client, counted as herself
    assert through("203.0.113.2") == 400  # another client behind the same proxy has her own count
    # A client cannot pass for another by writing the header herself: the proxy appends the real one.
    assert through("203.0.113.2, 203.0.113.1") == 429
    # Not through a trusted proxy: the header is ignored, the peer counts.
    direct = gw.peer("198.51.100.9")
    assert [direct.post(TOKEN, data=form, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(10, 14)] == [400, 400, 400, 429]
