"""Every forged or broken token is refused with 401 by the gateway and by each
service called directly, over real HTTP, in the running platform.

The attack tokens are built against the gateway's real key id and public key
(from its JWKS): the HS256 forgeries are keyed with the gateway's own public
key, as an attacker would. An outsider cannot sign with the gateway's private
key, so here the claim attacks (expired, wrong audience...) also carry a
foreign signature; tests/test_jwt_attacks_apps.py repeats every attack with a
key each app trusts, proving each claim check on its own.
"""

import httpx
import pytest

from servicekit.testing import attack_tokens
from servicekit.tokens import SigningKey
from tools.stack import SERVICES, Stack


@pytest.fixture(scope="module")
def gateway_attacks(stack: Stack) -> dict[str, str]:
    jwks = httpx.get(f"{stack.gateway}/.well-known/jwks.json", timeout=5).json()
    real = jwks["keys"][0]
    # An attacker knows the public key and its kid. attack_tokens needs a key
    # object: give it our own private key dressed with the gateway's kid and
    # public PEM, so the HS256 forgeries use the *gateway's* public key bytes.
    from jose import jwk

    mimic = SigningKey.generate(kid=real["kid"])
    public_pem = jwk.construct(real, "RS256").to_pem().decode()
    mimic.public_pem = public_pem
    return attack_tokens(mimic, issuer=stack.gateway, audience="aliada")


# A route of each service that needs a token and that the admin's own token is refused
# (verified, then forbidden): the outbox feed (scope events:read), or for the
# notifications service, which publishes no feed, an inbox (a person of an institution's).
DOORS = {"notifications": "/v1/notifications/mine"}


def _door(stack: Stack, service: str) -> str:
    return f"{stack.url(service)}{DOORS.get(service, '/internal/events')}"


def _targets(stack: Stack) -> list[tuple[str, str]]:
    targets = [("gateway", f"{stack.gateway}/v1/auth/me"), ("gateway-proxy", f"{stack.gateway}/v1/institutions")]
    targets += [(svc.name, _door(stack, svc.name)) for svc in SERVICES]
    return targets


def test_every_attack_token_is_refused_everywhere(stack: Stack, gateway_attacks: dict[str, str]) -> None:
    failures = []
    for target, url in _targets(stack):
        for attack, token in gateway_attacks.items():
            r = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            if r.status_code != 401 or r.headers.get("content-type") != "application/problem+json":
                failures.append(f"{target} {attack}: {r.status_code}")
    assert failures == []


def test_a_real_token_passes_the_same_doors(stack: Stack, admin_token: str) -> None:
    """The control: the refusals above are about the tokens, not the doors."""
    assert httpx.get(f"{stack.gateway}/v1/auth/me", headers={"Authorization": f"Bearer {admin_token}"}).status_code == 200
    assert httpx.get(f"{stack.gateway}/v1/institutions", headers={"Authorization": f"Bearer {admin_token}"}).status_code == 200
    for svc in SERVICES:
        # Verified, then forbidden: the admin lacks events:read, and has no inbox (no institution).
        r = httpx.get(_door(stack, svc.name), headers={"Authorization": f"Bearer {admin_token}"})
        assert r.status_code == 403, svc.name
