"""An institution's deliveries, for its coordinators: what was sent, skipped, is pending or failed, and why."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from servicekit.pagination import paginate

from services.notifications.enums import DeliveryStatus
from services.notifications.models import Delivery, Notification


def page(session: Session, institution_id: uuid.UUID, *, status: DeliveryStatus | None, limit: int,
         cursor: str | None) -> tuple[list[tuple[Delivery, str]], str | None]:
    stmt = select(Delivery).where(Delivery.institution_id == institution_id)
    if status is not None:
        stmt = stmt.where(Delivery.status == status.value)
    rows, next_cursor = paginate(session, stmt, Delivery.id, limit=limit, cursor=cursor)
    kinds = dict(session.exec(select(Notification.id, Notification.kind).where(
        Notification.id.in_([d.notification_id for d in rows]))).all()) if rows else {}  # type: ignore[attr-defined]
    return [(d, kinds[d.notification_id]) for d in rows], next_cursor
