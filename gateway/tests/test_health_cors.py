"""Aggregated readiness, health, metrics and CORS."""

from __future__ import annotations

from gateway.tests.conftest import Gateway
from gateway.tests.upstream import Recorder


def test_readyz_is_ready_when_every_service_is(gw: Gateway) -> None:
    resp = gw.client.get("/readyz")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "participants", "matching", "sessions", "evaluation", "notifications"}
    assert gw.client.get("/healthz").json() == {"status": "ok", "service": "gateway"}


def test_readyz_lists_the_services_that_are_not_ready(make_gateway, nowhere: str, recorder: Recorder) -> None:
    gw = make_gateway(matching_url=nowhere)
    resp = gw.client.get("/readyz")
    assert resp.status_code == 503
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["detail"] == "Not ready: matching"
    assert body["checks"]["matching"]["ok"] is False and body["checks"]["participants"]["ok"] is True
    recorder.ready = False  # the fake service answers 503 to its /readyz
    try:
        body = gw.client.get("/readyz").json()
    finally:
        recorder.ready = True
    assert body["detail"] == "Not ready: participants, matching, sessions, evaluation, notifications"
    assert "status 503" in body["checks"]["sessions"]["detail"]


def test_metrics_label_proxied_requests_by_prefix(gw: Gateway, admin: dict[str, str]) -> None:
    gw.client.get("/v1/programs/echo", headers=admin)
    text = gw.client.get("/metrics").text
    assert 'route="/v1/programs/{path}"' in text


def test_cors_preflight_when_origins_are_configured(make_gateway) -> None:
    gw = make_gateway(cors_origins="https://app.example,https://other.example")
    preflight = gw.client.options(
        "/v1/institutions",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    refused = gw.client.options(
        "/v1/institutions", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    simple = gw.client.get("/healthz", headers={"Origin": "https://other.example"})
    assert simple.headers["access-control-allow-origin"] == "https://other.example"
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


def test_no_cors_headers_when_no_origins_are_configured(gw: Gateway) -> None:
    resp = gw.client.get("/healthz", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in resp.headers
