"""What a SCIM request does, for Users and Groups alike: read and search in one
transaction each, and write by compare-and-set.

A write reads the resource, checks ``If-Match`` against it, and writes only if
its version is still the one read. When another write slipped in between, the
write is tried again (``ATTEMPTS`` times in all; then 409), unless the client
sent ``If-Match``: then that is a 412. A user's participant profile is written
in the participants service before her account, and put back when the
account's write fails (``gateway.scim.profiles``).

Each function takes the request (its app holds the database and the
participants client) and the SCIM caller, and returns SCIM resources; the
router turns them into answers.
"""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio.to_thread
from fastapi import Request
from scim2_models import ConflictException, PreconditionFailedException, Resource, SearchRequest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from uuid6 import uuid7

from servicekit.auth import Principal

from gateway.dependencies import in_transaction
from gateway.scim import groups, profiles, users
from gateway.scim.common import Stale, base_url, check_if_match
from gateway.scim.resources import ScimGroup, ScimUser

# A write retries this many times when another write slipped in between its
# read and its compare-and-set (only without If-Match: with it, that is a 412).
ATTEMPTS = 3

Row = TypeVar("Row", users.UserRow, groups.GroupRow)
R = TypeVar("R", bound=Resource[Any])
T = TypeVar("T")


@dataclass(frozen=True)
class Kind(Generic[Row, R]):
    """How one resource type is read: the same steps for Users and Groups."""

    noun: str
    model: type[R]
    get: Callable[[Session, str, str], Row]
    search: Callable[[Session, str, SearchRequest[Any]], tuple[int, list[Row]]]
    to_resource: Callable[[Row, str], R]


USERS: Kind[users.UserRow, ScimUser] = Kind("user", ScimUser, users.get_user, users.search_users, users.to_resource)
GROUPS: Kind[groups.GroupRow, ScimGroup] = Kind("group", ScimGroup, groups.get_group, groups.search_groups, groups.to_resource)


def _tenant(caller: Principal) -> str:
    assert caller.tenant_id is not None
    return caller.tenant_id


def _revoked(request: Request, sids: list[str]) -> None:
    """Tell this replica's edge at once about the sessions a write ended."""
    if sids:
        request.app.state.revoked.note(sids)


async def _unusable_password_hash(request: Request) -> str:
    """The argon2 hash of a random secret nobody keeps (one per process):
    an account holding it has no usable password."""
    state = request.app.state
    cached = getattr(state, "scim_unusable_password_hash", None)
    if cached is None:
        cached = await anyio.to_thread.run_sync(state.passwords.hash, secrets.token_urlsafe(32))
        state.scim_unusable_password_hash = cached
    return cached


async def find(request: Request, caller: Principal, kind: Kind[Row, R], search: SearchRequest[Any]) -> tuple[int, list[R]]:
    """The total and one page of the institution's resources matching ``search``."""
    base = base_url(request)
    total, rows = await in_transaction(request, kind.search, _tenant(caller), search)
    return total, [kind.to_resource(row, base) for row in rows]


async def read(request: Request, caller: Principal, kind: Kind[Row, R], resource_id: str) -> R:
    row = await in_transaction(request, kind.get, _tenant(caller), resource_id)
    return kind.to_resource(row, base_url(request))


async def _compare_and_set(
    request: Request,
    caller: Principal,
    kind: Kind[Row, R],
    resource_id: str,
    write: Callable[[Row], Awaitable[T]],
    stale: tuple[type[Exception], ...] = (Stale, IntegrityError),
) -> T:
    """Read the resource, check ``If-Match``, then ``write(row)``; a ``stale``
    error (the version moved on) is a 412 with ``If-Match``, else a new attempt."""
    for _ in range(ATTEMPTS):
        row = await in_transaction(request, kind.get, _tenant(caller), resource_id)
        conditional = check_if_match(request, row.tag())
        try:
            return await write(row)
        except stale:
            if conditional:
                raise PreconditionFailedException(detail="The resource changed since the version given in If-Match") from None
    raise ConflictException(detail=f"The {kind.noun} kept changing during this request; retry it")


# -- users -------------------------------------------------------------------------


async def create_user(request: Request, caller: Principal, user: ScimUser) -> ScimUser:
    """Her participant profile first, then her account (with no usable
    password); the profile is deleted again if the account cannot be written."""
    data = users.UserData.from_resource(user)
    if data.active is None:  # a new account is active unless told otherwise
        data = dataclasses.replace(data, active=True)
    tenant = _tenant(caller)
    await in_transaction(request, users.check_user_name, tenant, data.user_name, None)
    account_id = uuid7()
    password_hash = await _unusable_password_hash(request)
    await profiles.upsert(request, caller, account_id, data.profile())
    try:
        row, revoked = await in_transaction(request, users.create_user, tenant, account_id, data, password_hash)
    except Exception:
        await profiles.undo(request, caller, account_id, None)
        raise
    _revoked(request, revoked)
    return users.to_resource(row, base_url(request))


async def _undo_profile(
    request: Request, caller: Principal, account_id: uuid.UUID, *, created: bool, restore: dict[str, Any] | None
) -> None:
    """Put her profile back after a failed write: delete it if the write
    created it; restore it if SCIM wrote it before (a profile SCIM never wrote
    is not known here, so it is left as the failed write made it)."""
    if created:
        await profiles.undo(request, caller, account_id, None)
    elif restore is not None:
        await profiles.undo(request, caller, account_id, restore)


async def change_user(request: Request, caller: Principal, user_id: str, change: Callable[[ScimUser], ScimUser]) -> ScimUser:
    """Apply ``change`` to the user as stored, keep her profile in step, and store the result."""
    tenant, base = _tenant(caller), base_url(request)

    async def write(row: users.UserRow) -> ScimUser:
        before = users.to_resource(row, base)
        data = users.UserData.from_resource(change(before.model_copy(deep=True)))
        if data.user_name != users.shown_user_name(row):
            await in_transaction(request, users.check_user_name, tenant, data.user_name, row.account.id)
        previous = users.UserData.from_resource(before).profile()
        wanted = data.profile()
        created = False
        if wanted != previous:
            created = await profiles.upsert(request, caller, row.account.id, wanted)
        try:
            new_row, revoked = await in_transaction(request, users.update_user, tenant, row.account.id, row.version, data)
        except Exception:
            restore = previous if wanted != previous and row.record is not None else None
            await _undo_profile(request, caller, row.account.id, created=created, restore=restore)
            raise
        _revoked(request, revoked)
        return users.to_resource(new_row, base)

    return await _compare_and_set(request, caller, USERS, user_id, write)


async def delete_user(request: Request, caller: Principal, user_id: str) -> None:
    """Her profile (participants keeps it if she took part in a program), then her account."""
    tenant = _tenant(caller)

    async def write(row: users.UserRow) -> None:
        await profiles.delete(request, caller, row.account.id)
        _revoked(request, await in_transaction(request, users.delete_user, tenant, row.account.id, row.version))

    await _compare_and_set(request, caller, USERS, user_id, write)


# -- groups ------------------------------------------------------------------------


async def create_group(request: Request, caller: Principal, group: ScimGroup) -> ScimGroup:
    data = groups.GroupData.from_resource(group)
    row, revoked = await in_transaction(request, groups.create_group, _tenant(caller), data)
    _revoked(request, revoked)
    return groups.to_resource(row, base_url(request))


async def change_group(request: Request, caller: Principal, group_id: str, change: Callable[[ScimGroup], ScimGroup]) -> ScimGroup:
    """Apply ``change`` to the group as stored and store the result (members' roles follow)."""
    tenant, base = _tenant(caller), base_url(request)

    async def write(row: groups.GroupRow) -> ScimGroup:
        data = groups.GroupData.from_resource(change(groups.to_resource(row, base)))
        new_row, revoked = await in_transaction(request, groups.update_group, tenant, row.record.id, row.record.version, data)
        _revoked(request, revoked)
        return groups.to_resource(new_row, base)

    return await _compare_and_set(request, caller, GROUPS, group_id, write)


async def delete_group(request: Request, caller: Principal, group_id: str) -> None:
    tenant = _tenant(caller)

    async def write(row: groups.GroupRow) -> None:
        _revoked(request, await in_transaction(request, groups.delete_group, tenant, row.record.id, row.record.version))

    await _compare_and_set(request, caller, GROUPS, group_id, write, stale=(Stale,))
