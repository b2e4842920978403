"""``/.well-known/jwks.json``: the public keys that verify the gateway's tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from servicekit.problems import problem_responses

from gateway.keys import KeyRing
from gateway.schemas import Jwks

router = APIRouter(tags=["keys"])


@router.get(
    "/.well-known/jwks.json",
    response_model=Jwks,
    operation_id="get_jwks",
    summary="Public keys verifying access tokens (the active key, plus a retiring one during a rotation)",
    responses=problem_responses(503),
)
async def get_jwks(request: Request) -> JSONResponse:
    """Public, cacheable for a short time (``Cache-Control: max-age``). During a
    rotation it serves two keys: the new active one and the retiring one."""
    ring: KeyRing = request.app.state.ring
    jwks = await ring.jwks()
    max_age = request.app.state.settings.jwks_max_age
    return JSONResponse(jwks, headers={"Cache-Control": f"public, max-age={max_age}"})
