"""What every router of the service shares: the 201 documentation, paging,
Location headers and idempotent replays.

No domain rule lives in a router. Each route declares its caller first (an
alias of ``dependencies``, or ``CurrentPrincipal`` when the decision needs
the data, which ``access`` then makes), then ``IdempotencyDep`` on creating
POSTs, then its body and session. Route function names equal their
operation ids, so ``url_path_for`` finds them.
"""

import json
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from servicekit.pagination import Page

# Documents the Location header of every 201 (a replayed creation carries it too).
CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Created; `Location` is the new resource's path",
        "headers": {
            "Location": {
                "description": "Path of the created resource.",
                "required": True,
                "schema": {"type": "string"},
            },
            "Idempotent-Replayed": {
                "description": "`true` when this answers a retry with the same `Idempotency-Key`.",
                "schema": {"type": "string", "enum": ["true"]},
            },
        },
    }
}


def page(model: type[BaseModel], rows: list[Any], next_cursor: str | None) -> Any:
    items = [model.model_validate(row) for row in rows]
    return Page[model](items=items, next_cursor=next_cursor)  # type: ignore[valid-type]


def location(request: Request, route: str, **params: uuid.UUID | str) -> str:
    return str(request.app.url_path_for(route, **{k: str(v) for k, v in params.items()}))


def replayed(replay: JSONResponse, request: Request, route: str, id_param: str, **params: uuid.UUID) -> JSONResponse:
    """A replayed creation answers like the first one, Location included."""
    created_id = json.loads(bytes(replay.body))["id"]
    replay.headers["Location"] = location(request, route, **params, **{id_param: created_id})
    return replay
