"""The one verification function, attacked directly."""

import time

import pytest

from servicekit.auth import InvalidToken, RemoteKeySource, StaticKeySource, TokenVerifier
from servicekit.testing import TEST_AUDIENCE, TEST_ISSUER, attack_tokens
from servicekit.tokens import SigningKey, access_claims


@pytest.fixture(scope="module")
def verifier(key_source: StaticKeySource) -> TokenVerifier:
    return TokenVerifier(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, keys=key_source, leeway_seconds=30)


async def test_valid_token_yields_its_claims(verifier: TokenVerifier, mint) -> None:
    claims = await verifier.verify(mint(sub="ana", tid="inst-1", roles=["coordinator"], scope="a b"))
    assert claims["sub"] == "ana"
    assert claims["tid"] == "inst-1"
    assert claims["roles"] == ["coordinator"]


ATTACKS = [
    "alg_none",
    "hs256_public_pem",
    "hs256_public_der",
    "expired",
    "not_yet_valid",
    "wrong_audience",
    "wrong_issuer",
    "unknown_kid",
    "foreign_key_same_kid",
    "tampered_payload",
    "missing_exp",
    "oversized",
    "wrong_typ",
    "jwe_shaped",
]


@pytest.mark.parametrize("attack", ATTACKS)
async def test_attack_tokens_are_refused(verifier: TokenVerifier, signing_key: SigningKey, attack: str) -> None:
    token = attack_tokens(signing_key)[attack]
    with pytest.raises(InvalidToken):
        await verifier.verify(token)


def test_every_attack_is_covered(signing_key: SigningKey) -> None:
    assert set(attack_tokens(signing_key)) == set(ATTACKS)


async def test_hs256_forgery_would_pass_an_unpinned_jose_decode(signing_key: SigningKey) -> None:
    """The regression this module guards against: python-jose itself accepts an
    HS256 token keyed with the DER public key when algorithms are not pinned.
    If this stops being true the refusal test above still holds, but this test
    documents why the alg check happens before decoding."""
    from jose import jwt
    from jose.exceptions import JOSEError

    forged = attack_tokens(signing_key)["hs256_public_der"]
    from cryptography.hazmat.primitives import serialization

    der = serialization.load_pem_public_key(signing_key.public_pem.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        claims = jwt.decode(forged, der, algorithms=None, options={"verify_aud": False})
    except JOSEError:
        pytest.fail("expected the unpinned python-jose decode to accept the DER-keyed HS256 forgery")
    assert claims["roles"] == ["admin"]


async def test_leeway_tolerates_small_clock_skew(verifier: TokenVerifier, signing_key: SigningKey) -> None:
    now = int(time.time())
    claims = access_claims(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, subject="s", tenant_id=None, roles=[])
    claims.update(iat=now + 10, exp=now - 10 + 900)
    assert (await verifier.verify(signing_key.sign(claims)))["sub"] == "s"
    claims.update(iat=now - 900, exp=now - 10)  # expired 10 s ago, inside the 30 s leeway
    assert (await verifier.verify(signing_key.sign(claims)))["sub"] == "s"


def test_verifier_refuses_unsafe_configuration(key_source: StaticKeySource) -> None:
    with pytest.raises(ValueError):
        TokenVerifier(issuer="i", audience="a", keys=key_source, algorithms=["HS256"])
    with pytest.raises(ValueError):
        TokenVerifier(issuer="i", audience="a", keys=key_source, algorithms=["none"])
    with pytest.raises(ValueError):
        TokenVerifier(issuer="i", audience="a", keys=key_source, leeway_seconds=61)


@pytest.mark.parametrize(
    "claim,value",
    [("roles", "admin"), ("scope", ["a"]), ("tid", 5), ("sub", "")],
)
async def test_claim_types_are_checked(verifier: TokenVerifier, signing_key: SigningKey, claim: str, value) -> None:
    claims = access_claims(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, subject="s", tenant_id=None, roles=[])
    claims[claim] = value
    with pytest.raises(InvalidToken):
        await verifier.verify(signing_key.sign(claims))


async def test_remote_key_source_refetches_unknown_kid_at_most_once_per_interval() -> None:
    import httpx

    first, second = SigningKey.generate(kid="k1"), SigningKey.generate(kid="k2")
    served = {"keys": [first.public_jwk]}
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json=served)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    source = RemoteKeySource("http://127.0.0.1:1/jwks", client=client, min_refetch_seconds=3600)
    assert (await source.get("k1")) is not None
    assert calls == 1
    served["keys"].append(second.public_jwk)
    # k2 was added after the first fetch; the throttle forbids a refetch now.
    assert (await source.get("k2")) is None
    assert (await source.get("random")) is None
    assert calls == 1
    source._fetched_at = time.monotonic() - 7200  # the interval has passed
    assert (await source.get("k2")) is not None
    assert calls == 2
    await client.aclose()


def test_private_and_symmetric_keys_are_never_accepted_from_a_jwks(signing_key: SigningKey) -> None:
    from servicekit.auth import construct_keys

    jwks = {
        "keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0", "alg": "HS256"},
            {**signing_key.public_jwk, "kid": "enc", "use": "enc"},
            {**signing_key.public_jwk, "kid": "private", "d": "AQAB"},
            signing_key.public_jwk,
        ]
    }
    assert set(construct_keys(jwks, ["RS256"])) == {signing_key.kid}


async def test_keys_unavailable_is_a_503_and_fetched_again_soon_after_a_failure() -> None:
    """A service that started while the gateway was unreachable: every valid
    token is a 503 (never "invalid") until the keys can be fetched, and the
    fetch is retried with backoff, not after the whole refetch interval."""
    import httpx

    from servicekit.problems import ProblemError

    key = SigningKey.generate(kid="k1")
    up = False
    calls = 0
    now = 1000.0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if not up:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"keys": [key.public_jwk]})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    source = RemoteKeySource("http://127.0.0.1:1/jwks", client=client, min_refetch_seconds=30,
                             retry_after_failure_seconds=0.5, clock=lambda: now)
    for _ in range(3):  # the fetch failed; within the backoff no new fetch, and still no "unknown key"
        with pytest.raises(ProblemError) as refused:
            await source.get("k1")
        assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "1"}
    assert calls == 1
    now += 0.6  # past the first backoff: one more try, which fails again; the next wait doubles
    with pytest.raises(ProblemError):
        await source.get("k1")
    assert calls == 2
    now += 0.6
    with pytest.raises(ProblemError):
        await source.get("k1")
    assert calls == 2  # 1 s now
    up = True
    now += 0.5
    assert (await source.get("k1")) is not None  # 15 s before the old 30 s interval would have allowed it
    assert calls == 3
    # Healthy again: an unknown kid is unknown (None, a 401), refetched at most once per interval.
    assert (await source.get("random")) is None
    assert (await source.get("random2")) is None
    assert calls == 3
    await client.aclose()


async def test_backoff_never_exceeds_the_refetch_interval() -> None:
    source = RemoteKeySource("http://127.0.0.1:1/jwks", min_refetch_seconds=30, retry_after_failure_seconds=0.5)
    source._failures = 20
    assert source._wait_before_next_fetch() == 30
    source._failures = 0
    assert source._wait_before_next_fetch() == 30
