"""Federation: an IdP's token in, the account it signs in to out.

``verify`` (async):

1. the token's unverified ``iss`` picks the enabled registrations of that
   issuer (none: refused);
2. each is tried with servicekit's ``TokenVerifier`` built for it: its issuer,
   audience and algorithms, header ``typ`` ``JWT`` or none, ``jti`` not
   required, and its JWKS as a ``RemoteKeySource`` (cached per URL, refetched
   on an unknown kid at most once per ``GATEWAY_SSO_JWKS_REFETCH_SECONDS`` and
   on first use after ``GATEWAY_SSO_JWKS_MAX_AGE_SECONDS``; every fetch goes
   through the outbound-URL policy ``self.policy``: host resolved and checked
   again, the checked address connected to, bounded, no redirects; a refused
   or failed fetch answers 503). Every other rule is the one our own tokens follow;
3. a registration with a tenant claim accepts only tokens carrying its value;
4. exactly one registration must accept the token; two would be a
   misconfiguration, and the token is refused rather than mapped into either
   institution.

``sign_in`` (sync, in the caller's transaction): the account linked to
(registration, subject); else, per the registration's policy, a new account
of its institution (``create``) or the institution's account with her email
(``link_by_email``), then linked. An email counts only when verified (see
``usable_email``). The account must belong to the registration's institution
and be active.

Refusals raise ``ExchangeRefused``; the token endpoint answers them in its
OAuth error format. RFC 8693 §2.2.2 requires ``invalid_request`` for a subject
token that is invalid or unacceptable by policy (``SUBJECT_TOKEN_ERROR``).
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args

import anyio.to_thread
from jose import jwt
from jose.exceptions import JOSEError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from servicekit.auth import ID_TOKEN_TYPS, MAX_TOKEN_BYTES, InvalidToken, RemoteKeySource, TokenVerifier
from servicekit.outbound import OutboundPolicy
from servicekit.outbox import utcnow
from servicekit.problems import ProblemError

from gateway.config import Settings
from gateway.models import Account
from gateway.security import Passwords
from gateway.sso.models import ExternalIdentity, IdentityProvider
from gateway.sso.schemas import SsoRole

log = logging.getLogger("gateway.sso")

SUBJECT_TOKEN_ERROR = "invalid_request"
MAX_CACHED = 1024
CREATABLE_ROLES = frozenset(get_args(SsoRole))  # never admin, coordinator or evaluator
# Participant roles: any other role (admin, coordinator, evaluator, or one
# added later) makes an account privileged.
PARTICIPANT_ROLES = CREATABLE_ROLES | {"peer_mentor"}


def is_privileged(account: Account) -> bool:
    return account.is_admin or not set(account.roles) <= PARTICIPANT_ROLES


class ExchangeRefused(Exception):
    """The exchange is refused; ``description`` is safe to show (never the token)."""

    def __init__(self, description: str, *, error: str = SUBJECT_TOKEN_ERROR, status: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.error = error
        self.status = status


@dataclass(frozen=True)
class Identity:
    """A verified IdP identity, bound to the one registration that accepted it."""

    provider_id: uuid.UUID
    institution_id: str
    subject: str
    email: str | None  # lower-case, and only when verified


def _truthy(value: Any) -> bool | None:
    """``email_verified``: a boolean, or the strings some IdPs send."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def usable_email(provider: IdentityProvider, claims: dict[str, Any]) -> str | None:
    """The email to create or link with: only a verified one. Verified means
    the token says ``email_verified: true``, or the registration states that
    the IdP's emails are verified (``emails_verified``) and the token does not
    say ``false``."""
    value = claims.get(provider.email_claim)
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        return None
    verified = _truthy(claims.get("email_verified"))
    if verified is True or (verified is None and provider.emails_verified):
        return email
    return None


def _unverified_issuer(token: str) -> str:
    if len(token.encode("utf-8", "ignore")) > MAX_TOKEN_BYTES or token.count(".") != 2:
        raise ExchangeRefused("The subject token is not a signed JWT of acceptable size")
    try:
        claims = jwt.get_unverified_claims(token)
    except JOSEError:
        raise ExchangeRefused("The subject token is malformed") from None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    if not isinstance(issuer, str) or not issuer:
        raise ExchangeRefused("The subject token has no issuer")
    return issuer


class Federation:
    def __init__(self, settings: Settings, engine: Engine, passwords: Passwords) -> None:
        self.settings = settings
        self.engine = engine
        self.passwords = passwords
        # The monotonic clock of the JWKS throttle and max age (tests move it).
        self.clock: Callable[[], float] = time.monotonic
        # The one outbound-URL policy, for registrations and every JWKS fetch.
        self.policy = OutboundPolicy(allow_private=settings.sso_allow_insecure_urls, timeout=settings.sso_jwks_timeout)
        self._sources: dict[tuple[str, tuple[str, ...]], RemoteKeySource] = {}
        self._verifiers: dict[uuid.UUID, tuple[tuple[Any, ...], TokenVerifier]] = {}

    def _now(self) -> float:
        return self.clock()

    def _key_source(self, jwks_url: str, algorithms: tuple[str, ...]) -> RemoteKeySource:
        key = (jwks_url, algorithms)
        source = self._sources.get(key)
        if source is None:
            if len(self._sources) >= MAX_CACHED:
                self._sources.clear()
            source = self._sources[key] = RemoteKeySource(
                jwks_url,
                allowed_algorithms=algorithms,
                min_refetch_seconds=self.settings.sso_jwks_refetch_seconds,
                max_age_seconds=self.settings.sso_jwks_max_age_seconds,
                timeout=self.settings.sso_jwks_timeout,
                clock=self._now,
                policy=self.policy,
            )
        return source

    def verifier(self, provider: IdentityProvider) -> TokenVerifier:
        """servicekit's one verifier, with this registration's parameters."""
        algorithms = tuple(sorted(provider.algorithms))
        config = (provider.issuer, provider.audience, algorithms, provider.jwks_url)
        cached = self._verifiers.get(provider.id)
        if cached is not None and cached[0] == config:
            return cached[1]
        if len(self._verifiers) >= MAX_CACHED:
            self._verifiers.clear()
        verifier = TokenVerifier(
            issuer=provider.issuer,
            audience=provider.audience,
            keys=self._key_source(provider.jwks_url, algorithms),
            algorithms=algorithms,
            leeway_seconds=self.settings.jwt_leeway_seconds,
            typ=ID_TOKEN_TYPS,
            require_jti=False,
        )
        self._verifiers[provider.id] = (config, verifier)
        return verifier

    def _providers(self, issuer: str) -> list[IdentityProvider]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(IdentityProvider).where(IdentityProvider.issuer == issuer, col(IdentityProvider.enabled).is_(True))
            ).all()
            for row in rows:
                session.expunge(row)
            return list(rows)

    # -- verification ---------------------------------------------------------------

    async def verify(self, token: str) -> Identity:
        issuer = _unverified_issuer(token)
        providers = await anyio.to_thread.run_sync(self._providers, issuer)
        if not providers:
            raise ExchangeRefused("No identity provider is registered for the issuer of this token")
        accepted: list[Identity] = []
        refusal: str | None = None
        for provider in providers:
            try:
                claims = await self.verifier(provider).verify(token)
            except InvalidToken as exc:
                log.info("subject token refused", extra={"reason": exc.reason, "provider": str(provider.id)})
                refusal = refusal or ("The subject token has expired" if exc.expired else f"The subject token is invalid: {exc.reason}")
                continue
            except ProblemError as exc:  # the IdP's JWKS could not be fetched
                raise ExchangeRefused(
                    "The identity provider's keys are unavailable; try again shortly",
                    error="temporarily_unavailable",
                    status=503,
                ) from exc
            if provider.tenant_claim is not None and claims.get(provider.tenant_claim) != provider.tenant_value:
                refusal = f"The subject token's {provider.tenant_claim!r} is not the one registered"
                continue
            subject = claims.get(provider.subject_claim)
            if not isinstance(subject, str) or not subject or len(subject) > 255:
                refusal = f"The subject token has no usable {provider.subject_claim!r} claim"
                continue
            accepted.append(Identity(provider.id, provider.institution_id, subject, usable_email(provider, claims)))
        if len(accepted) > 1:
            log.warning("subject token accepted by several registrations", extra={"providers": [str(i.provider_id) for i in accepted]})
            raise ExchangeRefused("More than one identity-provider registration accepts this token; an administrator must resolve it")
        if not accepted:
            raise ExchangeRefused(refusal or "The subject token is invalid")
        return accepted[0]

    # -- the account ------------------------------------------------------------------

    def sign_in(self, session: Session, identity: Identity) -> Account:
        """The active account of the registration's institution this identity
        signs in to, linked (and created) if need be. Never commits; on a
        refusal the caller rolls everything back."""
        provider = session.get(IdentityProvider, identity.provider_id)
        if provider is None or not provider.enabled or provider.institution_id != identity.institution_id:
            raise ExchangeRefused("The identity-provider registration is no longer enabled")
        link = session.exec(
            select(ExternalIdentity).where(
                ExternalIdentity.provider_id == provider.id, ExternalIdentity.subject == identity.subject
            )
        ).first()
        if link is not None:
            account = session.get(Account, link.account_id)
            assert account is not None  # the link is deleted with its account
            link.last_login_at = utcnow()
            session.add(link)
        else:
            account = self._first_sign_in(session, provider, identity)
        if account.institution_id != provider.institution_id:
            raise ExchangeRefused("This identity cannot sign in to an account of another institution")
        if account.status != "active":
            raise ExchangeRefused("This account is suspended")
        self._check_privileged(provider, account)
        session.flush()
        return account

    @staticmethod
    def _check_privileged(provider: IdentityProvider, account: Account) -> None:
        """A privileged account only through a registration a platform admin
        approved (checked at every sign-in: a linked participant promoted to
        coordinator later is covered too)."""
        if is_privileged(account) and provider.privileged_approved_at is None:
            log.warning("privileged sign-in through an unapproved identity provider refused", extra={"provider": str(provider.id)})
            raise ExchangeRefused(
                "This identity provider is not approved by a platform administrator for staff accounts; "
                "sign in with your password"
            )

    def _first_sign_in(self, session: Session, provider: IdentityProvider, identity: Identity) -> Account:
        if identity.email is None:
            raise ExchangeRefused(
                f"The subject token carries no verified email ({provider.email_claim!r} with email_verified), "
                "which a first sign-in needs"
            )
        existing = session.exec(select(Account).where(Account.email == identity.email)).first()
        if provider.account_policy == "link_by_email":
            if existing is None or existing.institution_id != provider.institution_id:
                raise ExchangeRefused("No account of this institution has this email; ask a coordinator for one")
            taken = session.exec(
                select(ExternalIdentity.id).where(
                    ExternalIdentity.provider_id == provider.id, ExternalIdentity.account_id == existing.id
                )
            ).first()
            if taken is not None:
                raise ExchangeRefused("This account is already linked to another identity of this provider")
            self._check_privileged(provider, existing)
            account = existing
        else:
            if existing is not None:
                raise ExchangeRefused("An account with this email already exists; ask a coordinator to link it")
            # No password: a random one, hashed and forgotten, so the password
            # grant costs the same for her as for anyone and never succeeds.
            account = Account(
                email=identity.email,
                password_hash=self.passwords.hash(secrets.token_urlsafe(32)),
                roles=[r for r in provider.default_roles if r in CREATABLE_ROLES] or ["applicant"],
                is_admin=False,
                institution_id=provider.institution_id,
            )
            session.add(account)
            session.flush()
            log.info("account created by single sign-on", extra={"account": str(account.id), "provider": str(provider.id)})
        session.add(ExternalIdentity(provider_id=provider.id, subject=identity.subject, account_id=account.id))
        return account
