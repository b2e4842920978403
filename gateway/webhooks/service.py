"""Subscriptions, the delivery log and the fan-out of feed events, on a
session (never commits: the caller's unit of work does).

Who may do what: an admin manages the subscriptions of every institution; a
coordinator those of her own institution only, and another institution's
subscriptions (and their deliveries) are 404 to her. Other roles and API
clients are refused (403) before anything here runs.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from servicekit.auth import Principal
from servicekit.jobs import expired
from servicekit.outbox import EventOut, utcnow
from servicekit.pagination import paginate
from servicekit.problems import conflict, field_problem, forbidden, not_found

from gateway.webhooks.catalog import matches
from gateway.webhooks.models import (
    PENDING,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from gateway.webhooks.schemas import (
    AttemptPublic,
    DeliveryDetail,
    DeliveryPublic,
    SubscriptionCreate,
    SubscriptionPublic,
    SubscriptionUpdate,
)
from gateway.webhooks.signing import SecretBox, new_secret

# Previous secrets kept at once while rotations overlap (the oldest go first).
MAX_PREVIOUS_SECRETS = 2
ATTEMPTS_SHOWN = 100


def aware(value: datetime) -> datetime:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# -- subscriptions ----------------------------------------------------------------


def _live_previous(sub: WebhookSubscription, now: datetime) -> list[dict[str, Any]]:
    return [p for p in sub.previous_secrets if aware(datetime.fromisoformat(p["expires_at"])) > now]


def public(sub: WebhookSubscription) -> SubscriptionPublic:
    live = _live_previous(sub, utcnow())
    expires = max((aware(datetime.fromisoformat(p["expires_at"])) for p in live), default=None)
    return SubscriptionPublic(
        id=sub.id,
        institution_id=sub.institution_id,
        url=sub.url,
        description=sub.description,
        event_types=list(sub.event_types),
        active=sub.active,
        secret_rotated_at=aware(sub.secret_rotated_at),
        previous_secret_expires_at=expires,
        created_at=aware(sub.created_at),
        updated_at=aware(sub.updated_at),
    )


def signing_secrets(sub: WebhookSubscription, box: SecretBox, now: datetime | None = None) -> list[str]:
    """The secrets that sign right now: the current one first."""
    now = now or utcnow()
    return [box.open(sub.secret)] + [box.open(p["secret"]) for p in _live_previous(sub, now)]


def plan_create(actor: Principal, data: SubscriptionCreate) -> tuple[str, bool]:
    """The subscription's institution, and whether the caller must confirm it
    with the participants service (an admin naming one)."""
    if actor.is_admin:
        if data.institution_id is None:
            raise field_problem("body.institution_id", "Required: the institution whose events are sent", code="missing")
        return data.institution_id, True
    assert actor.tenant_id is not None  # ManagerPrincipal: a coordinator has one
    if data.institution_id is not None and data.institution_id != actor.tenant_id:
        raise forbidden("Coordinators manage their own institution's webhooks only")
    return actor.tenant_id, False


def create_subscription(
    session: Session, actor: Principal, institution_id: str, data: SubscriptionCreate, box: SecretBox
) -> tuple[WebhookSubscription, str]:
    secret = new_secret()
    sub = WebhookSubscription(
        institution_id=institution_id,
        url=data.url,
        description=data.description,
        event_types=list(data.event_types),
        active=data.active,
        secret=box.seal(secret),
        created_by=actor.subject,
    )
    session.add(sub)
    session.flush()
    return sub, secret


def get_subscription(session: Session, actor: Principal, subscription_id: uuid.UUID, *, lock: bool = False) -> WebhookSubscription:
    sub = session.get(WebhookSubscription, subscription_id, with_for_update=lock)
    if sub is None or not (actor.is_admin or sub.institution_id == actor.tenant_id):
        raise not_found("Webhook subscription")
    return sub


def list_subscriptions(
    session: Session,
    actor: Principal,
    *,
    limit: int,
    cursor: str | None,
    institution_id: str | None,
    active: bool | None,
) -> tuple[list[WebhookSubscription], str | None]:
    stmt = select(WebhookSubscription)
    if not actor.is_admin:
        stmt = stmt.where(WebhookSubscription.institution_id == actor.tenant_id)
    if institution_id is not None:
        stmt = stmt.where(WebhookSubscription.institution_id == institution_id)
    if active is not None:
        stmt = stmt.where(WebhookSubscription.active == active)
    return paginate(session, stmt, WebhookSubscription.id, limit=limit, cursor=cursor)


def update_subscription(session: Session, sub: WebhookSubscription, data: SubscriptionUpdate) -> WebhookSubscription:
    changed = False
    for name in ("url", "event_types", "description", "active"):
        value = getattr(data, name)
        if value is not None and value != getattr(sub, name):
            setattr(sub, name, list(value) if name == "event_types" else value)
            changed = True
    if changed:
        sub.updated_at = utcnow()
        session.add(sub)
        session.flush()
    return sub


def delete_subscription(session: Session, sub: WebhookSubscription) -> None:
    """The subscription goes with its delivery log."""
    ids = select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == sub.id)
    session.execute(delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(ids)))
    session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == sub.id))
    session.delete(sub)
    session.flush()


def rotate_secret(session: Session, sub: WebhookSubscription, keep_seconds: int, box: SecretBox) -> tuple[str, datetime, datetime | None]:
    now = utcnow()
    previous = _live_previous(sub, now)
    expires: datetime | None = None
    if keep_seconds > 0:
        expires = now + timedelta(seconds=keep_seconds)
        previous = [{"secret": sub.secret, "expires_at": expires.isoformat()}, *previous]
    else:
        previous = []  # 0: every older secret stops signing at once
    secret = new_secret()
    sub.secret = box.seal(secret)
    sub.previous_secrets = previous[:MAX_PREVIOUS_SECRETS]
    sub.secret_rotated_at = sub.updated_at = now
    session.add(sub)
    session.flush()
    return secret, now, expires


# -- the delivery log ---------------------------------------------------------------


def delivery_public(d: WebhookDelivery) -> DeliveryPublic:
    return DeliveryPublic(
        id=d.id,
        subscription_id=d.subscription_id,
        event_id=d.event_id,
        event_type=d.event_type,
        status=d.status,  # type: ignore[arg-type]
        attempts=d.attempts,
        next_attempt_at=aware(d.next_attempt_at) if d.next_attempt_at and d.status == PENDING else None,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        delivered_at=aware(d.delivered_at) if d.delivered_at else None,
        created_at=aware(d.created_at),
        updated_at=aware(d.updated_at),
    )


def list_deliveries(
    session: Session,
    sub: WebhookSubscription,
    *,
    limit: int,
    cursor: str | None,
    status: str | None,
    event_type: str | None,
) -> tuple[list[WebhookDelivery], str | None]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if event_type is not None:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    return paginate(session, stmt, WebhookDelivery.id, limit=limit, cursor=cursor)


def get_delivery(session: Session, sub: WebhookSubscription, delivery_id: uuid.UUID, *, lock: bool = False) -> WebhookDelivery:
    d = session.get(WebhookDelivery, delivery_id, with_for_update=lock)
    if d is None or d.subscription_id != sub.id:
        raise not_found("Webhook delivery")
    return d


def delivery_detail(session: Session, d: WebhookDelivery) -> DeliveryDetail:
    rows = session.exec(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == d.id)
        .order_by(col(WebhookAttempt.number).desc())
        .limit(ATTEMPTS_SHOWN)
    ).all()
    attempts = [
        AttemptPublic(
            number=a.number,
            trigger=a.trigger,  # type: ignore[arg-type]
            started_at=aware(a.started_at),
            finished_at=aware(a.finished_at) if a.finished_at is not None else None,
            duration_ms=a.duration_ms,
            status_code=a.status_code,
            error=a.error,
            response_excerpt=a.response_excerpt,
        )
        for a in reversed(rows)
    ]
    return DeliveryDetail(**delivery_public(d).model_dump(), attempt_log=attempts)


def redeliver(session: Session, d: WebhookDelivery) -> WebhookDelivery:
    """Send again now, with a new round of attempts (same webhook-id: the
    receiver may recognise it)."""
    now = utcnow()
    if d.lease_token is not None and not expired(d.leased_until, now):
        raise conflict("An attempt of this delivery is in progress; try again when it has finished")
    d.status, d.round_attempts, d.round_trigger = PENDING, 0, "manual"
    d.next_attempt_at, d.lease_token, d.leased_until = now, None, None
    d.updated_at = now
    session.add(d)
    session.flush()
    return d


# -- fan-out of feed events (the dispatcher's feed handler) ----------------------------


def fan_out(session: Session, source: str, events: list[EventOut]) -> int:
    """For each event, one delivery per active subscription of the event's
    institution that wants its type and existed when it occurred; an event
    without an institution goes nowhere. One query for the whole page.
    Returns the number of deliveries created."""
    tenants = {e.tenant_id for e in events if e.tenant_id}
    if not tenants:
        return 0
    subs = session.exec(
        select(WebhookSubscription).where(
            col(WebhookSubscription.institution_id).in_(sorted(tenants)),
            WebhookSubscription.active == True,
        )
    ).all()
    if not subs:
        return 0
    created = 0
    for event in events:
        occurred = aware(event.occurred_at)
        wanted = [
            s
            for s in subs
            if s.institution_id == event.tenant_id and aware(s.created_at) <= occurred and matches(list(s.event_types), event.type)
        ]
        if not wanted:
            continue
        event_id = str(event.event_id)
        if session.get(WebhookEvent, event_id) is None:
            session.add(
                WebhookEvent(
                    event_id=event_id,
                    source=source,
                    type=event.type,
                    institution_id=str(event.tenant_id),
                    subject=event.subject,
                    occurred_at=occurred,
                    payload=event.payload,
                )
            )
            session.flush()
        for sub in wanted:
            session.add(
                WebhookDelivery(subscription_id=sub.id, event_id=event_id, institution_id=str(event.tenant_id), event_type=event.type)
            )
        created += len(wanted)
    session.flush()
    return created


def envelope(event: WebhookEvent) -> str:
    """The body sent (and signed): Standard Webhooks' type/timestamp/data,
    plus where the event comes from."""
    return json.dumps(
        {
            "id": event.event_id,
            "type": event.type,
            "timestamp": aware(event.occurred_at).isoformat().replace("+00:00", "Z"),
            "institution_id": event.institution_id,
            "source": event.source,
            "subject": event.subject,
            "data": event.payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )

