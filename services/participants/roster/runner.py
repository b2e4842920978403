"""Running roster imports: each running import is a leased job of
``roster_imports`` (``servicekit.jobs``: the lease is ``worker`` and
``lease_until``), claimed by the app's runner, at most ``roster_workers`` at
once, each on a worker thread.

The runner looks for running imports whose lease is free when a pass is
started or a stalled import is polled (``poke``), and every
``roster_lease_seconds``. Every batch renews the lease in the transaction that
writes it; a worker whose lease was taken over stops without touching the job.
When the app stops, a worker ends at its next batch and frees the lease, so the
next worker (here after a restart, or on another replica) resumes at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from servicekit import clock
from servicekit.jobs import Lease, Runner, new_holder

from services.participants.config import Settings
from services.participants.models import RosterImport, RosterImportError, RosterImportFile
from services.participants.roster import RUNNING, purge
from services.participants.roster.file import records
from services.participants.roster.rows import (
    BatchResult,
    Context,
    Problem,
    cell,
    context,
    process_batch,
    refresh_statistics,
)
from services.participants.enums import RosterMode, RosterPass, RosterStage, RosterStatus

log = logging.getLogger("participants.roster")

Rows = Iterator[tuple[int, list[str]]]


class LeaseLost(Exception):
    """Another worker holds the job now: stop without touching it."""


class Stopping(Exception):
    """The app is stopping: leave the job to the next worker."""


@dataclass(frozen=True)
class Claimed:
    import_id: uuid.UUID
    worker: str


class RosterJobs:
    """The app's roster import runner."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.lease = Lease(RosterImport, holder="worker", until="lease_until", seconds=settings.roster_lease_seconds)
        self.runner: Runner[Claimed] = Runner(
            "roster-imports",
            claim=self.claim,
            work=self.work,
            concurrency=settings.roster_workers,
            interval=settings.roster_lease_seconds,
            stop_timeout=settings.roster_lease_seconds,
        )

    def claim(self, limit: int) -> list[Claimed]:
        worker = new_holder()
        running = select(RosterImport.id).where(RosterImport.status.in_(RUNNING)).order_by(RosterImport.id).limit(limit)  # type: ignore[attr-defined]
        with Session(self.engine) as session:
            if not self.lease.claim(session, running, RosterImport.status.in_(RUNNING), holder=worker):  # type: ignore[attr-defined]
                return []
            claimed = session.exec(select(RosterImport.id).where(RosterImport.worker == worker)).all()
            session.commit()
        return [Claimed(import_id, worker) for import_id in claimed]

    async def work(self, job: Claimed) -> None:
        await asyncio.to_thread(self.run, job)

    def run(self, job: Claimed) -> None:
        """One pass of one claimed import, on this thread."""
        try:
            Run(self, job.import_id, job.worker).execute()
        except LeaseLost:
            log.warning("roster import %s: lease lost, another worker goes on", job.import_id)
        except Stopping:
            with Session(self.engine) as session:
                self.lease.release(session, job.import_id, job.worker, updated_at=clock.now())
                session.commit()
            log.info("roster import %s: left to the next worker (stopping)", job.import_id)
        except Exception as exc:
            log.exception("roster import %s failed", job.import_id)
            now = clock.now()
            with Session(self.engine) as session:
                self.lease.release(
                    session, job.import_id, job.worker, status=RosterStatus.failed, stage=None, finished_at=now, updated_at=now,
                    failure=f"Unexpected error ({type(exc).__name__}); start the pass again",
                )  # fmt: skip
                session.commit()


@dataclass
class Counters:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    errors: int = 0
    rows: int = 0

    def add(self, result: BatchResult, rows: int) -> None:
        self.created += result.created
        self.updated += result.updated
        self.unchanged += result.unchanged
        self.invalid += result.invalid
        self.errors += len(result.problems)
        self.rows += rows

    def values(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "invalid": self.invalid,
            "errors_count": self.errors,
            "rows_done": self.rows,
        }


class Run:
    """One worker's turn at one job."""

    def __init__(self, jobs: RosterJobs, import_id: uuid.UUID, worker: str) -> None:
        self.engine = jobs.engine
        self.lease = jobs.lease
        self.stopping = jobs.runner.stopping
        self.batch_size = jobs.settings.roster_batch_size
        self.write_lease_seconds = jobs.settings.roster_write_lease_seconds
        self.import_id = import_id
        self.worker = worker

    # -- the row of the job, guarded by the lease

    def _renew(self, session: Session, seconds: float | None = None, **values: Any) -> None:
        """Renew the lease (and set ``values``) if it is still ours; else LeaseLost."""
        if not self.lease.renew(session, self.import_id, self.worker, seconds=seconds, updated_at=clock.now(), **values):
            session.rollback()
            raise LeaseLost()

    def _finish(self, session: Session, status: RosterStatus, counters: Counters, **values: Any) -> None:
        """End the pass and free the lease, if it is still ours; else LeaseLost."""
        now = clock.now()
        values = {"status": status, "stage": None, "finished_at": now, "updated_at": now, **counters.values(), **values}
        if not self.lease.release(session, self.import_id, self.worker, **values):
            session.rollback()
            raise LeaseLost()

    def _go_on(self, session: Session | None = None) -> None:
        """Between batches: end here if the app is stopping (what this session holds is rolled back)."""
        if self.stopping.is_set():
            if session is not None:
                session.rollback()
            raise Stopping()

    # -- the pass

    def execute(self) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            job = session.get(RosterImport, self.import_id)
            file = session.get(RosterImportFile, self.import_id)
            if job is None:
                return
            if file is None:
                self._finish(session, RosterStatus.failed, Counters(), failure="The uploaded file is no longer available")
                session.commit()
                return
            text = file.content
            ctx = context(session, job)
            pass_kind, mode = RosterPass(job.pass_kind), RosterMode(job.mode) if job.mode else None
            resume_from = job.rows_done if pass_kind == RosterPass.commit and mode == RosterMode.skip_invalid else 0
            counters = Counters()
            if resume_from:
                counters = Counters(job.created, job.updated, job.unchanged, job.invalid, job.errors_count, job.rows_done)
            else:
                # Anything else starts over: a dry run wrote nothing, an all-or-nothing write was rolled back.
                stage = RosterStage.writing if mode == RosterMode.skip_invalid and pass_kind == RosterPass.commit else RosterStage.validating
                self._renew(session, stage=stage, failure=None, **counters.values())
                session.execute(delete(RosterImportError).where(RosterImportError.import_id == self.import_id))
                session.commit()
            rows = records(text, job.delimiter)
            if resume_from:
                log.info("roster import %s: resuming after row %d of %d", self.import_id, resume_from, job.rows_total)
                rows = self._skip(ctx, rows, resume_from)
        write = pass_kind == RosterPass.commit and mode == RosterMode.skip_invalid
        self._batches(ctx, rows, counters, write=write)
        with Session(self.engine) as session:
            if pass_kind == RosterPass.dry_run:
                self._finish(session, RosterStatus.validated, counters)
            elif mode == RosterMode.skip_invalid:
                self._finish(session, RosterStatus.committed, counters)
                purge(session, ctx.institution_id, [self.import_id], None)
            elif counters.invalid:
                self._finish(session, RosterStatus.rejected, counters)
            else:
                session.commit()
                self._write_all(ctx.institution_id, text)
                return
            session.commit()

    def _skip(self, ctx: Context, rows: Rows, count: int) -> Rows:
        """Pass over the rows a previous worker committed, remembering their external ids."""
        for _ in range(count):
            number, cells = next(rows)
            raw = cell(ctx, cells, "external_id")
            if raw and raw not in ctx.seen:
                ctx.seen[raw] = number
        return rows

    def _chunks(self, rows: Rows) -> Iterator[list[tuple[int, list[str]]]]:
        batch: list[tuple[int, list[str]]] = []
        for item in rows:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _batches(self, ctx: Context, rows: Rows, counters: Counters, *, write: bool) -> None:
        for number, batch in enumerate(self._chunks(rows), start=1):
            self._go_on()
            if write:
                with Session(self.engine) as session:
                    refresh_statistics(session, number)
                    session.commit()
            for attempt in (1, 2):
                with Session(self.engine, expire_on_commit=False) as session:
                    try:
                        self._renew(session)
                        result = process_batch(session, ctx, batch, write=write)
                        self._report(session, ctx.institution_id, result.problems)
                        after = Counters(**vars(counters))
                        after.add(result, len(batch))
                        self._renew(session, **after.values())
                        session.commit()
                    except (IntegrityError, OperationalError):
                        # A concurrent change to the same profiles: check the batch again once.
                        session.rollback()
                        if attempt == 2:
                            raise
                        continue
                result.merge_into(ctx)
                counters.add(result, len(batch))
                break

    def _report(self, session: Session, institution_id: uuid.UUID, problems: list[Problem]) -> None:
        if problems:
            session.add_all(
                RosterImportError(
                    institution_id=institution_id, import_id=self.import_id, row=p.row, field=p.field[:60],
                    problem=p.problem[:500], code=p.code[:40],
                )
                for p in sorted(problems, key=lambda p: p.row)  # in row order (ids are time-ordered)
            )  # fmt: skip

    def _write_all(self, institution_id: uuid.UUID, text: str) -> None:
        """All or nothing: every row in one transaction, checked again as it is written."""
        with Session(self.engine, expire_on_commit=False) as session:
            self._renew(session, self.write_lease_seconds, stage=RosterStage.writing)
            session.commit()
        with Session(self.engine, expire_on_commit=False) as session:
            job = session.get(RosterImport, self.import_id)
            assert job is not None
            ctx = context(session, job)
            counters = Counters()
            failed: list[Problem] = []
            for number, batch in enumerate(self._chunks(records(text, job.delimiter)), start=1):
                self._go_on(session)
                refresh_statistics(session, number)
                try:
                    result = process_batch(session, ctx, batch, write=True)
                except IntegrityError:
                    # A profile changed meanwhile so that a write clashed: report the batch.
                    failed = [Problem(batch[0][0], "row", "A row clashed with a change made meanwhile; start the commit again",
                                      "conflict")]  # fmt: skip
                    break
                if result.problems:
                    failed = result.problems
                    counters.add(result, len(batch))
                    break
                result.merge_into(ctx)
                counters.add(result, len(batch))
            if not failed:
                self._finish(session, RosterStatus.committed, counters)
                purge(session, institution_id, [self.import_id], None)
                session.commit()
                return
            session.rollback()
        with Session(self.engine) as session:
            self._renew(session)
            self._report(session, institution_id, failed)
            nothing = Counters(invalid=counters.invalid, errors=len(failed), rows=counters.rows)
            self._finish(session, RosterStatus.rejected, nothing,
                         failure="A row became invalid while writing (changed meanwhile); nothing was written")  # fmt: skip
            session.commit()


async def start(app: Any) -> None:
    """Start the app's runner (a startup hook)."""
    app.state.roster_jobs = RosterJobs(app.state.engine, app.state.settings)
    await app.state.roster_jobs.runner.start()


async def stop(app: Any) -> None:
    """Stop the app's runner (a shutdown hook): workers end at their next batch."""
    await app.state.roster_jobs.runner.stop()


def poke(app: Any) -> None:
    """Have the app's runner look for imports to run now (from any thread)."""
    app.state.roster_jobs.runner.poke()
