"""Idempotent creates: servicekit's ``Idempotency-Key`` handling on this service's record table."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from sqlmodel import Session

from servicekit.idempotency import Idempotency

from services.sessions.models import IdempotencyRecord


def replay(idem: Idempotency, session: Session) -> JSONResponse | None:
    """The first answer to a retry with the same key, or ``None`` for a new request."""
    return idem.replay(session, IdempotencyRecord)


def remember(idem: Idempotency, session: Session, status: int, result: Any) -> None:
    """Keep ``result`` as the answer to every retry with this request's key (in the same transaction)."""
    idem.remember(session, IdempotencyRecord, status, result)
