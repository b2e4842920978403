"""Data-subject requests: export or erase one person's data in every service.

A request (``DataSubjectRequest``) has one step per app: the gateway's own
(``gateway.data_rights``, run in-process, first: an erasure ends her logins
before anything else), then one per service of ``Settings.data_rights_services``,
each a call to that service's ``POST /internal/data-subjects/{export,erasure}``
(``servicekit.data_rights``) with the gateway's internal token (scope
``data-subjects:internal``). Before any step runs, her participant ids are
resolved once with participants' ``/internal/data-subjects/resolve``: an
erasure in participants unlinks them from her account. While they cannot be
resolved every step fails (``resolve:...``) and is retried, except that the
gateway's own erasure still runs at once (her logins end) and runs again,
idempotent, with her participant ids once they are known.

Each step records its status (``pending``/``done``/``failed``), attempts, the
class of its last error (``http_503``, ``ConnectError``..., never a message:
answers may hold personal text), rows per table, and times.

**Erasure** runs its steps when it is asked; a step that fails is retried by
the sweep (``run_due``, every ``data_rights_sweep_seconds``, at most
``data_rights_sweep_batch`` steps per pass) after
``min(cap, base * 2**(attempts-1))`` seconds, until it is done: never dropped.
A service without the endpoint answers 404: that step is ``failed`` and
retried the same way, so wiring a service later finishes the old requests.
When every step is done the request forgets whom it was about
(``account_id`` and ``participant_ids`` cleared).

**Export** runs its steps while the caller waits and answers the bundle
(service -> table -> her rows). The bundle is never stored: a step that fails
is recorded ``failed`` and the request ``incomplete`` (she asks again), and the
sweep leaves exports alone.

Claiming a step moves its ``next_attempt_at`` past the attempt's timeout
(compare-and-set on the row), so two replicas never run one step at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import anyio.to_thread
import httpx
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from servicekit import data_rights as kit
from servicekit.auth import Principal
from servicekit.db import session_scope
from servicekit.http import make_async_client
from servicekit.outbox import utcnow
from servicekit.pagination import Page, paginate
from servicekit.problems import forbidden, not_found
from servicekit.tenancy import coordinates

from gateway import data_rights
from gateway.config import Settings
from gateway.minting import Minter
from gateway.models import Account, DataSubjectRequest, DataSubjectRequestStep
from gateway.revocation import RevokedSessions
from gateway.schemas import DataSubjectRequestPublic, StepPublic

log = logging.getLogger("gateway.subject_requests")

GATEWAY_STEP = "gateway"
PENDING, DONE, FAILED, INCOMPLETE = "pending", "done", "failed", "incomplete"
EXPORT, ERASURE = "export", "erasure"

_scope = contextmanager(session_scope)


class StepFailed(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error[:64]


class SubjectRequests:
    def __init__(self, settings: Settings, engine: Engine, minter: Minter, revoked: RevokedSessions) -> None:
        self.settings = settings
        self.engine = engine
        self.minter = minter
        self.revoked = revoked
        self.client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, _app: object = None) -> None:
        self.client = make_async_client(timeout=self.settings.data_rights_timeout, retries=0, max_connections=8)
        if self.settings.data_rights_sweeper_enabled and self._task is None:
            self._stop = asyncio.Event()
            self._task = asyncio.create_task(self._loop(), name="data-subject-requests-sweep")

    async def stop(self, _app: object = None) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=self.settings.data_rights_timeout + 5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    async def _loop(self) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            try:
                await self.run_due()
            except Exception as exc:  # the database may be away for a while: keep sweeping
                log.warning("data-subject sweep failed", extra={"error": type(exc).__name__})
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.settings.data_rights_sweep_seconds)
            except TimeoutError:
                pass

    # -- requests ----------------------------------------------------------------------

    @property
    def services(self) -> list[str]:
        return [GATEWAY_STEP, *self.settings.data_rights_services]

    def _lease(self) -> timedelta:
        return timedelta(seconds=self.settings.data_rights_timeout * 2 + 30)

    def create(
        self, session: Session, *, kind: str, institution_id: str, account_id: str, role: str, requested_by: str | None
    ) -> tuple[DataSubjectRequest, list[uuid.UUID]]:
        """The request and its steps, claimed by the caller (who runs them next)."""
        request = DataSubjectRequest(
            kind=kind, institution_id=institution_id, account_id=account_id, requested_by_role=role, requested_by=requested_by
        )
        session.add(request)
        session.flush()
        claimed_until = utcnow() + self._lease()
        steps = [
            DataSubjectRequestStep(request_id=request.id, position=i, service=name, next_attempt_at=claimed_until)
            for i, name in enumerate(self.services)
        ]
        session.add_all(steps)
        session.flush()
        return request, [s.id for s in steps]

    async def run(self, request_id: uuid.UUID, step_ids: Sequence[uuid.UUID]) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Run these (claimed) steps of a request; the export bundle of those that succeeded."""
        request, steps = await anyio.to_thread.run_sync(self._load, request_id, step_ids)
        bundle: dict[str, dict[str, list[dict[str, Any]]]] = {}
        if request is None or not steps:
            return bundle
        participant_ids = request.participant_ids
        if participant_ids is None:
            try:
                participant_ids = await self._resolve(request)
            except StepFailed as exc:
                error = f"resolve:{exc.error}"
                for step in steps:
                    counts = None
                    if request.kind == ERASURE and step.service == GATEWAY_STEP:
                        # Her logins end now, whatever else waits: the gateway's
                        # erasure runs without her participant ids, and again
                        # (idempotent) once they are known.
                        try:
                            counts = await self._attempt(request, GATEWAY_STEP, [])
                        except StepFailed:
                            counts = None
                    await anyio.to_thread.run_sync(self._record, request, step, counts, error)
                await anyio.to_thread.run_sync(self._settle, request.id)
                return bundle
            await anyio.to_thread.run_sync(self._set_participants, request.id, participant_ids)
        ids = [uuid.UUID(p) for p in participant_ids]
        for step in steps:
            try:
                tables = await self._attempt(request, step.service, ids)
            except StepFailed as exc:
                log.warning(
                    "data-subject step failed",
                    extra={"request_id": str(request.id), "service": step.service, "error": exc.error},
                )
                await anyio.to_thread.run_sync(self._record, request, step, None, exc.error)
                continue
            if request.kind == EXPORT:
                bundle[step.service] = tables  # type: ignore[assignment]
                counts = {table: len(rows) for table, rows in tables.items()}
            else:
                counts = {table: int(n) for table, n in tables.items()}  # type: ignore[call-overload]
            await anyio.to_thread.run_sync(self._record, request, step, counts, None)
        await anyio.to_thread.run_sync(self._settle, request.id)
        return bundle

    async def run_due(self) -> int:
        """One sweep: claim the erasure steps due for a retry and run them."""
        claimed = await anyio.to_thread.run_sync(self._claim_due)
        by_request: dict[uuid.UUID, list[uuid.UUID]] = {}
        for request_id, step_id in claimed:
            by_request.setdefault(request_id, []).append(step_id)
        for request_id, step_ids in by_request.items():
            await self.run(request_id, step_ids)
        return len(claimed)

    # -- one attempt -------------------------------------------------------------------

    async def _attempt(self, request: DataSubjectRequest, service: str, participant_ids: list[uuid.UUID]) -> dict[str, Any]:
        institution_id = uuid.UUID(request.institution_id)
        account_id = request.account_id
        assert account_id is not None
        if service == GATEWAY_STEP:
            return await anyio.to_thread.run_sync(self._gateway_step, request.kind, institution_id, account_id, participant_ids)
        path = kit.EXPORT_PATH if request.kind == EXPORT else kit.ERASURE_PATH
        body = {"institution_id": str(institution_id), "account_id": account_id, "participant_ids": [str(p) for p in participant_ids]}
        answer = await self._post(service, path, body)
        tables = answer.get("tables")
        if not isinstance(tables, dict):
            raise StepFailed("bad_answer")
        return tables

    def _gateway_step(
        self, kind: str, institution_id: uuid.UUID, account_id: str, participant_ids: list[uuid.UUID]
    ) -> dict[str, Any]:
        try:
            with _scope(self.engine) as session:
                if kind == EXPORT:
                    return data_rights.export_subject(session, institution_id, account_id, participant_ids)
                counts, revoked = data_rights.erase_account(session, institution_id, account_id, participant_ids)
        except Exception as exc:
            raise StepFailed(type(exc).__name__) from None
        self.revoked.note(revoked)
        return counts

    async def _post(self, service: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.client is not None, "SubjectRequests.start was not called"
        url = f"{self.settings.service_url(service)}{path}"
        try:
            token = await self.minter.internal_token(kit.DATA_RIGHTS_SCOPE)
            resp = await self.client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise StepFailed(type(exc).__name__) from None
        if resp.status_code != 200:
            raise StepFailed(f"http_{resp.status_code}")
        try:
            answer = resp.json()
        except ValueError:
            raise StepFailed("bad_answer") from None
        if not isinstance(answer, dict):
            raise StepFailed("bad_answer")
        return answer

    async def _resolve(self, request: DataSubjectRequest) -> list[str]:
        if "participants" not in self.settings.data_rights_services:
            return []
        body = {"institution_id": request.institution_id, "account_id": request.account_id}
        answer = await self._post("participants", kit.RESOLVE_PATH, body)
        ids = answer.get("participant_ids")
        if not isinstance(ids, list):
            raise StepFailed("bad_answer")
        try:
            return [str(uuid.UUID(str(i))) for i in ids]
        except ValueError:
            raise StepFailed("bad_answer") from None

    # -- the record --------------------------------------------------------------------

    def _load(
        self, request_id: uuid.UUID, step_ids: Sequence[uuid.UUID]
    ) -> tuple[DataSubjectRequest | None, list[DataSubjectRequestStep]]:
        with Session(self.engine, expire_on_commit=False) as session:
            request = session.get(DataSubjectRequest, request_id)
            steps = session.exec(
                select(DataSubjectRequestStep)
                .where(col(DataSubjectRequestStep.id).in_(list(step_ids)), DataSubjectRequestStep.status != DONE)
                .order_by(col(DataSubjectRequestStep.position))
            ).all()
            if request is not None:
                session.expunge(request)
            for step in steps:
                session.expunge(step)
            return request, list(steps)

    def _set_participants(self, request_id: uuid.UUID, participant_ids: list[str]) -> None:
        with _scope(self.engine) as session:
            request = session.get(DataSubjectRequest, request_id)
            if request is not None and request.participant_ids is None:
                request.participant_ids = participant_ids
                session.add(request)

    def _backoff(self, attempts: int) -> timedelta:
        s = self.settings
        return timedelta(seconds=min(s.data_rights_backoff_cap_seconds, s.data_rights_backoff_base_seconds * 2 ** max(attempts - 1, 0)))

    def _record(
        self, request: DataSubjectRequest, step: DataSubjectRequestStep, counts: dict[str, int] | None, error: str | None
    ) -> None:
        now = utcnow()
        with _scope(self.engine) as session:
            row = session.get(DataSubjectRequestStep, step.id)
            if row is None or row.status == DONE:
                return
            row.attempts += 1
            row.started_at = row.started_at or now
            if counts is not None:  # rows of every attempt that did something (an erasure may run twice)
                merged = dict(row.rows or {})
                for table, n in counts.items():
                    merged[table] = merged.get(table, 0) + n
                row.rows = merged
            if error is None:
                row.status, row.last_error, row.finished_at = DONE, None, now
                row.next_attempt_at = now
            else:
                row.status, row.last_error = FAILED, error[:64]
                row.next_attempt_at = now + self._backoff(row.attempts)
            session.add(row)

    def _settle(self, request_id: uuid.UUID) -> None:
        """The request's status from its steps; a finished erasure forgets her."""
        with _scope(self.engine) as session:
            request = session.get(DataSubjectRequest, request_id)
            if request is None:
                return
            statuses = set(
                session.exec(select(DataSubjectRequestStep.status).where(DataSubjectRequestStep.request_id == request_id)).all()
            )
            if statuses == {DONE}:
                request.status, request.finished_at = DONE, request.finished_at or utcnow()
                if request.kind == ERASURE:
                    request.account_id, request.participant_ids = None, None
            elif request.kind == EXPORT:
                request.status, request.finished_at = INCOMPLETE, request.finished_at or utcnow()
            else:
                request.status = FAILED if FAILED in statuses else PENDING
            session.add(request)

    def _claim_due(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        now = utcnow()
        with _scope(self.engine) as session:
            candidates = session.exec(
                select(DataSubjectRequestStep.id, DataSubjectRequestStep.request_id)
                .join(DataSubjectRequest, col(DataSubjectRequest.id) == col(DataSubjectRequestStep.request_id))
                .where(
                    DataSubjectRequest.kind == ERASURE,
                    DataSubjectRequestStep.status != DONE,
                    col(DataSubjectRequestStep.next_attempt_at) <= now,
                )
                .order_by(col(DataSubjectRequestStep.next_attempt_at))
                .limit(self.settings.data_rights_sweep_batch)
            ).all()
            claimed = []
            for step_id, request_id in candidates:
                result = session.execute(
                    update(DataSubjectRequestStep)
                    .where(
                        col(DataSubjectRequestStep.id) == step_id,
                        DataSubjectRequestStep.status != DONE,
                        col(DataSubjectRequestStep.next_attempt_at) <= now,
                    )
                    .values(next_attempt_at=now + self._lease())
                )
                if result.rowcount:
                    claimed.append((request_id, step_id))
            return claimed


# -- who may ask, and the completion records ----------------------------------------


def _role(who: Principal, account: Account | None) -> str:
    """In what capacity ``who`` may ask about this account: ``data_subject``, ``admin`` or ``coordinator``;
    403 for another person of her institution, 404 for anyone else."""
    if account is None or account.institution_id is None:
        raise not_found("Account")
    if who.subject == str(account.id):
        return "data_subject"
    if who.is_admin:
        return "admin"
    if coordinates(who, account.institution_id):
        return "coordinator"
    if who.tenant_id is not None and who.tenant_id == account.institution_id:
        raise forbidden("Only the person herself and her institution's coordinators may do this")
    raise not_found("Account")


def open_request(
    session: Session, requests: SubjectRequests, who: Principal, kind: str, account_id: uuid.UUID
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A new request about this account, if ``who`` may ask; its id and its (claimed) steps."""
    account = session.get(Account, account_id)
    role = _role(who, account)
    assert account is not None and account.institution_id is not None
    record, steps = requests.create(
        session,
        kind=kind,
        institution_id=account.institution_id,
        account_id=str(account.id),
        role=role,
        requested_by=None if role == "data_subject" else who.subject,
    )
    return record.id, steps


def public(session: Session, request: DataSubjectRequest) -> DataSubjectRequestPublic:
    steps = session.exec(
        select(DataSubjectRequestStep)
        .where(DataSubjectRequestStep.request_id == request.id)
        .order_by(col(DataSubjectRequestStep.position))
    ).all()
    return DataSubjectRequestPublic(
        id=request.id,
        kind=request.kind,  # type: ignore[arg-type]
        institution_id=request.institution_id,
        account_id=request.account_id,
        status=request.status,  # type: ignore[arg-type]
        requested_by_role=request.requested_by_role,
        requested_by=request.requested_by,
        created_at=request.created_at,
        finished_at=request.finished_at,
        steps=[
            StepPublic(
                service=s.service,
                status=s.status,  # type: ignore[arg-type]
                attempts=s.attempts,
                last_error=s.last_error,
                rows=s.rows,
                started_at=s.started_at,
                finished_at=s.finished_at,
                next_attempt_at=None if s.status == DONE else s.next_attempt_at,
            )
            for s in steps
        ],
    )


def record(session: Session, request_id: uuid.UUID) -> DataSubjectRequestPublic:
    """The completion record of a request the caller just made (an erasure may have forgotten whom it was about)."""
    request = session.get(DataSubjectRequest, request_id)
    assert request is not None
    return public(session, request)


def record_for(session: Session, who: Principal, request_id: uuid.UUID) -> DataSubjectRequestPublic:
    """The completion record, for the institution's coordinators and admins and the person herself (else 404)."""
    request = session.get(DataSubjectRequest, request_id)
    if request is not None and (
        coordinates(who, request.institution_id)
        or (request.account_id is not None and request.account_id == who.subject)
    ):
        return public(session, request)
    raise not_found("Data-subject request")


def page(
    session: Session, who: Principal, *, kind: str | None, status: str | None, limit: int, cursor: str | None
) -> Page[DataSubjectRequestPublic]:
    """Every request (admin), her institution's (coordinators) or her own (anyone else), of this kind and status."""
    stmt = select(DataSubjectRequest)
    if who.is_admin:
        pass
    elif who.has_role("coordinator") and who.tenant_id is not None:
        stmt = stmt.where(DataSubjectRequest.institution_id == who.tenant_id)
    else:
        stmt = stmt.where(DataSubjectRequest.account_id == who.subject)
    if kind is not None:
        stmt = stmt.where(DataSubjectRequest.kind == kind)
    if status is not None:
        stmt = stmt.where(DataSubjectRequest.status == status)
    rows, next_cursor = paginate(session, stmt, DataSubjectRequest.id, limit=limit, cursor=cursor)
    return Page[DataSubjectRequestPublic](items=[public(session, r) for r in rows], next_cursor=next_cursor)
