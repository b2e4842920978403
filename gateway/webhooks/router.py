"""``/v1/webhooks``: the event types, an institution's subscriptions, their
secrets and their delivery logs. Admins manage every institution's; a
coordinator her own institution's (another's are 404 to her); anyone else,
and API clients, get 403."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session

from servicekit.idempotency import IdempotencyDep
from servicekit.outbound import OutboundPolicy, TargetRefused
from servicekit.pagination import Cursor, Limit, Page
from servicekit.problems import field_problem, problem_responses

from gateway.dependencies import in_transaction
from gateway.edge import EdgePrincipal, ManagerPrincipal
from gateway.idempotency import create_once
from gateway.schemas import InstitutionId
from gateway.upstreams import Participants
from gateway.webhooks import service
from gateway.webhooks.catalog import EVENT_TYPES
from gateway.webhooks.schemas import (
    DeliveryDetail,
    DeliveryPublic,
    DeliveryStatus,
    EventTypeList,
    EventTypePublic,
    SecretRotated,
    SecretRotation,
    SubscriptionCreate,
    SubscriptionPublic,
    SubscriptionUpdate,
    SubscriptionWithSecret,
)
from gateway.webhooks.signing import SecretBox

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

SUBSCRIPTION = "/subscriptions/{subscription_id}"
DELIVERY = SUBSCRIPTION + "/deliveries/{delivery_id}"


def _box(request: Request) -> SecretBox:
    return request.app.state.webhook_secrets


async def _check_url(request: Request, url: str) -> None:
    guard: OutboundPolicy = request.app.state.webhook_guard
    try:
        await guard.check(url)
    except TargetRefused as exc:
        raise field_problem("body.url", f"This URL cannot receive webhooks: {exc.reason}", code="target_refused") from None


@router.get(
    "/event-types",
    response_model=EventTypeList,
    operation_id="list_webhook_event_types",
    summary="List the event types a webhook can receive",
    responses=problem_responses(401),
)
async def list_event_types(_who: EdgePrincipal) -> EventTypeList:
    """Every event the services publish, with the service that emits it.
    Each delivery's body is ``{"id", "type", "timestamp", "institution_id",
    "source", "subject", "data"}``; ``data`` is the event's own payload."""
    items = [EventTypePublic(type=e.type, service=e.service, description=e.description) for e in EVENT_TYPES]  # type: ignore[arg-type]
    return EventTypeList(items=items)


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionWithSecret,
    operation_id="create_webhook_subscription",
    summary="Subscribe a URL to events of an institution (its secret is shown once)",
    responses=problem_responses(401, 403, 409, 422, 503, 504),
)
async def create_subscription(
    request: Request, actor: ManagerPrincipal, body: SubscriptionCreate, idem: IdempotencyDep
) -> SubscriptionWithSecret | Response:
    """Events are signed with the Standard Webhooks scheme (headers
    ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``); the answer
    is the only time ``secret`` is shown. The URL must be https on a public
    address: private, loopback and link-local targets are refused (422 naming
    ``body.url``). An admin names the institution (confirmed with the
    participants service). Supports ``Idempotency-Key``."""
    institution_id, confirm = service.plan_create(actor, body)
    if confirm:
        participants: Participants = request.app.state.participants
        await participants.check_institution(institution_id)
    await _check_url(request, body.url)
    box = _box(request)

    def create(session: Session) -> tuple[SubscriptionWithSecret, SubscriptionWithSecret]:
        sub, secret = service.create_subscription(session, actor, institution_id, body, box)
        public = service.public(sub)
        return SubscriptionWithSecret(**public.model_dump(), secret=None), SubscriptionWithSecret(**public.model_dump(), secret=secret)

    return await create_once(request, idem, 201, create)


@router.get(
    "/subscriptions",
    response_model=Page[SubscriptionPublic],
    operation_id="list_webhook_subscriptions",
    summary="List webhook subscriptions (a coordinator sees her institution's)",
    responses=problem_responses(401, 403),
)
async def list_subscriptions(
    request: Request,
    actor: ManagerPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
    institution_id: Annotated[InstitutionId | None, Query(description="Only this institution's subscriptions.")] = None,
    active: Annotated[bool | None, Query(description="Only active (or paused) subscriptions.")] = None,
) -> Page[SubscriptionPublic]:
    def work(session: Session) -> Page[SubscriptionPublic]:
        rows, next_cursor = service.list_subscriptions(
            session, actor, limit=limit, cursor=cursor, institution_id=institution_id, active=active
        )
        return Page[SubscriptionPublic](items=[service.public(s) for s in rows], next_cursor=next_cursor)

    return await in_transaction(request, work)


@router.get(
    SUBSCRIPTION,
    response_model=SubscriptionPublic,
    operation_id="get_webhook_subscription",
    summary="Get a webhook subscription",
    responses=problem_responses(401, 403, 404),
)
async def get_subscription(request: Request, actor: ManagerPrincipal, subscription_id: uuid.UUID) -> SubscriptionPublic:
    return await in_transaction(request, lambda s: service.public(service.get_subscription(s, actor, subscription_id)))


@router.patch(
    SUBSCRIPTION,
    response_model=SubscriptionPublic,
    operation_id="update_webhook_subscription",
    summary="Change a subscription's URL, event types, description, or pause it",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_subscription(
    request: Request, actor: ManagerPrincipal, subscription_id: uuid.UUID, body: SubscriptionUpdate
) -> SubscriptionPublic:
    """A new URL is checked like on creation (https, public address)."""
    await in_transaction(request, lambda s: service.get_subscription(s, actor, subscription_id))
    if body.url is not None:
        await _check_url(request, body.url)

    def work(session: Session) -> SubscriptionPublic:
        sub = service.get_subscription(session, actor, subscription_id, lock=True)
        return service.public(service.update_subscription(session, sub, body))

    return await in_transaction(request, work)


@router.delete(
    SUBSCRIPTION,
    status_code=204,
    response_model=None,
    operation_id="delete_webhook_subscription",
    summary="Delete a subscription and its delivery log",
    responses=problem_responses(401, 403, 404),
)
async def delete_subscription(request: Request, actor: ManagerPrincipal, subscription_id: uuid.UUID) -> Response:
    def work(session: Session) -> None:
        service.delete_subscription(session, service.get_subscription(session, actor, subscription_id, lock=True))

    await in_transaction(request, work)
    return Response(status_code=204)


@router.post(
    SUBSCRIPTION + "/secret-rotations",
    status_code=201,
    response_model=SecretRotated,
    operation_id="rotate_webhook_secret",
    summary="Replace a subscription's signing secret (the new one is shown once)",
    responses=problem_responses(401, 403, 404, 422),
)
async def rotate_secret(
    request: Request, actor: ManagerPrincipal, subscription_id: uuid.UUID, body: SecretRotation | None = None
) -> SecretRotated:
    """From now on every delivery is signed with the new secret and, for
    ``previous_secret_valid_seconds`` (default one day), also with the previous
    one: ``webhook-signature`` then carries two ``v1,...`` entries, so the
    receiver can switch secrets without losing an event."""
    keep = (body or SecretRotation()).previous_secret_valid_seconds
    box = _box(request)

    def work(session: Session) -> SecretRotated:
        sub = service.get_subscription(session, actor, subscription_id, lock=True)
        secret, rotated_at, expires = service.rotate_secret(session, sub, keep, box)
        return SecretRotated(subscription_id=sub.id, secret=secret, rotated_at=rotated_at, previous_secret_expires_at=expires)

    return await in_transaction(request, work)


@router.get(
    SUBSCRIPTION + "/deliveries",
    response_model=Page[DeliveryPublic],
    operation_id="list_webhook_deliveries",
    summary="The delivery log of a subscription (oldest first)",
    responses=problem_responses(401, 403, 404),
)
async def list_deliveries(
    request: Request,
    actor: ManagerPrincipal,
    subscription_id: uuid.UUID,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[DeliveryStatus | None, Query(description="Only deliveries in this state.")] = None,
    event_type: Annotated[str | None, Query(max_length=100, pattern=r"^[a-z_]+\.[a-z_]+$", description="Only this event type.")] = None,
) -> Page[DeliveryPublic]:
    def work(session: Session) -> Page[DeliveryPublic]:
        sub = service.get_subscription(session, actor, subscription_id)
        rows, next_cursor = service.list_deliveries(session, sub, limit=limit, cursor=cursor, status=status, event_type=event_type)
        return Page[DeliveryPublic](items=[service.delivery_public(d) for d in rows], next_cursor=next_cursor)

    return await in_transaction(request, work)


@router.get(
    DELIVERY,
    response_model=DeliveryDetail,
    operation_id="get_webhook_delivery",
    summary="A delivery with its attempts (status, duration, start of the answer)",
    responses=problem_responses(401, 403, 404),
)
async def get_delivery(request: Request, actor: ManagerPrincipal, subscription_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryDetail:
    def work(session: Session) -> DeliveryDetail:
        sub = service.get_subscription(session, actor, subscription_id)
        return service.delivery_detail(session, service.get_delivery(session, sub, delivery_id))

    return await in_transaction(request, work)


@router.post(
    DELIVERY + "/redeliver",
    status_code=202,
    response_model=DeliveryPublic,
    operation_id="redeliver_webhook",
    summary="Send a delivery again now, with a new round of attempts",
    responses=problem_responses(401, 403, 404, 409),
)
async def redeliver(request: Request, actor: ManagerPrincipal, subscription_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryPublic:
    """Works for failed, succeeded and pending deliveries alike; the event is
    sent with the same ``webhook-id``, signed with the current secret(s). 409
    while an attempt is in flight."""

    def work(session: Session) -> DeliveryPublic:
        sub = service.get_subscription(session, actor, subscription_id)
        return service.delivery_public(service.redeliver(session, service.get_delivery(session, sub, delivery_id, lock=True)))

    delivery = await in_transaction(request, work)
    dispatcher = getattr(request.app.state, "webhooks", None)
    if dispatcher is not None:
        dispatcher.poke()
    return delivery
