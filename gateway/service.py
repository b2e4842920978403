"""Accounts, API clients and token families: domain logic on a session
(never commits; the caller's unit of work does).

Who may do what:
- an admin manages every account and every API client;
- a coordinator manages the accounts of her own institution only, and can
  neither grant the admin role, nor move an account to another institution,
  nor see or touch an admin; accounts of other institutions are 404 to her;
- every account except a platform admin belongs to one institution, and a
  platform admin belongs to none.

Changing an account's password, roles, institution or status, or deleting it,
revokes its sessions (their access tokens are refused at the edge at once).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Literal

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from servicekit.auth import Principal, unauthorized
from servicekit.outbox import utcnow
from servicekit.pagination import paginate
from servicekit.problems import ProblemError, conflict, field_problem, forbidden, not_found

from gateway.models import Account, ApiClient, RefreshToken, TokenFamily
from gateway.schemas import AccountCreate, AccountUpdate, ClientCreate, ClientUpdate
from gateway.security import new_client_id, new_client_secret, new_family_id, sha256_hex


# -- token families -------------------------------------------------------------


def revoke_families(session: Session, family_ids: Sequence[str], reason: str) -> list[str]:
    """Mark these families revoked (those not revoked yet); returns the ids."""
    if not family_ids:
        return []
    session.execute(
        update(TokenFamily)
        .where(col(TokenFamily.id).in_(list(family_ids)), col(TokenFamily.revoked_at).is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return list(family_ids)


def revoke_account_sessions(session: Session, account_id: uuid.UUID, reason: str) -> list[str]:
    ids = session.exec(
        select(TokenFamily.id).where(TokenFamily.account_id == account_id, col(TokenFamily.revoked_at).is_(None))
    ).all()
    return revoke_families(session, ids, reason)


def new_client_family(session: Session, client: ApiClient) -> None:
    family = TokenFamily(id=new_family_id(), client_id=client.client_id)
    session.add(family)
    client.family_id = family.id


def revoke_client_sessions(session: Session, client: ApiClient, reason: str) -> list[str]:
    """End every token of the client; its next token gets a new family."""
    revoked = revoke_families(session, [client.family_id], reason)
    new_client_family(session, client)
    return revoked


# -- accounts -------------------------------------------------------------------


def _check_role_institution(roles: list[str], institution_id: str | None) -> None:
    if "admin" in roles and institution_id is not None:
        raise field_problem("body.institution_id", "A platform admin belongs to no institution", code="admin_has_no_institution")
    if "admin" not in roles and institution_id is None:
        raise field_problem(
            "body.institution_id", "Required: every account except a platform admin belongs to an institution", code="missing"
        )


def _visible(actor: Principal, account: Account | None) -> Account:
    if account is None:
        raise not_found("Account")
    if actor.is_admin:
        return account
    if account.is_admin or account.institution_id is None or account.institution_id != actor.tenant_id:
        raise not_found("Account")
    return account


def plan_account_create(actor: Principal, data: AccountCreate) -> tuple[AccountCreate, str | None]:
    """Apply the actor's limits; returns the data to write and an institution
    id the caller must confirm with the participants service (or None)."""
    if not actor.is_admin:
        if "admin" in data.roles:
            raise forbidden("Coordinators cannot grant the admin role")
        if data.institution_id is not None and data.institution_id != actor.tenant_id:
            raise forbidden("Coordinators create accounts of their own institution only")
        data = data.model_copy(update={"institution_id": actor.tenant_id})
    _check_role_institution(list(data.roles), data.institution_id)
    to_check = data.institution_id if actor.is_admin and data.institution_id is not None else None
    return data, to_check


def account_status(session: Session, account_id: str) -> Literal["active", "suspended", "unknown"]:
    """``active``, ``suspended`` (any other status) or ``unknown`` (no such account)."""
    try:
        account = session.get(Account, uuid.UUID(account_id))
    except ValueError:
        return "unknown"
    if account is None:
        return "unknown"
    return "active" if account.status == "active" else "suspended"


def identity(session: Session, principal: Principal) -> tuple[str | None, str | None]:
    """The caller's e-mail (a person) or name (an API client); 401 when her account no longer exists."""
    if principal.is_client:
        client = session.exec(select(ApiClient).where(ApiClient.client_id == principal.claims.get("client_id"))).first()
        return None, client.name if client else None
    try:
        account = session.get(Account, uuid.UUID(principal.subject))
    except ValueError:
        account = None
    if account is None:
        raise unauthorized("The account of this token no longer exists")
    return account.email, None


def email_taken(session: Session, email: str) -> bool:
    return session.exec(select(Account.id).where(Account.email == email)).first() is not None


def create_account(session: Session, data: AccountCreate, password_hash: str) -> Account:
    if email_taken(session, data.email):
        raise conflict("An account with this email already exists", field="email")
    account = Account(
        email=data.email,
        password_hash=password_hash,
        roles=list(data.roles),
        is_admin="admin" in data.roles,
        institution_id=data.institution_id,
    )
    session.add(account)
    session.flush()
    return account


def list_accounts(
    session: Session,
    actor: Principal,
    *,
    limit: int,
    cursor: str | None,
    institution_id: str | None,
    status: str | None,
    email: str | None,
) -> tuple[list[Account], str | None]:
    stmt = select(Account)
    if not actor.is_admin:
        stmt = stmt.where(Account.institution_id == actor.tenant_id, col(Account.is_admin).is_(False))
    if institution_id is not None:
        stmt = stmt.where(Account.institution_id == institution_id)
    if status is not None:
        stmt = stmt.where(Account.status == status)
    if email is not None:
        stmt = stmt.where(Account.email == email.strip().lower())
    return paginate(session, stmt, Account.id, limit=limit, cursor=cursor)


def get_account(session: Session, actor: Principal, account_id: uuid.UUID) -> Account:
    return _visible(actor, session.get(Account, account_id))


def _other_active_admins(session: Session, account_id: uuid.UUID) -> int:
    return session.exec(
        select(func.count())
        .select_from(Account)
        .where(col(Account.is_admin).is_(True), Account.status == "active", Account.id != account_id)
    ).one()


def plan_account_update(actor: Principal, account: Account, data: AccountUpdate) -> str | None:
    """Authorization and consistency of an update; returns an institution id to
    confirm with participants (or None)."""
    fields = data.model_fields_set
    if not actor.is_admin:
        if data.roles is not None and "admin" in data.roles:
            raise forbidden("Coordinators cannot grant the admin role")
        if "institution_id" in fields and data.institution_id != account.institution_id:
            raise forbidden("Coordinators cannot move an account to another institution")
    roles = list(data.roles) if data.roles is not None else list(account.roles)
    institution_id = data.institution_id if "institution_id" in fields else account.institution_id
    _check_role_institution(roles, institution_id)
    if actor.is_admin and "institution_id" in fields and institution_id is not None and institution_id != account.institution_id:
        return institution_id
    return None


def update_account(session: Session, account: Account, data: AccountUpdate, password_hash: str | None) -> list[str]:
    """Apply an update planned by ``plan_account_update``; returns revoked sids."""
    fields = data.model_fields_set
    ends_sessions = False
    if data.roles is not None and list(data.roles) != list(account.roles):
        if account.is_admin and "admin" not in data.roles:
            _keep_one_admin(session, account)
        account.roles = list(data.roles)
        account.is_admin = "admin" in data.roles
        ends_sessions = True
    if data.status is not None and data.status != account.status:
        if data.status == "suspended" and account.is_admin:
            _keep_one_admin(session, account)
        account.status = data.status
        ends_sessions = True
    if "institution_id" in fields and data.institution_id != account.institution_id:
        account.institution_id = data.institution_id
        ends_sessions = True
    if password_hash is not None:
        account.password_hash = password_hash
        ends_sessions = True
    account.updated_at = utcnow()
    session.add(account)
    session.flush()
    return revoke_account_sessions(session, account.id, "account-changed") if ends_sessions else []


def _keep_one_admin(session: Session, account: Account) -> None:
    if account.status == "active" and _other_active_admins(session, account.id) == 0:
        raise ProblemError(409, "The last active admin cannot be removed, demoted or suspended", slug="last-admin")


def delete_account(session: Session, account: Account) -> list[str]:
    if account.is_admin:
        _keep_one_admin(session, account)
    revoked = revoke_account_sessions(session, account.id, "account-deleted")
    families = session.exec(select(TokenFamily.id).where(TokenFamily.account_id == account.id)).all()
    if families:
        session.execute(RefreshToken.__table__.delete().where(col(RefreshToken.family_id).in_(families)))  # type: ignore[attr-defined]
    session.delete(account)
    session.flush()
    return revoked


# -- API clients ----------------------------------------------------------------


def create_client(session: Session, data: ClientCreate) -> tuple[ApiClient, str]:
    secret = new_client_secret()
    client = ApiClient(
        client_id=new_client_id(),
        name=data.name,
        secret_hash=sha256_hex(secret),
        scopes=list(data.scopes),
        institution_id=data.institution_id,
        family_id="",
    )
    new_client_family(session, client)
    session.add(client)
    session.flush()
    return client, secret


def list_clients(
    session: Session, *, limit: int, cursor: str | None, institution_id: str | None, active: bool | None
) -> tuple[list[ApiClient], str | None]:
    stmt = select(ApiClient)
    if institution_id is not None:
        stmt = stmt.where(ApiClient.institution_id == institution_id)
    if active is not None:
        stmt = stmt.where(ApiClient.active == active)
    return paginate(session, stmt, ApiClient.id, limit=limit, cursor=cursor)


def get_client(session: Session, client_id: uuid.UUID) -> ApiClient:
    client = session.get(ApiClient, client_id)
    if client is None:
        raise not_found("API client")
    return client


def update_client(session: Session, client: ApiClient, data: ClientUpdate) -> list[str]:
    """Changing scopes or institution, or deactivating, ends the client's tokens."""
    fields = data.model_fields_set
    revoked: list[str] = []
    if data.name is not None:
        client.name = data.name
    changed = False
    if data.scopes is not None and list(data.scopes) != list(client.scopes):
        client.scopes = list(data.scopes)
        changed = True
    if "institution_id" in fields and data.institution_id != client.institution_id:
        client.institution_id = data.institution_id
        changed = True
    if changed:
        revoked = revoke_client_sessions(session, client, "client-changed")
    if data.active is not None and data.active != client.active:
        client.active = data.active
        if not data.active and not revoked:
            revoked = revoke_client_sessions(session, client, "client-deactivated")
    client.updated_at = utcnow()
    session.add(client)
    session.flush()
    return revoked


def rotate_client_secret(session: Session, client: ApiClient) -> str:
    """A new secret; the old one stops working at once. Tokens already issued
    live out their (short) lifetime."""
    secret = new_client_secret()
    client.secret_hash = sha256_hex(secret)
    client.secret_rotated_at = client.updated_at = utcnow()
    session.add(client)
    session.flush()
    return secret


def delete_client(session: Session, client: ApiClient) -> list[str]:
    revoked = revoke_families(session, [client.family_id], "client-deleted")
    session.delete(client)
    session.flush()
    return revoked


# -- bootstrap --------------------------------------------------------------------


def admin_exists(session: Session) -> bool:
    return session.exec(select(Account.id).where(col(Account.is_admin).is_(True))).first() is not None

