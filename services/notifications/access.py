"""Who may see and do what in the notifications service.

- Her inbox and her preferences: the person herself, by her token's ``sub`` in
  her token's institution (``tid``). A notification of anyone else, or of
  another institution, is a 404, the same as one that does not exist. A token
  that names no institution has no inbox (403); API clients never reach these
  routes (servicekit's client gate: 403).
- An institution's deliveries (what was sent, skipped or failed): its
  coordinators and admins; a coordinator of another institution gets 404, any
  other person 403.
- Unsubscribing: the signed link itself (``domain.links``), without a login.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from servicekit.auth import Principal
from servicekit.problems import forbidden, not_found
from servicekit.tenancy import coordinates, tenant_of


@dataclass(frozen=True)
class Person:
    institution_id: uuid.UUID
    account_id: str


def person(who: Principal) -> Person:
    tid = tenant_of(who)
    if tid is None or who.is_client:
        raise forbidden("Notifications belong to a person of an institution; this token names none")
    return Person(tid, who.subject)


def coordinator_of(who: Principal, institution_id: uuid.UUID) -> None:
    if coordinates(who, institution_id):
        return
    if who.has_role("coordinator") and not who.is_client:
        raise not_found("Institution")
    raise forbidden("Only the institution's coordinators see its deliveries")
