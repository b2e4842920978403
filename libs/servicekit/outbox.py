"""Transactional outbox and its ordered feed (docs/architecture.md, "Events").

A service declares its outbox table from ``OutboxEventBase`` on its own base::

    class OutboxEvent(OutboxEventBase, Base, table=True):
        __tablename__ = "outbox_events"

and writes events with ``emit(session, OutboxEvent, ...)`` in the same
transaction as the change. ``feed_router`` serves them as
``GET /internal/events?after=<cursor>`` to service tokens (scope
``events:read``).

Ordering without gaps. A feed ordered by an autoincrement id loses events on
PostgreSQL: a transaction that took id 5 may commit after one that took id 6
was already read. Each event therefore records the id of its transaction
(``pg_current_xact_id()``), and the feed is ordered by ``(txid, id)`` and
returns only events of transactions older than the oldest one still running
(``pg_snapshot_xmin``). Such transactions are finished, so nothing can later
appear before the cursor. SQLite serialises writers, so ``txid`` is 0 there and
the order is the id order.
"""


import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field as PField
from sqlalchemy import JSON, BigInteger, or_, text
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, Session, SQLModel, select
from uuid6 import uuid7

from servicekit.auth import Principal, require_scopes
from servicekit.pagination import decode_cursor, encode_cursor
from servicekit.problems import field_problem, problem_responses
from servicekit import scopes

EVENTS_SCOPE = scopes.EVENTS_READ


def utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxEventBase(SQLModel):
    id: int | None = Field(default=None, primary_key=True)
    event_id: uuid.UUID = Field(default_factory=uuid7, unique=True)
    txid: int = Field(default=0, sa_type=BigInteger, index=True)
    type: str = Field(max_length=100, index=True)
    tenant_id: str | None = Field(default=None, max_length=64, index=True)
    subject: str = Field(max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    occurred_at: datetime = Field(default_factory=utcnow)

    @declared_attr  # type: ignore[misc]
    def __tablename__(cls) -> str:  # noqa: N805
        return "outbox_events"


def _current_txid(session: Session) -> int:
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return 0
    return int(session.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one())


def emit(
    session: Session,
    model: type[OutboxEventBase],
    event_type: str,
    *,
    subject: Any,
    tenant_id: Any = None,
    payload: dict[str, Any] | None = None,
) -> OutboxEventBase:
    """Add an event to the session; it commits (or not) with the change."""
    event = model(
        type=event_type,
        subject=str(subject),
        tenant_id=str(tenant_id) if tenant_id is not None else None,
        payload=payload or {},
        txid=_current_txid(session),
    )
    session.add(event)
    return event


def emit_many(
    session: Session,
    model: type[OutboxEventBase],
    event_type: str,
    events: Iterable[tuple[Any, Any, dict[str, Any]]],
) -> list[OutboxEventBase]:
    """Add many events of one type, each ``(subject, tenant_id, payload)``, in
    that order; the transaction id is read once. They commit with the change."""
    rows = list(events)
    if not rows:
        return []
    txid = _current_txid(session)
    added = [
        model(type=event_type, subject=str(subject), tenant_id=str(tenant_id) if tenant_id is not None else None,
              payload=payload or {}, txid=txid)
        for subject, tenant_id, payload in rows
    ]
    session.add_all(added)
    return added


class EventOut(BaseModel):
    """One event of a service's outbox."""

    event_id: uuid.UUID
    type: str = PField(examples=["institution.created"])
    tenant_id: str | None
    subject: str
    occurred_at: datetime
    payload: dict[str, Any]
    cursor: str = PField(description="Position of this event; pass as `after` to read what follows it.")


class EventFeed(BaseModel):
    """A slice of the feed, in commit order."""

    items: list[EventOut]
    next_cursor: str | None = PField(
        description="Pass as `after` next time. Equal to the `after` you sent when nothing new has committed."
    )


def _position(event: OutboxEventBase) -> str:
    return encode_cursor(f"{event.txid}.{event.id}")


def feed_statement(model: type[OutboxEventBase], *, after: str | None, limit: int, dialect: str) -> Any:
    """The page of the feed after the cursor ``after``, in (txid, id) order.

    ``txid >= t`` is stated on its own beside the exact condition so that the
    txid index bounds the read: every poll starts where the last one ended
    instead of reading the whole outbox (an OR alone is no index condition)."""
    stmt = select(model)
    if after:
        raw = decode_cursor(after, "query.after")
        try:
            txid_s, id_s = str(raw).split(".")
            position = (int(txid_s), int(id_s))
        except ValueError:
            raise field_problem("query.after", "Invalid or tampered cursor", status=400, code="invalid_cursor") from None
        stmt = stmt.where(
            model.txid >= position[0],  # type: ignore[operator]
            or_(model.txid > position[0], model.id > position[1]),  # type: ignore[operator]
        )
    if dialect == "postgresql":
        stmt = stmt.where(model.txid < text("pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))  # type: ignore[operator]
    return stmt.order_by(model.txid, model.id).limit(limit)  # type: ignore[arg-type]


def read_feed(session: Session, model: type[OutboxEventBase], *, after: str | None, limit: int) -> EventFeed:
    stmt = feed_statement(model, after=after, limit=limit, dialect=session.get_bind().dialect.name)
    rows = session.exec(stmt).all()
    items = [
        EventOut(
            event_id=r.event_id,
            type=r.type,
            tenant_id=r.tenant_id,
            subject=r.subject,
            occurred_at=r.occurred_at,
            payload=r.payload,
            cursor=_position(r),
        )
        for r in rows
    ]
    return EventFeed(items=items, next_cursor=items[-1].cursor if items else after)


def feed_router(model: type[OutboxEventBase], session_dependency: Any) -> APIRouter:
    router = APIRouter(tags=["internal"], responses=problem_responses(401, 403))

    @router.get(
        "/internal/events",
        response_model=EventFeed,
        operation_id="list_internal_events",
        summary="Read this service's outbox feed (service tokens with scope events:read)",
    )
    def list_events(
        session: Annotated[Session, session_dependency],
        _caller: Annotated[Principal, Depends(require_scopes(EVENTS_SCOPE))],
        after: Annotated[str | None, Query(max_length=200, description="Cursor of the last event you processed.")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> EventFeed:
        return read_feed(session, model, after=after, limit=limit)

    return router


__all__ = ["EVENTS_SCOPE", "EventFeed", "EventOut", "OutboxEventBase", "emit", "feed_router", "feed_statement", "read_feed"]
