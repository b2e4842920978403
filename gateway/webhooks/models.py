"""Tables of outgoing webhooks, on the gateway's own metadata.

- ``webhook_subscriptions``: an institution's URL, event-type patterns and
  signing secret(s) (``whsec_...``, Fernet-encrypted at rest when
  ``GATEWAY_KEY_ENCRYPTION_KEY`` is set; the previous secrets of a rotation
  stay valid until their ``expires_at``).
- ``webhook_events``: the events that at least one subscription wants, as the
  feed gave them (what is signed and sent, also for a manual redelivery).
- ``webhook_deliveries``: one row per (subscription, event), unique, so two
  replicas consuming the same feed cannot create two; its state, schedule and
  lease (``lease_token``/``leased_until``: the replica that claimed it, until
  when).
- ``webhook_attempts``: the delivery log, one row per HTTP attempt.
- ``webhook_feed_cursors`` / ``webhook_handled_events``: the dispatcher's own
  cursor per service feed and the ids of the events it has handled
  (``servicekit.consumer``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint
from sqlmodel import Field
from uuid6 import uuid7

from servicekit.consumer import FeedCursorBase, HandledEventBase
from servicekit.outbox import utcnow

from gateway.models import Base

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"


class WebhookSubscription(Base, table=True):
    __tablename__ = "webhook_subscriptions"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: str = Field(max_length=64, index=True)
    url: str = Field(max_length=2048)
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_type=JSON)
    active: bool = Field(default=True, index=True)
    # "whsec_..." as given, or "f1:" + a Fernet token of it (gateway.webhooks.signing).
    secret: str = Field(sa_type=Text)
    # [{"secret": <stored like secret>, "expires_at": <ISO 8601>}], newest first.
    previous_secrets: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    secret_rotated_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class WebhookEvent(Base, table=True):
    __tablename__ = "webhook_events"

    event_id: str = Field(primary_key=True, max_length=40)
    source: str = Field(max_length=50)
    type: str = Field(max_length=100)
    institution_id: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=100)
    occurred_at: datetime
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    received_at: datetime = Field(default_factory=utcnow)


class WebhookDelivery(Base, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # A claim reads back the deliveries it leased by their lease token.
        Index("ix_webhook_deliveries_lease_token", "lease_token"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    subscription_id: uuid.UUID = Field(foreign_key="webhook_subscriptions.id", ondelete="CASCADE", index=True)
    event_id: str = Field(foreign_key="webhook_events.event_id", max_length=40, index=True)
    institution_id: str = Field(max_length=64)
    event_type: str = Field(max_length=100)
    status: str = Field(default=PENDING, max_length=16)
    # Every attempt ever, and the attempts of the current round (a manual
    # redelivery starts a new round of at most max_attempts).
    attempts: int = Field(default=0)
    round_attempts: int = Field(default=0)
    round_trigger: str = Field(default="automatic", max_length=16)  # "automatic" | "manual"
    next_attempt_at: datetime | None = Field(default_factory=utcnow)
    lease_token: str | None = Field(default=None, max_length=32)
    leased_until: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=200)
    delivered_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class WebhookAttempt(Base, table=True):
    __tablename__ = "webhook_attempts"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="webhook_deliveries.id", ondelete="CASCADE", index=True)
    number: int
    trigger: str = Field(max_length=16)  # "automatic" | "manual"
    started_at: datetime
    # Null while the attempt is in flight (it is logged before it is sent).
    finished_at: datetime | None = None
    duration_ms: int | None = None
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=200)
    response_excerpt: str | None = Field(default=None, sa_type=Text)


class WebhookFeedCursor(FeedCursorBase, Base, table=True):
    __tablename__ = "webhook_feed_cursors"


class WebhookHandledEvent(HandledEventBase, Base, table=True):
    __tablename__ = "webhook_handled_events"
