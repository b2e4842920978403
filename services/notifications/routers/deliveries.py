"""/v1/notifications/institutions/{institution_id}/deliveries: for the institution's coordinators."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from servicekit.auth import CurrentPrincipal
from servicekit.db import SessionDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import problem_responses

from services.notifications import access, deliveries
from services.notifications.enums import DeliveryStatus
from services.notifications.schemas.deliveries import DeliveryPublic

router = APIRouter(prefix="/v1/notifications", tags=["deliveries"])


@router.get("/institutions/{institution_id}/deliveries", response_model=Page[DeliveryPublic], operation_id="list_deliveries",
            summary="The institution's deliveries, failed ones with the mail server's reply (coordinators, admin)",
            responses=problem_responses(401, 403, 404, 422))
def list_deliveries(institution_id: Annotated[uuid.UUID, Path(description="The institution's id.")], who: CurrentPrincipal,
                    session: SessionDep, status: Annotated[DeliveryStatus | None, Query(description="Only this status.")] = None,
                    limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    access.coordinator_of(who, institution_id)
    rows, next_cursor = deliveries.page(session, institution_id, status=status, limit=limit, cursor=cursor)
    items = [DeliveryPublic(id=d.id, notification_id=d.notification_id, account_id=d.account_id, kind=kind,  # type: ignore[arg-type]
                            channel=d.channel, status=d.status, attempts=d.attempts,  # type: ignore[arg-type]
                            next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.pending else None,
                            last_error=d.last_error, sent_at=d.sent_at, created_at=d.created_at) for d, kind in rows]
    return Page[DeliveryPublic](items=items, next_cursor=next_cursor)
