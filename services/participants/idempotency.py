"""Idempotent creations: servicekit's ``Idempotency-Key`` rule on this
service's own record table, so that the routes never name the table."""

from typing import Any

from fastapi.responses import JSONResponse
from sqlmodel import Session

from servicekit.idempotency import Idempotency

from services.participants.models import IdempotencyRecord


def replay(idem: Idempotency, session: Session) -> JSONResponse | None:
    """The first answer, when this key was already used for this request."""
    return idem.replay(session, IdempotencyRecord)


def remember(idem: Idempotency, session: Session, created: Any) -> None:
    """Keep the answer of a creation (201) for a retry with the same key."""
    idem.remember(session, IdempotencyRecord, 201, created)
