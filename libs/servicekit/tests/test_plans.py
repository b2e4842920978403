"""servicekit.plans: which tables a statement reads whole, on both backends, without running it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, delete, insert, or_, select, update
from sqlalchemy.engine import Engine

from servicekit.db import make_engine
from servicekit.outbox import OutboxEventBase, encode_cursor, feed_statement
from servicekit.plans import explain, full_scans, recording, whole_table_reads

metadata = MetaData()
things = Table(
    "plan_things", metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant", String(36), nullable=False),
    Column("status", String(16), nullable=False),
    Column("label", String(40)),
    Index("ix_plan_things_tenant", "tenant"),
)
parts = Table(
    "plan_parts", metadata,
    Column("id", Integer, primary_key=True),
    Column("thing_id", Integer, nullable=False),
    Index("ix_plan_parts_thing_id", "thing_id"),
)


@pytest.fixture(scope="module")
def engine(database_factory: Any) -> Iterator[Engine]:
    engine = make_engine(database_factory.new("plans"), pool_size=2, max_overflow=0)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(things), [{"id": i, "tenant": f"t{i % 7}", "status": "open", "label": None} for i in range(1, 50)])
    yield engine
    engine.dispose()


def test_a_filter_on_an_indexed_column_reads_through_the_index(engine: Engine) -> None:
    plan = explain(engine, select(things).where(things.c.tenant == "t1").order_by(things.c.id))
    assert plan.full_scans == set() and plan.indexed == {"plan_things"}, plan.text


@pytest.mark.parametrize("stmt", [
    select(things).where(things.c.status == "open"),  # no index on status
    select(things).where(things.c.status == "open").order_by(things.c.id).limit(10),  # walks the primary key whole
    select(things).where(or_(things.c.tenant == "t1", things.c.label == "x")),  # one side of the OR has no index
    update(things).where(things.c.label == "x").values(status="closed"),
    delete(things).where(things.c.status == "closed"),
], ids=["filter", "ordered-by-key", "or", "update", "delete"])
def test_a_filter_no_index_serves_reads_the_table_whole(engine: Engine, stmt: Any) -> None:
    assert full_scans(engine, stmt) == {"plan_things"}


def test_a_join_is_judged_table_by_table(engine: Engine) -> None:
    by_tenant = select(parts.c.id).join(things, things.c.id == parts.c.thing_id).where(things.c.tenant == "t2")
    assert full_scans(engine, by_tenant) == set()
    by_label = select(parts.c.id).join(things, things.c.id == parts.c.thing_id).where(things.c.label == "x")
    assert full_scans(engine, by_label) == {"plan_things"}


def test_explaining_runs_nothing(engine: Engine) -> None:
    explain(engine, delete(things))
    explain(engine, update(things).values(label="changed"))
    with engine.connect() as conn:
        assert conn.execute(select(things.c.id).where(things.c.label.is_not(None))).all() == []
        assert len(conn.execute(select(things.c.id)).all()) == 49


def test_recorded_statements_are_explained_with_their_own_parameters(engine: Engine) -> None:
    with recording(engine) as executed, engine.connect() as conn:
        conn.execute(select(things).where(things.c.tenant == "t3")).all()
        conn.execute(select(things).where(things.c.label == "x", things.c.id.in_([1, 2, 3]))).all()
        conn.execute(select(things).where(things.c.status == "open")).all()
    assert len(executed) == 3
    lines = whole_table_reads(engine, executed)
    assert len(lines) == 1 and "plan_things" in lines[0] and "status" in lines[0]
    assert whole_table_reads(engine, executed, allowed=frozenset({"plan_things"})) == []


class FeedEvent(OutboxEventBase, table=True):
    __tablename__ = "plan_outbox_events"


def test_the_event_feed_resumes_from_its_cursor_through_the_txid_index(engine: Engine) -> None:
    FeedEvent.metadata.create_all(engine, tables=[FeedEvent.__table__])  # type: ignore[attr-defined]
    after = encode_cursor(f"{12}.{34}")
    plan = explain(engine, feed_statement(FeedEvent, after=after, limit=100, dialect=engine.dialect.name))
    assert plan.full_scans == set() and plan.indexed == {"plan_outbox_events"}, plan.text
    with engine.begin() as conn:
        conn.execute(insert(FeedEvent.__table__), [  # type: ignore[attr-defined]
            {"event_id": uuid.uuid4(), "txid": t, "type": "x", "subject": "s", "payload": {}} for t in (11, 12, 12, 13)
        ])
        ids = [r.id for r in conn.execute(select(FeedEvent.__table__).order_by("txid", "id"))]  # type: ignore[attr-defined]
        cursor = encode_cursor(f"12.{ids[1]}")
        stmt = feed_statement(FeedEvent, after=cursor, limit=10, dialect="sqlite")  # no snapshot bound: all committed
        assert [r.id for r in conn.execute(stmt)] == ids[2:]
