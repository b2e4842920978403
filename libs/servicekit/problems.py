"""RFC 9457 problem details: the one error format of every app.

- ``ProblemError`` is raised by domain code; handlers turn it, HTTP errors,
  validation errors and malformed JSON into ``application/problem+json``
  (unexpected exceptions become a 500 problem in
  ``observability.RequestContextMiddleware``, which also stamps the request id).
- ``problem_responses(...)`` documents error responses on routes, and
  ``problem_openapi`` rewrites the generated document so that every 4xx/5xx
  response is described as ``application/problem+json`` with the ``Problem``
  schema (FastAPI's default 422 schema is replaced).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.routing import Match

log = logging.getLogger("servicekit.problems")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:aliada:problem:"


class FieldError(BaseModel):
    """One invalid field of a request."""

    field: str = Field(description="Dotted path of the field, e.g. 'body.phases.0.starts_on'.",
                       examples=["body.name"])
    message: str = Field(examples=["Field required"])
    code: str = Field(description="Machine-readable error code.", examples=["missing"])


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:aliada:problem:validation-error",
                    "title": "Request validation failed",
                    "status": 422,
                    "detail": "1 field is invalid: body.name",
                    "errors": [{"field": "body.name", "message": "Field required", "code": "missing"}],
                }
            ]
        },
    )

    type: str = Field(default="about:blank", description="URI reference identifying the problem type.")
    title: str
    status: int = Field(ge=100, le=599)
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Raise from domain or HTTP code to answer with a problem."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title or str(status))
        self.status = status
        self.detail = detail
        self.type = f"{TYPE_PREFIX}{slug}" if slug else "about:blank"
        self.title = title or _phrase(status)
        self.errors = errors
        self.headers = headers
        self.extra = extra


def not_found(what: str = "Resource") -> ProblemError:
    return ProblemError(404, f"{what} not found", slug="not-found")


def conflict(detail: str, **extra: Any) -> ProblemError:
    return ProblemError(409, detail, slug="conflict", **extra)


def forbidden(detail: str = "You are not allowed to do this") -> ProblemError:
    return ProblemError(403, detail, slug="forbidden")


def field_problem(field: str, message: str, *, status: int = 422, code: str = "invalid") -> ProblemError:
    """A 4xx naming one field, for checks that only the domain can make."""
    return ProblemError(
        status,
        f"Invalid field: {field}: {message}",
        slug="validation-error",
        title="Request validation failed",
        errors=[FieldError(field=field, message=message, code=code)],
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(request: Request | None, problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    if request is not None:
        problem.instance = problem.instance or request.url.path
        problem.request_id = problem.request_id or getattr(request.state, "request_id", None)
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


async def _problem_error_handler(request: Request, exc: ProblemError) -> JSONResponse:
    problem = Problem(type=exc.type, title=exc.title, status=exc.status, detail=exc.detail, errors=exc.errors, **exc.extra)
    return problem_response(request, problem, exc.headers)


async def _validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        first = next(e for e in errors if e.get("type") == "json_invalid")
        return problem_response(
            request,
            Problem(
                type=f"{TYPE_PREFIX}malformed-json",
                title="Malformed JSON body",
                status=400,
                detail=f"The request body is not valid JSON: {first.get('ctx', {}).get('error', 'parse error')}",
                errors=[FieldError(field="body", message="Malformed JSON", code="json_invalid")],
            ),
        )
    field_errors = [
        FieldError(field=_loc_to_field(e.get("loc", ())), message=str(e.get("msg", "")), code=str(e.get("type", "invalid")))
        for e in errors
    ]
    names = ", ".join(f.field for f in field_errors[:5])
    more = "" if len(field_errors) <= 5 else f" and {len(field_errors) - 5} more"
    return problem_response(
        request,
        Problem(
            type=f"{TYPE_PREFIX}validation-error",
            title="Request validation failed",
            status=422,
            detail=f"{len(field_errors)} field{'s are' if len(field_errors) != 1 else ' is'} invalid: {names}{more}",
            errors=field_errors,
        ),
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts at this path. Starlette's own 405 names
    only the methods of the first route whose path matched, but ``Allow`` must
    list all of the resource's methods (RFC 9110, 15.5.6)."""
    allowed = []
    for method in _METHODS:
        scope = {"type": "http", "path": request.scope["path"], "root_path": request.scope.get("root_path", ""),
                 "method": method, "path_params": {}}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def too_large_problem(limit: int | None) -> Problem:
    """The 413 of a body over its limit (``servicekit.limits``)."""
    return Problem(
        type=f"{TYPE_PREFIX}too-large",
        title="Content Too Large",
        status=413,
        detail=f"The request body is larger than {limit} bytes, the most this endpoint accepts"
        if limit is not None
        else "The request body is too large",
        max_bytes=limit,
    )


async def _http_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 413:
        # Starlette's body limiter (servicekit.limits) refused the body while it streamed in.
        return problem_response(request, too_large_problem(request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)), exc.headers)
    headers = exc.headers
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    detail = exc.detail if isinstance(exc.detail, str) else None
    if detail == _phrase(exc.status_code):
        detail = None
    if exc.status_code == 404 and detail is None:
        detail = f"No resource at {request.url.path}"
    if exc.status_code == 405 and detail is None:
        detail = f"Method {request.method} is not allowed on {request.url.path}"
    return problem_response(request, Problem(title=_phrase(exc.status_code), status=exc.status_code, detail=detail), headers)


async def _integrity_handler(request: Request, exc: IntegrityError) -> JSONResponse:
    # A unique constraint lost a race (the checks in the domain code passed
    # for both requests). The transaction was rolled back; nothing was written.
    log.info("integrity conflict", extra={"path": request.url.path})
    return problem_response(
        request,
        Problem(
            type=f"{TYPE_PREFIX}conflict",
            title="Conflict",
            status=409,
            detail="The request conflicts with a record written at the same time; retry it.",
        ),
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_handler)  # type: ignore[arg-type]
    app.add_exception_handler(IntegrityError, _integrity_handler)  # type: ignore[arg-type]


_DESCRIPTIONS = {
    400: "Malformed request (for example a body that is not JSON, or a bad cursor)",
    401: "Missing, expired or invalid access token",
    403: "Authenticated, but not allowed to do this",
    404: "Not found, or not visible to the caller",
    405: "Method not allowed",
    409: "Conflicts with the current state of the resource",
    413: "The request body is larger than this endpoint accepts (`max_bytes` says how large it may be)",
    415: "Unsupported media type",
    422: "Validation failed; `errors` names each invalid field",
    429: "Too many requests; retry after the Retry-After header",
    500: "Unexpected server error",
    502: "Bad response from an upstream service",
    503: "A service this request needs is unavailable",
    504: "An upstream service did not answer in time",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting problem answers for these codes."""
    return {code: {"model": Problem, "description": _DESCRIPTIONS.get(code, _phrase(code))} for code in codes}


def _rewrite_error_responses(schema: dict[str, Any]) -> None:
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in schema.get("paths", {}).values():
        for method, op in path_item.items():
            if method not in {"get", "put", "post", "delete", "patch", "options", "head", "trace"}:
                continue
            responses = op.setdefault("responses", {})
            has_params = bool(op.get("parameters")) or "requestBody" in op
            if has_params:
                responses.setdefault("422", {"description": _DESCRIPTIONS[422]})
            if has_params:
                responses.setdefault("400", {"description": _DESCRIPTIONS[400]})
            if "requestBody" in op:  # every app limits bodies (servicekit.limits)
                responses.setdefault("413", {"description": _DESCRIPTIONS[413]})
            responses.setdefault("500", {"description": _DESCRIPTIONS[500]})
            for code, resp in responses.items():
                if not str(code).startswith(("4", "5")):
                    continue
                resp["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}}
                if str(code) == "422":
                    resp["description"] = _DESCRIPTIONS[422]
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    if "Problem" not in components:
        components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        defs = components["Problem"].pop("$defs", {})
        components.update(defs)


def problem_openapi(app: FastAPI, *, extra: dict[str, Any] | None = None):
    """Return an ``app.openapi`` replacement producing the rewritten document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
            servers=app.servers,
        )
        _rewrite_error_responses(schema)
        if extra:
            schema.update(extra)
        app.openapi_schema = schema
        return schema

    return openapi
