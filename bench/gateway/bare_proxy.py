"""The anchor of bench/gateway: the least a reverse proxy can do in Python.

An aiohttp server that sends every request to one upstream on a pooled
aiohttp session and passes the answer back: method, path, query, headers
(minus the hop-by-hop ones and Host) and body each way. No authentication, no
rate limit, no request id, no metrics, no problem documents: what the gateway
adds on top of this is what the benchmark holds against it.

    python -m bench.gateway.bare_proxy --port 9000 --upstream http://127.0.0.1:8001
"""

from __future__ import annotations

import argparse
import asyncio

import uvloop
from aiohttp import ClientSession, TCPConnector, web

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "host", "content-length"}
)


def build(upstream: str) -> web.Application:
    async def open_session(app: web.Application):
        app["session"] = ClientSession(connector=TCPConnector(limit=100), auto_decompress=False)
        yield
        await app["session"].close()

    async def forward(request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read() if request.can_read_body else None
        async with request.app["session"].request(
            request.method, upstream + request.rel_url.raw_path_qs, headers=headers, data=body, allow_redirects=False
        ) as answer:
            payload = await answer.read()
            out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=answer.status, body=payload, headers=out)

    app = web.Application()
    app.cleanup_ctx.append(open_session)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="base URL of the service, e.g. http://127.0.0.1:8001")
    args = parser.parse_args()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())  # as uvicorn runs the gateway
    web.run_app(build(args.upstream.rstrip("/")), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
