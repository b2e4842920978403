"""Digests: the messages of the kinds she chose to get as a digest, gathered into one e-mail.

The sender holds such a delivery (status ``held``) instead of sending it. Once
her oldest held delivery has waited ``every`` (a day by default), ``collect``
claims all her held deliveries (a conditional UPDATE from ``held`` to
``digested``, so on several replicas each is gathered once) and records one
digest message, counting them by kind, which is delivered like any other.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select
from uuid6 import uuid7

from services.notifications import intake
from services.notifications.domain.plans import Message
from services.notifications.enums import DeliveryStatus, MessageKind
from services.notifications.models import Delivery, Notification


def collect(session: Session, now: datetime, every: timedelta) -> int:
    """Record a digest for each person whose oldest held delivery has waited ``every``; the number recorded.
    The caller commits."""
    due = session.exec(
        select(Delivery.institution_id, Delivery.account_id).where(Delivery.status == DeliveryStatus.held.value)
        .group_by(Delivery.institution_id, Delivery.account_id)
        .having(func.min(Delivery.updated_at) <= now - every)
    ).all()
    recorded = 0
    for institution_id, account_id in due:
        claimed = session.execute(
            update(Delivery).where(Delivery.institution_id == institution_id, Delivery.account_id == account_id,  # type: ignore[arg-type]
                                   Delivery.status == DeliveryStatus.held.value)  # type: ignore[arg-type]
            .values(status=DeliveryStatus.digested.value, updated_at=now)
            .returning(Delivery.notification_id)
        ).scalars().all()
        if not claimed:
            continue
        kinds = session.exec(select(Notification.kind).where(col(Notification.id).in_(claimed))).all()
        counts = dict(sorted(Counter(kinds).items()))
        intake.record(session, uuid.UUID(str(institution_id)), str(uuid7()),
                      Message(account_id, MessageKind.digest, {"counts": counts}), now)
        recorded += 1
    session.flush()
    return recorded
