"""Data-subject export and erasure for the notifications service (GDPR Art. 15/20 and 17).

Who she is here: her account id in one institution. Everything is confined to
that institution.

Export: her inbox (kinds, facts, dates, read times), her deliveries (the
address each message went to, the outcome), her preferences and her scheduled
reminders, and the dyads she was recorded a member of (``dyad_members``).

Erasure: all five are deleted (her deliveries before the messages they
belong to), and a digest of her account is kept so that an event already on its
way writes nothing for her (servicekit.erasures). Her counterpart's messages and reminders name her account id in
their facts (``counterpart_account_id``): it is replaced by one random
``erased-…`` pseudonym, so the message stays in the counterpart's inbox without
pointing at her. A second call finds nothing of hers and returns zeros.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, cast, delete
from sqlmodel import Session, col, select

from servicekit import erasures
from servicekit.personal_data import exported, new_pseudonym, replace_strings

from services.notifications.models import Delivery, DyadMember, ErasedSubject, FeedCursor, Notification, Preference, Reminder

PERSONAL: dict[str, str] = {
    "notifications": "her inbox: what each message was about (ids, dates, numbers), when she read it",
    "deliveries": "where each message to her went (her e-mail address), when, and the mail server's answer",
    "preferences": "which kinds of message she turned on or off",
    "reminders": "messages scheduled for her: kind, when, what about (ids and dates)",
    "dyad_members": "the dyads she is a member of and her role in each (so her counterpart's milestones reach her)",
}
NOT_PERSONAL: dict[str, str] = {
    "feed_cursors": "how far this service has read other services' event feeds: a source name and a cursor",
    "handled_events": "ids and types of the feed events already handled: no person",
    **erasures.NOT_PERSONAL,
}

NOTIFICATION_COLUMNS = ("id", "kind", "event_id", "facts", "created_at", "read_at")
DELIVERY_COLUMNS = ("id", "notification_id", "channel", "status", "attempts", "to_address", "message_id", "sent_at",
                    "last_error", "created_at")
REMINDER_COLUMNS = ("id", "kind", "due_at", "expires_at", "status", "facts", "created_at")


def _hers(model: Any, institution_id: uuid.UUID, account_id: str) -> Any:
    return select(model).where(model.institution_id == institution_id, model.account_id == account_id)


def export_subject(session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]) -> dict[str, list[dict[str, Any]]]:
    return {
        "notifications": [exported(n, NOTIFICATION_COLUMNS) for n in session.exec(_hers(Notification, institution_id, account_id)).all()],
        "deliveries": [exported(d, DELIVERY_COLUMNS) for d in session.exec(_hers(Delivery, institution_id, account_id)).all()],
        "preferences": [exported(p, ("kind", "setting", "updated_at")) for p in session.exec(_hers(Preference, institution_id, account_id)).all()],
        "reminders": [exported(r, REMINDER_COLUMNS) for r in session.exec(_hers(Reminder, institution_id, account_id)).all()],
        "dyad_members": [exported(m, ("dyad_id", "role", "updated_at")) for m in session.exec(_hers(DyadMember, institution_id, account_id)).all()],
    }


def _scrub_mentions(session: Session, model: Any, institution_id: uuid.UUID, account_id: str, pseudonym: str) -> int:
    stmt = select(model).where(model.institution_id == institution_id,
                               cast(model.facts, String).contains(account_id, autoescape=True))
    changed = 0
    for row in session.exec(stmt).all():
        facts, touched = replace_strings(row.facts, {account_id}, pseudonym)
        if touched:
            row.facts = facts
            session.add(row)
            changed += 1
    return changed


def erase_subject(session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]) -> dict[str, int]:
    # Events about her already read from a feed must not write her back (servicekit.erasures).
    erasures.hold_feeds(session, FeedCursor)
    counts: dict[str, int] = {}
    for model, table in ((Delivery, "deliveries"), (Notification, "notifications"), (Preference, "preferences"), (Reminder, "reminders"),
                         (DyadMember, "dyad_members")):
        result = session.execute(delete(model).where(col(model.institution_id) == institution_id, col(model.account_id) == account_id))
        counts[table] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    pseudonym = new_pseudonym()
    counts["notifications"] += _scrub_mentions(session, Notification, institution_id, account_id, pseudonym)
    counts["reminders"] += _scrub_mentions(session, Reminder, institution_id, account_id, pseudonym)
    erasures.remember(session, ErasedSubject, institution_id, account_id)
    session.flush()
    return counts
