"""What the routers share: the prefix, 201 documentation, idempotent replays, the session in a thread."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from servicekit.idempotency import Idempotency

from services.matching import db
from services.matching.dependencies import in_thread

PREFIX = "/v1/matching"

CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Created; `Location` is the new resource's path",
        "headers": {
            "Location": {"description": "Path of the created resource.", "required": True, "schema": {"type": "string"}},
            "Idempotent-Replayed": {
                "description": "`true` when this answers a retry with the same `Idempotency-Key`.",
                "schema": {"type": "string", "enum": ["true"]},
            },
        },
    }
}


async def replay(idem: Idempotency, session: Any) -> JSONResponse | None:
    return await in_thread(db.replayed, idem, session)


async def remember(idem: Idempotency, session: Any, status: int, result: Any) -> None:
    await in_thread(db.remember, idem, session, status, result)


def path_for(request: Request, name: str, **params: Any) -> str:
    return str(request.app.url_path_for(name, **{k: str(v) for k, v in params.items()}))
