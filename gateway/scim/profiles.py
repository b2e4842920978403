"""Her participant profile, kept in the participants service.

The gateway calls ``PUT`` / ``DELETE
/internal/institutions/{institution_id}/provisioned-participants/{account_id}``
on participants with the SCIM client's own access token (scope ``scim``, the
client's institution): the gateway acts for the client, and participants
checks that token itself. The calls go through the gateway's pooled
participants client (``servicekit.http``: explicit timeouts, bounded retries
of these idempotent methods). Participants down or slow is a 503/504 SCIM
error and nothing is written at the gateway: the SCIM handlers call
participants *before* they commit, and undo a profile they created when their
own write then fails.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
from fastapi import Request
from scim2_models import InvalidValueException, UniquenessException

from servicekit.auth import Principal
from servicekit.http import upstream_problem
from servicekit.problems import ProblemError

from gateway.scim.resources import ALIADA_USER_SCHEMA

log = logging.getLogger("gateway.scim.profiles")

_SCIM_NAMES = {
    "body.display_name": "displayName",
    "body.hr_id": f"{ALIADA_USER_SCHEMA}:hrId",
    "body.sis_id": f"{ALIADA_USER_SCHEMA}:sisId",
    "body.lms_id": f"{ALIADA_USER_SCHEMA}:lmsId",
}


def _url(request: Request, institution_id: str, account_id: uuid.UUID) -> tuple[httpx.AsyncClient, str]:
    participants = request.app.state.participants
    assert participants.client is not None
    return participants.client, f"{participants.base_url}/internal/institutions/{institution_id}/provisioned-participants/{account_id}"


def _fields(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    names = [_SCIM_NAMES.get(e.get("field", ""), e.get("field", "")) for e in body.get("errors") or [] if isinstance(e, dict)]
    detail = body.get("detail") or ""
    return f"{', '.join(n for n in names if n)}: {detail}" if names else detail


async def upsert(request: Request, caller: Principal, account_id: uuid.UUID, profile: dict[str, Any]) -> bool:
    """Create or update her profile; returns True when it was created."""
    client, url = _url(request, str(caller.tenant_id), account_id)
    try:
        resp = await client.put(url, json=profile, headers={"Authorization": f"Bearer {caller.token}"})
    except httpx.HTTPError as exc:
        log.warning("profile upsert failed", extra={"error": type(exc).__name__})
        raise upstream_problem("participants", exc) from None
    if resp.status_code in (200, 201):
        return resp.status_code == 201
    if resp.status_code == 409:
        raise UniquenessException(detail=f"The participant profile conflicts with another one: {_fields(resp)}")
    if resp.status_code == 422:
        raise InvalidValueException(detail=f"The participant profile was refused: {_fields(resp)}")
    log.warning("profile upsert refused", extra={"status": resp.status_code})
    raise ProblemError(
        503,
        f"The participants service did not store the profile (status {resp.status_code})",
        slug="upstream-unavailable",
        service="participants",
    )


async def delete(request: Request, caller: Principal, account_id: uuid.UUID) -> None:
    """Delete her profile if she never took part in a program (kept otherwise)."""
    client, url = _url(request, str(caller.tenant_id), account_id)
    try:
        resp = await client.delete(url, headers={"Authorization": f"Bearer {caller.token}"})
    except httpx.HTTPError as exc:
        log.warning("profile delete failed", extra={"error": type(exc).__name__})
        raise upstream_problem("participants", exc) from None
    if resp.status_code in (204, 404, 409):  # gone, never there, or kept with her program records
        return
    log.warning("profile delete refused", extra={"status": resp.status_code})
    raise ProblemError(
        503,
        f"The participants service did not delete the profile (status {resp.status_code})",
        slug="upstream-unavailable",
        service="participants",
    )


async def undo(request: Request, caller: Principal, account_id: uuid.UUID, previous: dict[str, Any] | None) -> None:
    """Best effort: put her profile back as it was before a failed write
    (delete it if this write created it)."""
    try:
        if previous is None:
            await delete(request, caller, account_id)
        else:
            await upsert(request, caller, account_id, previous)
    except Exception:  # the original error is what the client hears about
        log.warning("could not undo a profile change after a failed SCIM write", exc_info=True)
