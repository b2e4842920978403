"""What the services may ask the gateway about an account: is it active?

The gateway owns account status (an admin or coordinator suspends an account
with ``PATCH /v1/admin/accounts/{id}``). A service that answers without a
person's token (the sessions service's calendar feeds, served by secret URL)
asks here with its own client token (scope ``accounts:read``, a client of no
institution) and caches the answer briefly (docs/security.md, "Calendar feeds").
Not in the public API document.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from servicekit.auth import Principal, client_scopes
from servicekit.problems import ProblemError, problem_responses
from servicekit import scopes

from gateway import service
from gateway.dependencies import in_transaction
from gateway.edge import EdgePrincipal

ACCOUNTS_SCOPE = scopes.ACCOUNTS_READ

router = APIRouter(prefix="/internal/accounts", tags=["internal"])


@client_scopes(ACCOUNTS_SCOPE)
async def _service_client(principal: EdgePrincipal) -> Principal:
    """A service's own client (no institution) holding ``accounts:read``; nobody else."""
    if not principal.is_client or ACCOUNTS_SCOPE not in principal.scopes or principal.tenant_id is not None:
        raise ProblemError(403, f"Only a service client with scope {ACCOUNTS_SCOPE} may read account status",
                           slug="insufficient-scope")
    return principal


class AccountStatus(BaseModel):
    account_id: str
    status: Literal["active", "suspended", "unknown"] = Field(
        description="``unknown``: no such account (deleted, or never existed); treat it as not active."
    )


@router.get(
    "/{account_id}/status",
    response_model=AccountStatus,
    operation_id="get_account_status",
    summary="Whether an account is active (service clients with scope accounts:read)",
    responses=problem_responses(401, 403),
    include_in_schema=False,
)
async def get_account_status(
    request: Request,
    account_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")],
    _caller: Annotated[Principal, Depends(_service_client)],
) -> AccountStatus:
    status = await in_transaction(request, service.account_status, account_id)
    return AccountStatus(account_id=account_id, status=status)  # type: ignore[arg-type]
