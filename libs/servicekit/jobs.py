"""Leased jobs: rows of a table that one worker at a time works on, across replicas.

A job table carries two lease columns: the holder (a random token naming one
claim) and the time the lease runs until. Workers take, extend and give back
leases only through ``Lease``, always by a conditional UPDATE, so it is safe
on several replicas at once, on SQLite and on PostgreSQL:

- ``claim`` leases rows that are free (no holder, no time, or a time that has
  passed) in one statement; a row claimed by someone else meanwhile is not
  matched, so two claimers never both get it;
- ``renew`` and ``release`` match the row only while the caller still holds
  it; ``False`` means the lease ran out and another worker may hold it now
  (its caller then stops without touching the job).

A worker changes its job's state in the same UPDATE that renews or releases
its lease (``renew(..., status=...)``), so a worker whose lease ran out
changes nothing.

``Runner`` claims jobs and works on them in the background of an app: at
most ``concurrency`` at once, looking for work every ``interval`` seconds and
whenever ``poke`` is called (from any thread). ``stop`` claims nothing more
and gives the jobs in flight ``stop_timeout`` seconds to finish; work that
runs on a thread checks ``stopping`` at its safe points.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, or_, select, update
from sqlmodel import Session

from servicekit.outbox import utcnow

log = logging.getLogger("servicekit.jobs")

J = TypeVar("J")


def new_holder() -> str:
    """A token naming one claim (32 characters)."""
    return secrets.token_hex(16)


def expired(until: datetime | None, now: datetime | None = None) -> bool:
    """Whether a lease that runs until ``until`` (None: no lease) no longer holds at ``now``."""
    if until is None:
        return True
    now = now or utcnow()
    if until.tzinfo is None:  # read back naive from a database that keeps UTC
        until = until.replace(tzinfo=now.tzinfo)
    return until <= now


class Lease:
    """The lease columns of ``model``: ``holder`` and ``until`` (attribute names),
    keyed by ``key``; a claim or renewal lasts ``seconds``."""

    def __init__(self, model: Any, *, holder: str, until: str, seconds: float, key: str = "id") -> None:
        if seconds <= 0:
            raise ValueError("a lease lasts a positive number of seconds")
        self.model = model
        self.holder = getattr(model, holder)
        self.until = getattr(model, until)
        self.key = getattr(model, key)
        self.seconds = seconds

    def free(self, now: datetime) -> ColumnElement[bool]:
        """No one holds the row at ``now`` (``expired``, in SQL)."""
        return or_(self.holder.is_(None), self.until.is_(None), self.until <= now)

    def claim(self, session: Session, candidates: Select[Any], *where: Any, holder: str, skip_locked: bool = False) -> int:
        """Lease to ``holder`` the free rows among the keys ``candidates`` selects
        (ordered and limited as it says) that still satisfy ``where``; the number
        leased. The caller commits, then reads its rows back by holder.

        With ``skip_locked``, PostgreSQL passes over rows another transaction
        has locked, so claimers never wait for each other; without it, a claim
        waits for a transaction that holds the row and then sees its outcome."""
        now = utcnow()
        picked = candidates.where(self.free(now))
        if skip_locked:
            picked = picked.with_for_update(skip_locked=True, of=self.model)  # rendered on PostgreSQL only
        if session.get_bind().dialect.name == "postgresql":
            # Chosen once: PostgreSQL may run a subquery again for each row it
            # compares, and with SKIP LOCKED each run can pick other rows.
            picked = select(picked.cte("claimable").prefix_with("MATERIALIZED"))
        claimed = session.execute(
            update(self.model)
            .where(self.key.in_(picked), self.free(now), *where)
            .values({self.holder: holder, self.until: now + timedelta(seconds=self.seconds)})
            .execution_options(synchronize_session=False)
        )
        return int(claimed.rowcount)  # type: ignore[attr-defined]

    def renew(self, session: Session, key: Any, holder: str, *, seconds: float | None = None, **values: Any) -> bool:
        """Extend the lease (by ``seconds``, default the lease's) and set ``values``,
        if ``holder`` still holds the row."""
        until = utcnow() + timedelta(seconds=seconds if seconds is not None else self.seconds)
        return self._update(session, key, holder, {self.until.key: until, **values})

    def release(self, session: Session, key: Any, holder: str, **values: Any) -> bool:
        """End the lease and set ``values``, if ``holder`` still holds the row."""
        return self._update(session, key, holder, {self.holder.key: None, self.until.key: None, **values})

    def _update(self, session: Session, key: Any, holder: str, values: dict[str, Any]) -> bool:
        done = session.execute(
            update(self.model)
            .where(self.key == key, self.holder == holder)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(done.rowcount) == 1  # type: ignore[attr-defined]


class Runner(Generic[J]):
    """Claims jobs with ``claim(limit)`` (blocking: it runs on a thread) and runs
    ``await work(job)`` for each, at most ``concurrency`` at once."""

    def __init__(
        self,
        name: str,
        *,
        claim: Callable[[int], list[J]],
        work: Callable[[J], Awaitable[None]],
        concurrency: int,
        interval: float,
        stop_timeout: float,
    ) -> None:
        if concurrency < 1:
            raise ValueError("a runner runs at least one job at a time")
        self.name = name
        self.claim = claim
        self.work = work
        self.concurrency = concurrency
        self.interval = interval
        self.stop_timeout = stop_timeout
        # Set when stopping: work running on a thread checks it at its safe points.
        self.stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._full = False  # the last claim filled every free slot: more may be waiting

    @property
    def busy(self) -> int:
        """Jobs in flight here."""
        return len(self._running)

    async def start(self) -> None:
        if self._task is not None:
            return
        self.stopping.clear()
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Claim nothing more; give the jobs in flight ``stop_timeout`` seconds, then cancel them."""
        self.stopping.set()
        if self._task is None:
            return
        assert self._wake is not None
        self._wake.set()
        await self._task
        self._task = None
        if self._running:
            _done, pending = await asyncio.wait(set(self._running), timeout=self.stop_timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
        self._loop = None

    def poke(self) -> None:
        """Look for work now. Safe from any thread; nothing happens while stopped."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    async def run_once(self, limit: int | None = None) -> int:
        """Claim up to ``limit`` (default ``concurrency``) jobs and run them to the
        end, here and now; the number claimed."""
        jobs = await asyncio.to_thread(self.claim, limit or self.concurrency)
        await asyncio.gather(*(self._guarded(job) for job in jobs))
        return len(jobs)

    async def _run(self) -> None:
        assert self._wake is not None
        while not self.stopping.is_set():
            free = self.concurrency - len(self._running)
            if free > 0:
                try:
                    jobs = await asyncio.to_thread(self.claim, free)
                except Exception as exc:  # noqa: BLE001 - the database may be down for a while: keep looking
                    log.warning("job claim failed", extra={"runner": self.name, "error": type(exc).__name__})
                    jobs = []
                self._full = bool(jobs) and len(jobs) == free
                for job in jobs:
                    task = asyncio.create_task(self._guarded(job), name=f"{self.name}-job")
                    self._running.add(task)
                    task.add_done_callback(self._finished)
            if self.stopping.is_set():
                return
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            except TimeoutError:
                pass
            self._wake.clear()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("job ended abruptly", extra={"runner": self.name, "error": type(exc).__name__})
        if self._full and self._wake is not None:
            self._wake.set()

    async def _guarded(self, job: J) -> None:
        try:
            await self.work(job)
        except Exception as exc:
            log.exception("job failed", extra={"runner": self.name, "error": type(exc).__name__})
