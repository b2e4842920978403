"""``/v1/admin/identity-providers``: an institution's OpenID Connect IdPs.

Admins manage every registration; a coordinator her own institution's. The
sign-in itself is the token-exchange grant of ``/v1/auth/token``.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session

from servicekit.idempotency import IdempotencyDep
from servicekit.outbound import TargetRefused
from servicekit.pagination import Cursor, Limit, Page
from servicekit.problems import field_problem, problem_responses

from gateway.dependencies import in_transaction
from gateway.edge import ManagerPrincipal
from gateway.idempotency import create_once
from gateway.schemas import InstitutionId
from gateway.sso import service
from gateway.sso.schemas import (
    IdentityProviderCreate,
    IdentityProviderPublic,
    IdentityProviderUpdate,
)

router = APIRouter(prefix="/v1/admin/identity-providers", tags=["identity-providers"])


async def _check_jwks_url(request: Request, url: str | None) -> None:
    """The outbound-URL policy with its lookup: every address the host
    resolves to must be public (the keys are fetched again under the same
    policy at every exchange that needs them)."""
    if url is None:
        return
    try:
        await request.app.state.federation.policy.check(url)
    except TargetRefused as exc:
        raise field_problem("body.jwks_url", f"The keys cannot be fetched from this URL: {exc.reason}", code="invalid_url") from None


@router.post(
    "",
    status_code=201,
    response_model=IdentityProviderPublic,
    operation_id="create_identity_provider",
    summary="Register an institution's identity provider",
    responses=problem_responses(401, 403, 409, 422, 503, 504),
)
async def create_identity_provider(
    request: Request, actor: ManagerPrincipal, body: IdentityProviderCreate, idem: IdempotencyDep
) -> IdentityProviderPublic | Response:
    """A coordinator registers her own institution's IdP (``institution_id``
    may be left out); an admin names the institution, which is confirmed with
    the participants service. 409 when another registration would accept the
    same tokens (same issuer and audience without distinct tenant claims).
    ``jwks_url`` must be https on a public host: its name is resolved and every
    address checked (422 naming ``body.jwks_url`` otherwise); the keys are
    fetched under the same rules, from the checked address, at exchange time.
    Supports ``Idempotency-Key``."""
    institution_id, to_check = service.plan_create(actor, body)
    if to_check is not None:
        await request.app.state.participants.check_institution(to_check)
    settings = request.app.state.settings
    await _check_jwks_url(request, body.jwks_url)

    def create(session: Session) -> tuple[IdentityProviderPublic, IdentityProviderPublic]:
        created = service.public(service.create_provider(session, settings, actor, institution_id, body))
        return created, created

    return await create_once(request, idem, 201, create)


@router.get(
    "",
    response_model=Page[IdentityProviderPublic],
    operation_id="list_identity_providers",
    summary="List identity providers (a coordinator sees her institution's)",
    responses=problem_responses(401, 403),
)
async def list_identity_providers(
    request: Request,
    actor: ManagerPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
    institution_id: Annotated[InstitutionId | None, Query(description="Only this institution's registrations.")] = None,
) -> Page[IdentityProviderPublic]:
    def work(session: Session) -> Page[IdentityProviderPublic]:
        rows, next_cursor = service.list_providers(session, actor, limit=limit, cursor=cursor, institution_id=institution_id)
        return Page[IdentityProviderPublic](items=[service.public(p) for p in rows], next_cursor=next_cursor)

    return await in_transaction(request, work)


@router.get(
    "/{provider_id}",
    response_model=IdentityProviderPublic,
    operation_id="get_identity_provider",
    summary="Get an identity provider registration",
    responses=problem_responses(401, 403, 404),
)
async def get_identity_provider(request: Request, actor: ManagerPrincipal, provider_id: uuid.UUID) -> IdentityProviderPublic:
    return await in_transaction(request, lambda s: service.public(service.get_provider(s, actor, provider_id)))


@router.patch(
    "/{provider_id}",
    response_model=IdentityProviderPublic,
    operation_id="update_identity_provider",
    summary="Change an identity provider registration",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_identity_provider(
    request: Request, actor: ManagerPrincipal, provider_id: uuid.UUID, body: IdentityProviderUpdate
) -> IdentityProviderPublic:
    """The institution never changes. Changing the issuer, the subject claim or
    the tenant mapping drops the registration's links to accounts: people are
    linked, or get accounts, again on their next exchange. Disabling it stops
    new exchanges at once (tokens already issued live out their lifetime)."""
    settings = request.app.state.settings
    if body.jwks_url is not None:
        await in_transaction(request, service.get_provider, actor, provider_id)  # 404 before any check of the URL
        await _check_jwks_url(request, body.jwks_url)

    def work(session: Session) -> IdentityProviderPublic:
        provider = service.get_provider(session, actor, provider_id)
        return service.public(service.update_provider(session, settings, actor, provider, body))

    return await in_transaction(request, work)


@router.delete(
    "/{provider_id}",
    status_code=204,
    response_model=None,
    operation_id="delete_identity_provider",
    summary="Delete an identity provider registration (and its links to accounts)",
    responses=problem_responses(401, 403, 404),
)
async def delete_identity_provider(request: Request, actor: ManagerPrincipal, provider_id: uuid.UUID) -> Response:
    def work(session: Session) -> None:
        service.delete_provider(session, actor, service.get_provider(session, actor, provider_id))

    await in_transaction(request, work)
    return Response(status_code=204)


PRIVILEGED_DOC = """Signing in to privileged accounts (admin, coordinator, evaluator, any
staff role) through a registration needs a platform admin's approval: without
it the exchange links and signs in to participant accounts only. Admins only:
an institution's own coordinator gets 403, anyone else 404. Audited."""


@router.put(
    "/{provider_id}/privileged-approval",
    response_model=IdentityProviderPublic,
    operation_id="approve_identity_provider_for_privileged_accounts",
    summary="Approve a registration for privileged accounts (platform admins)",
    description=PRIVILEGED_DOC,
    responses=problem_responses(401, 403, 404),
)
async def approve_privileged(request: Request, actor: ManagerPrincipal, provider_id: uuid.UUID) -> IdentityProviderPublic:
    def work(session: Session) -> IdentityProviderPublic:
        provider = service.get_provider(session, actor, provider_id)
        return service.public(service.approve_privileged(session, actor, provider, True))

    return await in_transaction(request, work)


@router.delete(
    "/{provider_id}/privileged-approval",
    response_model=IdentityProviderPublic,
    operation_id="withdraw_identity_provider_privileged_approval",
    summary="Withdraw a registration's approval for privileged accounts (platform admins)",
    description=PRIVILEGED_DOC,
    responses=problem_responses(401, 403, 404),
)
async def withdraw_privileged(request: Request, actor: ManagerPrincipal, provider_id: uuid.UUID) -> IdentityProviderPublic:
    def work(session: Session) -> IdentityProviderPublic:
        provider = service.get_provider(session, actor, provider_id)
        return service.public(service.approve_privileged(session, actor, provider, False))

    return await in_transaction(request, work)
