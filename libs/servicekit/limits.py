"""Request body limits: every app refuses a body larger than it can use with a
413, while the body streams in, never after reading it all.

``BodyLimitMiddleware`` (installed by ``create_service_app``) takes the app's
default limit (``<PREFIX>_MAX_BODY_BYTES``, 1 MiB unless set) and, for the
few routes that legitimately take more (a roster upload), a larger one by
route pattern (``"POST /v1/institutions/{institution_id}/roster-imports"``).

The body is read through a ``receive`` that counts: the first read of a body
whose declared ``Content-Length`` is over the limit, or the read whose bytes
cross it (chunked bodies, or a client that lies), raises ``BodyTooLarge``
(an HTTP 413), so at most one chunk past the limit is ever held. The app's
handlers answer it in their format (a problem, or a SCIM error on SCIM
routes). Should something between turn it into another failure (the
gateway's proxy streaming the body upstream sees a broken upload), the
answer is replaced by the 413 problem. A route that never reads the body
never pays for it.

Starlette has a body limiter of its own; it answers in plain text and
replaces the app's answer whenever the declared length is over the limit,
which would break both problem+json and SCIM errors, so it is not used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Generic, TypeVar

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.problems import PROBLEM_MEDIA_TYPE, too_large_problem

DEFAULT_MAX_BODY_BYTES = 1024 * 1024

V = TypeVar("V")


class RoutePatterns(Generic[V]):
    """Route patterns ``"METHOD /path/{param}"`` (``*`` or ``GET,POST`` as
    method; a bare path means any method) and a value for each. A ``{param}``
    matches one path segment; the first pattern that matches wins."""

    def __init__(self, patterns: Mapping[str, V]) -> None:
        self._rules: list[tuple[frozenset[str] | None, re.Pattern[str], V]] = []
        for pattern, value in patterns.items():
            method, _, path = pattern.strip().partition(" ")
            if not path:
                method, path = "*", method
            regex = "".join(
                "[^/]+" if re.fullmatch(r"\{[^/{}]+\}", part) else re.escape(part)
                for part in re.split(r"(\{[^/{}]+\})", path.strip())
            )
            methods = None if method == "*" else frozenset(m.strip().upper() for m in method.split(","))
            self._rules.append((methods, re.compile(regex + r"\Z"), value))

    def __bool__(self) -> bool:
        return bool(self._rules)

    def get(self, method: str, path: str) -> V | None:
        for methods, regex, value in self._rules:
            if (methods is None or method in methods) and regex.match(path):
                return value
        return None


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"The request body is larger than {limit} bytes, the most this endpoint accepts")
        self.limit = limit


class BodyLimitMiddleware:
    """Pure ASGI: the body limit of each request (module doc)."""

    def __init__(self, app: ASGIApp, *, default: int = DEFAULT_MAX_BODY_BYTES, overrides: Mapping[str, int] | None = None) -> None:
        if default < 0 or any(v < 0 for v in (overrides or {}).values()):
            raise ValueError("body limits are byte counts, never negative")
        self.app = app
        self.default = default
        self.overrides = RoutePatterns(dict(overrides or {}))

    def limit(self, method: str, path: str) -> int:
        found = self.overrides.get(method, path) if self.overrides else None
        return self.default if found is None else found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope.get("method", "GET"), scope.get("path", ""))
        scope[MAX_BODY_SIZE_SCOPE_KEY] = limit
        declared = _content_length(scope)
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if declared is not None and declared > limit:
                exceeded = True
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def checked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                if exceeded and message["status"] != 413:
                    # Something between turned the refusal into another failure.
                    raise _Replace
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, checked_send)
        except (_Replace, BodyTooLarge):
            if started:  # an answer is on its way: too late for another
                raise
            problem = too_large_problem(limit)
            problem.instance = scope.get("path")
            problem.request_id = (scope.get("state") or {}).get("request_id")
            response = JSONResponse(
                problem.model_dump(exclude_none=True), status_code=413, media_type=PROBLEM_MEDIA_TYPE, headers={"Connection": "close"}
            )
            await response(scope, receive, send)


class _Replace(Exception):
    """Internal: the app answered a refused body with something else than a 413."""


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
