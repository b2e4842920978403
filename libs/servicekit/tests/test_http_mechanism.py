"""Problems, the unit of work, pagination, idempotency and the feed, over HTTP."""

import pytest
from sqlmodel import func, select

from servicekit.testing import bearer

from .conftest import KitOutbox, Widget


def test_malformed_json_is_a_400_problem(kit, mint) -> None:
    r = kit.post("/v1/widgets", content=b'{"name": ', headers={**bearer(mint()), "content-type": "application/json"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "body"


def test_validation_error_names_the_field(kit, mint) -> None:
    r = kit.post("/v1/widgets", json={"name": "", "colour": "red"}, headers=bearer(mint()))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"body.name", "body.colour"}
    assert "body.name" in r.json()["detail"]


def test_404_405_and_500_are_problems_without_internals(kit, mint) -> None:
    r = kit.get("/v1/nothing-here")
    assert (r.status_code, r.headers["content-type"]) == (404, "application/problem+json")
    r = kit.delete("/v1/widgets", headers=bearer(mint()))
    assert r.status_code == 405 and r.json()["status"] == 405 and "allow" in r.headers
    r = kit.get("/v1/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert "secret internal detail" not in r.text
    assert r.json()["request_id"] == r.headers["x-request-id"]


def test_request_id_is_kept_when_safe_and_replaced_when_not(kit) -> None:
    assert kit.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    replaced = kit.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"}).headers["x-request-id"]
    assert replaced != "bad id\nwith newline" and len(replaced) == 32


def test_error_after_a_write_rolls_everything_back(kit, kit_session, mint) -> None:
    r = kit.post("/v1/widgets", json={"name": "half", "fail_after_write": True}, headers=bearer(mint()))
    assert r.status_code == 409
    assert kit_session.exec(select(func.count()).select_from(Widget)).one() == 0
    assert kit_session.exec(select(func.count()).select_from(KitOutbox)).one() == 0


def test_pagination_walks_every_row_once_in_creation_order(kit, mint) -> None:
    headers = bearer(mint())
    names = [f"w{i:02d}" for i in range(7)]
    for name in names:
        assert kit.post("/v1/widgets", json={"name": name}, headers=headers).status_code == 201
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = kit.get("/v1/widgets", params=params, headers=headers).json()
        seen += [w["name"] for w in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names
    r = kit.get("/v1/widgets", params={"cursor": "not-a-cursor"}, headers=headers)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "query.cursor"
    assert kit.get("/v1/widgets", params={"limit": 201}, headers=headers).status_code == 422


def test_idempotency_key_replays_the_first_result(kit, kit_session, mint) -> None:
    headers = {**bearer(mint(sub="ana")), "Idempotency-Key": "k-1"}
    first = kit.post("/v1/widgets", json={"name": "once"}, headers=headers)
    again = kit.post("/v1/widgets", json={"name": "once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert kit_session.exec(select(func.count()).select_from(Widget)).one() == 1
    other_body = kit.post("/v1/widgets", json={"name": "different"}, headers=headers)
    assert other_body.status_code == 422
    assert other_body.json()["errors"][0]["field"] == "header.idempotency-key"
    # Keys are per caller: another person's identical key is independent.
    other_person = kit.post("/v1/widgets", json={"name": "hers"}, headers={**bearer(mint(sub="eva")), "Idempotency-Key": "k-1"})
    assert other_person.status_code == 201



def test_an_app_whose_routes_take_a_key_needs_a_record_table(kit_url, key_source, mint, capsys) -> None:
    from fastapi.testclient import TestClient

    from servicekit.app import create_service_app
    from servicekit.settings import BaseServiceSettings

    from .conftest import kit_router

    settings = BaseServiceSettings(service_name="kit", database_url=kit_url, log_level="WARNING")
    with pytest.raises(RuntimeError, match=r"routes take an Idempotency-Key \(POST /v1/widgets\) .* pass idempotency_model="):
        create_service_app(settings=settings, title="kit", description="d", key_source=key_source, routers=[kit_router()])
    # A route added after the app was built fails on its first request, key or no key, and nothing is created.
    app = create_service_app(settings=settings, title="kit", description="d", key_source=key_source)
    app.include_router(kit_router())
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/v1/widgets", json={"name": "unprotected"}, headers=bearer(mint()))
        assert r.status_code == 500
        assert client.get("/v1/widgets", headers=bearer(mint())).json()["items"] == []
    assert "POST /v1/widgets takes an Idempotency-Key but the app has no idempotency record table" in capsys.readouterr().out


def test_feed_needs_the_events_scope_and_returns_events_in_order(kit, mint) -> None:
    writer = bearer(mint())
    for name in ("a", "b", "c"):
        kit.post("/v1/widgets", json={"name": name}, headers=writer)
    assert kit.get("/internal/events").status_code == 401
    assert kit.get("/internal/events", headers=bearer(mint(scope="other"))).status_code == 403
    reader = bearer(mint(sub="svc", scope="events:read", client_id="svc"))
    page = kit.get("/internal/events", params={"limit": 2}, headers=reader).json()
    assert [e["payload"]["name"] for e in page["items"]] == ["a", "b"]
    rest = kit.get("/internal/events", params={"after": page["next_cursor"]}, headers=reader).json()
    assert [e["payload"]["name"] for e in rest["items"]] == ["c"]
    empty = kit.get("/internal/events", params={"after": rest["next_cursor"]}, headers=reader).json()
    assert empty == {"items": [], "next_cursor": rest["next_cursor"]}


def test_openapi_documents_errors_as_problems(kit) -> None:
    doc = kit.get("/openapi.json").json()
    op = doc["paths"]["/v1/widgets"]["post"]
    for code in ("400", "401", "403", "422", "500"):
        assert "application/problem+json" in op["responses"][code]["content"], code
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert "Problem" in doc["components"]["schemas"]


def test_health_readiness_and_metrics(kit) -> None:
    assert kit.get("/healthz").json() == {"status": "ok", "service": "kit"}
    assert kit.get("/readyz").json()["status"] == "ready"
    metrics = kit.get("/metrics").text
    assert 'http_requests_total{method="GET",route="/healthz",service="kit",status="200"}' in metrics


def test_readiness_reports_each_failing_check(kit_url, key_source) -> None:
    from fastapi.testclient import TestClient

    from servicekit.app import create_service_app
    from servicekit.observability import CheckResult
    from servicekit.settings import BaseServiceSettings

    async def down() -> CheckResult:
        return CheckResult(ok=False, detail="ConnectError")

    async def broken() -> CheckResult:
        raise RuntimeError("boom")

    app = create_service_app(
        settings=BaseServiceSettings(service_name="kit", database_url=kit_url, log_level="WARNING"),
        title="kit",
        description="d",
        key_source=key_source,
        readiness={"participants": down, "matching": broken},
    )
    with TestClient(app) as client:
        r = client.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["participants"] == {"ok": False, "detail": "ConnectError"}
    assert body["checks"]["matching"] == {"ok": False, "detail": "RuntimeError"}
    assert "participants" in body["detail"] and "matching" in body["detail"]
    with TestClient(app) as client:
        local = client.get("/readyz", params={"scope": "local"})
    assert local.status_code == 200
    assert set(local.json()["checks"]) == {"database"}


def test_metrics_and_logs_use_the_full_route_template_of_nested_routers(kit_url, key_source) -> None:
    from fastapi import APIRouter
    from fastapi.testclient import TestClient

    from servicekit.app import create_service_app
    from servicekit.settings import BaseServiceSettings

    inner = APIRouter()

    @inner.get("/things/{thing_id}", operation_id="get_thing")
    async def get_thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    outer = APIRouter(prefix="/v1")
    outer.include_router(inner)
    app = create_service_app(
        settings=BaseServiceSettings(service_name="kit", database_url=kit_url, log_level="WARNING"),
        title="kit", description="d", key_source=key_source, routers=[outer],
    )
    with TestClient(app) as client:
        assert client.get("/v1/things/7").json() == {"id": 7}
        metrics = client.get("/metrics").text
    assert 'route="/v1/things/{thing_id}"' in metrics
    assert 'route="/v1/things/7"' not in metrics
