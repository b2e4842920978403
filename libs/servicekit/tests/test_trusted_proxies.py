"""Trusted proxies (servicekit.settings.trusted_proxies): by default nobody is
trusted and the client is the TCP peer, whatever X-Forwarded-For says; a
configured proxy's header is believed, from the right, up to the first
address no trusted proxy added."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, Request
from fastapi.testclient import TestClient
from pydantic import ValidationError

from servicekit.app import create_service_app
from servicekit.settings import BaseServiceSettings


def app_with(kit_url: str, key_source: Any, **settings: Any) -> Any:
    router = APIRouter()

    @router.get("/v1/whoami")
    async def whoami(request: Request) -> dict[str, str | None]:
        return {"client": request.client.host if request.client else None, "scheme": request.url.scheme}

    config = BaseServiceSettings(service_name="kit", database_url=kit_url, log_level="WARNING", **settings)
    return create_service_app(settings=config, title="kit", description="proxies", routers=[router], key_source=key_source)


def seen(app: Any, peer: str, forwarded: str | None = None, proto: str | None = None) -> dict[str, str]:
    headers = {}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    if proto is not None:
        headers["X-Forwarded-Proto"] = proto
    with TestClient(app, client=(peer, 40000)) as client:
        return client.get("/v1/whoami", headers=headers).json()


def test_by_default_no_header_is_believed_not_even_from_loopback(kit_url: str, key_source: Any) -> None:
    app = app_with(kit_url, key_source)
    for peer in ("127.0.0.1", "::1", "10.0.0.5", "203.0.113.9"):
        for forged in ("1.2.3.4", "1.2.3.4, 5.6.7.8", "unknown", "", "::1"):
            assert seen(app, peer, forged, "https") == {"client": peer, "scheme": "http"}


def test_a_trusted_proxy_is_believed_and_nobody_else(kit_url: str, key_source: Any) -> None:
    app = app_with(kit_url, key_source, trusted_proxies="10.0.0.0/8, 192.0.2.7")
    # The ingress (trusted) saw 203.0.113.9; whatever that client wrote before is ignored.
    assert seen(app, "10.1.2.3", "203.0.113.9", "https") == {"client": "203.0.113.9", "scheme": "https"}
    assert seen(app, "10.1.2.3", "6.6.6.6, 203.0.113.9")["client"] == "203.0.113.9"
    # Two trusted hops (a load balancer, then the ingress).
    assert seen(app, "192.0.2.7", "203.0.113.9, 10.9.9.9")["client"] == "203.0.113.9"
    # A peer that is not a trusted proxy: its header means nothing.
    assert seen(app, "198.51.100.4", "203.0.113.9", "https") == {"client": "198.51.100.4", "scheme": "http"}
    assert seen(app, "127.0.0.1", "203.0.113.9")["client"] == "127.0.0.1"
    # No header: the peer itself.
    assert seen(app, "10.1.2.3")["client"] == "10.1.2.3"


@pytest.mark.parametrize("bad", ["*", "localhost", "10.0.0.0/33", "not-an-ip", '["*"]'])
def test_trusted_proxies_must_be_addresses_or_networks(bad: str) -> None:
    with pytest.raises(ValidationError):
        BaseServiceSettings(trusted_proxies=bad)
    assert BaseServiceSettings().trusted_proxies == []  # the default trusts nobody
