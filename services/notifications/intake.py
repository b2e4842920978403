"""Turning feed events into messages, deliveries and reminders (the feed consumers' handler).

Runs inside the consumer's transaction (servicekit.consumer), which records the
event as handled: an event is planned once. Each message is an inbox row
(``notifications``) and an e-mail delivery (``deliveries``), unique per
(event, recipient[, channel]); reminders are stored to fire later
(``reminders``). Nothing is sent here: the delivery loop sends.

Events of the sessions feed that name a dyad's members (its meetings') record
who holds each role (``dyad_members``); an event that names only the dyad (a
milestone reported) is planned with the members recorded for it: the sessions
feed names the members in the dyad's first meetings, before any milestone.

An event older than ``max_age`` (real time, as events are stamped) reaches the
inbox but is not e-mailed: a service that starts on a platform with a history,
or comes back after a long outage, does not mail stale news.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from servicekit import clock, erasures
from servicekit.consumer import event_uuid
from servicekit.personal_data import new_pseudonym, replace_strings
from servicekit.outbox import EventOut

from services.notifications.domain import plans
from services.notifications.enums import Channel, ReminderStatus
from services.notifications.models import Delivery, DyadMember, ErasedSubject, Notification, Reminder


def record(session: Session, institution_id: uuid.UUID, event_id: str, message: plans.Message, now: datetime,
           *, mail: bool = True) -> Notification:
    """One message to one person: her inbox row and (``mail``) its e-mail delivery, due now."""
    note = Notification(institution_id=institution_id, account_id=message.account_id, kind=message.kind.value,
                        event_id=event_id, facts=message.facts, created_at=now)
    session.add(note)
    session.flush()
    if not mail:
        return note
    session.add(Delivery(notification_id=note.id, institution_id=institution_id, account_id=message.account_id,
                         event_id=event_id, channel=Channel.email.value, next_attempt_at=now, created_at=now, updated_at=now))
    return note


def _cancel(session: Session, institution_id: uuid.UUID, now: datetime, *conditions: object) -> None:
    session.execute(
        update(Reminder).where(Reminder.institution_id == institution_id, Reminder.status == ReminderStatus.scheduled.value,  # type: ignore[arg-type]
                               *conditions)
        .values(status=ReminderStatus.cancelled.value, settled_at=now).execution_options(synchronize_session=False)
    )


def apply(session: Session, institution_id: uuid.UUID, event_id: str, plan: plans.Plan, now: datetime, *, mail: bool = True) -> None:
    if plan.cancel:
        _cancel(session, institution_id, now, col(Reminder.reason).in_(plan.cancel))
    for dyad in filter(None, map(event_uuid, plan.cancel_dyads)):
        _cancel(session, institution_id, now, Reminder.dyad_id == dyad)
    for account, program in plan.cancel_members:
        if (program_id := event_uuid(program)) is not None:
            _cancel(session, institution_id, now, Reminder.account_id == account, Reminder.program_id == program_id)
    # Nothing is written for a person erased here, even from an event read before her erasure.
    gone = erasures.erased(session, ErasedSubject, institution_id,
                           [m.account_id for m in plan.messages] + [i.account_id for i in plan.schedule])
    # Her counterpart still hears, from facts that name her by a pseudonym, as her erasure left his earlier messages.
    pseudonym = new_pseudonym()

    def unnamed(facts: dict[str, Any]) -> dict[str, Any]:
        return replace_strings(facts, gone, pseudonym)[0] if gone else facts

    for message in plan.messages:
        if message.account_id not in gone:
            record(session, institution_id, event_id, replace(message, facts=unnamed(message.facts)), now, mail=mail)
    for item in plan.schedule:
        if item.expires_at <= now or item.account_id in gone:
            continue
        session.add(Reminder(institution_id=institution_id, account_id=item.account_id, kind=item.kind.value,
                             program_id=event_uuid(item.facts.get("program_id")), dyad_id=event_uuid(item.facts.get("dyad_id")),
                             reason=item.reason, due_at=item.due_at, expires_at=item.expires_at, facts=unnamed(item.facts),
                             created_at=now))
    session.flush()


def remember_members(session: Session, institution_id: uuid.UUID, payload: dict[str, Any], now: datetime) -> None:
    """Record who holds each role of the dyad the event names with its members; nothing for an erased account."""
    known = plans.members(payload)
    gone = erasures.erased(session, ErasedSubject, institution_id, [account for _, _, account in known]) if known else set()
    for dyad, role, account in known:
        dyad_id = event_uuid(dyad)
        if dyad_id is None or account in gone:
            continue
        row = session.get(DyadMember, (institution_id, dyad_id, role))
        if row is None:
            session.add(DyadMember(institution_id=institution_id, dyad_id=dyad_id, role=role, account_id=account, updated_at=now))
        elif row.account_id != account:
            row.account_id, row.updated_at = account, now
            session.add(row)


def with_members(session: Session, institution_id: uuid.UUID, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with the accounts recorded for its dyad, where it names the dyad but not its members."""
    dyad_id = event_uuid(payload.get("dyad_id"))
    if dyad_id is None or payload.get("mentee_account_id") or payload.get("mentor_account_id"):
        return payload
    rows = session.exec(select(DyadMember).where(DyadMember.institution_id == institution_id, DyadMember.dyad_id == dyad_id)).all()
    return {**payload, **{f"{row.role}_account_id": row.account_id for row in rows}}


def handler(max_age: timedelta) -> Callable[[Session, EventOut], None]:
    """The handler of every feed this service reads."""

    def handle(session: Session, event: EventOut) -> None:
        institution_id = event_uuid(event.tenant_id)
        if institution_id is None:
            return
        fresh = datetime.now(UTC) - event.occurred_at <= max_age
        now = clock.now()
        remember_members(session, institution_id, event.payload, now)
        payload = with_members(session, institution_id, event.payload)
        apply(session, institution_id, str(event.event_id), plans.plan(event.type, payload, now), now, mail=fresh)

    return handle
