"""Idempotent creates: the first answer to a request, kept under its
``Idempotency-Key`` in this service's table, and given again on a retry."""

from __future__ import annotations

from typing import Any

from servicekit.idempotency import Idempotency
from sqlmodel import Session
from starlette.responses import JSONResponse

from services.evaluation.models import IdempotencyRecord


def replay(idem: Idempotency, session: Session) -> JSONResponse | None:
    """The stored answer to this key and request, or None when it is the first."""
    return idem.replay(session, IdempotencyRecord)


def remember(idem: Idempotency, session: Session, status: int, body: Any) -> None:
    """Keep the answer to this key and request, in the request's transaction."""
    idem.remember(session, IdempotencyRecord, status, body)
