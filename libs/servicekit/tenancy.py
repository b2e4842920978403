"""Tenancy: which institution a caller acts in, and who runs an institution. Every service uses these
rules and no copy of them.

- ``tenant_of``: the institution her token names (``tid``), or ``None`` when it names none (or a malformed one).
- ``coordinates``: she runs this institution: an admin (any institution), or a person (never an API client)
  holding the coordinator role whose token names this institution.
- ``client_with``: an API client holding this scope may act in this institution: a client whose token names
  an institution in that one only, a platform client (no ``tid``) in any.
- ``scoped``: a query filtered to the rows the caller's tenancy lets her know: admins every institution's;
  anyone else her own institution's only, and nothing at all without one. A platform client (no ``tid``)
  sees every institution's rows only where the caller of ``scoped`` names a scope that allows it
  (``client_scopes``) and the client holds it; any other client with no ``tid`` sees nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from sqlalchemy import false

if TYPE_CHECKING:
    from servicekit.auth import Principal


def _as_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def tenant_of(who: Principal) -> uuid.UUID | None:
    """The institution the token names, if it names a well-formed one."""
    return _as_uuid(who.tenant_id)


def coordinates(who: Principal, institution_id: uuid.UUID | str | None) -> bool:
    """Admin, or a person (not an API client) coordinating this institution."""
    if who.is_admin:
        return True
    tid = tenant_of(who)
    return (not who.is_client and who.has_role("coordinator") and tid is not None
            and tid == _as_uuid(institution_id))


def is_platform_client(who: Principal) -> bool:
    """An API client whose token names no institution."""
    return who.is_client and who.tenant_id is None


def client_with(who: Principal, scope: str, institution_id: uuid.UUID | str | None) -> bool:
    """An API client holding ``scope`` that may act in this institution (a platform client: in any)."""
    if not who.is_client or scope not in who.scopes:
        return False
    if who.tenant_id is None:
        return True
    tid = tenant_of(who)
    return tid is not None and tid == _as_uuid(institution_id)


def scoped(stmt: Any, model: Any, who: Principal, *, client_scopes: Collection[str] = ()) -> Any:
    """``stmt`` filtered on ``model.institution_id`` to what the caller may know (see the module)."""
    if who.is_admin or (is_platform_client(who) and not who.scopes.isdisjoint(client_scopes)):
        return stmt
    tid = tenant_of(who)
    if tid is None:
        return stmt.where(false())
    return stmt.where(model.institution_id == tid)
