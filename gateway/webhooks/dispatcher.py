"""The webhook dispatcher: background tasks of every gateway replica.

**Feeds.** One consumer per service (``PageConsumer``, a
``servicekit.consumer.FeedConsumer`` that commits a page at a time, polling
with the consumer's own loop) reads
``GET /internal/events?after=<cursor>`` with the gateway's internal token
(scope ``events:read``), with the gateway's own cursor per service
(``webhook_feed_cursors``). The transaction that records events as handled
and moves the cursor also creates their deliveries (``service.fan_out``): one
per matching subscription of the event's institution, unique per
(subscription, event). Several replicas polling at once race on those rows;
the loser rolls back, so an event is fanned out once, and a replica that was
down catches up from the cursor. While no subscription exists at all, the
feeds are not read (the cursor then catches up at once).

**Deliveries.** Deliveries are leased jobs (``servicekit.jobs``: the lease
is ``lease_token`` and ``leased_until``), run by a ``Runner`` at most
``webhooks_concurrency`` at once. A replica claims due deliveries in one
short transaction: one conditional UPDATE leases the due rows that hold no
live lease (on PostgreSQL it skips rows other replicas have locked, so
replicas never wait for each other), so a delivery is claimed by one replica.
The claim also writes the attempt into the delivery log, *before* anything is
sent: a replica that dies mid-attempt leaves it in the log (marked
``interrupted`` when the delivery is next claimed: the receiver may or may not
have it). The HTTP attempt runs outside any transaction; its result completes
the logged attempt, and only the lease holder moves the delivery on. The
lease (``delivery_lease_seconds``) covers one attempt and recording it, and is never
longer than an attempt plus the longest first retry delay: a dead replica's
delivery is tried again no later than a failed attempt would be (at least
once; receivers deduplicate by ``webhook-id``). Stopping lets attempts in
flight finish and be recorded, so a restart repeats nothing.

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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from servicekit.consumer import Background, FeedConsumer
from servicekit.http import make_async_client
from servicekit.jobs import Lease, Runner, new_holder
from servicekit.outbound import OutboundPolicy, Resolver, TargetRefused, fetch
from servicekit.outbox import EventOut, utcnow

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


# The time a lease allows for recording an attempt, after the attempt itself.
LEASE_MARGIN_SECONDS = 10.0
INTERRUPTED = "interrupted"


def delivery_lease_seconds(settings: Settings) -> float:
    """How long a claim holds a delivery: one attempt (at most
    ``webhooks_timeout_seconds``) and recording it, but never longer than an
    attempt plus the longest delay before its first retry. So a delivery whose
    replica died mid-attempt waits no longer than one whose attempt failed."""
    longest_first_retry = min(settings.webhooks_backoff_base_seconds, settings.webhooks_backoff_cap_seconds)
    return settings.webhooks_timeout_seconds + min(LEASE_MARGIN_SECONDS, longest_first_retry)


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
    skips what is handled and stops at a failing event, keeping the order.

    The feed is read only while ``wanted()`` (blocking) says so; ``applied()``
    is called after a poll that applied events."""

    def __init__(
        self,
        *,
        page_handler: Callable[[Session, list[EventOut]], None],
        wanted: Callable[[], bool],
        applied: Callable[[], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.page_handler = page_handler
        self.wanted = wanted
        self.applied = applied

    def _apply_whole_page(self, events: list[EventOut]) -> int | None:
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

    async def apply_page(self, events: list[EventOut]) -> int:
        if not events:
            return 0
        applied = await asyncio.to_thread(self._apply_whole_page, events)
        return applied if applied is not None else await super().apply_page(events)

    async def poll_once(self, client: httpx.AsyncClient | None = None) -> int:
        if not await asyncio.to_thread(self.wanted):
            return 0
        applied = await super().poll_once(client)
        if applied:
            self.applied()
        return applied


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
        self.leases = Lease(
            WebhookDelivery,
            holder="lease_token",
            until="leased_until",
            seconds=lease_seconds if lease_seconds is not None else delivery_lease_seconds(settings),
        )
        self.deliveries: Runner[Job] = Runner(
            "webhooks-deliver",
            claim=self.claim,
            work=self.run_job,
            concurrency=settings.webhooks_concurrency,
            interval=settings.webhooks_poll_seconds,
            stop_timeout=self.attempt_timeout + 10,
        )
        self.rng = rng or random.Random()
        self._feed_client = feed_client
        self._own_feed_client = feed_client is None
        self._feeds: Background | None = None
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
                    wanted=self._any_subscription,
                    applied=self.poke,
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
        if self._feeds is not None or not self.settings.webhooks_dispatcher_enabled:
            return
        self._feeds = Background(timeout=self.attempt_timeout + 10)
        for consumer in self._consumers():
            self._feeds.start(consumer.run(self._feeds.stop, self.settings.webhooks_poll_seconds))
        await self.deliveries.start()

    async def stop(self, _app: object = None) -> None:
        """Stop polling; attempts in flight finish and are recorded (bounded)."""
        feeds, self._feeds = self._feeds, None
        # Deliveries first: a feed page applied while stopping claims nothing more.
        await asyncio.gather(self.deliveries.stop(), feeds.halt() if feeds is not None else asyncio.sleep(0))
        if self._own_feed_client and self._feed_client is not None:
            await self._feed_client.aclose()
            self._feed_client = None
            self.consumers = []

    def poke(self) -> None:
        """Look for due deliveries now (e.g. after a manual redelivery)."""
        self.deliveries.poke()

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
        return await self.deliveries.run_once(limit)

    async def run_job(self, job: Job) -> None:
        outcome = await self.attempt(job)
        await asyncio.to_thread(self.record, job, outcome)

    def claim(self, limit: int) -> list[Job]:
        now = utcnow()
        token = new_holder()
        due = (
            select(WebhookDelivery.id)
            .join(WebhookSubscription, col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id))
            .where(
                WebhookDelivery.status == PENDING,
                col(WebhookDelivery.next_attempt_at) <= now,
                WebhookSubscription.active == True,
            )
            .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
            .limit(limit)
        )
        with Session(self.engine) as session:
            if not self.leases.claim(session, due, WebhookDelivery.status == PENDING, holder=token, skip_locked=True):
                session.rollback()
                return []
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
            d = session.get(WebhookDelivery, job.delivery_id)
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
            # Only the lease holder moves the delivery on. Else the lease expired
            # and another replica owns the delivery now: this attempt is logged,
            # the state is the owner's to set.
            self.leases.release(session, d.id, job.lease_token, **self._next_state(d, outcome, now))
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

    def _next_state(self, d: WebhookDelivery, outcome: Outcome, now: datetime) -> dict[str, Any]:
        """The delivery after this attempt: delivered, failed for good, or due again after a backoff."""
        attempts = d.round_attempts + 1
        state: dict[str, Any] = {
            "round_attempts": attempts,
            "last_status_code": outcome.status_code,
            "last_error": None if outcome.ok else outcome.error,
            "updated_at": now,
        }
        if outcome.ok:
            return {**state, "status": SUCCEEDED, "delivered_at": now, "next_attempt_at": None}
        if attempts >= self.settings.webhooks_max_attempts:
            return {**state, "status": FAILED, "next_attempt_at": None}
        delay = backoff_delay(
            attempts, self.settings.webhooks_backoff_base_seconds, self.settings.webhooks_backoff_cap_seconds, self.rng
        )
        if outcome.retry_after is not None:
            delay = min(self.settings.webhooks_backoff_cap_seconds, max(delay, outcome.retry_after))
        return {**state, "next_attempt_at": now + timedelta(seconds=delay)}


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
