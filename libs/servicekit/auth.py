"""Token verification: the one function every app uses, and nowhere else.

It verifies the gateway's access tokens everywhere, and, in the gateway's
single sign-on (``gateway/sso``), an institution's identity-provider tokens
with that provider's issuer, audience, algorithms and JWKS.

Hardening, in the order the checks run (docs/architecture.md, "Identity and authentication"):

1. size capped (``MAX_TOKEN_BYTES``) before anything is parsed;
2. exactly three segments: a JWE (five segments) is refused, as is any header
   carrying ``enc``, ``zip``, ``crit``, ``jku``, ``x5u`` or ``jwk``;
3. header ``alg`` checked against the algorithms pinned for the issuer before
   any decoding (so ``none`` and an HS256 token "signed" with the RSA public
   key never reach a verifier), header ``typ`` must be one the verifier
   expects (``at+jwt`` for access tokens; ``JWT`` or none for ID tokens);
4. the key chosen by exact ``kid`` (an unknown kid triggers one throttled
   refetch of the JWKS, then a refusal); the key's own algorithm must match;
5. signature, then ``exp``, ``iat``, ``aud``, ``iss``, ``sub`` (and ``jti``
   for access tokens) required, with a leeway of at most 60 s; an ``iat`` or
   ``nbf`` in the future is refused.

Keys are parsed once (``jose.jwk.construct``) and reused: re-parsing a PEM on
every call costs tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import httpx
from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlowPassword, OAuthFlows
from fastapi.security import OAuth2
from jose import jwk, jwt
from jose.backends.base import Key
from jose.exceptions import ExpiredSignatureError, JOSEError, JWTClaimsError

from servicekit.outbound import OutboundPolicy, ResponseTooLarge, TargetRefused, fetch
from servicekit.problems import ProblemError

log = logging.getLogger("servicekit.auth")

MAX_TOKEN_BYTES = 8192
MAX_LEEWAY_SECONDS = 60
MAX_JWKS_BYTES = 256 * 1024
ACCESS_TOKEN_TYP = "at+jwt"
# An OpenID Connect ID token: header typ "JWT", or no typ at all (None).
ID_TOKEN_TYPS: tuple[str | None, ...] = ("JWT", None)
_FORBIDDEN_HEADERS = frozenset({"enc", "zip", "crit", "jku", "x5u", "jwk", "x5c"})

ROLES = frozenset({"admin", "coordinator", "mentor", "mentee", "peer_mentor", "evaluator", "applicant"})


class InvalidToken(Exception):
    """The token is refused. ``reason`` is safe to log; the token never is."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


@dataclass(frozen=True)
class VerificationKey:
    kid: str
    alg: str
    key: Key


# The key type each asymmetric algorithm family needs, and the curve of each
# ECDSA algorithm (RFC 7518 §3.4): a P-384 key is never used for ES256.
_KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC"}
_EC_CURVE = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_CURVE_ALG = {curve: alg for alg, curve in _EC_CURVE.items()}


def construct_keys(jwks: Mapping[str, Any], allowed_algorithms: Iterable[str]) -> dict[str, VerificationKey]:
    """Parse a JWKS document once into verification keys by kid.

    Only public signing keys are kept. A key is skipped when it has no kid,
    ``use`` other than ``sig``, private material, an algorithm that is not
    allowed, or a type that does not fit its algorithm (RSA for ``RS*``/``PS*``,
    EC on the algorithm's own curve for ``ES*``). A key without ``alg`` (as
    Microsoft Entra publishes them) is RS256 when RSA and the ECDSA algorithm
    of its curve when EC.
    """
    allowed = set(allowed_algorithms)
    keys: dict[str, VerificationKey] = {}
    entries = jwks.get("keys", [])
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping):
            continue
        kid, kty = entry.get("kid"), entry.get("kty")
        alg = entry.get("alg")
        if alg is None:
            alg = _CURVE_ALG.get(entry.get("crv")) if kty == "EC" else "RS256"  # type: ignore[arg-type]
        if not isinstance(kid, str) or not kid or not isinstance(alg, str) or alg not in allowed:
            continue
        if entry.get("use", "sig") != "sig" or "d" in entry or _KEY_TYPE.get(alg[:2]) != kty:
            continue
        if kty == "EC" and entry.get("crv") != _EC_CURVE.get(alg):
            continue
        try:
            keys[kid] = VerificationKey(kid=kid, alg=alg, key=jwk.construct(dict(entry), alg))
        except JOSEError:
            log.warning("skipping unparsable JWKS key", extra={"kid": kid})
    return keys


# Every way a JWKS fetch can fail (RecursionError: a document nested too deep for json).
_FETCH_ERRORS = (
    httpx.HTTPError, httpx.InvalidURL, TargetRefused, ResponseTooLarge, ValueError, TimeoutError, OSError, RecursionError,
)


class KeySource(Protocol):
    """Where verification keys come from."""

    async def get(self, kid: str) -> VerificationKey | None: ...


class StaticKeySource:
    """Keys known in-process (the gateway's own, or tests')."""

    def __init__(self, jwks: Mapping[str, Any], allowed_algorithms: Iterable[str] = ("RS256",)) -> None:
        self._allowed = tuple(allowed_algorithms)
        self._keys = construct_keys(jwks, self._allowed)

    def replace(self, jwks: Mapping[str, Any]) -> None:
        self._keys = construct_keys(jwks, self._allowed)

    async def get(self, kid: str) -> VerificationKey | None:
        return self._keys.get(kid)


class RemoteKeySource:
    """A JWKS fetched over HTTP, cached, and refetched when an unknown kid
    arrives, at most once per ``min_refetch_seconds`` (so a flood of tokens with
    random kids cannot turn into a flood of fetches).

    A failed fetch is retried with backoff (``retry_after_failure_seconds``,
    doubling up to ``min_refetch_seconds``), not after the whole interval, and
    while the last fetch failed a key this source does not hold is
    *unavailable* (a 503 problem: the token may well be valid), never unknown:
    a service that starts while the gateway is unreachable answers 503 until
    it can fetch the keys, then verifies tokens as usual.

    With ``max_age_seconds`` the cached keys are also refetched on first use
    after they have grown that old (so a key the issuer withdrew stops working);
    if that refetch fails, the cached keys are kept. Each fetch has explicit
    timeouts (``timeout`` for each connect and read, twice that for the whole
    fetch), never follows a redirect, and refuses a body over ``max_bytes``. ``clock`` is the
    monotonic clock of the throttle (tests pass their own).

    ``policy``: the URL was chosen by someone other than the operator (an
    institution's identity provider), so every fetch goes through the
    outbound-URL policy (``servicekit.outbound``: checked and pinned address,
    no proxy). Without it the URL is the operator's own configuration (the
    gateway's JWKS inside the deployment).
    """

    def __init__(
        self,
        url: str,
        *,
        allowed_algorithms: Iterable[str] = ("RS256",),
        min_refetch_seconds: float = 30.0,
        retry_after_failure_seconds: float = 0.5,
        max_age_seconds: float | None = None,
        timeout: float = 3.0,
        max_bytes: int = MAX_JWKS_BYTES,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        policy: OutboundPolicy | None = None,
    ) -> None:
        self.url = url
        self._policy = policy
        self._allowed = tuple(allowed_algorithms)
        self._min_refetch = min_refetch_seconds
        self._retry_after_failure = retry_after_failure_seconds
        self._failures = 0  # consecutive failed fetches
        self._max_age = max_age_seconds
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._client = client
        self._clock = clock
        self._keys: dict[str, VerificationKey] = {}
        self._fetched_at: float | None = None
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def _fetch(self) -> None:
        if self._policy is not None and self._client is None:
            resp = await fetch(
                self._policy, self.url, headers={"Accept": "application/json"}, max_bytes=self._max_bytes, timeout=2 * self._timeout
            )
            if resp.status_code != 200:  # a redirect included: never followed
                raise ValueError(f"JWKS answered {resp.status_code}")
            self._load(resp.body)
            return
        client = self._client or httpx.AsyncClient(timeout=httpx.Timeout(self._timeout), follow_redirects=False)
        try:
            async with asyncio.timeout(2 * self._timeout):
                async with client.stream(
                    "GET", self.url, headers={"Accept": "application/json"}, follow_redirects=False
                ) as resp:
                    if resp.status_code != 200:  # a redirect included: never followed
                        raise httpx.HTTPStatusError(f"JWKS answered {resp.status_code}", request=resp.request, response=resp)
                    declared = resp.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > self._max_bytes:
                        raise ValueError("JWKS document too large")
                    body = bytearray()
                    async for chunk in resp.aiter_bytes():
                        body += chunk
                        if len(body) > self._max_bytes:
                            raise ValueError("JWKS document too large")
            self._load(bytes(body))
        finally:
            if self._client is None:
                await client.aclose()

    def _load(self, body: bytes) -> None:
        document = json.loads(body)
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("not a JWKS document")
        self._keys = construct_keys(document, self._allowed)
        self._loaded_at = self._clock()

    def _stale(self) -> bool:
        return self._max_age is not None and self._loaded_at is not None and self._clock() - self._loaded_at > self._max_age

    async def get(self, kid: str) -> VerificationKey | None:
        key = self._keys.get(kid)
        if key is not None and not self._stale():
            return key
        async with self._lock:
            key = self._keys.get(kid)
            if key is not None and not self._stale():
                return key
            now = self._clock()
            if self._fetched_at is not None and now - self._fetched_at < self._wait_before_next_fetch():
                if key is None and self._failures:
                    raise _keys_unavailable()  # the last fetch failed: this key may well exist
                return key
            self._fetched_at = now
            try:
                await self._fetch()
            except _FETCH_ERRORS as exc:
                # A URL refused by the outbound policy, an unreachable or slow
                # host, an answer too large or not a JWKS: never a 500.
                self._failures += 1
                reason = exc.reason if isinstance(exc, TargetRefused) else type(exc).__name__
                log.warning("could not fetch JWKS", extra={"url": self.url[:200], "error": reason, "failures": self._failures})
                if key is not None:
                    return key
                raise _keys_unavailable() from exc
            self._failures = 0
            return self._keys.get(kid)

    def _wait_before_next_fetch(self) -> float:
        if not self._failures:
            return self._min_refetch
        return min(self._min_refetch, self._retry_after_failure * 2 ** (self._failures - 1))


def _keys_unavailable() -> ProblemError:
    return ProblemError(503, "Token keys are unavailable; try again shortly", slug="keys-unavailable",
                        headers={"Retry-After": "1"})


class TokenVerifier:
    """Verifies the tokens of one issuer. Build once per app (per identity
    provider in the gateway's single sign-on).

    ``typ``: the header ``typ`` values accepted (compared case-insensitively,
    with or without ``application/``); ``None`` among them accepts a header
    without ``typ``. ``require_jti``: access tokens carry ``jti``; OpenID
    Connect ID tokens need not (Google's and Entra's have none).
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: KeySource,
        algorithms: Iterable[str] = ("RS256",),
        leeway_seconds: int = 30,
        max_token_bytes: int = MAX_TOKEN_BYTES,
        typ: str | Iterable[str | None] = ACCESS_TOKEN_TYP,
        require_jti: bool = True,
    ) -> None:
        if leeway_seconds > MAX_LEEWAY_SECONDS:
            raise ValueError(f"leeway must be at most {MAX_LEEWAY_SECONDS}s")
        algorithms = tuple(algorithms)
        if not algorithms or any(a in {"none", ""} or a.startswith("HS") for a in algorithms):
            raise ValueError("only asymmetric algorithms may be pinned for access tokens")
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        self.algorithms = algorithms
        self.leeway = leeway_seconds
        self.max_token_bytes = max_token_bytes
        accepted = (typ,) if isinstance(typ, str) else tuple(typ)
        if not accepted:
            raise ValueError("at least one typ must be accepted")
        self.typ = frozenset(f"{prefix}{t.lower()}" for t in accepted if t is not None for prefix in ("", "application/"))
        self.typ_optional = None in accepted
        self.require_jti = require_jti

    async def verify(self, token: str) -> dict[str, Any]:
        if not isinstance(token, str) or not token:
            raise InvalidToken("empty token")
        if len(token.encode("utf-8", "ignore")) > self.max_token_bytes:
            raise InvalidToken("token too large")
        if token.count(".") != 2:
            raise InvalidToken("not a JWS compact token (JWE and other forms are refused)")
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as exc:
            raise InvalidToken("malformed header") from exc
        if not isinstance(header, dict):
            raise InvalidToken("malformed header")
        if _FORBIDDEN_HEADERS & header.keys():
            raise InvalidToken("unsupported header parameter")
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise InvalidToken("algorithm not allowed")
        if "typ" in header:
            typ = header["typ"]
            if not isinstance(typ, str) or typ.lower() not in self.typ:
                raise InvalidToken("wrong token type")
        elif not self.typ_optional:
            raise InvalidToken("wrong token type")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("missing kid")
        vkey = await self.keys.get(kid)
        if vkey is None:
            raise InvalidToken("unknown kid")
        if vkey.alg != alg:
            raise InvalidToken("algorithm does not match key")
        try:
            claims = jwt.decode(
                token,
                vkey.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require_exp": True,
                    "require_iat": True,
                    "require_aud": True,
                    "require_iss": True,
                    "require_sub": True,
                    "require_jti": self.require_jti,
                    # at_hash binds an ID token to an access token issued with
                    # it, which is never presented here: nothing to compare.
                    "verify_at_hash": False,
                    "leeway": self.leeway,
                },
            )
        except ExpiredSignatureError as exc:
            raise InvalidToken("token expired", expired=True) from exc
        except JWTClaimsError as exc:
            raise InvalidToken(f"claims rejected: {exc}") from exc
        except JOSEError as exc:
            raise InvalidToken("signature or encoding invalid") from exc
        now = time.time()
        iat = claims.get("iat")
        if not isinstance(iat, (int, float)) or iat > now + self.leeway:
            raise InvalidToken("token not yet valid")
        if not isinstance(claims.get("exp"), (int, float)):
            raise InvalidToken("exp must be a number")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise InvalidToken("sub must be a non-empty string")
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidToken("roles must be a list of strings")
        if not isinstance(claims.get("scope", ""), str):
            raise InvalidToken("scope must be a string")
        tid = claims.get("tid")
        if tid is not None and not isinstance(tid, str):
            raise InvalidToken("tid must be a string")
        return claims


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the verified token says."""

    subject: str
    tenant_id: str | None
    roles: frozenset[str]
    scopes: frozenset[str]
    token_id: str
    is_client: bool
    token: str = field(repr=False)
    claims: Mapping[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any], token: str) -> Principal:
        return cls(
            subject=claims["sub"],
            tenant_id=claims.get("tid"),
            roles=frozenset(claims.get("roles", [])),
            scopes=frozenset(s for s in claims.get("scope", "").split() if s),
            token_id=claims["jti"],
            is_client=claims.get("client_id") is not None,
            token=token,
            claims=claims,
        )

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        password=OAuthFlowPassword(tokenUrl="/v1/auth/token", refreshUrl="/v1/auth/token"),
        clientCredentials=OAuthFlowClientCredentials(tokenUrl="/v1/auth/token"),
    ),
    scheme_name="aliadaOAuth",
    description="Access tokens from the gateway's /v1/auth/token (RS256, 15 minutes).",
    auto_error=False,
)


def unauthorized(detail: str = "A valid access token is required") -> ProblemError:
    return ProblemError(
        401,
        detail,
        slug="unauthorized",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


# The problem type of a token refused because its session was revoked (the
# gateway's edge and every service), distinct from any other 401, so the
# services' session check (servicekit.revocation) can tell the two apart.
SESSION_REVOKED = "session-revoked"


def session_revoked() -> ProblemError:
    return ProblemError(
        401,
        "The session of this access token has been revoked",
        slug=SESSION_REVOKED,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def authenticate(request: Request, _doc: Annotated[str | None, Depends(oauth2_scheme)] = None) -> Principal:
    """FastAPI dependency: the verified caller, or a 401 problem."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        gate_clients(request, cached)
        return cached
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise unauthorized()
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        claims = await verifier.verify(token)
    except InvalidToken as exc:
        log.info("token refused", extra={"reason": exc.reason})
        raise unauthorized("The access token has expired" if exc.expired else "The access token is invalid") from None
    sid = claims.get("sid")
    revocations = getattr(request.app.state, "revocations", None)
    if revocations is not None and isinstance(sid, str) and sid and await revocations.is_revoked(sid, token):
        # servicekit.revocation: the session was revoked at the gateway.
        log.info("token refused", extra={"reason": "session revoked"})
        raise session_revoked()
    principal = Principal.from_claims(claims, token)
    request.state.principal = principal
    gate_clients(request, principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


# -- API clients: deny by default ---------------------------------------------------
#
# A person's token is authorized by her roles; an API client's (client
# credentials: ``Principal.is_client``) by its scopes. An endpoint an API client
# may call declares the scopes that let a client in, with ``allow_clients`` in
# its (or its router's) dependencies, or with a dependency that carries
# ``client_scopes`` (``require_scopes`` does). ``authenticate`` (and the
# gateway's edge dependency) then refuse a client token with 403
# ``insufficient-scope`` on every endpoint that declared no client scope, and on
# an endpoint that did when the client holds none of them. The endpoint's own
# checks (scope, institution, object) still run after the gate.

CLIENT_SCOPES_ATTRIBUTE = "client_scopes"
# Declared by an endpoint that tells a client only about its own token
# (``allow_any_client``); never a scope a client can be granted.
ANY_CLIENT = "*"
_ROUTE_CACHE_ATTRIBUTE = "_servicekit_client_scopes"


def client_scopes(*scopes: str) -> Callable[[Any], Any]:
    """Decorator of a dependency: an endpoint depending on it accepts API
    clients holding one of ``scopes`` (the dependency checks the rest)."""
    if not scopes:
        raise ValueError("declare at least one scope")

    def mark(dependency: Any) -> Any:
        setattr(dependency, CLIENT_SCOPES_ATTRIBUTE, frozenset(scopes))
        return dependency

    return mark


def allow_clients(*scopes: str) -> Any:
    """``dependencies=[allow_clients("reports:read")]``: API clients holding one
    of ``scopes`` may call this endpoint (its own checks still decide what they see)."""

    @client_scopes(*scopes)
    async def clients_allowed() -> None:
        return None

    return Depends(clients_allowed)


def allow_any_client() -> Any:
    """``dependencies=[allow_any_client()]``: any API client may call this
    endpoint whatever its scopes (only for endpoints about the caller's own
    token, such as the gateway's ``/v1/auth/me`` and session check)."""
    return allow_clients(ANY_CLIENT)


def declared_client_scopes(route: Any) -> frozenset[str]:
    """The scopes an endpoint declares for API clients: every ``client_scopes``
    among its dependencies, at any depth (empty: no client may call it)."""
    cached = getattr(route, _ROUTE_CACHE_ATTRIBUTE, None)
    if cached is not None:
        return cached
    found: set[str] = set()
    pending = list(getattr(getattr(route, "dependant", None), "dependencies", []))
    while pending:
        dependant = pending.pop()
        found.update(getattr(dependant.call, CLIENT_SCOPES_ATTRIBUTE, ()))
        pending.extend(dependant.dependencies)
    declared = frozenset(found)
    setattr(route, _ROUTE_CACHE_ATTRIBUTE, declared)
    return declared


def gate_clients(request: Request, principal: Principal) -> None:
    """403 ``insufficient-scope`` for an API client on an endpoint that did not
    declare one of its scopes. People pass (their roles are checked elsewhere)."""
    if not principal.is_client:
        return
    declared = declared_client_scopes(request.scope.get("route"))
    if not declared:
        raise ProblemError(403, "API clients may not call this endpoint", slug="insufficient-scope")
    if ANY_CLIENT not in declared and not declared & principal.scopes:
        raise ProblemError(403, f"Requires one of the scopes: {' '.join(sorted(declared))}", slug="insufficient-scope")


def require_roles(*roles: str):
    """Dependency factory: the caller must hold one of ``roles`` (admin always passes)."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.is_admin or principal.has_role(*roles):
            return principal
        raise ProblemError(403, f"Requires one of the roles: {', '.join(roles)}", slug="forbidden")

    return dependency


def require_scopes(*scopes: str):
    """Dependency factory: the caller must hold every scope (an API client may
    call the endpoint: see ``gate_clients``)."""

    @client_scopes(*scopes)
    async def dependency(principal: CurrentPrincipal) -> Principal:
        missing = [s for s in scopes if s not in principal.scopes]
        if missing:
            raise ProblemError(403, f"Missing scope: {' '.join(missing)}", slug="insufficient-scope")
        return principal

    return dependency
