"""A fake service on a loopback port: what the gateway proxies to in tests.

It plays participants (``GET /v1/institutions/{id}``, records the token it was
called with), echoes what it received under ``/v1/programs/echo``, streams
large bodies, answers slowly on purpose, sends hop-by-hop headers, and serves
``/readyz`` and ``/openapi.json``.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

KNOWN_INSTITUTIONS = {"0190f1c2-0000-7000-8000-00000000000a", "0190f1c2-0000-7000-8000-00000000000b"}
CHUNK = bytes(range(256)) * 256  # 64 KiB


@dataclass
class Recorder:
    institution_calls: list[dict[str, Any]] = field(default_factory=list)
    echo_calls: int = 0
    ready: bool = True


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Fake participants", "version": "9.9.9"},
    "paths": {
        "/v1/institutions/{institution_id}": {
            "get": {
                "operationId": "get_institution",
                "summary": "Get an institution",
                "tags": ["institutions"],
                "security": [{"aliadaOAuth": []}],
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Institution"}}}},
                    "404": {"description": "nf", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
                },
            }
        },
        "/healthz": {"get": {"operationId": "healthz", "responses": {"200": {"description": "ok"}}}},
        "/internal/events": {"get": {"operationId": "list_internal_events", "responses": {"200": {"description": "ok"}}}},
    },
    "components": {
        "schemas": {
            "Institution": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
            "Problem": {"type": "object", "title": "Not the gateway's Problem"},
        },
        "securitySchemes": {"aliadaOAuth": {"type": "oauth2", "flows": {}}},
    },
    "tags": [{"name": "institutions", "description": "Universities and their campuses"}],
}


def build_app(recorder: Recorder) -> Starlette:
    async def institution(request: Request) -> Response:
        recorder.institution_calls.append(
            {"id": request.path_params["iid"], "authorization": request.headers.get("authorization")}
        )
        if request.path_params["iid"] in KNOWN_INSTITUTIONS:
            return JSONResponse({"id": request.path_params["iid"], "name": "Universidad"})
        return JSONResponse({"title": "Not Found", "status": 404}, status_code=404)

    async def echo(request: Request) -> Response:
        recorder.echo_calls += 1
        digest = hashlib.sha256()
        size = 0
        async for chunk in request.stream():
            digest.update(chunk)
            size += len(chunk)
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers.setdefault(name, []).append(value)
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "raw_path": request.scope["raw_path"].decode(),
                "query": request.url.query,
                "headers": headers,
                "body_sha256": digest.hexdigest(),
                "body_size": size,
            },
            headers={"Set-Cookie": "a=1; Path=/"},
        )

    async def stream(request: Request) -> Response:
        chunks = int(request.query_params.get("chunks", "16"))

        async def body():
            for _ in range(chunks):
                yield CHUNK
                await asyncio.sleep(0)

        return StreamingResponse(body(), media_type="application/octet-stream")

    async def slow(request: Request) -> Response:
        try:
            await asyncio.wait_for(asyncio.Event().wait(), timeout=float(request.query_params.get("seconds", "2")))
        except TimeoutError:
            pass
        return JSONResponse({"slow": True})

    async def hop(request: Request) -> Response:
        return Response(
            b"hop",
            headers={
                "Connection": "x-upstream-hop",
                "X-Upstream-Hop": "1",
                "Keep-Alive": "timeout=5",
                "Proxy-Authenticate": "Basic",
                "X-Kept": "yes",
            },
        )

    async def readyz(request: Request) -> Response:
        if recorder.ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not_ready"}, status_code=503)

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    return Starlette(
        routes=[
            Route("/v1/institutions/{iid}", institution),
            Route("/v1/programs/echo{rest:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            Route("/v1/programs/stream", stream),
            Route("/v1/programs/slow", slow),
            Route("/v1/programs/hop", hop),
            Route("/readyz", readyz),
            Route("/openapi.json", openapi),
        ]
    )


class UpstreamServer:
    """uvicorn in a thread, on a socket bound to a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> UpstreamServer:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self
            self.thread.join(0.01)
        raise RuntimeError("fake upstream did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)
        self.sock.close()


def dead_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
