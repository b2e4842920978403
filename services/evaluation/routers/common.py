"""What the routers share: 201 documentation."""

from __future__ import annotations

from typing import Any

CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Created; `Location` is the new resource's path",
        "headers": {
            "Location": {"description": "Path of the created resource.", "required": True, "schema": {"type": "string"}},
            "Idempotent-Replayed": {"description": "`true` when this answers a retry with the same `Idempotency-Key`.",
                                    "schema": {"type": "string", "enum": ["true"]}},
        },
    }
}
