"""Reminders that are due become messages.

A reminder is claimed by a conditional UPDATE (scheduled → fired), so on any
number of replicas each fires once; its message's event id is the reminder's
id, so its delivery is unique like any other. One past its expiry (the meeting
began, the form's deadline passed while nothing ran) is cancelled instead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.notifications import intake
from services.notifications.domain.plans import Message
from services.notifications.enums import MessageKind, ReminderStatus
from services.notifications.models import Reminder

BATCH = 200


def fire_due(session: Session, now: datetime) -> int:
    """Fire what is due (at most one batch); the number fired. The caller commits."""
    due = session.exec(select(Reminder).where(Reminder.status == ReminderStatus.scheduled.value, col(Reminder.due_at) <= now)
                       .order_by(col(Reminder.due_at)).limit(BATCH)).all()
    fired = 0
    for reminder in due:
        expired = reminder.expires_at <= now
        claimed = session.execute(
            update(Reminder).where(Reminder.id == reminder.id, Reminder.status == ReminderStatus.scheduled.value)  # type: ignore[arg-type]
            .values(status=(ReminderStatus.cancelled if expired else ReminderStatus.fired).value, settled_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1 or expired:  # type: ignore[attr-defined]
            continue
        intake.record(session, reminder.institution_id, str(reminder.id),
                      Message(reminder.account_id, MessageKind(reminder.kind), dict(reminder.facts)), now)
        fired += 1
    session.flush()
    return fired
