"""Who may call what, as ``Annotated`` aliases the routes declare.

Two questions, in this order, for anything under an institution:

1. *May the caller know this institution exists?* If not, the answer is 404,
   exactly as for an institution that does not exist, so a coordinator of one
   university cannot probe for another's records.
2. *May she do this here?* If she may see it but not change it, 403.

Visibility:

- admins see every institution;
- members of an institution (a token whose ``tid`` is its id and that holds a
  coordinator, mentor, mentee, peer mentor or evaluator role) see it, its
  campuses and its academic units;
- integration clients with scope ``institutions:read`` may read institutions
  (the gateway checks account institution ids with it), not their campuses;
- a client with scope ``reports:read`` (the evaluation service, for the program
  report's header: the institution's name) may read that one institution record
  (a platform client any, a client with a ``tid`` its own), and nothing else here.

Changes: admins manage institutions; admins and the institution's own
coordinators manage its campuses and academic units.

Every dependency here is ``async def`` and reads only the verified token (no
database): existence is checked by ``service`` in the request's transaction.
Declare the auth alias *before* ``IdempotencyDep`` in a route's signature: the
idempotency key is scoped to the principal it finds on ``request.state``.
"""

import uuid
from typing import Annotated

from fastapi import Depends, Path

from servicekit.auth import CurrentPrincipal, Principal, client_scopes, require_roles
from servicekit.problems import ProblemError, forbidden, not_found
from servicekit.tenancy import client_with, coordinates
from servicekit import scopes

INSTITUTIONS_READ_SCOPE = scopes.INSTITUTIONS_READ
REPORTS_READ_SCOPE = scopes.REPORTS_READ
MEMBER_ROLES = frozenset({"coordinator", "mentor", "mentee", "peer_mentor", "evaluator"})

InstitutionId = Annotated[uuid.UUID, Path(description="The institution's id.")]


def is_member(principal: Principal, institution_id: uuid.UUID) -> bool:
    """She belongs to this institution in one of its roles."""
    return principal.tenant_id == str(institution_id) and principal.has_role(*MEMBER_ROLES)


def _hidden() -> ProblemError:
    return not_found("Institution")


@client_scopes(INSTITUTIONS_READ_SCOPE)
async def _directory_reader(principal: CurrentPrincipal) -> Principal:
    if principal.is_admin or INSTITUTIONS_READ_SCOPE in principal.scopes:
        return principal
    raise forbidden(f"Listing institutions needs the admin role or scope {INSTITUTIONS_READ_SCOPE}")


@client_scopes(INSTITUTIONS_READ_SCOPE, REPORTS_READ_SCOPE)
async def _institution_viewer(institution_id: InstitutionId, principal: CurrentPrincipal) -> Principal:
    if (principal.is_admin or INSTITUTIONS_READ_SCOPE in principal.scopes or is_member(principal, institution_id)
            or client_with(principal, REPORTS_READ_SCOPE, institution_id)):  # the evaluation service's client
        return principal
    raise _hidden()


async def _member_of(institution_id: InstitutionId, principal: CurrentPrincipal) -> Principal:
    if principal.is_admin or is_member(principal, institution_id):
        return principal
    raise _hidden()


async def _coordinator_of(institution_id: InstitutionId, principal: CurrentPrincipal) -> Principal:
    if coordinates(principal, institution_id):
        return principal
    if is_member(principal, institution_id):
        raise forbidden("Only the institution's coordinators may change this")
    raise _hidden()


AdminOnly = Annotated[Principal, Depends(require_roles("admin"))]
"""A platform admin; anyone else gets 403 (the route names no institution)."""

InstitutionDirectoryReader = Annotated[Principal, Depends(_directory_reader)]
"""An admin, or an integration client with scope ``institutions:read``; else 403."""

InstitutionViewer = Annotated[Principal, Depends(_institution_viewer)]
"""May read the institution in the path: admin, ``institutions:read`` client, a member, or a ``reports:read``
client (the evaluation service; only this route); else 404."""

MemberOf = Annotated[Principal, Depends(_member_of)]
"""May read the campuses and units of the institution in the path: admin or a member; else 404."""

CoordinatorOf = Annotated[Principal, Depends(_coordinator_of)]
"""May change the campuses and units of the institution in the path: admin or its coordinator;
other members get 403, everyone else 404."""
