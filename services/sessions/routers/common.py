"""What the routers share: 201 documentation, idempotent replays, paths."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from servicekit.idempotency import Idempotency

from services.sessions.models import IdempotencyRecord

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


def replay(idem: Idempotency, session: Session) -> JSONResponse | None:
    return idem.replay(session, IdempotencyRecord)


def remember(idem: Idempotency, session: Session, status: int, result: Any) -> None:
    idem.remember(session, IdempotencyRecord, status, result)


def path_for(request: Request, name: str, **params: Any) -> str:
    return str(request.app.url_path_for(name, **{k: str(v) for k, v in params.items()}))
