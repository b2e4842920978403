"""Consuming another service's outbox feed (docs/architecture.md, "Events").

A consumer keeps its own cursor per source and polls
``GET /internal/events?after=<cursor>`` with its service token. Each event is
handled in one transaction that also records its id as handled and moves the
cursor, so:

- a consumer that was down catches up from its cursor (nothing is lost);
- an event is applied once: a second delivery finds its id already handled
  (several replicas polling at once race on the handled row's primary key;
  the loser rolls back its whole transaction and moves on);
- an event whose handler fails is retried on the next poll, and the ones after
  it wait (the feed's order is kept).

A service declares the two tables on its own base::

    class FeedCursor(FeedCursorBase, Base, table=True): pass
    class HandledEvent(HandledEventBase, Base, table=True): pass

and runs ``FeedConsumer(...).run(stop, interval)`` from its lifespan, with
``Background`` (which also runs its other loops, such as sweeps). An idle feed
is polled less often, down to every ``4 * interval`` (``idle_wait``).
"""

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, Session, SQLModel, col

from servicekit.http import make_async_client
from servicekit.outbox import EventFeed, EventOut, utcnow
from servicekit.service_auth import ServiceTokenProvider

log = logging.getLogger("servicekit.consumer")

Handler = Callable[[Session, EventOut], None]

# An idle feed is polled up to 2**IDLE_DOUBLINGS times less often than a busy one.
IDLE_DOUBLINGS = 2


def idle_wait(interval: float, empty_polls: int) -> float:
    """The wait before the next poll: ``interval`` after a poll that applied an
    event and after the first that applied nothing, then twice as long after
    each further empty poll (or failure), up to ``2**IDLE_DOUBLINGS * interval``.
    A busy feed is followed every ``interval``; an idle one costs a quarter of
    that, and the first event after a quiet time waits at most the cap."""
    return interval * 2 ** min(max(empty_polls - 1, 0), IDLE_DOUBLINGS)


def event_uuid(value: Any) -> uuid.UUID | None:
    """An id read from an event (its tenant, a payload field), or None when it is
    missing or malformed: a handler then changes nothing rather than failing (a
    failing handler would hold back every event after it)."""
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


class FeedCursorBase(SQLModel):
    source: str = Field(primary_key=True, max_length=50)
    cursor: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(default_factory=utcnow)

    @declared_attr  # type: ignore[misc]
    def __tablename__(cls) -> str:  # noqa: N805
        return "feed_cursors"


class HandledEventBase(SQLModel):
    event_id: str = Field(primary_key=True, max_length=40)
    source: str = Field(max_length=50)
    event_type: str = Field(max_length=100)
    handled_at: datetime = Field(default_factory=utcnow)

    @declared_attr  # type: ignore[misc]
    def __tablename__(cls) -> str:  # noqa: N805
        return "handled_events"


class FeedConsumer:
    def __init__(
        self,
        *,
        source: str,
        feed_url: str,
        tokens: ServiceTokenProvider,
        engine: Engine,
        cursor_model: type[FeedCursorBase],
        handled_model: type[HandledEventBase],
        handler: Handler,
        batch: int = 100,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.source = source
        self.feed_url = feed_url
        self.tokens = tokens
        self.engine = engine
        self.cursor_model = cursor_model
        self.handled_model = handled_model
        self.handler = handler
        self.batch = batch
        self._client = client

    def _cursor(self) -> str | None:
        with Session(self.engine) as session:
            row = session.get(self.cursor_model, self.source)
            return row.cursor if row else None

    def _apply(self, event: EventOut) -> bool:
        """Handle one event in one transaction. False if it was already handled
        (here, or by another replica at the same moment)."""
        with Session(self.engine) as session:
            try:
                # The cursor row first, as a write: an erasure (servicekit.erasures.hold_feeds) waits for
                # this event's transaction, and this one for an erasure that holds the row.
                session.execute(update(self.cursor_model).where(col(self.cursor_model.source) == self.source)
                                .values(updated_at=utcnow()))
                if session.get(self.handled_model, str(event.event_id)) is not None:
                    applied = False
                else:
                    self.handler(session, event)
                    session.add(self.handled_model(event_id=str(event.event_id), source=self.source, event_type=event.type))
                    session.flush()
                    applied = True
                cursor = session.get(self.cursor_model, self.source) or self.cursor_model(source=self.source)
                cursor.cursor, cursor.updated_at = event.cursor, utcnow()
                session.add(cursor)
                session.commit()
            except IntegrityError:  # lost the race on the handled row (or the first cursor row)
                session.rollback()
                return False
            return applied

    async def apply_page(self, events: list[EventOut]) -> int:
        """Handle one page of the feed, in order, one transaction per event; the
        number applied here. A subclass may apply a page in fewer transactions."""
        applied = 0
        for event in events:
            if await asyncio.to_thread(self._apply, event):
                applied += 1
        return applied

    async def poll_once(self, client: httpx.AsyncClient | None = None) -> int:
        """Fetch and handle what is new; the number of events applied here.
        Without a client (given here or to the consumer), one is opened for this poll."""
        own = (client or self._client) is None
        client = client or self._client or make_async_client(timeout=10.0)
        applied = 0
        try:
            while True:
                after = await asyncio.to_thread(self._cursor)
                params: dict[str, str | int] = {"limit": self.batch}
                if after:
                    params["after"] = after
                token = await self.tokens.token()
                resp = await client.get(self.feed_url, params=params, headers={"Authorization": f"Bearer {token}"})
                resp.raise_for_status()
                feed = EventFeed.model_validate(resp.json())
                applied += await self.apply_page(feed.items)
                if len(feed.items) < self.batch:
                    return applied
        finally:
            if own:
                await client.aclose()

    async def run(self, stop: asyncio.Event, interval: float = 2.0) -> None:
        """Poll until ``stop`` is set, on one client (and its kept-alive
        connection) for the whole run, waiting ``idle_wait(interval, n)`` after
        each poll (``n``: the polls in a row that applied nothing). Failures are
        logged and retried later."""
        client = self._client or make_async_client(timeout=10.0)
        empty = 0
        try:
            while not stop.is_set():
                applied = 0
                try:
                    applied = await self.poll_once(client)
                except Exception as exc:  # keep polling: the source may be down for a while
                    log.warning("feed poll failed", extra={"source": self.source, "error": type(exc).__name__})
                empty = 0 if applied else empty + 1
                try:
                    await asyncio.wait_for(stop.wait(), timeout=idle_wait(interval, empty))
                except TimeoutError:
                    pass
        finally:
            if self._client is None:
                await client.aclose()


class Background:
    """The loops a service's lifespan runs (feed consumers, sweeps). Each loop runs
    until ``stop`` is set; ``halt`` sets it and gives each ``timeout`` seconds to
    finish its round before cancelling it."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.stop = asyncio.Event()
        self.timeout = timeout
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, loop: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.create_task(loop))

    async def halt(self) -> None:
        self.stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=self.timeout)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        self._tasks.clear()
