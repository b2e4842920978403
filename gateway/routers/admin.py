"""``/v1/admin``: accounts (admins, and coordinators for their institution),
API clients and signing keys (admins only)."""

from __future__ import annotations

import uuid
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from servicekit.idempotency import IdempotencyDep
from servicekit.pagination import Cursor, Limit, Page
from servicekit.problems import ProblemError, problem_responses

from gateway import service
from gateway.dependencies import in_transaction
from gateway.edge import AdminPrincipal, ManagerPrincipal
from gateway.idempotency import create_once
from gateway.keys import KeyRing
from gateway.schemas import (
    AccountCreate,
    AccountPublic,
    AccountStatus,
    AccountUpdate,
    ClientCreate,
    ClientPublic,
    ClientUpdate,
    ClientWithSecret,
    InstitutionId,
    SigningKeyPublic,
    SigningKeys,
)
from gateway.upstreams import Participants

router = APIRouter(prefix="/v1/admin")

INSTITUTION_CHECK = (422, 503, 504)


def _account(account: object) -> AccountPublic:
    return AccountPublic.model_validate(account, from_attributes=True)


def _client(client: object) -> ClientPublic:
    return ClientPublic.model_validate(client, from_attributes=True)


async def _check_institution(request: Request, institution_id: str | None) -> None:
    if institution_id is not None:
        participants: Participants = request.app.state.participants
        await participants.check_institution(institution_id)


async def _hash(request: Request, password: str) -> str:
    return await anyio.to_thread.run_sync(request.app.state.passwords.hash, password)


# -- accounts -------------------------------------------------------------------


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountPublic,
    tags=["accounts"],
    operation_id="create_account",
    summary="Create an account",
    responses=problem_responses(401, 403, 409, *INSTITUTION_CHECK),
)
async def create_account(request: Request, actor: ManagerPrincipal, body: AccountCreate, idem: IdempotencyDep) -> AccountPublic | Response:
    """Admins create any account; a coordinator creates accounts of her own
    institution, without the admin role. An institution given by an admin is
    confirmed with the participants service (422 naming the field if it does
    not exist, 503 if participants cannot be reached); nothing is written
    unless every check passes. Supports ``Idempotency-Key``."""
    data, to_check = service.plan_account_create(actor, body)
    await _check_institution(request, to_check)
    password_hash = await _hash(request, data.password)

    def create(session: Session) -> tuple[AccountPublic, AccountPublic]:
        created = _account(service.create_account(session, data, password_hash))
        return created, created

    return await create_once(request, idem, 201, create)


@router.get(
    "/accounts",
    response_model=Page[AccountPublic],
    tags=["accounts"],
    operation_id="list_accounts",
    summary="List accounts (a coordinator sees her institution's)",
    responses=problem_responses(401, 403),
)
async def list_accounts(
    request: Request,
    actor: ManagerPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
    institution_id: Annotated[InstitutionId | None, Query(description="Only accounts of this institution.")] = None,
    status: Annotated[AccountStatus | None, Query(description="Only accounts with this status.")] = None,
    email: Annotated[
        str | None,
        Query(max_length=254, pattern=r"^[^\x00-\x1f\x7f]+$", description="The account with this email (any case)."),
    ] = None,
) -> Page[AccountPublic]:
    def work(session: Session) -> Page[AccountPublic]:
        rows, next_cursor = service.list_accounts(
            session, actor, limit=limit, cursor=cursor, institution_id=institution_id, status=status, email=email
        )
        return Page[AccountPublic](items=[_account(a) for a in rows], next_cursor=next_cursor)

    return await in_transaction(request, work)


@router.get(
    "/accounts/{account_id}",
    response_model=AccountPublic,
    tags=["accounts"],
    operation_id="get_account",
    summary="Get an account",
    responses=problem_responses(401, 403, 404),
)
async def get_account(request: Request, actor: ManagerPrincipal, account_id: uuid.UUID) -> AccountPublic:
    return await in_transaction(request, lambda s: _account(service.get_account(s, actor, account_id)))


@router.patch(
    "/accounts/{account_id}",
    response_model=AccountPublic,
    tags=["accounts"],
    operation_id="update_account",
    summary="Change an account's roles, status, institution or password",
    responses=problem_responses(401, 403, 404, 409, *INSTITUTION_CHECK),
)
async def update_account(request: Request, actor: ManagerPrincipal, account_id: uuid.UUID, body: AccountUpdate) -> AccountPublic:
    """Any change here (except none at all) ends the account's current sessions:
    she logs in again with her new roles or password. The last active admin
    cannot be demoted, suspended or deleted (409)."""
    account = await in_transaction(request, lambda s: service.get_account(s, actor, account_id))
    to_check = service.plan_account_update(actor, account, body)
    await _check_institution(request, to_check)
    password_hash = await _hash(request, body.password) if body.password is not None else None

    def work(session: Session) -> tuple[AccountPublic, list[str]]:
        current = service.get_account(session, actor, account_id)
        service.plan_account_update(actor, current, body)
        revoked = service.update_account(session, current, body, password_hash)
        return _account(current), revoked

    updated, revoked = await in_transaction(request, work)
    request.app.state.revoked.note(revoked)
    return updated


@router.delete(
    "/accounts/{account_id}",
    status_code=204,
    response_model=None,
    tags=["accounts"],
    operation_id="delete_account",
    summary="Delete an account (its sessions end at once)",
    responses=problem_responses(401, 403, 404, 409),
)
async def delete_account(request: Request, actor: ManagerPrincipal, account_id: uuid.UUID) -> Response:
    def work(session: Session) -> list[str]:
        return service.delete_account(session, service.get_account(session, actor, account_id))

    request.app.state.revoked.note(await in_transaction(request, work))
    return Response(status_code=204)


# -- API clients ----------------------------------------------------------------


@router.post(
    "/clients",
    status_code=201,
    response_model=ClientWithSecret,
    tags=["clients"],
    operation_id="create_client",
    summary="Create an API client (its secret is shown once)",
    responses=problem_responses(401, 403, *INSTITUTION_CHECK),
)
async def create_client(request: Request, actor: AdminPrincipal, body: ClientCreate, idem: IdempotencyDep) -> ClientWithSecret | Response:
    """The answer is the only time ``client_secret`` is shown; the gateway keeps
    only its hash. An ``Idempotency-Key`` replay answers the same client with
    ``client_secret`` null (rotate the secret if the first answer was lost)."""
    await _check_institution(request, body.institution_id)

    def create(session: Session) -> tuple[ClientWithSecret, ClientWithSecret]:
        client, secret = service.create_client(session, body)
        public = _client(client)
        return ClientWithSecret(**public.model_dump(), client_secret=None), ClientWithSecret(**public.model_dump(), client_secret=secret)

    return await create_once(request, idem, 201, create)


@router.get(
    "/clients",
    response_model=Page[ClientPublic],
    tags=["clients"],
    operation_id="list_clients",
    summary="List API clients",
    responses=problem_responses(401, 403),
)
async def list_clients(
    request: Request,
    actor: AdminPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
    institution_id: Annotated[InstitutionId | None, Query(description="Only clients of this institution.")] = None,
    active: Annotated[bool | None, Query(description="Only active (or inactive) clients.")] = None,
) -> Page[ClientPublic]:
    def work(session: Session) -> Page[ClientPublic]:
        rows, next_cursor = service.list_clients(
            session, limit=limit, cursor=cursor, institution_id=institution_id, active=active
        )
        return Page[ClientPublic](items=[_client(c) for c in rows], next_cursor=next_cursor)

    return await in_transaction(request, work)


@router.get(
    "/clients/{client_id}",
    response_model=ClientPublic,
    tags=["clients"],
    operation_id="get_client",
    summary="Get an API client",
    responses=problem_responses(401, 403, 404),
)
async def get_client(request: Request, actor: AdminPrincipal, client_id: uuid.UUID) -> ClientPublic:
    return await in_transaction(request, lambda s: _client(service.get_client(s, client_id)))


@router.patch(
    "/clients/{client_id}",
    response_model=ClientPublic,
    tags=["clients"],
    operation_id="update_client",
    summary="Change an API client's name, scopes, institution or active flag",
    responses=problem_responses(401, 403, 404, *INSTITUTION_CHECK),
)
async def update_client(request: Request, actor: AdminPrincipal, client_id: uuid.UUID, body: ClientUpdate) -> ClientPublic:
    """Changing scopes or institution, or deactivating, ends the client's
    current access tokens; it asks for new ones with its secret."""
    if "institution_id" in body.model_fields_set and body.institution_id is not None:
        current = await in_transaction(request, lambda s: service.get_client(s, client_id))
        if current.institution_id != body.institution_id:
            await _check_institution(request, body.institution_id)

    def work(session: Session) -> tuple[ClientPublic, list[str]]:
        client = service.get_client(session, client_id)
        revoked = service.update_client(session, client, body)
        return _client(client), revoked

    updated, revoked = await in_transaction(request, work)
    request.app.state.revoked.note(revoked)
    return updated


@router.post(
    "/clients/{client_id}/secret",
    response_model=ClientWithSecret,
    tags=["clients"],
    operation_id="rotate_client_secret",
    summary="Replace an API client's secret (the new one is shown once)",
    responses=problem_responses(401, 403, 404),
)
async def rotate_client_secret(request: Request, actor: AdminPrincipal, client_id: uuid.UUID) -> ClientWithSecret:
    """The old secret stops working at once; tokens already issued live out
    their short lifetime (deactivate the client to end them too)."""

    def work(session: Session) -> ClientWithSecret:
        client = service.get_client(session, client_id)
        secret = service.rotate_client_secret(session, client)
        return ClientWithSecret(**_client(client).model_dump(), client_secret=secret)

    return await in_transaction(request, work)


@router.delete(
    "/clients/{client_id}",
    status_code=204,
    response_model=None,
    tags=["clients"],
    operation_id="delete_client",
    summary="Delete an API client (its tokens end at once)",
    responses=problem_responses(401, 403, 404),
)
async def delete_client(request: Request, actor: AdminPrincipal, client_id: uuid.UUID) -> Response:
    def work(session: Session) -> list[str]:
        return service.delete_client(session, service.get_client(session, client_id))

    request.app.state.revoked.note(await in_transaction(request, work))
    return Response(status_code=204)


# -- signing keys ---------------------------------------------------------------


def _keys(ring: KeyRing) -> SigningKeys:
    records = ring.records()
    active = next(r.kid for r in records if r.status == "active")
    return SigningKeys(
        active_kid=active,
        keys=[SigningKeyPublic.model_validate(r, from_attributes=True) for r in records],
    )


@router.get(
    "/keys",
    response_model=SigningKeys,
    tags=["keys"],
    operation_id="list_signing_keys",
    summary="List the token signing keys and their status",
    responses=problem_responses(401, 403),
)
async def list_signing_keys(request: Request, actor: AdminPrincipal) -> SigningKeys:
    return await anyio.to_thread.run_sync(_keys, request.app.state.ring)


@router.post(
    "/keys/rotate",
    response_model=SigningKeys,
    tags=["keys"],
    operation_id="rotate_signing_key",
    summary="Rotate the token signing key",
    responses=problem_responses(401, 403, 409),
)
async def rotate_signing_key(request: Request, actor: AdminPrincipal) -> SigningKeys:
    """A new key signs from now on. The previous one becomes ``retiring``: it
    stays in ``/.well-known/jwks.json`` until every token it signed has expired
    (access-token ttl + leeway + grace), then it is retired and its private key
    wiped. Other replicas pick the change up on their next key reload."""
    ring: KeyRing = request.app.state.ring
    try:
        await anyio.to_thread.run_sync(ring.rotate)
    except IntegrityError:
        raise ProblemError(409, "Another rotation happened at the same time; retry", slug="conflict") from None
    await ring.reload()
    return await anyio.to_thread.run_sync(_keys, ring)
