"""Her inbox: the messages addressed to her, newest last by id (uuid7), and marking them read."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from servicekit import clock
from servicekit.pagination import paginate
from servicekit.problems import not_found

from services.notifications.access import Person
from services.notifications.models import Notification


def page(session: Session, me: Person, *, unread: bool, limit: int, cursor: str | None) -> tuple[list[Notification], str | None]:
    stmt = select(Notification).where(Notification.institution_id == me.institution_id, Notification.account_id == me.account_id)
    if unread:
        stmt = stmt.where(col(Notification.read_at).is_(None))
    return paginate(session, stmt, Notification.id, limit=limit, cursor=cursor)


def mark_read(session: Session, me: Person, notification_id: uuid.UUID) -> Notification:
    note = session.exec(select(Notification).where(
        Notification.id == notification_id, Notification.institution_id == me.institution_id,
        Notification.account_id == me.account_id)).first()
    if note is None:
        raise not_found("Notification")
    if note.read_at is None:
        note.read_at = clock.now()
        session.add(note)
        session.flush()
    return note
