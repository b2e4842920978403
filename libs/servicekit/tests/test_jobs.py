"""Leased jobs (servicekit.jobs) on a real database: two claimers never share a
row, an expired lease passes to the next claimer and its old holder can no
longer touch the row, only the holder renews or releases; the runner runs each
claimed job once within its concurrency, wakes when poked, and stops cleanly."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col, select
from uuid6 import uuid7

from servicekit.db import make_engine, new_registry
from servicekit.jobs import Lease, Runner, expired, new_holder
from servicekit.outbox import utcnow
from servicekit.testing import DatabaseFactory


class JobsBase(SQLModel, registry=new_registry()):
    pass


class Task(JobsBase, table=True):
    __tablename__ = "tasks"
    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    status: str = Field(default="pending", max_length=10)
    holder: str | None = Field(default=None, max_length=32)
    leased_until: datetime | None = None
    note: str | None = Field(default=None, max_length=50)


@pytest.fixture()
def engine(database_factory) -> Iterator:
    engine = make_engine(database_factory.new("jobs"), pool_size=6)
    JobsBase.metadata.create_all(engine)
    yield engine
    engine.dispose()


def lease(seconds: float = 60.0) -> Lease:
    return Lease(Task, holder="holder", until="leased_until", seconds=seconds)


def add_tasks(engine, n: int) -> list[uuid.UUID]:
    with Session(engine) as session:
        tasks = [Task() for _ in range(n)]
        session.add_all(tasks)
        session.commit()
        return [t.id for t in tasks]


def pending(limit: int):  # type: ignore[no-untyped-def]
    return select(Task.id).where(Task.status == "pending").order_by(col(Task.id)).limit(limit)


def claim(engine, limit: int, holder: str | None = None, **kw) -> list[uuid.UUID]:  # type: ignore[no-untyped-def]
    """Claim up to ``limit`` pending tasks; the ids this claim holds."""
    holder = holder or new_holder()
    with Session(engine) as session:
        lease().claim(session, pending(limit), Task.status == "pending", holder=holder, **kw)
        session.commit()
        return list(session.exec(select(Task.id).where(Task.holder == holder)).all())


def row(engine, task_id: uuid.UUID) -> Task:
    with Session(engine) as session:
        found = session.get(Task, task_id)
        assert found is not None
        return found


def expire(engine, task_id: uuid.UUID) -> None:
    with Session(engine) as session:
        session.execute(update(Task).where(col(Task.id) == task_id).values(leased_until=utcnow() - timedelta(seconds=1)))
        session.commit()


def test_a_claim_takes_free_rows_in_order_up_to_its_limit_and_a_second_claimer_gets_the_others(engine) -> None:
    ids = add_tasks(engine, 5)
    first = claim(engine, 3)
    assert sorted(first) == ids[:3]
    second = claim(engine, 3)
    assert sorted(second) == ids[3:]
    assert claim(engine, 3) == []
    assert not any(expired(row(engine, i).leased_until) for i in ids)


@pytest.mark.parametrize("skip_locked", [False, True])
def test_two_claimers_racing_never_share_a_row_nor_exceed_their_limit(engine, skip_locked: bool) -> None:
    ids = add_tasks(engine, 40)
    start = threading.Barrier(2)
    got: dict[str, list[uuid.UUID]] = {"a": [], "b": []}
    sizes: list[int] = []

    def claimer(name: str) -> None:
        start.wait()
        while batch := claim(engine, 3, skip_locked=skip_locked):
            sizes.append(len(batch))
            got[name].extend(batch)

    threads = [threading.Thread(target=claimer, args=(name,)) for name in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(got["a"]) & set(got["b"])
    assert sorted(got["a"] + got["b"]) == ids
    assert max(sizes) <= 3


def test_a_claim_skips_rows_that_no_longer_match_and_rows_held_by_a_live_lease(engine) -> None:
    done, held, free = add_tasks(engine, 3)
    with Session(engine) as session:
        session.execute(update(Task).where(col(Task.id) == done).values(status="done"))
        session.commit()
    assert claim(engine, 1) == [held]  # the done one is not a candidate
    assert claim(engine, 5) == [free]


def test_an_expired_lease_passes_to_the_next_claimer_and_its_old_holder_can_no_longer_touch_the_row(engine) -> None:
    (task,) = add_tasks(engine, 1)
    old = new_holder()
    assert claim(engine, 1, old) == [task]
    assert claim(engine, 1) == []  # live: nobody else gets it
    expire(engine, task)
    assert expired(row(engine, task).leased_until)
    new = new_holder()
    assert claim(engine, 1, new) == [task]
    with Session(engine) as session:
        assert not lease().renew(session, task, old, note="old")
        assert not lease().release(session, task, old, status="done")
        session.commit()
    after = row(engine, task)
    assert (after.holder, after.status, after.note) == (new, "pending", None)


def test_only_the_holder_renews_or_releases(engine) -> None:
    (task,) = add_tasks(engine, 1)
    holder = new_holder()
    claim(engine, 1, holder)
    claimed_until = row(engine, task).leased_until
    with Session(engine) as session:
        assert not lease().renew(session, task, new_holder(), seconds=3600, note="intruder")
        session.commit()
    assert (row(engine, task).leased_until, row(engine, task).note) == (claimed_until, None)

    with Session(engine) as session:
        assert lease().renew(session, task, holder, seconds=3600, note="halfway")
        session.commit()
    renewed = row(engine, task)
    assert renewed.note == "halfway" and renewed.leased_until > claimed_until

    with Session(engine) as session:
        assert lease().release(session, task, holder, status="done")
        session.commit()
    released = row(engine, task)
    assert (released.holder, released.leased_until, released.status) == (None, None, "done")
    with Session(engine) as session:  # released: no longer hers either
        assert not lease().renew(session, task, holder)


def test_a_released_row_that_still_matches_is_free_at_once(engine) -> None:
    (task,) = add_tasks(engine, 1)
    holder = new_holder()
    claim(engine, 1, holder)
    with Session(engine) as session:
        assert lease().release(session, task, holder)
        session.commit()
    assert claim(engine, 1) == [task]


@pytest.fixture()
def pg_engine(postgres_server_url, tmp_path) -> Iterator:
    """PostgreSQL whatever the backend of this run: row locks and SKIP LOCKED exist
    only there (servicekit.testing runs such tests in the PostgreSQL half of
    `make test`; no server at all fails the run loudly)."""
    factory = DatabaseFactory("postgresql", tmp_path, postgres_server_url)
    engine = make_engine(factory.new("jobs_locks"), pool_size=4)
    JobsBase.metadata.create_all(engine)
    yield engine
    engine.dispose()
    factory.drop_all()


def test_with_skip_locked_postgresql_passes_over_a_row_another_transaction_holds(pg_engine) -> None:
    engine = pg_engine
    locked, other = add_tasks(engine, 2)
    with Session(engine) as holding:
        holding.exec(select(Task).where(col(Task.id) == locked).with_for_update()).one()
        assert claim(engine, 2, skip_locked=True) == [other]
        holding.rollback()
    assert claim(engine, 2, skip_locked=True) == [locked]


def test_a_lease_has_expired_from_the_instant_it_runs_until() -> None:
    now = utcnow()
    assert expired(None, now)
    assert expired(now, now) and expired(now - timedelta(seconds=1), now)
    assert not expired(now + timedelta(seconds=1), now)
    assert not expired((now + timedelta(seconds=1)).replace(tzinfo=None), now)  # naive UTC, as SQLite returns it


def test_a_lease_lasts_a_positive_time() -> None:
    with pytest.raises(ValueError):
        lease(0)


# -- the runner


async def until(predicate, what: str, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """Wait (bounded) until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Work:
    """Claims pending tasks with the lease; each job waits for ``gate``, then
    marks its task done and releases it."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.gate = asyncio.Event()
        self.running = 0
        self.most = 0
        self.done: list[uuid.UUID] = []
        self.looks = 0

    def claim(self, limit: int) -> list[tuple[uuid.UUID, str]]:
        self.looks += 1
        holder = new_holder()
        return [(i, holder) for i in claim(self.engine, limit, holder)]

    async def work(self, job: tuple[uuid.UUID, str]) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await self.gate.wait()
            await asyncio.to_thread(self._finish, *job)
        finally:
            self.running -= 1

    def _finish(self, task: uuid.UUID, holder: str) -> None:
        with Session(self.engine) as session:
            assert lease().release(session, task, holder, status="done")
            session.commit()
        self.done.append(task)

    def runner(self, concurrency: int, interval: float = 3600.0) -> Runner[tuple[uuid.UUID, str]]:
        return Runner("test", claim=self.claim, work=self.work, concurrency=concurrency, interval=interval, stop_timeout=10)


async def test_the_runner_runs_each_job_once_and_never_more_than_its_concurrency(engine) -> None:
    ids = add_tasks(engine, 7)
    w = Work(engine)
    runner = w.runner(concurrency=3)
    await runner.start()
    try:
        await until(lambda: w.running == 3, "three jobs in flight")
        assert runner.busy == 3
        w.gate.set()  # a finished job frees a slot, and a full runner looks again at once
        await until(lambda: len(w.done) == 7, "every job done")
    finally:
        await runner.stop()
    assert sorted(w.done) == ids and w.most == 3


async def test_a_poke_wakes_the_runner_before_its_interval(engine) -> None:
    w = Work(engine)
    w.gate.set()
    runner = w.runner(concurrency=2)
    await runner.start()
    try:
        await until(lambda: w.looks == 1, "the first look")
        (task,) = await asyncio.to_thread(add_tasks, engine, 1)
        await asyncio.to_thread(runner.poke)  # from another thread, as a request handler does
        await until(lambda: w.done == [task], "the poked job")
    finally:
        await runner.stop()


async def test_stop_claims_nothing_more_and_lets_jobs_in_flight_finish(engine) -> None:
    add_tasks(engine, 3)
    w = Work(engine)
    runner = w.runner(concurrency=2)
    await runner.start()
    await until(lambda: w.running == 2, "two jobs in flight")
    stopping = asyncio.create_task(runner.stop())
    await until(lambda: runner.stopping.is_set(), "the stop")
    assert not stopping.done()  # waiting for the jobs in flight
    w.gate.set()
    await stopping
    assert len(w.done) == 2 and runner.busy == 0
    runner.poke()  # stopped: nothing happens
    assert len(claim(engine, 5)) == 1  # the third was never claimed


async def test_run_once_runs_what_it_claims_to_the_end(engine) -> None:
    add_tasks(engine, 3)
    w = Work(engine)
    w.gate.set()
    runner = w.runner(concurrency=2)
    assert await runner.run_once() == 2
    assert len(w.done) == 2
    assert await runner.run_once(5) == 1
    assert await runner.run_once() == 0
