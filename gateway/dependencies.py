"""The unit of work of the gateway's own routes (async routes, sync SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Request
from servicekit.db import session_scope

T = TypeVar("T")

_scope = contextmanager(session_scope)


async def in_transaction(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(session, *args)`` in a worker thread, in one transaction that
    commits when it returns and rolls back when it raises."""
    engine = request.app.state.engine

    def work() -> T:
        with _scope(engine) as session:
            return fn(session, *args)

    return await anyio.to_thread.run_sync(work)

