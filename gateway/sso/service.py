"""Identity-provider registrations: domain logic on a session (never commits).

Who may do what: an admin manages every registration; a coordinator manages
her own institution's only (others are 404 to her, and she cannot register
one for another institution: 403). The institution of a registration never
changes, so a link made through it never crosses institutions.

Rules every registration keeps:
- the issuer and the JWKS URL are https URLs, without credentials, on a public
  host, by the platform's one outbound-URL policy (``servicekit.outbound``):
  here its syntax and address-literal rules; the router also resolves the
  JWKS URL's host and checks every address, and every fetch of the keys goes
  through the same policy (``GATEWAY_SSO_ALLOW_INSECURE_URLS`` allows http and
  loopback or private hosts, for development and tests only);
- the issuer is never the gateway's own;
- no two registrations can accept the same token: registrations sharing an
  issuer and an audience must each name the same tenant claim (Entra's
  ``tid``, Google's ``hd``...) with a distinct value. The exchange also refuses
  a token more than one registration accepts (two concurrent registrations
  could both pass this check).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from servicekit.auth import Principal
from servicekit.outbound import OutboundPolicy, TargetRefused
from servicekit.outbox import utcnow
from servicekit.pagination import paginate
from servicekit.problems import conflict, field_problem, forbidden, not_found

from gateway import audit
from gateway.config import Settings
from gateway.sso.models import ExternalIdentity, IdentityProvider
from gateway.sso.schemas import (
    ClaimMapping,
    IdentityProviderCreate,
    IdentityProviderPublic,
    IdentityProviderUpdate,
    TenantClaim,
)


def public(provider: IdentityProvider) -> IdentityProviderPublic:
    tenant = (
        TenantClaim(claim=provider.tenant_claim, value=provider.tenant_value)
        if provider.tenant_claim is not None and provider.tenant_value is not None
        else None
    )
    return IdentityProviderPublic(
        id=provider.id,
        institution_id=provider.institution_id,
        name=provider.name,
        issuer=provider.issuer,
        jwks_url=provider.jwks_url,
        audience=provider.audience,
        algorithms=list(provider.algorithms),  # type: ignore[arg-type]
        claim_mapping=ClaimMapping(subject=provider.subject_claim, email=provider.email_claim, tenant=tenant),
        emails_verified=provider.emails_verified,
        account_policy=provider.account_policy,  # type: ignore[arg-type]
        default_roles=list(provider.default_roles),  # type: ignore[arg-type]
        enabled=provider.enabled,
        privileged_approved_at=provider.privileged_approved_at,
        created_at=provider.created_at,
        updated_at=provider.updated_at,
    )


# -- URL policy -------------------------------------------------------------------


def url_refusal(url: str, *, allow_insecure: bool, issuer: bool = False) -> str | None:
    """Why this issuer or JWKS URL may not be registered, or None: the
    outbound-URL policy's rules that need no lookup (an issuer is only ever
    compared, never fetched, but must be a clean https URL all the same)."""
    try:
        parsed = OutboundPolicy(allow_private=allow_insecure).check_syntax(url)
    except TargetRefused as exc:
        return exc.reason
    if parsed.fragment or (issuer and parsed.query):
        return "an issuer has no query or fragment" if issuer else "the URL must not have a fragment"
    return None


def _check_urls(settings: Settings, issuer: str | None, jwks_url: str | None) -> None:
    allow = settings.sso_allow_insecure_urls
    if issuer is not None:
        reason = url_refusal(issuer, allow_insecure=allow, issuer=True)
        if reason:
            raise field_problem("body.issuer", reason, code="invalid_url")
        if issuer.rstrip("/") == settings.jwt_issuer.rstrip("/"):
            raise field_problem("body.issuer", "This is the gateway's own issuer", code="own_issuer")
    if jwks_url is not None:
        reason = url_refusal(jwks_url, allow_insecure=allow)
        if reason:
            raise field_problem("body.jwks_url", reason, code="invalid_url")


def _check_distinct(session: Session, provider: IdentityProvider) -> None:
    others = session.exec(
        select(IdentityProvider).where(
            IdentityProvider.issuer == provider.issuer,
            IdentityProvider.audience == provider.audience,
            IdentityProvider.id != provider.id,
        )
    ).all()
    for other in others:
        if (
            provider.tenant_claim is None
            or other.tenant_claim != provider.tenant_claim
            or other.tenant_value == provider.tenant_value
        ):
            raise conflict(
                "Another registration accepts tokens of this issuer and audience: registrations sharing both "
                "must each set the same tenant claim with a distinct value",
                field="claim_mapping.tenant",
            )


# -- who may see what ---------------------------------------------------------------


def _visible(actor: Principal, provider: IdentityProvider | None) -> IdentityProvider:
    if provider is None or not (actor.is_admin or provider.institution_id == actor.tenant_id):
        raise not_found("Identity provider")
    return provider


def plan_create(actor: Principal, data: IdentityProviderCreate) -> tuple[str, str | None]:
    """The registration's institution, and an institution id the caller must
    confirm with the participants service (admins only; or None)."""
    if actor.is_admin:
        if data.institution_id is None:
            raise field_problem("body.institution_id", "Required", code="missing")
        return data.institution_id, data.institution_id
    if data.institution_id is not None and data.institution_id != actor.tenant_id:
        raise forbidden("Coordinators register identity providers of their own institution only")
    assert actor.tenant_id is not None  # ManagerPrincipal: a coordinator has an institution
    return actor.tenant_id, None


def _apply_mapping(provider: IdentityProvider, mapping: ClaimMapping) -> None:
    provider.subject_claim = mapping.subject
    provider.email_claim = mapping.email
    provider.tenant_claim = mapping.tenant.claim if mapping.tenant else None
    provider.tenant_value = mapping.tenant.value if mapping.tenant else None


# Changing any of these changes whose tokens the registration trusts, or how
# it finds accounts: a coordinator's change withdraws an admin's approval.
TRUST_FIELDS = frozenset({"issuer", "jwks_url", "audience", "algorithms", "claim_mapping", "emails_verified", "account_policy"})


def create_provider(
    session: Session, settings: Settings, actor: Principal, institution_id: str, data: IdentityProviderCreate
) -> IdentityProvider:
    """An admin's registration is approved for privileged accounts by her; a
    coordinator's is not (``approve_privileged``). Audited."""
    _check_urls(settings, data.issuer, data.jwks_url)
    provider = IdentityProvider(
        institution_id=institution_id,
        name=data.name,
        issuer=data.issuer,
        jwks_url=data.jwks_url,
        audience=data.audience,
        algorithms=list(data.algorithms),
        emails_verified=data.emails_verified,
        account_policy=data.account_policy,
        default_roles=list(data.default_roles),
        enabled=data.enabled,
    )
    _apply_mapping(provider, data.claim_mapping)
    if actor.is_admin:
        provider.privileged_approved_at, provider.privileged_approved_by = utcnow(), actor.subject
    _check_distinct(session, provider)
    session.add(provider)
    session.flush()
    _audit(session, actor, "identity_provider.created", provider, account_policy=provider.account_policy,
           privileged_approved=provider.privileged_approved_at is not None)
    return provider


def _audit(session: Session, actor: Principal, action: str, provider: IdentityProvider, **details: Any) -> None:
    audit.record(
        session, actor, action, target_type="identity_provider", target_id=provider.id,
        institution_id=provider.institution_id, details=details,
    )


def approve_privileged(session: Session, actor: Principal, provider: IdentityProvider, approved: bool) -> IdentityProvider:
    """A platform admin approves (or withdraws approval of) signing in to
    privileged accounts through this registration. Admins only: a coordinator
    of the registration's institution gets 403 (others already had 404)."""
    if not actor.is_admin:
        raise forbidden("Only a platform admin approves identity providers for privileged accounts")
    if approved:
        provider.privileged_approved_at, provider.privileged_approved_by = utcnow(), actor.subject
    else:
        provider.privileged_approved_at, provider.privileged_approved_by = None, None
    provider.updated_at = utcnow()
    session.add(provider)
    session.flush()
    _audit(session, actor, "identity_provider.privileged_approved" if approved else "identity_provider.privileged_withdrawn", provider)
    return provider


def list_providers(
    session: Session, actor: Principal, *, limit: int, cursor: str | None, institution_id: str | None
) -> tuple[list[IdentityProvider], str | None]:
    stmt = select(IdentityProvider)
    if not actor.is_admin:
        stmt = stmt.where(IdentityProvider.institution_id == actor.tenant_id)
    if institution_id is not None:
        stmt = stmt.where(IdentityProvider.institution_id == institution_id)
    return paginate(session, stmt, IdentityProvider.id, limit=limit, cursor=cursor)


def get_provider(session: Session, actor: Principal, provider_id: uuid.UUID) -> IdentityProvider:
    return _visible(actor, session.get(IdentityProvider, provider_id))


def _namespace(provider: IdentityProvider) -> tuple[str | None, ...]:
    """What a linked subject means: whose ids, in which claim, of which tenant."""
    return provider.issuer, provider.subject_claim, provider.tenant_claim, provider.tenant_value


def update_provider(
    session: Session, settings: Settings, actor: Principal, provider: IdentityProvider, data: IdentityProviderUpdate
) -> IdentityProvider:
    """Changing the issuer, the subject claim or the tenant mapping drops the
    registration's links: a subject of the new namespace must never sign in to
    the account a subject of the old one was linked to. People are linked (or
    get accounts) again on their next exchange, per the account policy.
    A coordinator's change of a trust field withdraws an admin's approval
    for privileged accounts. Audited (the names of the fields, not values)."""
    changes: dict[str, Any] = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    changed = sorted(changes)
    _check_urls(settings, changes.get("issuer"), changes.get("jwks_url"))
    before = _namespace(provider)
    mapping = changes.pop("claim_mapping", None)
    for name, value in changes.items():
        setattr(provider, name, list(value) if isinstance(value, list) else value)
    if mapping is not None:
        _apply_mapping(provider, data.claim_mapping)  # type: ignore[arg-type]
    _check_distinct(session, provider)
    links_dropped = _namespace(provider) != before
    if links_dropped:
        session.execute(delete(ExternalIdentity).where(col(ExternalIdentity.provider_id) == provider.id))
    withdrawn = not actor.is_admin and provider.privileged_approved_at is not None and bool(TRUST_FIELDS.intersection(changes))
    if withdrawn:
        provider.privileged_approved_at, provider.privileged_approved_by = None, None
    provider.updated_at = utcnow()
    session.add(provider)
    session.flush()
    _audit(session, actor, "identity_provider.updated", provider, fields=changed, links_dropped=links_dropped,
           privileged_withdrawn=withdrawn, account_policy=provider.account_policy)
    return provider


def delete_provider(session: Session, actor: Principal, provider: IdentityProvider) -> None:
    """Its links go with it (the accounts stay; they keep their other ways in)."""
    _audit(session, actor, "identity_provider.deleted", provider)
    session.delete(provider)
    session.flush()
