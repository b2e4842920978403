"""The gateway's own calls to the services: the institution check and readiness.

Both use servicekit's client factory (explicit timeouts; idempotent retries).
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx

from servicekit.http import upstream_problem
from servicekit.observability import CheckResult, ReadinessCheck
from servicekit.problems import ProblemError
from servicekit.references import unknown_field

from gateway.minting import Minter

log = logging.getLogger("gateway.upstreams")


class Participants:
    """The participants service, as the gateway needs it."""

    def __init__(self, base_url: str, minter: Minter) -> None:
        self.base_url = base_url
        self.minter = minter
        self.client: httpx.AsyncClient | None = None  # set in the lifespan

    async def check_institution(self, institution_id: str, field: str = "body.institution_id") -> None:
        """422 unknown-reference naming ``field`` when the institution does not
        exist (servicekit.references' answer); 503/504 when participants cannot say."""
        assert self.client is not None
        token = await self.minter.internal_token()
        url = f"{self.base_url}/v1/institutions/{quote(institution_id, safe='')}"
        try:
            resp = await self.client.get(url, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            log.warning("institution check failed", extra={"error": type(exc).__name__})
            raise upstream_problem("participants", exc) from None
        if resp.status_code == 200:
            return
        if resp.status_code in (404, 422):  # no such institution, or not an id participants accepts
            raise unknown_field(field, "an institution")
        log.warning("institution check refused", extra={"status": resp.status_code})
        raise ProblemError(
            503,
            f"The participants service could not confirm the institution (status {resp.status_code})",
            slug="upstream-unavailable",
            service="participants",
        )


class ServiceReadiness:
    """Readiness of every service: one check per service, probing its /readyz
    with a short timeout (servicekit runs the checks concurrently)."""

    def __init__(self, urls: dict[str, str], timeout: float) -> None:
        self.urls = urls
        self.timeout = timeout
        self.client: httpx.AsyncClient | None = None  # set in the lifespan

    async def probe(self, name: str) -> CheckResult:
        assert self.client is not None
        try:
            resp = await self.client.get(f"{self.urls[name]}/readyz", timeout=self.timeout)
        except httpx.TimeoutException:
            return CheckResult(ok=False, detail=f"no answer within {self.timeout:g}s")
        except httpx.HTTPError as exc:
            return CheckResult(ok=False, detail=f"unreachable ({type(exc).__name__})")
        if resp.status_code == 200:
            return CheckResult(ok=True)
        return CheckResult(ok=False, detail=f"not ready (status {resp.status_code})")

    def checks(self) -> dict[str, ReadinessCheck]:
        def check_for(name: str) -> ReadinessCheck:
            async def check() -> CheckResult:
                return await self.probe(name)

            return check

        return {name: check_for(name) for name in self.urls}
