"""The webhook dispatcher: background tasks of every gateway replica.

**Feeds.** One consumer per service (``PageConsumer``, a
``servicekit.consumer.FeedConsumer`` that commits a page at a time) reads
``GET /internal/events?after=<cursor>`` with the gateway's internal token
(scope ``events:read``), with the gateway's own cursor per service
(``webhook_feed_cursors``). The transaction that records events as handled
and moves the cursor also creates their deliveries (``service.fan_out``): one
per matching subscription of the event's institution, unique per
(subscription, event). Several replicas polling at once race on those rows;
the loser rolls back, so an event is fanned out once, and a replica that was
down catches up from the cursor. While no subscription exists at all, the
feeds are not read (the cursor then catches up at once).

**Deliveries.** A replica claims due deliveries in one short transaction:
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (replicas never wait for
each other's rows), then a conditional UPDATE that sets a lease
(``lease_token``, ``leased_until``) only where no live lease exists, so on
SQLite too a delivery is claimed by one replica. The claim also writes the
attempt into the delivery log, *before* anything is sent: a replica that dies
mid-attempt leaves it in the log (marked ``interrupted`` when the delivery is
next claimed: the receiver may or may not have it). The HTTP attempt runs
outside any transaction; its result completes the logged attempt, and only
the lease holder moves the delivery on. The lease lasts one attempt plus
``LEASE_MARGIN_SECONDS``, so a dead replica's delivery is tried again about as
soon as an ordinary retry would be (at least once; receivers deduplicate by
``webhook-id``). Stopping lets attempts in flight finish and be recorded, so a
restart repeats nothing.

**An attempt.** The target is checked again by the platform's one
outbound-URL policy (``servicekit.outbound``: DNS answers can change) and the
connection made to the checked address; redirects are not followed; one
attempt (lookup included) is bounded in total by ``webhooks_timeout_seconds``. A
2xx is success; anything else schedules a retry with exponential backoff and
jitter (``backoff_delay``) until ``webhooks_max_attempts``, then the delivery
is marked failed (a manual redelivery starts a new round). The status, the
duration and the first 1 KiB of the answer are kept per attempt. Logs carry
ids, statuses and error classes only: never a secret or a payload.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from servicekit.consumer import FeedConsumer
from servicekit.http import make_async_client
from servicekit.outbound import OutboundPolicy, Resolver, TargetRefused, fetch
from servicekit.outbox import EventFeed, EventOut, utcnow

from gateway.config import Settings
from gateway.keys import fernet_for as secret_encryption
from gateway.minting import EVENTS_SCOPE, Minter
from gateway.webhooks import service
from gateway.webhooks.models import (
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookFeedCursor,
    WebhookHandledEvent,
    WebhookSubscription,
)
from gateway.webhooks.signing import SecretBox, signature_headers

log = logging.getLogger("gateway.webhooks")

EXCERPT_BYTES = 1024
FEED_PAGE = 200
USER_AGENT = "Aliada-Webhooks/1.0"


def backoff_delay(failures: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before the retry that follows the ``failures``-th failed attempt
    of a round: exponential (base, 2 base, 4 base ... at most cap), with
    "equal jitter": a random time between half and all of it, so receivers
    coming back are not hit by every replica at the same instant."""
    exp = min(cap, base * (2 ** max(0, failures - 1)))
    return exp / 2 + (rng or random).uniform(0, exp / 2)


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - utcnow()).total_seconds())


class TokenSource:
    """What FeedConsumer needs of a token provider: ``await token()``."""

    def __init__(self, get: Callable[[], Awaitable[str]]) -> None:
        self._get = get

    async def token(self) -> str:
        return await self._get()


# A lease covers one attempt (bounded by webhooks_timeout_seconds in all) and
# recording it; a replica that dies holds its deliveries no longer than that.
LEASE_MARGIN_SECONDS = 10.0
INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Job:
    delivery_id: object
    attempt_id: object
    lease_token: str
    trigger: str
    url: str
    event_id: str
    body: str
    secrets: tuple[str, ...]


@dataclass
class Outcome:
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class PageConsumer(FeedConsumer):
    """``FeedConsumer`` applying a whole page of the feed in one transaction:
    the handled ids, the deliveries and the cursor commit together, once per
    page instead of once per event (a replica catching up on thousands of
    events does it in seconds). When a page's transaction fails, because
    another replica handled some of the same events at the same moment (a
    unique violation) or because one event's handler failed, the page is
    applied again with ``FeedConsumer``'s one transaction per event, which
    skips what is handled and stops at a failing event, keeping the order."""

    def __init__(self, *, page_handler: Callable[[Session, list[EventOut]], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.page_handler = page_handler

    def _apply_page(self, events: list[EventOut]) -> int | None:
        """The number of events applied, or None if the page must be applied
        event by event."""
        handled = self.handled_model
        with Session(self.engine) as session:
            try:
                ids = [str(e.event_id) for e in events]
                done = set(session.exec(select(handled.event_id).where(col(handled.event_id).in_(ids))).all())
                fresh = [e for e in events if str(e.event_id) not in done]
                self.page_handler(session, fresh)
                session.add_all(handled(event_id=str(e.event_id), source=self.source, event_type=e.type) for e in fresh)
                cursor = session.get(self.cursor_model, self.source) or self.cursor_model(source=self.source)
                cursor.cursor, cursor.updated_at = events[-1].cursor, utcnow()
                session.add(cursor)
                session.commit()
                return len(fresh)
            except Exception as exc:  # noqa: BLE001  (retried event by event, which reports a real failure)
                session.rollback()
                log.info("webhook feed page retried event by event", extra={"source": self.source, "error": type(exc).__name__})
                return None

    async def poll_once(self) -> int:
        client = self._client or make_async_client(timeout=10.0)
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
                if feed.items:
                    page = await asyncio.to_thread(self._apply_page, feed.items)
                    if page is None:
                        page = 0
                        for event in feed.items:
                            if await asyncio.to_thread(self._apply, event):
                                page += 1
                    applied += page
                if len(feed.items) < self.batch:
                    return applied
        finally:
            if self._client is None:
                await client.aclose()


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        box: SecretBox,
        tokens: TokenSource,
        feed_urls: dict[str, str],
        feed_client: httpx.AsyncClient | None = None,
        resolver: Resolver | None = None,
        lease_seconds: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.box = box
        self.tokens = tokens
        self.feed_urls = feed_urls
        self.guard = OutboundPolicy(
            allow_private=settings.webhooks_allow_private_targets,
            resolver=resolver,
            timeout=settings.webhooks_timeout_seconds,
        )
        self.attempt_timeout = settings.webhooks_timeout_seconds
        # Longer than any attempt plus recording it: a live lease is never taken over.
        self.lease = timedelta(seconds=lease_seconds if lease_seconds is not None else self.attempt_timeout + LEASE_MARGIN_SECONDS)
        self.rng = rng or random.Random()
        self._feed_client = feed_client
        self._own_feed_client = feed_client is None
        self._postgres = engine.dialect.name == "postgresql"
        self._stop: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.consumers: list[PageConsumer] = []

    # -- lifecycle ------------------------------------------------------------------

    def _feed_http(self) -> httpx.AsyncClient:
        if self._feed_client is None:
            self._feed_client = make_async_client(timeout=self.settings.internal_timeout, retries=1, max_connections=8)
        return self._feed_client

    def _consumers(self) -> list[PageConsumer]:
        if not self.consumers:
            self.consumers = [
                PageConsumer(
                    source=name,
                    feed_url=f"{url.rstrip('/')}/internal/events",
                    tokens=self.tokens,  # type: ignore[arg-type]
                    engine=self.engine,
                    cursor_model=WebhookFeedCursor,
                    handled_model=WebhookHandledEvent,
                    handler=self._handler(name),
                    page_handler=self._page_handler(name),
                    batch=FEED_PAGE,
                    client=self._feed_http(),
                )
                for name, url in self.feed_urls.items()
            ]
        return self.consumers

    @staticmethod
    def _handler(source: str) -> Callable[[Session, EventOut], None]:
        def handle(session: Session, event: EventOut) -> None:
            service.fan_out(session, source, [event])

        return handle

    @staticmethod
    def _page_handler(source: str) -> Callable[[Session, list[EventOut]], None]:
        def handle(session: Session, events: list[EventOut]) -> None:
            service.fan_out(session, source, events)

        return handle

    async def start(self, _app: object = None) -> None:
        if self._tasks or not self.settings.webhooks_dispatcher_enabled:
            return
        self._stop, self._wake = asyncio.Event(), asyncio.Event()
        self._tasks = [asyncio.create_task(self._consume_loop(c), name=f"webhooks-feed-{c.source}") for c in self._consumers()]
        self._tasks.append(asyncio.create_task(self._deliver_loop(), name="webhooks-deliver"))

    async def stop(self, _app: object = None) -> None:
        """Stop polling; attempts in flight finish and are recorded (bounded)."""
        if self._stop is None:
            return
        self._stop.set()
        assert self._wake is not None
        self._wake.set()
        tasks, self._tasks = self._tasks, []
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=self.attempt_timeout + 10)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
        if self._own_feed_client and self._feed_client is not None:
            await self._feed_client.aclose()
            self._feed_client = None
            self.consumers = []

    def poke(self) -> None:
        """Look for due deliveries now (e.g. after a manual redelivery)."""
        if self._wake is not None:
            self._wake.set()

    async def _pause(self, seconds: float, *, wake: bool = False) -> None:
        assert self._stop is not None and self._wake is not None
        event = self._wake if wake else self._stop
        try:
            await asyncio.wait_for(event.wait(), timeout=seconds)
        except TimeoutError:
            pass
        if wake:
            self._wake.clear()

    async def _consume_loop(self, consumer: PageConsumer) -> None:
        assert self._stop is not None and self._wake is not None
        while not self._stop.is_set():
            try:
                if await asyncio.to_thread(self._any_subscription) and await consumer.poll_once():
                    self._wake.set()
            except Exception as exc:  # the source may be down for a while: keep polling
                log.warning("webhook feed poll failed", extra={"source": consumer.source, "error": type(exc).__name__})
            await self._pause(self.settings.webhooks_poll_seconds)

    async def _deliver_loop(self) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            try:
                done = await self.deliver_due()
            except Exception as exc:
                log.warning("webhook delivery round failed", extra={"error": type(exc).__name__})
                done = 0
            if done < self.settings.webhooks_concurrency and not self._stop.is_set():
                await self._pause(self.settings.webhooks_poll_seconds, wake=True)

    # -- feeds --------------------------------------------------------------------------

    def _any_subscription(self) -> bool:
        with Session(self.engine) as session:
            return session.exec(select(WebhookSubscription.id).limit(1)).first() is not None

    async def consume_once(self) -> int:
        """Read every feed once (to its end); events applied here."""
        applied = 0
        for consumer in self._consumers():
            applied += await consumer.poll_once()
        return applied

    # -- deliveries ----------------------------------------------------------------------

    async def deliver_due(self, limit: int | None = None) -> int:
        """Claim what is due (up to the concurrency), attempt it, record it."""
        jobs = await asyncio.to_thread(self.claim, limit or self.settings.webhooks_concurrency)
        if jobs:
            await asyncio.gather(*(self.run_job(job) for job in jobs))
        return len(jobs)

    async def run_job(self, job: Job) -> Outcome:
        outcome = await self.attempt(job)
        await asyncio.to_thread(self.record, job, outcome)
        return outcome

    def claim(self, limit: int) -> list[Job]:
        now = utcnow()
        token = secrets.token_hex(16)
        free = or_(col(WebhookDelivery.leased_until).is_(None), col(WebhookDelivery.leased_until) <= now)
        with Session(self.engine) as session:
            due = (
                select(WebhookDelivery.id)
                .join(WebhookSubscription, col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id))
                .where(
                    WebhookDelivery.status == PENDING,
                    col(WebhookDelivery.next_attempt_at) <= now,
                    free,
                    WebhookSubscription.active == True,
                )
                .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
                .limit(limit)
            )
            if self._postgres:
                due = due.with_for_update(skip_locked=True, of=WebhookDelivery)  # type: ignore[arg-type]
            ids = list(session.exec(due).all())
            if not ids:
                return []
            session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id).in_(ids), WebhookDelivery.status == PENDING, free)
                .values(lease_token=token, leased_until=now + self.lease)
                .execution_options(synchronize_session=False)
            )
            rows = session.exec(
                select(WebhookDelivery, WebhookSubscription, WebhookEvent)
                .join(WebhookSubscription, col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id))
                .join(WebhookEvent, col(WebhookEvent.event_id) == col(WebhookDelivery.event_id))
                .where(WebhookDelivery.lease_token == token)
            ).all()
            attempts = self._log_attempts(session, [d for d, _, _ in rows], now)
            session.commit()
            return [
                Job(
                    delivery_id=d.id,
                    attempt_id=attempts[d.id],
                    lease_token=token,
                    trigger=d.round_trigger,
                    url=sub.url,
                    event_id=event.event_id,
                    body=service.envelope(event),
                    secrets=tuple(service.signing_secrets(sub, self.box, now)),
                )
                for d, sub, event in rows
            ]

    @staticmethod
    def _log_attempts(session: Session, claimed: list[WebhookDelivery], now: datetime) -> dict[object, object]:
        """Write each claimed delivery's next attempt into its log before it is
        sent; an earlier attempt left unfinished (its replica died) is closed
        as interrupted."""
        ids = [d.id for d in claimed]
        if not ids:
            return {}
        session.execute(
            update(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id).in_(ids), col(WebhookAttempt.finished_at).is_(None))
            .values(error=INTERRUPTED, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        made: dict[object, object] = {}
        for d in claimed:
            d.attempts += 1
            d.updated_at = now
            attempt = WebhookAttempt(delivery_id=d.id, number=d.attempts, trigger=d.round_trigger, started_at=now)
            session.add(d)
            session.add(attempt)
            made[d.id] = attempt.id
        return made

    async def attempt(self, job: Job) -> Outcome:
        started_at, t0 = utcnow(), time.monotonic()
        outcome = Outcome(started_at=started_at, duration_ms=0)
        try:
            await self._send(job, outcome)
        except TargetRefused as exc:
            outcome.error = f"refused: {exc.reason}"[:200]
        except (TimeoutError, httpx.TimeoutException):
            outcome.error = "timeout"
        except httpx.HTTPError as exc:
            outcome.error = type(exc).__name__
        outcome.duration_ms = int((time.monotonic() - t0) * 1000)
        return outcome

    async def _send(self, job: Job, outcome: Outcome) -> None:
        signed = signature_headers(job.secrets, job.event_id, job.body)
        headers = {"content-type": "application/json", "user-agent": USER_AGENT, **signed}
        resp = await fetch(
            self.guard,
            job.url,
            method="POST",
            content=job.body.encode("utf-8"),
            headers=headers,
            max_bytes=EXCERPT_BYTES,
            truncate=True,
            timeout=self.attempt_timeout,
        )
        outcome.status_code = resp.status_code
        if resp.status_code in (429, 503):
            outcome.retry_after = retry_after_seconds(resp.headers.get("retry-after"))
        # PostgreSQL text refuses NUL characters.
        outcome.excerpt = resp.body.decode("utf-8", errors="replace").replace("\x00", "\ufffd") or None

    def record(self, job: Job, outcome: Outcome) -> None:
        now = utcnow()
        with Session(self.engine) as session:
            d = session.get(WebhookDelivery, job.delivery_id, with_for_update=True)
            if d is None:  # the subscription was deleted meanwhile
                return
            logged = session.get(WebhookAttempt, job.attempt_id)
            if logged is not None:  # completes the attempt the claim logged
                logged.duration_ms = outcome.duration_ms
                logged.status_code = outcome.status_code
                logged.error = outcome.error
                logged.response_excerpt = outcome.excerpt
                logged.finished_at = now
                session.add(logged)
            if d.lease_token == job.lease_token:
                d.round_attempts += 1
                d.lease_token, d.leased_until = None, None
                d.last_status_code = outcome.status_code
                d.last_error = outcome.error if not outcome.ok else None
                if outcome.ok:
                    d.status, d.delivered_at, d.next_attempt_at = SUCCEEDED, now, None
                elif d.round_attempts >= self.settings.webhooks_max_attempts:
                    d.status, d.next_attempt_at = FAILED, None
                else:
                    delay = backoff_delay(
                        d.round_attempts,
                        self.settings.webhooks_backoff_base_seconds,
                        self.settings.webhooks_backoff_cap_seconds,
                        self.rng,
                    )
                    if outcome.retry_after is not None:
                        delay = min(self.settings.webhooks_backoff_cap_seconds, max(delay, outcome.retry_after))
                    d.next_attempt_at = now + timedelta(seconds=delay)
            # else: the lease expired and another replica owns the delivery now;
            # this attempt is logged, the state is the owner's to set.
            d.updated_at = now
            session.add(d)
            session.commit()
        log.info(
            "webhook attempt",
            extra={
                "delivery_id": str(job.delivery_id),
                "status_code": outcome.status_code,
                "error": (outcome.error or "")[:60] or None,
                "duration_ms": outcome.duration_ms,
            },
        )


def build_dispatcher(settings: Settings, engine: Engine, minter: Minter) -> Dispatcher:
    """The gateway's dispatcher: every service's feed, read with the
    gateway's internal ``events:read`` token."""
    return Dispatcher(
        settings,
        engine,
        box=SecretBox(secret_encryption(settings)),
        tokens=TokenSource(lambda: minter.internal_token(EVENTS_SCOPE)),
        feed_urls=settings.service_urls,
    )
