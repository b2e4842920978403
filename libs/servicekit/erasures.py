"""Erasure that holds against the events already on their way.

A feed consumer may have read an event about her before the erasure reached
its source (whose outbox is scrubbed at erasure) and write it after the
erasure reached this service: her account id would come back in a row written
from that event. Two rules close that window, in any service whose consumers
write rows keyed by an account id:

- ``hold_feeds``: the erasure first takes every feed cursor row of the service
  (a write, so a row lock on PostgreSQL and the write lock on SQLite). A
  consumer takes its cursor row first in each event's transaction
  (servicekit.consumer), so the erasure waits for the event being handled and
  every later event waits for the erasure.
- ``remember``: the erasure leaves a one-way digest of (institution, account)
  in ``erased_subjects``; a handler asks ``erased`` before writing a row for an
  account, and writes nothing for her.

The digest is SHA-256 of the institution and the account id (a random id the
gateway issued): it cannot be read back into her id, and says only "this
account was erased here". It is not personal data by purpose, and is kept as
long as events about her may still be read.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, Session, SQLModel, col, select

from servicekit.consumer import FeedCursorBase
from servicekit.db import UtcDateTime
from servicekit.outbox import utcnow


class ErasedSubjectBase(SQLModel):
    institution_id: uuid.UUID = Field(primary_key=True)
    digest: str = Field(primary_key=True, max_length=64)
    erased_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)

    @declared_attr  # type: ignore[misc]
    def __tablename__(cls) -> str:  # noqa: N805
        return "erased_subjects"


NOT_PERSONAL = {
    "erased_subjects": "one-way digests of accounts erased here, so that an event read before her erasure "
    "cannot write her back; no id of hers can be read from them",
}


def digest(institution_id: uuid.UUID, account_id: str) -> str:
    return hashlib.sha256(f"{institution_id}:{account_id}".encode()).hexdigest()


def hold_feeds(session: Session, cursor_model: type[FeedCursorBase]) -> None:
    """Wait for the consumers' transactions in flight, and hold later ones until this one ends."""
    session.execute(update(cursor_model).values(updated_at=utcnow()))


def remember(session: Session, model: type[ErasedSubjectBase], institution_id: uuid.UUID, account_id: str) -> None:
    key = digest(institution_id, account_id)
    if session.get(model, (institution_id, key)) is None:
        session.add(model(institution_id=institution_id, digest=key))
        session.flush()


def erased(session: Session, model: type[ErasedSubjectBase], institution_id: uuid.UUID, account_ids: Iterable[str]) -> set[str]:
    """The accounts among ``account_ids`` that were erased in this institution."""
    by_digest = {digest(institution_id, a): a for a in set(account_ids) if a}
    if not by_digest:
        return set()
    found = session.exec(select(model.digest).where(model.institution_id == institution_id,
                                                    col(model.digest).in_(list(by_digest)))).all()
    return {by_digest[d] for d in found}
