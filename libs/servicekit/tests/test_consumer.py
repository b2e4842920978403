"""Consuming a feed: catch-up, exactly-once application, retry on failure."""

import asyncio
import socket

import httpx
import pytest
import uvicorn
from sqlmodel import Field, Session, SQLModel, select

from servicekit.consumer import FeedConsumer, FeedCursorBase, HandledEventBase
from servicekit.db import make_engine, new_registry
from servicekit.outbox import EventOut, emit

from .conftest import KitOutbox


class ConsumerBase(SQLModel, registry=new_registry()):
    pass


class FeedCursor(FeedCursorBase, ConsumerBase, table=True):
    pass


class HandledEvent(HandledEventBase, ConsumerBase, table=True):
    pass


class Applied(ConsumerBase, table=True):
    __tablename__ = "applied"
    id: int | None = Field(default=None, primary_key=True)
    name: str


class FixedToken:
    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token


@pytest.fixture()
def consumer_engine(database_factory):
    engine = make_engine(database_factory.new("consumer"), pool_size=4)
    ConsumerBase.metadata.create_all(engine)
    yield engine
    engine.dispose()


def publish(kit_app, *names: str) -> None:
    with Session(kit_app.state.engine) as s:
        for name in names:
            emit(s, KitOutbox, "widget.created", subject=name, payload={"name": name})
        s.commit()


def consumer(kit_app, engine, mint, handler, client) -> FeedConsumer:
    return FeedConsumer(
        source="kit",
        feed_url="http://kit/internal/events",
        tokens=FixedToken(mint(sub="svc", scope="events:read", client_id="svc")),  # type: ignore[arg-type]
        engine=engine,
        cursor_model=FeedCursor,
        handled_model=HandledEvent,
        handler=handler,
        batch=2,
        client=client,
    )


def record(session: Session, event: EventOut) -> None:
    session.add(Applied(name=event.payload["name"]))


def applied(engine) -> list[str]:
    with Session(engine) as s:
        return [a.name for a in s.exec(select(Applied).order_by(Applied.id)).all()]


async def test_catches_up_in_order_and_applies_each_event_once(kit_app, consumer_engine, mint) -> None:
    publish(kit_app, "a", "b", "c", "d", "e")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=kit_app)) as client:
        c = consumer(kit_app, consumer_engine, mint, record, client)
        assert await c.poll_once() == 5
        assert await c.poll_once() == 0
        publish(kit_app, "f")
        assert await c.poll_once() == 1
    assert applied(consumer_engine) == ["a", "b", "c", "d", "e", "f"]


async def test_a_failing_handler_keeps_the_cursor_and_is_retried(kit_app, consumer_engine, mint) -> None:
    publish(kit_app, "a", "boom", "c")
    failures = {"left": 1}

    def flaky(session: Session, event: EventOut) -> None:
        if event.payload["name"] == "boom" and failures["left"]:
            failures["left"] -= 1
            session.add(Applied(name="half-written"))
            raise RuntimeError("handler failed")
        record(session, event)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=kit_app)) as client:
        c = consumer(kit_app, consumer_engine, mint, flaky, client)
        with pytest.raises(RuntimeError):
            await c.poll_once()
        assert applied(consumer_engine) == ["a"]  # nothing of the failed event, nothing after it
        assert await c.poll_once() == 2
    assert applied(consumer_engine) == ["a", "boom", "c"]


async def test_two_replicas_polling_together_apply_each_event_once(kit_app, consumer_engine, mint) -> None:
    publish(kit_app, *[f"e{i}" for i in range(12)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=kit_app)) as client:
        first = consumer(kit_app, consumer_engine, mint, record, client)
        second = consumer(kit_app, consumer_engine, mint, record, client)
        results = await asyncio.gather(first.poll_once(), second.poll_once(), return_exceptions=True)
        assert not [r for r in results if isinstance(r, Exception)]
        await first.poll_once()
    assert sorted(applied(consumer_engine)) == sorted(f"e{i}" for i in range(12))


async def test_a_running_consumer_polls_on_one_connection(kit_app, consumer_engine, mint) -> None:
    """run() keeps one client (and its kept-alive connection) for all its polls:
    a client per poll cost a TLS context and a new connection every round."""
    seen: list[int] = []  # the caller's port of every feed request

    async def recording(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/internal/events":
            seen.append(scope["client"][1])
        await kit_app(scope, receive, send)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(recording, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        publish(kit_app, "a", "b", "c")
        c = consumer(kit_app, consumer_engine, mint, record, client=None)
        c.feed_url = f"http://127.0.0.1:{port}/internal/events"
        stop = asyncio.Event()
        running = asyncio.create_task(c.run(stop, interval=0.01))
        while len(seen) < 8:  # the three events (two pages) and idle polls after them
            await asyncio.sleep(0.01)
        stop.set()
        await running
    finally:
        server.should_exit = True
        await serving
    assert applied(consumer_engine) == ["a", "b", "c"]
    assert len(set(seen)) == 1, f"{len(set(seen))} connections for {len(seen)} polls"


async def test_an_idle_feed_is_polled_less_often_until_an_event_comes(kit_app, consumer_engine, mint, monkeypatch) -> None:
    """run()'s waits between polls, recorded instead of slept: the interval while
    events come, then doubling with each empty poll up to four times the interval,
    and the interval again after a poll that applies an event."""
    publish(kit_app, "a")
    stop = asyncio.Event()
    waits: list[float] = []

    async def pause(awaitable, timeout):
        awaitable.close()
        waits.append(timeout)
        if len(waits) == 6:
            publish(kit_app, "b")
        if len(waits) == 8:
            stop.set()
        raise TimeoutError

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=kit_app)) as client:
        c = consumer(kit_app, consumer_engine, mint, record, client)
        monkeypatch.setattr(asyncio, "wait_for", pause)
        await c.run(stop, interval=1.0)
    assert waits == [1.0, 1.0, 2.0, 4.0, 4.0, 4.0, 1.0, 1.0]
    assert applied(consumer_engine) == ["a", "b"]
