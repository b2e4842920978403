"""Idempotent creates at the gateway: servicekit's ``Idempotency-Key``
handling (on the record table the app binds, gateway.main) in one transaction
with the create."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from servicekit.idempotency import Idempotency

from gateway.dependencies import in_transaction

T = TypeVar("T")


async def create_once(request: Request, idem: Idempotency, status: int, create: Callable[[Session], tuple[Any, T]]) -> T | Response:
    """Run ``create(session)`` unless this key was used before, and remember its
    answer; a retry gets the first answer. ``create`` returns what a retry is
    answered (a secret shown once is left out of it) and what this request is."""

    def work(session: Session) -> T | Response:
        replay = idem.replay(session)
        if replay is not None:
            return replay
        remembered, answer = create(session)
        idem.remember(session, status, remembered)
        return answer

    return await in_transaction(request, work)
