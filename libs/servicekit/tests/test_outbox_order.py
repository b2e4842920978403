"""The feed never skips an event, whatever order transactions commit in."""

import time

import pytest
from sqlmodel import Session

from servicekit.db import make_engine
from servicekit.outbox import emit, emit_many, read_feed
from servicekit.testing import DatabaseFactory

from .conftest import KitBase, KitOutbox, Widget


@pytest.fixture()
def pg_engine(postgres_server_url, tmp_path):
    """PostgreSQL whatever the backend of this run: the race below exists only
    there. No server at all fails the run loudly (see servicekit.testing)."""
    factory = DatabaseFactory("postgresql", tmp_path, postgres_server_url)
    engine = make_engine(factory.new("outbox_race"), pool_size=4)
    KitBase.metadata.create_all(engine)
    yield engine
    engine.dispose()
    factory.drop_all()


@pytest.fixture()
def engine(database_factory):
    engine = make_engine(database_factory.new("outbox"), pool_size=4)
    KitBase.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _names(feed) -> list[str]:
    return [e.payload["name"] for e in feed.items]


def _drain(engine, after, want: int, seconds: float = 15.0) -> list[str]:
    """Read on from ``after`` until ``want`` events came. The feed stops before
    any transaction still running on the server (pg_snapshot_xmin is server-wide),
    so another session's transaction (the other backend's half of `make test`)
    may hold it back a moment; what must hold is the order and that none is skipped."""
    names: list[str] = []
    deadline = time.monotonic() + seconds
    while len(names) < want:
        with Session(engine) as reader:
            feed = read_feed(reader, KitOutbox, after=after, limit=10)
        names += _names(feed)
        after = feed.next_cursor or after
        assert time.monotonic() < deadline, f"only {names} came"
        if len(names) < want:
            time.sleep(0.05)
    return names


def test_feed_reads_in_order_and_resumes_from_a_cursor(engine) -> None:
    with Session(engine) as s:
        for n in ("a", "b", "c"):
            emit(s, KitOutbox, "x", subject=n, payload={"name": n})
        s.commit()
    with Session(engine) as s:
        first = read_feed(s, KitOutbox, after=None, limit=2)
        assert _names(first) == ["a", "b"]
        assert _names(read_feed(s, KitOutbox, after=first.next_cursor, limit=10)) == ["c"]


def test_many_events_of_one_change_keep_their_order(engine) -> None:
    with Session(engine) as s:
        emit(s, KitOutbox, "x", subject="first", payload={"name": "first"})
        added = emit_many(s, KitOutbox, "y", [(n, "tenant-1", {"name": n}) for n in ("b", "a", "c")])
        assert emit_many(s, KitOutbox, "y", []) == []
        s.commit()
        assert {e.txid for e in added} == {added[0].txid} and {e.tenant_id for e in added} == {"tenant-1"}
    assert _drain(engine, None, 4) == ["first", "b", "a", "c"]


def test_a_transaction_that_commits_late_is_not_skipped(pg_engine) -> None:
    """T1 takes the lower id but commits after T2. An id-ordered feed would hand
    out T2's event, move the cursor past T1's id, and lose T1's event."""
    t1, t2 = Session(pg_engine), Session(pg_engine)
    try:
        emit(t1, KitOutbox, "x", subject="1", payload={"name": "t1"})
        t1.flush()
        emit(t2, KitOutbox, "x", subject="2", payload={"name": "t2"})
        t2.flush()
        t2.commit()
        with Session(pg_engine) as reader:
            early = read_feed(reader, KitOutbox, after=None, limit=10)
        # T2 committed, but T1 (older) is still running: nothing is handed out yet.
        assert _names(early) == []
        t1.commit()
        assert _drain(pg_engine, early.next_cursor, 2) == ["t1", "t2"]
    finally:
        t1.close()
        t2.close()


def test_a_younger_transaction_with_an_older_xid_comes_first(pg_engine) -> None:
    """T2 starts writing first (older xid) but inserts its event after T1."""
    t1, t2 = Session(pg_engine), Session(pg_engine)
    try:
        t2.add(Widget(name="takes-an-xid"))
        t2.flush()
        emit(t1, KitOutbox, "x", subject="1", payload={"name": "t1"})
        t1.flush()
        emit(t2, KitOutbox, "x", subject="2", payload={"name": "t2"})
        t2.flush()
        t1.commit()
        with Session(pg_engine) as reader:
            early = read_feed(reader, KitOutbox, after=None, limit=10)
        assert _names(early) == []  # t1 is newer than the still-running t2
        t2.commit()
        assert _drain(pg_engine, early.next_cursor, 2) == ["t2", "t1"]
    finally:
        t1.close()
        t2.close()
