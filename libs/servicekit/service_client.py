"""Typed calls from one service to another.

``ServiceClient`` is where a call to another service becomes either a
validated pydantic model or a problem of the calling service. A service
instantiates it with the other service's name and base URL (or subclasses it
to give its calls names) and passes each call the token to send: the caller's
own when it acts for her, its own (``servicekit.service_auth``) otherwise.
Answers are read into ``UpstreamModel`` subclasses that hold only the fields
the caller reads, so the other service may add fields freely.

How an answer becomes a problem (one rule for every service):

- no connection, a dropped connection, or a 5xx: 503 ``upstream-unavailable``;
  no answer in time: 504 ``upstream-timeout`` (``servicekit.http``);
- 401, 403, 404: this service's own 401 ``unauthorized``, 403 ``forbidden`` and
  404 ``not-found`` naming what was asked for, so the caller learns what she
  would have learnt from the other service, in this service's words;
- 409, 422: the same status (``conflict``, ``upstream-refused``) carrying the
  other service's ``detail``, which is written for clients and says what to
  change. Its ``errors`` are dropped: they name fields of a request the caller
  never sent;
- a success whose body is not JSON or does not fit the model: 502
  ``upstream-invalid`` naming the service. The body is never repeated, to the
  caller or to the log;
- any other status (a 400, a 429, a redirect): 503 ``upstream-unavailable``.

Only idempotent methods (GET, PUT, DELETE) are retried, on connection errors
and 502/503/504, by the transport of ``make_async_client``; POST and PATCH are
sent once.
"""

from __future__ import annotations

import logging
from typing import Any, Self, TypeVar, overload

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from servicekit.auth import unauthorized
from servicekit.http import make_async_client, upstream_invalid, upstream_problem
from servicekit.pagination import MAX_LIMIT, Page
from servicekit.problems import ProblemError, conflict, forbidden, not_found

log = logging.getLogger("servicekit.service_client")

M = TypeVar("M", bound=BaseModel)

MAX_DETAIL = 500  # characters of another service's detail passed on


class UpstreamModel(BaseModel):
    """An answer of another service as the caller reads it: extra fields ignored, immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ServiceClient:
    """One other service, behind a pooled client with timeouts and idempotent retries.

    ``what`` on each call names the resource in this service's 403/404 problems
    ("Program" gives "Program not found"). ``page`` follows ``next_cursor``
    through at most ``max_pages`` pages of ``page_size`` items.
    """

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff_factor: float = 0.1,
        page_size: int = MAX_LIMIT,
        max_pages: int = 500,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.service = service
        self.page_size = page_size
        self.max_pages = max_pages
        self.http = make_async_client(base_url, timeout=timeout, retries=retries, backoff_factor=backoff_factor,
                                      inner_transport=transport)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get(self, path: str, model: type[M], *, token: str, what: str = "Resource",
                  params: dict[str, Any] | None = None) -> M:
        return self._read(model, await self._send("GET", path, token, what, params=params))

    async def page(self, path: str, model: type[M], *, token: str, what: str = "Resource",
                   params: dict[str, Any] | None = None) -> list[M]:
        """Every item of a list, page after page."""
        items: list[M] = []
        cursor: str | None = None
        for _ in range(self.max_pages):
            query = {**(params or {}), "limit": self.page_size, **({"cursor": cursor} if cursor else {})}
            page = self._read(Page[model], await self._send("GET", path, token, what, params=query))  # type: ignore[valid-type]
            items.extend(page.items)
            if not page.next_cursor:
                return items
            cursor = page.next_cursor
        log.warning("upstream list too long", extra={"service": self.service, "pages": self.max_pages})
        raise upstream_invalid(self.service, f"its list did not end within {self.max_pages} pages")

    async def post(self, path: str, model: type[M], *, token: str, what: str = "Resource", json: Any = None) -> M:
        return self._read(model, await self._send("POST", path, token, what, json=json))

    async def put(self, path: str, model: type[M], *, token: str, what: str = "Resource", json: Any = None) -> M:
        return self._read(model, await self._send("PUT", path, token, what, json=json))

    async def patch(self, path: str, model: type[M], *, token: str, what: str = "Resource", json: Any = None) -> M:
        return self._read(model, await self._send("PATCH", path, token, what, json=json))

    @overload
    async def delete(self, path: str, model: None = None, *, token: str, what: str = "Resource") -> None: ...

    @overload
    async def delete(self, path: str, model: type[M], *, token: str, what: str = "Resource") -> M: ...

    async def delete(self, path: str, model: type[M] | None = None, *, token: str, what: str = "Resource") -> M | None:
        """Without a model the answer's body is not read (a 204)."""
        resp = await self._send("DELETE", path, token, what)
        return None if model is None else self._read(model, resp)

    async def _send(self, method: str, path: str, token: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            resp = await self.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        except httpx.HTTPError as exc:
            log.warning("upstream call failed", extra={"service": self.service, "method": method, "error": type(exc).__name__})
            raise upstream_problem(self.service, exc) from None
        status = resp.status_code
        if 200 <= status < 300:
            return resp
        if status == 401:
            raise unauthorized("The access token was refused")
        if status == 403:
            raise forbidden(f"Not allowed to {'read' if method == 'GET' else 'change'} this {what.lower()}")
        if status == 404:
            raise not_found(what)
        if status == 409:
            raise conflict(_detail(resp, f"The {what.lower()} changed meanwhile"), service=self.service)
        if status == 422:
            raise ProblemError(422, _detail(resp, f"The {self.service} service refused this change to the {what.lower()}"),
                               slug="upstream-refused", service=self.service)
        log.warning("upstream refused a call", extra={"service": self.service, "method": method, "status": status})
        raise upstream_problem(self.service, httpx.HTTPStatusError(str(status), request=resp.request, response=resp))

    def _read(self, model: type[M], resp: httpx.Response) -> M:
        try:
            return model.model_validate(resp.json())
        except ValueError as exc:  # not JSON (json.JSONDecodeError) or not the model (ValidationError)
            kind = "does not fit the expected schema" if isinstance(exc, ValidationError) else "is not JSON"
            log.warning("upstream answer unreadable", extra={"service": self.service, "status": resp.status_code, "error": kind})
            raise upstream_invalid(self.service, f"its answer {kind}") from None


def _detail(resp: httpx.Response, default: str) -> str:
    """The other service's problem ``detail``, or ``default`` when it has none."""
    try:
        body = resp.json()
    except ValueError:
        return default
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail[:MAX_DETAIL] if isinstance(detail, str) and detail else default
