"""httpx clients for calls between apps.

Every client has explicit timeouts. Retries (with exponential backoff and
jitter, via ``httpx-retries``) apply to idempotent methods only: GET, HEAD,
OPTIONS, PUT, DELETE. A POST is never sent twice by this layer. A dependency
that is down or slow becomes a 503 (or 504) problem (``upstream_problem``), an
answer that cannot be used a 502 (``upstream_invalid``), never a hang.
``servicekit.service_client`` applies these to every typed call.
"""

from __future__ import annotations

import functools
import ssl

import certifi
import httpx
import structlog
from httpx_retries import Retry, RetryTransport

from servicekit.observability import REQUEST_ID_HEADER
from servicekit.problems import ProblemError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def default_timeout(total: float = 5.0) -> httpx.Timeout:
    return httpx.Timeout(total, connect=min(2.0, total))


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one verifying TLS context every client shares. Building one loads the
    CA bundle, tens of milliseconds of CPU: a context per client made a feed
    consumer that opens a client per poll the busiest thing in an idle app."""
    return ssl.create_default_context(cafile=certifi.where())


async def pass_request_id(request: httpx.Request) -> None:
    """A call made while serving a request carries that request's id
    (``X-Request-ID``), so one id follows it through every app's logs."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = request_id


def make_async_client(
    base_url: str = "",
    *,
    timeout: float = 5.0,
    retries: int = 2,
    backoff_factor: float = 0.1,
    max_connections: int = 100,
    headers: dict[str, str] | None = None,
    inner_transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    retry = Retry(
        total=retries,
        allowed_methods=IDEMPOTENT_METHODS,
        status_forcelist=[502, 503, 504],
        retry_on_exceptions=[httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout, httpx.RemoteProtocolError],
        backoff_factor=backoff_factor,
        max_backoff_wait=2.0,
    )
    transport = RetryTransport(
        transport=inner_transport
        or httpx.AsyncHTTPTransport(
            verify=tls_context(),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        ),
        retry=retry,
    )
    return httpx.AsyncClient(base_url=base_url, timeout=default_timeout(timeout), transport=transport, headers=headers,
                             event_hooks={"request": [pass_request_id]})


def upstream_problem(service: str, exc: Exception) -> ProblemError:
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return ProblemError(504, f"The {service} service did not answer in time", slug="upstream-timeout", service=service)
    return ProblemError(503, f"The {service} service is unavailable", slug="upstream-unavailable", service=service)


def upstream_invalid(service: str, why: str) -> ProblemError:
    """A 502 naming the service and what was wrong with its answer (never the answer itself)."""
    return ProblemError(502, f"The {service} service gave an answer that cannot be used: {why}",
                        slug="upstream-invalid", service=service)
