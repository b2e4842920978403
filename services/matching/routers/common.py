"""What the routers share: the prefix, 201 documentation, Location paths."""

from __future__ import annotations

from typing import Any

from fastapi import Request

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


def path_for(request: Request, name: str, **params: Any) -> str:
    return str(request.app.url_path_for(name, **{k: str(v) for k, v in params.items()}))
