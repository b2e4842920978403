"""Database wiring of the matching service: migrations live beside this file, and
the idempotency records of its creating requests are kept in its own table."""

from pathlib import Path
from typing import Any

from fastapi.responses import JSONResponse
from sqlmodel import Session

from servicekit.idempotency import Idempotency
from servicekit.migrations import upgrade

from services.matching.config import Settings
from services.matching.models import IdempotencyRecord

SERVICE_DIR = Path(__file__).resolve().parent


def migrate(url: str | None = None) -> None:
    upgrade(SERVICE_DIR, url or Settings().effective_database_url)


def replayed(idem: Idempotency, session: Session) -> JSONResponse | None:
    """The first answer, when this request retries one with the same ``Idempotency-Key``."""
    return idem.replay(session, IdempotencyRecord)


def remember(idem: Idempotency, session: Session, status: int, result: Any) -> None:
    idem.remember(session, IdempotencyRecord, status, result)
