"""Tables of the notifications service, on its own metadata.

``notifications`` is each person's inbox: one row per (event, recipient).
``deliveries`` is what must reach her by another channel: one row per
(event, recipient, channel), so a message is sent once whatever the replicas
and restarts. ``reminders`` are messages scheduled for later, kept here so a
restart loses none. ``dyad_members`` are the two accounts of each dyad, as the
sessions feed's meeting events name them, for its events that name only the
dyad (a milestone reported). Rows carry ids, dates and kinds; a message's words are
rendered when it is sent and not stored.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel
from uuid6 import uuid7

from servicekit.consumer import FeedCursorBase, HandledEventBase
from servicekit.db import UtcDateTime, new_registry, one_of
from servicekit.erasures import ErasedSubjectBase
from servicekit.outbox import utcnow

from services.notifications.enums import Channel, DeliveryStatus, EmailSetting, MemberRole, MessageKind, ReminderStatus



class Base(SQLModel, registry=new_registry()):
    pass



class Notification(Base, table=True):
    __tablename__ = "notifications"
    __table_args__: Any = (
        UniqueConstraint("event_id", "account_id"),
        Index("ix_notifications_inbox", "institution_id", "account_id", "id"),
        one_of("kind", MessageKind),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID
    account_id: str = Field(max_length=100)
    kind: str = Field(max_length=40)
    # The feed event (or the reminder) it comes from.
    event_id: str = Field(max_length=40)
    facts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Delivery(Base, table=True):
    __tablename__ = "deliveries"
    __table_args__: Any = (
        UniqueConstraint("event_id", "account_id", "channel"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_institution", "institution_id", "status", "id"),
        one_of("channel", Channel),
        one_of("status", DeliveryStatus),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    notification_id: uuid.UUID = Field(foreign_key="notifications.id", index=True)
    institution_id: uuid.UUID
    account_id: str = Field(max_length=100)
    event_id: str = Field(max_length=40)
    channel: str = Field(default=Channel.email.value, max_length=20)
    status: str = Field(default=DeliveryStatus.pending.value, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # The claim of the replica sending it (servicekit.jobs) and until when; NULL when nobody holds it.
    lease_holder: str | None = Field(default=None, max_length=32)
    lease_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, max_length=300)
    to_address: str | None = Field(default=None, max_length=254)
    message_id: str | None = Field(default=None, max_length=200)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Preference(Base, table=True):
    __tablename__ = "preferences"
    __table_args__: Any = (one_of("kind", MessageKind), one_of("setting", EmailSetting))

    institution_id: uuid.UUID = Field(primary_key=True)
    account_id: str = Field(primary_key=True, max_length=100)
    kind: str = Field(primary_key=True, max_length=40)
    setting: str = Field(max_length=10)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Reminder(Base, table=True):
    __tablename__ = "reminders"
    __table_args__: Any = (
        Index("ix_reminders_due", "status", "due_at"),
        Index("ix_reminders_reason", "institution_id", "reason"),
        Index("ix_reminders_dyad", "institution_id", "dyad_id"),
        Index("ix_reminders_member", "institution_id", "account_id", "program_id"),
        one_of("kind", MessageKind),
        one_of("status", ReminderStatus),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: uuid.UUID
    account_id: str = Field(max_length=100)
    kind: str = Field(max_length=40)
    program_id: uuid.UUID | None = None
    dyad_id: uuid.UUID | None = None
    # Why it exists ("meeting:<id>", "feedback:<meeting id>:<role>"): what cancels it.
    reason: str = Field(max_length=120)
    due_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    status: str = Field(default=ReminderStatus.scheduled.value, max_length=20)
    facts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    settled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class DyadMember(Base, table=True):
    """Who holds each role of a dyad (a dyad's id is its match's)."""

    __tablename__ = "dyad_members"
    __table_args__: Any = (
        Index("ix_dyad_members_account", "institution_id", "account_id"),
        one_of("role", MemberRole),
    )

    institution_id: uuid.UUID = Field(primary_key=True)
    dyad_id: uuid.UUID = Field(primary_key=True)
    role: str = Field(primary_key=True, max_length=10)
    account_id: str = Field(max_length=100)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class FeedCursor(FeedCursorBase, Base, table=True):
    pass


class HandledEvent(HandledEventBase, Base, table=True):
    pass


class ErasedSubject(ErasedSubjectBase, Base, table=True):
    pass
