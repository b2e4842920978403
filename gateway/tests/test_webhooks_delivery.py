"""The webhook dispatcher against a real outbox feed (servicekit's, served by
an app verifying its token) and real receivers on loopback that verify every
request with the ``standardwebhooks`` package: routing by institution,
signatures, retries with backoff when the receiver is down, the delivery log,
manual redelivery, and restarts and concurrent replicas that neither
duplicate nor drop an event."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, SQLModel, col, func, select

from servicekit.app import create_service_app
from servicekit.auth import Principal
from servicekit.db import SESSION_DEPENDENCY, make_engine, new_registry
from servicekit.outbound import OutboundPolicy
from servicekit.outbox import OutboxEventBase, emit, feed_router
from servicekit.settings import BaseServiceSettings

from gateway.config import Settings
from gateway.db import migrate
from gateway.tests.webhook_receiver import Receiver
from gateway.webhooks import service
from gateway.webhooks.dispatcher import LEASE_MARGIN_SECONDS, Dispatcher, TokenSource
from gateway.webhooks.models import (
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookHandledEvent,
    WebhookSubscription,
)
from gateway.webhooks.schemas import SubscriptionCreate
from gateway.webhooks.signing import SecretBox

# Set per test (see _isolated): the tests share one gateway database and one feed.
INST_A, INST_B, SOURCE = "", "", ""
ADMIN = Principal(subject="admin-1", tenant_id=None, roles=frozenset({"admin"}), scopes=frozenset(), token_id="t", is_client=False, token="")


class FeedBase(SQLModel, registry=new_registry()):
    pass


class Outbox(OutboxEventBase, FeedBase, table=True):
    pass


class Feed:
    """A service's outbox and its feed endpoint (servicekit's own)."""

    def __init__(self, url: str, key_source: Any) -> None:
        self.engine = make_engine(url, pool_size=2)
        FeedBase.metadata.create_all(self.engine)
        settings = BaseServiceSettings(service_name="feed", database_url=url, log_level="WARNING")
        self.app = create_service_app(
            settings=settings, title="feed", description="an outbox feed", routers=[feed_router(Outbox, SESSION_DEPENDENCY)], key_source=key_source
        )

    def publish(self, *events: tuple[str, str | None]) -> list[str]:
        ids = []
        with Session(self.engine) as session:
            for event_type, tenant in events:
                subject = uuid.uuid4()
                ids.append(str(emit(session, Outbox, event_type, subject=subject, tenant_id=tenant, payload={"thing_id": str(subject)}).event_id))
            session.commit()
        return ids


@pytest.fixture(scope="module")
def feed(database_factory, key_source) -> Iterator[Feed]:
    f = Feed(database_factory.new("feed"), key_source)
    yield f
    f.engine.dispose()
    f.app.state.engine.dispose()


@pytest.fixture(scope="module")
def gateway_db(database_factory) -> Iterator[Any]:
    url = database_factory.new("gateway")
    migrate(url)
    engine = make_engine(url, pool_size=8)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _isolated(gateway_db, monkeypatch) -> Iterator[None]:
    """Fresh institutions and a fresh feed source name (so a fresh cursor) per
    test; every subscription (with its deliveries) is deleted afterwards."""
    monkeypatch.setattr(f"{__name__}.INST_A", str(uuid.uuid4()))
    monkeypatch.setattr(f"{__name__}.INST_B", str(uuid.uuid4()))
    monkeypatch.setattr(f"{__name__}.SOURCE", f"svc-{uuid.uuid4().hex[:8]}")
    yield
    with Session(gateway_db) as session:
        for sub in session.exec(select(WebhookSubscription)).all():
            service.delete_subscription(session, sub)
        session.commit()


def handled_count(engine: Any, ids: list[str]) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(WebhookHandledEvent).where(col(WebhookHandledEvent.event_id).in_(ids))).one()


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhooks_allow_private_targets": True,  # the receivers are on loopback
        "webhooks_poll_seconds": 0.05,
        "webhooks_backoff_base_seconds": 0.05,
        "webhooks_backoff_cap_seconds": 0.2,
        "webhooks_timeout_seconds": 5.0,
        "webhooks_max_attempts": 4,
        "webhooks_concurrency": 4,
        "log_level": "WARNING",
        "log_json": False,
    }
    values.update(overrides)
    return Settings(**values)


def dispatcher(feed: Feed, engine: Any, mint, **kw: Any) -> Dispatcher:
    token = mint(sub="service:gateway", scope="events:read", client_id="gateway")

    async def get() -> str:
        return token

    lease = kw.pop("lease_seconds", None)
    extra = {"resolver": kw.pop("resolver")} if "resolver" in kw else {}
    return Dispatcher(
        kw.pop("settings", None) or settings(**kw),
        engine,
        box=SecretBox(None),
        tokens=TokenSource(get),
        feed_urls={SOURCE: "http://participants"},
        feed_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=feed.app)),
        lease_seconds=lease,
        **extra,
    )


def subscribe(engine: Any, institution: str, receiver: Receiver, event_types: list[str], **extra: Any) -> WebhookSubscription:
    with Session(engine, expire_on_commit=False) as session:
        data = SubscriptionCreate(url=receiver.url, event_types=event_types, **extra)
        sub, secret = service.create_subscription(session, ADMIN, institution, data, SecretBox(None))
        session.commit()
    receiver.secret = secret
    return sub


def deliveries(engine: Any, sub: WebhookSubscription | None = None) -> list[WebhookDelivery]:
    with Session(engine) as session:
        stmt = select(WebhookDelivery).order_by(WebhookDelivery.id)
        if sub is not None:
            stmt = stmt.where(WebhookDelivery.subscription_id == sub.id)
        return list(session.exec(stmt).all())


async def until(predicate, timeout: float = 20.0, what: str = "condition", step=None) -> Any:  # type: ignore[no-untyped-def]
    """Poll (after ``await step()`` if given) until ``predicate()`` holds; bounded."""
    deadline = time.monotonic() + timeout
    while True:
        if step is not None:
            await step()
        value = await asyncio.to_thread(predicate)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture()
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for r in made:
        r.stop()


def receiver(made: list[Receiver]) -> Receiver:
    r = Receiver().start()
    made.append(r)
    return r


async def test_events_are_signed_and_go_only_to_their_institutions_subscriptions(feed, gateway_db, mint, receivers) -> None:
    ra, rb, rc = receiver(receivers), receiver(receivers), receiver(receivers)
    sub_a = subscribe(gateway_db, INST_A, ra, ["match.*", "institution.updated"])
    sub_b = subscribe(gateway_db, INST_B, rb, ["*"])
    subscribe(gateway_db, INST_B, rc, ["feedback.overdue"], active=False)  # paused: nothing
    a1, a2, _a_unwanted, b1, _none = feed.publish(
        ("match.activated", INST_A),
        ("institution.updated", INST_A),
        ("feedback.overdue", INST_A),  # A does not want it
        ("feedback.overdue", INST_B),
        ("match.activated", None),  # no institution: nobody's
    )
    d = dispatcher(feed, gateway_db, mint)
    try:
        assert await d.consume_once() == 5
        assert [x.event_id for x in deliveries(gateway_db, sub_a)] == [a1, a2]
        assert [x.event_id for x in deliveries(gateway_db, sub_b)] == [b1]
        assert len(deliveries(gateway_db)) == 3
        assert await d.deliver_due() == 3
    finally:
        await d.stop()

    assert not ra.unverified() and not rb.unverified() and not rc.received
    assert sorted(r.webhook_id for r in ra.accepted()) == sorted([a1, a2])
    assert [r.webhook_id for r in rb.accepted()] == [b1]
    first = next(r for r in ra.accepted() if r.webhook_id == a1)
    assert first.payload["type"] == "match.activated" and first.payload["institution_id"] == INST_A
    assert first.payload["id"] == a1 and first.payload["source"] == SOURCE and "thing_id" in first.payload["data"]
    assert first.headers["content-type"] == "application/json" and abs(int(first.headers["webhook-timestamp"]) - time.time()) < 60
    assert all(x.status == SUCCEEDED and x.attempts == 1 for x in deliveries(gateway_db))


async def test_a_receiver_that_is_down_gets_every_event_when_it_is_back(feed, gateway_db, mint, receivers) -> None:
    r = receiver(receivers)
    sub = subscribe(gateway_db, INST_A, r, ["*"])
    ids = feed.publish(("match.activated", INST_A), ("match.dissolved", INST_A), ("meeting.held", INST_A))
    d = dispatcher(feed, gateway_db, mint)
    r.stop()  # down: connections refused
    try:
        await d.consume_once()
        assert await d.deliver_due() == 3
        down = deliveries(gateway_db, sub)
        assert all(x.status == PENDING and x.attempts == 1 and x.last_error == "ConnectError" for x in down)
        now = datetime.now(UTC)
        # The retry waits between half and all of the first backoff step.
        assert all(now - timedelta(seconds=1) < service.aware(x.next_attempt_at) <= now + timedelta(seconds=0.05) for x in down)

        r.statuses.extend([503, 500])  # back, but still failing twice
        r.start()
        await until(lambda: all(x.status == SUCCEEDED for x in deliveries(gateway_db, sub)), what="every retry", step=d.deliver_due)
    finally:
        await d.stop()
    assert sorted(r.accepted_counts().elements()) == sorted(ids)  # each event once, none lost
    assert not r.unverified()
    log = deliveries(gateway_db, sub)
    assert sum(x.attempts for x in log) == 3 + 3 + 2  # 3 refused, 2 answered 5xx, 3 accepted
    with Session(gateway_db) as session:
        detail = service.delivery_detail(session, next(x for x in log if x.attempts >= 3))
    assert detail.attempt_log[0].error == "ConnectError" and detail.attempt_log[0].status_code is None
    assert detail.attempt_log[-1].status_code == 200 and detail.attempt_log[-1].response_excerpt == "stored"
    assert any(a.status_code in (500, 503) and a.response_excerpt == "try later" for x in log for a in _attempts(gateway_db, x))


def _attempts(engine: Any, d: WebhookDelivery) -> list[WebhookAttempt]:
    with Session(engine) as session:
        return list(session.exec(select(WebhookAttempt).where(WebhookAttempt.delivery_id == d.id)).all())


async def test_attempts_are_bounded_then_a_manual_redelivery_sends_again(feed, gateway_db, mint, receivers) -> None:
    r = receiver(receivers)
    sub = subscribe(gateway_db, INST_A, r, ["match.completed"])
    (event_id,) = feed.publish(("match.completed", INST_A))
    r.statuses.extend([500] * 4)
    d = dispatcher(feed, gateway_db, mint, webhooks_max_attempts=4)
    try:
        await d.consume_once()
        await until(lambda: deliveries(gateway_db, sub)[0].status == FAILED, what="the delivery to fail", step=d.deliver_due)
        (gone,) = deliveries(gateway_db, sub)
        assert gone.attempts == 4 and gone.last_status_code == 500 and gone.next_attempt_at is None
        assert await d.deliver_due() == 0  # failed stays failed

        with Session(gateway_db) as session:
            row = session.get(WebhookDelivery, gone.id)
            service.redeliver(session, row)
            session.commit()
        assert await d.deliver_due() == 1
    finally:
        await d.stop()
    (done,) = deliveries(gateway_db, sub)
    assert done.status == SUCCEEDED and done.attempts == 5
    assert r.accepted_counts() == {event_id: 1} and len(r.received) == 5
    with Session(gateway_db) as session:
        log = service.delivery_detail(session, done).attempt_log
    assert [a.trigger for a in log] == ["automatic"] * 4 + ["manual"]


async def test_redirects_are_not_followed(feed, gateway_db, mint, receivers) -> None:
    r = receiver(receivers)
    sub = subscribe(gateway_db, INST_A, r, ["*"])
    feed.publish(("match.activated", INST_A))
    r.statuses.append(307)
    d = dispatcher(feed, gateway_db, mint)
    try:
        await d.consume_once()
        await d.deliver_due()
    finally:
        await d.stop()
    (first,) = deliveries(gateway_db, sub)
    assert first.status == PENDING and first.last_status_code == 307 and len(r.received) == 1  # not followed


async def test_dns_is_checked_again_at_delivery(feed, gateway_db, mint) -> None:
    """A name that resolved to a public address when the subscription was made
    and now resolves to a private one (DNS rebinding) is not called."""
    dns = {"hooks.uni.example": ["93.184.216.34"]}

    async def resolve(host: str, port: int) -> list[str]:
        return dns[host]

    await OutboundPolicy(allow_private=False, resolver=resolve).check("https://hooks.uni.example/in")  # passes at subscription time
    with Session(gateway_db, expire_on_commit=False) as session:
        data = SubscriptionCreate(url="https://hooks.uni.example/in", event_types=["*"])
        sub, _secret = service.create_subscription(session, ADMIN, INST_A, data, SecretBox(None))
        session.commit()
    feed.publish(("match.activated", INST_A))
    dns["hooks.uni.example"] = ["10.0.0.5"]
    d = dispatcher(feed, gateway_db, mint, webhooks_allow_private_targets=False, resolver=resolve)
    try:
        await d.consume_once()
        assert await d.deliver_due() == 1
    finally:
        await d.stop()
    (refused,) = deliveries(gateway_db, sub)
    assert refused.status == PENDING and refused.last_status_code is None
    assert refused.last_error == "refused: the host resolves to a private address"


async def test_a_restarted_dispatcher_and_concurrent_replicas_neither_duplicate_nor_drop(feed, gateway_db, mint, receivers) -> None:
    r = receiver(receivers)
    r.delay = 0.2  # slow answers, so a stop happens with attempts in flight
    sub = subscribe(gateway_db, INST_A, r, ["*"])
    first_batch = feed.publish(*[("meeting.scheduled", INST_A)] * 6)

    a = dispatcher(feed, gateway_db, mint)
    await a.start()
    await until(lambda: r.in_flight > 0, what="an attempt in flight")
    await a.stop()  # graceful: what is in flight finishes and is recorded
    assert r.in_flight == 0
    sent_before = len(r.received)
    assert 1 <= sent_before <= 4  # one round at most (concurrency 4)
    recorded = [x for x in deliveries(gateway_db, sub) if x.status == SUCCEEDED]
    assert len(recorded) == sent_before  # every request that reached the receiver is in the log

    # A replica dies right after claiming a delivery (its lease will expire).
    crashed = dispatcher(feed, gateway_db, mint, lease_seconds=0.3)
    claimed = crashed.claim(1)
    await crashed.stop()
    assert len(claimed) == 1

    second_batch = feed.publish(*[("meeting.rescheduled", INST_A)] * 6)
    replicas = [dispatcher(feed, gateway_db, mint), dispatcher(feed, gateway_db, mint)]
    for replica in replicas:
        await replica.start()
    try:
        everything = set(first_batch + second_batch)
        await until(lambda: set(r.accepted_counts()) == everything, timeout=30, what="every event delivered")
        await until(lambda: all(x.status == SUCCEEDED for x in deliveries(gateway_db, sub)), what="the log to settle")
    finally:
        for replica in replicas:
            await replica.stop()
    counts = r.accepted_counts()
    assert set(counts) == set(first_batch + second_batch)
    assert set(counts.values()) == {1}, counts  # none twice
    assert len(r.received) == 12
    assert len(deliveries(gateway_db, sub)) == 12
    assert handled_count(gateway_db, first_batch + second_batch) == 12
    # The crashed replica's claim is in the log (before anything was sent), closed as interrupted.
    resumed = next(x for x in deliveries(gateway_db, sub) if x.id == claimed[0].delivery_id)
    assert resumed.attempts == 2
    with Session(gateway_db) as session:
        log = service.delivery_detail(session, resumed).attempt_log
    assert [(a.error, a.status_code) for a in log] == [("interrupted", None), (None, 200)]
    assert log[0].duration_ms is None and log[0].finished_at is not None


async def test_an_attempt_is_in_the_log_before_it_is_sent(feed, gateway_db, mint, receivers) -> None:
    """A replica that dies with a request in flight leaves that attempt in the
    log; the next replica retries once its short lease is over, and the log
    shows both attempts."""
    r = receiver(receivers)
    sub = subscribe(gateway_db, INST_A, r, ["*"])
    (event_id,) = feed.publish(("match.activated", INST_A))
    d = dispatcher(feed, gateway_db, mint)
    try:
        await d.consume_once()
        (job,) = d.claim(1)
        (delivery,) = deliveries(gateway_db, sub)
        with Session(gateway_db) as session:
            (in_flight,) = service.delivery_detail(session, delivery).attempt_log
        assert delivery.attempts == 1 and in_flight.finished_at is None and in_flight.duration_ms is None
        await d.attempt(job)  # sent; the replica dies before recording it
    finally:
        await d.stop()
    assert r.accepted_counts() == {event_id: 1}
    assert d.leases.seconds <= d.attempt_timeout + LEASE_MARGIN_SECONDS  # about one attempt, not minutes

    with Session(gateway_db) as session:  # its lease runs out
        row = session.get(WebhookDelivery, job.delivery_id)
        row.leased_until = datetime.now(UTC) - timedelta(seconds=1)
        session.add(row)
        session.commit()
    other = dispatcher(feed, gateway_db, mint)
    try:
        assert await other.deliver_due() == 1
    finally:
        await other.stop()
    (done,) = deliveries(gateway_db, sub)
    assert done.status == SUCCEEDED and done.attempts == 2
    with Session(gateway_db) as session:
        log = service.delivery_detail(session, done).attempt_log
    assert [(a.number, a.error, a.status_code) for a in log] == [(1, "interrupted", None), (2, None, 200)]
    assert r.accepted_counts() == {event_id: 2}  # at least once: the receiver deduplicates by webhook-id
    assert len({x.webhook_id for x in r.received}) == 1 and not r.unverified()


async def test_a_page_that_cannot_commit_is_applied_event_by_event(feed, gateway_db, mint, receivers) -> None:
    """The page transaction fails (as when another replica commits the same
    events first): the events are applied one by one instead, each once."""
    r = receiver(receivers)
    sub = subscribe(gateway_db, INST_A, r, ["*"])
    ids = feed.publish(*[("objective.created", INST_A)] * 5)
    d = dispatcher(feed, gateway_db, mint)
    (consumer,) = d._consumers()
    calls = {"pages": 0}

    def broken_page(session: Session, events: list) -> None:
        calls["pages"] += 1
        service.fan_out(session, SOURCE, events)
        raise RuntimeError("the page cannot commit")

    consumer.page_handler = broken_page
    try:
        assert await d.consume_once() == 5
        assert await d.consume_once() == 0
    finally:
        await d.stop()
    assert calls["pages"] == 1
    assert [x.event_id for x in deliveries(gateway_db, sub)] == ids
    assert handled_count(gateway_db, ids) == 5


async def test_a_claim_reaches_due_deliveries_and_reads_back_its_lease_through_indexes(feed, gateway_db, mint, receivers) -> None:
    """Issue 15: the claim every replica runs each poll reads no table whole (the due index, then the lease token's),
    nor do the delivery log reads of a subscription."""
    from servicekit.plans import recording, whole_table_reads

    r = receiver(receivers)
    sub = subscribe(gateway_db, INST_A, r, ["*"])
    subscribe(gateway_db, INST_B, receiver(receivers), ["*"])
    feed.publish(("match.activated", INST_A), ("match.activated", INST_B))
    d = dispatcher(feed, gateway_db, mint)
    try:
        await d.consume_once()
        with recording(gateway_db) as executed:
            jobs = d.claim(10)
        assert len(jobs) == 2
        with recording(gateway_db) as listed, Session(gateway_db) as session:
            service.list_deliveries(session, sub, status="succeeded", event_type=None, limit=10, cursor=None)
    finally:
        await d.stop()
    assert any("lease_token" in e.sql for e in executed)
    assert whole_table_reads(gateway_db, executed) == []
    assert whole_table_reads(gateway_db, listed) == []
