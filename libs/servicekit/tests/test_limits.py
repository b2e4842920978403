"""Body limits (servicekit.limits): a body over its route's limit is a 413
problem whether it declares its length or streams in chunks, the app holds at
most one chunk past the limit, nothing is written, and the one route allowed a
larger body gets it. Also: JSON nested too deep is a 400, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, Request
from fastapi.testclient import TestClient
from pydantic import Field
from sqlmodel import func, select

from servicekit.app import create_service_app
from servicekit.auth import CurrentPrincipal
from servicekit.db import SessionDep
from servicekit.inputs import InputModel
from servicekit.limits import BodyLimitMiddleware, RoutePatterns
from servicekit.settings import BaseServiceSettings
from servicekit.testing import bearer

from .conftest import Widget

LIMIT = 4096
UPLOAD_LIMIT = 64 * 1024
CHUNK = 1024


class Blob(InputModel):
    name: str = Field(max_length=50)
    data: Any = None


def blobs_router(seen: list[int]) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/blobs", status_code=201, operation_id="create_blob")
    def create_blob(body: Blob, session: SessionDep, _p: CurrentPrincipal) -> dict[str, str]:
        session.add(Widget(name=body.name))
        return {"name": body.name}

    @router.post("/v1/uploads/{upload_id}", status_code=201, operation_id="upload")
    async def upload(upload_id: str, request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            seen.append(size)
        return {"size": size}

    @router.post("/v1/ignores-body", operation_id="ignores_body")
    async def ignores_body() -> dict[str, bool]:
        return {"ok": True}

    return router


@pytest.fixture()
def seen() -> list[int]:
    return []


@pytest.fixture()
def app_client(kit_url: str, key_source: Any, seen: list[int]) -> Iterator[TestClient]:
    settings = BaseServiceSettings(service_name="kit", database_url=kit_url, log_level="WARNING", max_body_bytes=LIMIT)
    app = create_service_app(
        settings=settings,
        title="kit",
        description="body limits",
        routers=[blobs_router(seen)],
        key_source=key_source,
        body_limits={"POST /v1/uploads/{upload_id}": UPLOAD_LIMIT},
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def chunks(total: int, size: int = CHUNK) -> Iterator[bytes]:
    """A body without Content-Length (chunked), ``total`` bytes of JSON-ish text."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        yield b"a" * piece
        sent += piece


def too_large(r: Any, limit: int) -> None:
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "urn:aliada:problem:too-large" and body["max_bytes"] == limit and str(limit) in body["detail"]
    assert body["request_id"] == r.headers["x-request-id"]


def widgets(kit_session: Any) -> int:
    return kit_session.exec(select(func.count()).select_from(Widget)).one()


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(app_client, kit_session, mint) -> None:
    body = b'{"name": "big", "data": "' + b"x" * (2 * LIMIT) + b'"}'
    r = app_client.post("/v1/blobs", content=body, headers={**bearer(mint()), "content-type": "application/json"})
    too_large(r, LIMIT)
    assert widgets(kit_session) == 0


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(app_client, kit_session, mint, seen) -> None:
    headers = {**bearer(mint()), "content-type": "application/json"}
    too_large(app_client.post("/v1/blobs", content=chunks(10 * LIMIT), headers=headers), LIMIT)
    assert widgets(kit_session) == 0
    too_large(app_client.post("/v1/uploads/u1", content=chunks(10 * UPLOAD_LIMIT)), UPLOAD_LIMIT)


async def test_the_body_is_counted_as_it_arrives_and_reading_stops_at_the_limit(app_client) -> None:
    """At the ASGI level, where the server hands the body over chunk by chunk:
    the app pulls at most one chunk past the limit, however long the body."""
    app = app_client.app
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"a" * CHUNK, "more_body": pulled < 10_000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/uploads/u9", "raw_path": b"/v1/uploads/u9", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"kit"), (b"transfer-encoding", b"chunked")], "client": ("127.0.0.1", 5000),
        "server": ("kit", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert pulled <= UPLOAD_LIMIT // CHUNK + 1  # 10 000 chunks offered, the limit's worth read


def test_bodies_within_the_limit_pass_and_the_upload_route_gets_its_own_limit(app_client, kit_session, mint) -> None:
    ok = app_client.post("/v1/blobs", json={"name": "small", "data": "x" * (LIMIT // 2)}, headers=bearer(mint()))
    assert ok.status_code == 201, ok.text
    assert widgets(kit_session) == 1
    upload = app_client.post("/v1/uploads/u2", content=b"z" * (UPLOAD_LIMIT - 10))
    assert upload.status_code == 201 and upload.json() == {"size": UPLOAD_LIMIT - 10}
    streamed = app_client.post("/v1/uploads/u3", content=chunks(UPLOAD_LIMIT))
    assert streamed.status_code == 201 and streamed.json() == {"size": UPLOAD_LIMIT}
    too_large(app_client.post("/v1/uploads/u4", content=b"z" * (UPLOAD_LIMIT + 1)), UPLOAD_LIMIT)
    # The larger limit belongs to that route only.
    too_large(app_client.post("/v1/blobs", content=b"z" * (LIMIT + 1), headers=bearer(mint())), LIMIT)


def test_a_route_that_never_reads_the_body_answers_as_usual(app_client) -> None:
    r = app_client.post("/v1/ignores-body", content=chunks(10 * LIMIT))
    assert r.status_code == 200


def test_json_nested_too_deep_is_a_client_error(app_client, kit_session, mint) -> None:
    deep = b'{"name": "deep", "data": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    assert len(deep) < LIMIT * 2
    r = app_client.post("/v1/uploads/x", content=deep)  # within the upload limit: only the parser sees it
    assert r.status_code == 201
    settings_limit_ok = b'{"name": "deep", "data": ' + b"[" * 1900 + b"]" * 1900 + b"}"
    r = app_client.post("/v1/blobs", content=settings_limit_ok, headers={**bearer(mint()), "content-type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert widgets(kit_session) == 0


def test_route_patterns() -> None:
    rules = RoutePatterns({"POST /v1/a/{id}/files": 1, "GET,HEAD /v1/b": 2, "/v1/c/{x}": 3})
    assert rules.get("POST", "/v1/a/123/files") == 1 and rules.get("PUT", "/v1/a/123/files") is None
    assert rules.get("POST", "/v1/a/1/2/files") is None and rules.get("POST", "/v1/a/123/files/x") is None
    assert rules.get("HEAD", "/v1/b") == 2 and rules.get("DELETE", "/v1/c/z") == 3
    with pytest.raises(ValueError):
        BodyLimitMiddleware(None, default=-1)  # type: ignore[arg-type]
