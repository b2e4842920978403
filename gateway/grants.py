"""OAuth 2.0 grants (RFC 6749) and revocation (RFC 7009).

- ``password``: username (email) and password. Unknown user, wrong password
  and a failed rate-limited identity all cost one argon2 verification and get
  the same ``invalid_grant``. A session (token family) is opened and the first
  refresh token of the family issued.
- ``refresh_token``: refresh tokens are opaque, 256-bit, single use, stored only
  as sha256. Using one marks it used (one atomic UPDATE, so two replicas can
  never both accept it) and returns a new one of the same family. Presenting a
  used one is a theft signal: the whole family is revoked, so its refresh
  tokens stop working and its access tokens (``sid``) are refused at the edge.
- ``client_credentials``: client_id and secret by HTTP Basic or in the form
  (not both); the scopes asked for must be a subset of the client's (all of
  them when none are asked for). No refresh token (RFC 6749 §4.4.3).
- token exchange (RFC 8693, ``urn:ietf:params:oauth:grant-type:token-exchange``):
  single sign-on. ``subject_token`` is an ID token (or JWT) of an identity
  provider an institution registered (``gateway.sso``); it is verified by
  servicekit's one verifier with that provider's issuer, audience, algorithms
  and keys, and signs in to (or creates, or links by email) the person's
  account of that institution. She then gets what the password grant gives:
  an access token (``issued_token_type`` access_token) and the first refresh
  token of a new session. No delegation (``actor_token``), no other target.

People are authorized by roles, so a person's token has an empty ``scope``;
asking for scopes in the password or refresh grant is ``invalid_scope``.

Errors are problems carrying the RFC 6749 §5.2 members ``error`` and
``error_description``: ``invalid_request``/``invalid_grant``/
``unsupported_grant_type``/``invalid_scope``/``invalid_target`` with 400,
``invalid_client`` with 401 and ``WWW-Authenticate: Basic``; a token exchange
whose identity provider's keys cannot be fetched gets
``temporarily_unavailable`` with 503.
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote_plus

import anyio.to_thread
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from servicekit.auth import InvalidToken, TokenVerifier
from servicekit.inputs import unstorable
from servicekit.problems import FieldError, ProblemError

from gateway.config import Settings
from gateway.minting import Minter
from gateway.models import Account, ApiClient, RefreshToken, TokenFamily
from gateway.ratelimit import RateLimits
from gateway.revocation import RevokedSessions
from gateway.schemas import TokenResponse
from gateway.security import Passwords, new_family_id, new_refresh_token, secret_matches, sha256_hex
from gateway.service import revoke_client_sessions, revoke_families
from gateway.sso.federation import ExchangeRefused, Federation

log = logging.getLogger("gateway.grants")

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
GRANT_TYPES = ("password", "refresh_token", "client_credentials", TOKEN_EXCHANGE)
TOKEN_TYPE = "urn:ietf:params:oauth:token-type:"
SUBJECT_TOKEN_TYPES = (TOKEN_TYPE + "id_token", TOKEN_TYPE + "jwt")
ACCESS_TOKEN_TYPE = TOKEN_TYPE + "access_token"


def oauth_error(
    error: str,
    description: str,
    *,
    status: int = 400,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemError:
    return ProblemError(
        status,
        description,
        slug=error.replace("_", "-"),
        errors=[FieldError(field=field, message=description, code=error)] if field else None,
        headers=headers,
        error=error,
        error_description=description,
    )


def invalid_client(description: str = "Client authentication failed") -> ProblemError:
    return oauth_error("invalid_client", description, status=401, headers={"WWW-Authenticate": 'Basic realm="aliada"'})


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """HTTP Basic client credentials (each part form-urlencoded, RFC 6749 §2.3.1)."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_client("Malformed HTTP Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if not sep or unstorable(client_id) or unstorable(secret):  # servicekit's input rule
        raise invalid_client("Malformed HTTP Basic credentials")
    return client_id, secret


@dataclass(frozen=True)
class _Person:
    id: uuid.UUID
    roles: list[str]
    institution_id: str | None


class Grants:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        passwords: Passwords,
        minter: Minter,
        revoked: RevokedSessions,
        limits: RateLimits,
        verifier: TokenVerifier,
        federation: Federation | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.passwords = passwords
        self.minter = minter
        self.revoked = revoked
        self.limits = limits
        self.verifier = verifier
        self.federation = federation

    def _refresh_expiry(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.settings.refresh_token_ttl)

    def _open_session(self, session: Session, account_id: uuid.UUID) -> tuple[str, str]:
        """A new token family (session) of the account and its first refresh token."""
        family_id, refresh = new_family_id(), new_refresh_token()
        session.add(TokenFamily(id=family_id, account_id=account_id))
        session.flush()
        session.add(RefreshToken(family_id=family_id, token_hash=sha256_hex(refresh), expires_at=self._refresh_expiry()))
        return family_id, refresh

    async def _person_tokens(self, person: _Person, family_id: str, refresh_token: str) -> TokenResponse:
        access = await self.minter.mint(
            subject=str(person.id), tenant_id=person.institution_id, roles=list(person.roles), scope="", sid=family_id
        )
        return TokenResponse(
            access_token=access, expires_in=self.settings.access_token_ttl, refresh_token=refresh_token, scope=""
        )

    # -- password -------------------------------------------------------------

    async def password(self, username: str | None, password: str | None, scope: str | None, address: str = "unknown") -> TokenResponse:
        if not username:
            raise oauth_error("invalid_request", "username is required", field="body.username")
        if not password:
            raise oauth_error("invalid_request", "password is required", field="body.password")
        if scope and scope.split():
            raise oauth_error("invalid_scope", "Scopes are for API clients; people are authorized by roles", field="body.scope")
        identity = username.strip().lower()
        await self.limits.login_allowed(identity, address)

        def work() -> tuple[_Person, str, str] | str | None:
            with Session(self.engine) as session:
                account = session.exec(select(Account).where(Account.email == identity)).first()
                stored = account.password_hash if account is not None else None
            if not self.passwords.verify(stored, password) or account is None:
                return None
            if account.status != "active":
                return "suspended"
            with Session(self.engine) as session:
                family_id, refresh = self._open_session(session, account.id)
                if self.passwords.needs_rehash(account.password_hash):
                    session.execute(
                        update(Account).where(col(Account.id) == account.id).values(password_hash=self.passwords.hash(password))
                    )
                session.commit()
            return _Person(account.id, list(account.roles), account.institution_id), family_id, refresh

        result = await anyio.to_thread.run_sync(work)
        if result is None:
            await self.limits.login_failed(identity, address)
            raise oauth_error("invalid_grant", "Invalid username or password")
        if result == "suspended":
            raise oauth_error("invalid_grant", "This account is suspended")
        assert not isinstance(result, str)
        await self.limits.login_succeeded(identity, address)
        return await self._person_tokens(*result)

    # -- refresh_token ----------------------------------------------------------

    async def refresh(self, refresh_token: str | None, scope: str | None) -> TokenResponse:
        if not refresh_token:
            raise oauth_error("invalid_request", "refresh_token is required", field="body.refresh_token")
        if scope and scope.split():
            raise oauth_error("invalid_scope", "Scopes are for API clients; people are authorized by roles", field="body.scope")
        token_hash = sha256_hex(refresh_token)

        def work() -> tuple[_Person, str, str] | tuple[str, str | None]:
            now = datetime.now(UTC)
            with Session(self.engine) as session:
                used = session.execute(
                    update(RefreshToken)
                    .where(
                        RefreshToken.token_hash == token_hash,
                        col(RefreshToken.used_at).is_(None),
                        col(RefreshToken.expires_at) > now,
                    )
                    .values(used_at=now)
                )
                if used.rowcount == 1:  # type: ignore[attr-defined]
                    row = session.exec(select(RefreshToken).where(RefreshToken.token_hash == token_hash)).one()
                    family = session.get(TokenFamily, row.family_id)
                    if family is None or family.revoked_at is not None:
                        session.commit()
                        return ("revoked", None)
                    account = session.get(Account, family.account_id) if family.account_id else None
                    if account is None or account.status != "active":
                        revoke_families(session, [family.id], "account-inactive")
                        session.commit()
                        return ("revoked", family.id)
                    person = _Person(account.id, list(account.roles), account.institution_id)
                    refresh = new_refresh_token()
                    session.add(RefreshToken(family_id=family.id, token_hash=sha256_hex(refresh), expires_at=self._refresh_expiry()))
                    session.commit()
                    return person, family.id, refresh
                row = session.exec(select(RefreshToken).where(RefreshToken.token_hash == token_hash)).first()
                if row is None:
                    return ("unknown", None)
                if row.used_at is not None:
                    revoke_families(session, [row.family_id], "refresh-reuse")
                    session.commit()
                    return ("reused", row.family_id)
                return ("expired", None)

        result = await anyio.to_thread.run_sync(work)
        if isinstance(result[0], str):
            outcome, family_id = result  # type: ignore[misc]
            if family_id:
                self.revoked.note([family_id])
            if outcome == "reused":
                log.warning("refresh token reused; session revoked")
                raise oauth_error("invalid_grant", "This refresh token was already used; its session has been revoked")
            raise oauth_error("invalid_grant", "The refresh token is invalid, expired or revoked")
        return await self._person_tokens(*result)  # type: ignore[arg-type]

    # -- client_credentials -------------------------------------------------------

    async def client_credentials(
        self, authorization: str | None, form_id: str | None, form_secret: str | None, scope: str | None
    ) -> TokenResponse:
        basic = basic_credentials(authorization)
        if basic is not None and (form_id or form_secret):
            raise oauth_error("invalid_request", "Use one client authentication method: HTTP Basic or the form, not both")
        client_id, secret = basic if basic is not None else (form_id, form_secret)
        if not client_id or not secret:
            raise invalid_client("Client authentication is required (HTTP Basic or client_id and client_secret)")
        await self.limits.identity_allowed("client", client_id)

        def work() -> tuple[str, list[str], str | None, str] | None:
            with Session(self.engine) as session:
                client = session.exec(select(ApiClient).where(ApiClient.client_id == client_id)).first()
                ok = secret_matches(client.secret_hash if client is not None else None, secret)
                if not ok or client is None or not client.active:
                    return None
                return client.client_id, list(client.scopes), client.institution_id, client.family_id

        found = await anyio.to_thread.run_sync(work)
        if found is None:
            await self.limits.identity_failed("client", client_id)
            raise invalid_client()
        cid, allowed, institution_id, family_id = found
        requested = list(dict.fromkeys(scope.split())) if scope else []
        if requested:
            extra = [s for s in requested if s not in allowed]
            if extra:
                raise oauth_error("invalid_scope", f"Scopes not granted to this client: {' '.join(extra)}", field="body.scope")
            granted = requested
        else:
            granted = allowed
        access = await self.minter.mint(
            subject=cid, tenant_id=institution_id, roles=[], scope=" ".join(granted), client_id=cid, sid=family_id
        )
        return TokenResponse(access_token=access, expires_in=self.settings.access_token_ttl, scope=" ".join(granted))

    # -- token exchange (RFC 8693): single sign-on -------------------------------------

    async def token_exchange(
        self,
        *,
        subject_token: str | None,
        subject_token_type: str | None,
        requested_token_type: str | None = None,
        audience: str | None = None,
        resource: str | None = None,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
        scope: str | None = None,
    ) -> TokenResponse:
        if self.federation is None:
            raise oauth_error("unsupported_grant_type", "Token exchange is not enabled", field="body.grant_type")
        if not subject_token:
            raise oauth_error("invalid_request", "subject_token is required", field="body.subject_token")
        if not subject_token_type:
            raise oauth_error("invalid_request", "subject_token_type is required", field="body.subject_token_type")
        if subject_token_type not in SUBJECT_TOKEN_TYPES:
            raise oauth_error(
                "invalid_request", f"subject_token_type must be one of: {', '.join(SUBJECT_TOKEN_TYPES)}", field="body.subject_token_type"
            )
        if actor_token or actor_token_type:
            raise oauth_error("invalid_request", "Delegation (actor_token) is not supported", field="body.actor_token")
        if requested_token_type and requested_token_type != ACCESS_TOKEN_TYPE:
            raise oauth_error("invalid_request", f"requested_token_type must be {ACCESS_TOKEN_TYPE}", field="body.requested_token_type")
        if audience and audience != self.settings.jwt_audience:
            raise oauth_error("invalid_target", "Tokens are issued for this API only", field="body.audience")
        if resource and resource.rstrip("/") != self.settings.jwt_issuer.rstrip("/"):
            raise oauth_error("invalid_target", "Tokens are issued for this API only", field="body.resource")
        if scope and scope.split():
            raise oauth_error("invalid_scope", "Scopes are for API clients; people are authorized by roles", field="body.scope")
        federation = self.federation

        def work() -> tuple[_Person, str, str]:
            # One transaction: account, link and session, or nothing. A
            # concurrent first sign-in of the same person may link her first
            # (a unique link): the second attempt then finds that link.
            for attempt in (1, 2):
                try:
                    with Session(self.engine) as session:
                        account = federation.sign_in(session, identity)
                        family_id, refresh = self._open_session(session, account.id)
                        session.commit()
                        return _Person(account.id, list(account.roles), account.institution_id), family_id, refresh
                except IntegrityError:
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

        try:
            identity = await federation.verify(subject_token)
            person, family_id, refresh = await anyio.to_thread.run_sync(work)
        except ExchangeRefused as exc:
            field = "body.subject_token" if exc.status == 400 else None
            raise oauth_error(exc.error, exc.description, status=exc.status, field=field) from None
        tokens = await self._person_tokens(person, family_id, refresh)
        return tokens.model_copy(update={"issued_token_type": ACCESS_TOKEN_TYPE})

    # -- revocation (RFC 7009) --------------------------------------------------------

    async def revoke(self, token: str, hint: str | None) -> None:
        """Revoke the session of a refresh or access token; unknown tokens are
        silently ignored (the answer is the same)."""
        if token.count(".") == 2:
            try:
                claims = await self.verifier.verify(token)
            except InvalidToken:
                return
            sid = claims.get("sid")
            if not sid:
                return
            client_id = claims.get("client_id")

            def revoke_access() -> list[str]:
                with Session(self.engine) as session:
                    client = (
                        session.exec(select(ApiClient).where(ApiClient.client_id == client_id)).first() if client_id else None
                    )
                    if client is not None and client.family_id == sid:
                        revoked = revoke_client_sessions(session, client, "revoked")
                    else:
                        revoked = revoke_families(session, [str(sid)], "revoked")
                    session.commit()
                    return revoked

            self.revoked.note(await anyio.to_thread.run_sync(revoke_access))
            return
        token_hash = sha256_hex(token)

        def revoke_refresh() -> list[str]:
            with Session(self.engine) as session:
                row = session.exec(select(RefreshToken).where(RefreshToken.token_hash == token_hash)).first()
                if row is None:
                    return []
                revoked = revoke_families(session, [row.family_id], "revoked")
                session.commit()
                return revoked

        self.revoked.note(await anyio.to_thread.run_sync(revoke_refresh))
