"""SCIM answers and SCIM errors (RFC 7644 §3.12) on ``/scim/v2`` only.

Every route of the SCIM router uses ``ScimRoute``: whatever its handler raises
(a scim2-models ``SCIMException``, a servicekit ``ProblemError`` such as the
edge's 401 or an upstream 503, a request validation error, a unique
constraint that lost a race, or an unexpected error) becomes an
``application/scim+json`` ``Error`` body here, before servicekit's
problem+json handlers could see it. Those handlers keep serving every other
path of the gateway. A 401 keeps its ``WWW-Authenticate`` header.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from scim2_models import Context, Error, SCIMException
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from servicekit.problems import ProblemError

log = logging.getLogger("gateway.scim")

SCIM_MEDIA_TYPE = "application/scim+json"

# RFC 7644 §3.12 scimType for the problems servicekit and the gateway raise.
_PROBLEM_SCIM_TYPES = {"validation-error": "invalidValue", "malformed-json": "invalidSyntax", "conflict": "uniqueness"}


class ScimResponse(Response):
    media_type = SCIM_MEDIA_TYPE

    def __init__(self, content: Any = None, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        body = b"" if content is None else json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        super().__init__(body, status_code=status_code, headers=headers, media_type=None if content is None else SCIM_MEDIA_TYPE)


def error_body(status: int, detail: str | None, scim_type: str | None = None) -> dict[str, Any]:
    return Error(status=status, scim_type=scim_type, detail=detail).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def error_response(status: int, detail: str | None, scim_type: str | None = None, headers: dict[str, str] | None = None) -> ScimResponse:
    return ScimResponse(error_body(status, detail, scim_type), status_code=status, headers=headers)


def _validation_detail(errors: list[Any]) -> tuple[str, str]:
    """(scimType, detail) of pydantic errors raised while reading a SCIM payload."""
    scim_errors = Error.from_validation_errors(errors)
    first = scim_errors[0]
    detail = "; ".join(e.detail or "" for e in scim_errors[:5])
    return first.scim_type or "invalidValue", detail


def to_scim_response(exc: Exception) -> ScimResponse:
    if isinstance(exc, SCIMException):
        error = exc.to_error()
        status = error.status or exc.status
        return error_response(status, error.detail, error.scim_type)
    if isinstance(exc, ProblemError):
        slug = exc.type.rsplit(":", 1)[-1]
        scim_type = _PROBLEM_SCIM_TYPES.get(slug) if exc.status in (400, 409, 422) else None
        status = 400 if exc.status == 422 else exc.status
        detail = exc.detail or exc.title
        if exc.errors:
            detail = "; ".join(f"{e.field}: {e.message}" for e in exc.errors[:5])
        return error_response(status, detail, scim_type, exc.headers)
    if isinstance(exc, RequestValidationError):
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "The request body is not valid JSON", "invalidSyntax")
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors[:5])
        return error_response(400, detail, "invalidValue")
    if isinstance(exc, ValidationError):
        scim_type, detail = _validation_detail(list(exc.errors()))
        return error_response(400, detail, scim_type)
    if isinstance(exc, StarletteHTTPException):
        return error_response(exc.status_code, exc.detail if isinstance(exc.detail, str) else None, headers=exc.headers)
    if isinstance(exc, IntegrityError):
        log.info("scim integrity conflict")
        return error_response(409, "The request conflicts with a record written at the same time; retry it.", "uniqueness")
    log.exception("unhandled error in a SCIM request")
    return error_response(500, "An unexpected error occurred; quote the X-Request-ID header when reporting it.")


class ScimRoute(APIRoute):
    """An APIRoute whose every failure is answered as a SCIM Error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def scim_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # noqa: BLE001 - every failure answers as SCIM
                return to_scim_response(exc)

        return scim_handler
