"""What the routers share: 201 documentation, idempotent replays in a thread."""

from __future__ import annotations

from typing import Any

from servicekit.idempotency import Idempotency

from services.evaluation import idempotency
from services.evaluation.access import in_thread

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


async def replay(idem: Idempotency, session: Any) -> Any:
    return await in_thread(idempotency.replay, idem, session)


async def remember(idem: Idempotency, session: Any, status: int, body: Any) -> None:
    await in_thread(idempotency.remember, idem, session, status, body)
