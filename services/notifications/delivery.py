"""Sending e-mail deliveries: claim with a lease, compose, send over SMTP, record the outcome.

Exactly once, as far as SMTP allows. A delivery row exists once per (event,
recipient, channel). A replica claims due rows with a conditional UPDATE that
sets ``lease_until``; only the holder of that lease may record the outcome,
and a replica that dies mid-send leaves the row to another once the lease ends.
The one window left is a crash after the server accepted the message and
before the outcome was written: the message is then sent again with the same
``Message-ID`` (the delivery's id), which mail systems use to spot duplicates.

Outcomes: accepted → ``sent``; a 5xx reply → ``failed`` at once (permanent,
with the reply); a 4xx reply, no connection, or participants out of reach →
tried again after ``backoff`` until ``max_attempts``, then ``failed``. A
person participants does not know, one with no address, or one who turned the
kind off → ``skipped`` with the reason; a kind she gets as a digest → ``held``
for her next digest (``digests``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any
from urllib.parse import quote

import aiosmtplib
from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from servicekit import clock

from services.notifications import preferences
from services.notifications.clients.participants import Contact, ContactUnavailable, Participants
from services.notifications.config import Settings
from services.notifications.domain import calendar, compose, links, retry
from services.notifications.enums import OBLIGATIONS, DeliveryStatus, EmailSetting, MessageKind
from services.notifications.models import Delivery, Notification

log = logging.getLogger("notifications.delivery")

BATCH = 20
INVITATIONS = {MessageKind.meeting_proposed: "REQUEST", MessageKind.meeting_rescheduled: "REQUEST", MessageKind.meeting_cancelled: "CANCEL"}


class Temporary(Exception):
    """Worth trying again later."""


class Permanent(Exception):
    """Will never succeed as it is."""


class Skip(Exception):
    """Nothing to send, for a reason worth recording."""


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    lease: datetime


def claim(engine: Engine, now: datetime, lease: timedelta, limit: int = BATCH) -> list[Claimed]:
    """Take up to ``limit`` due deliveries nobody holds; each is held until ``now + lease``."""
    until = now + lease
    claimed = []
    with Session(engine) as session:
        due = session.exec(select(Delivery.id).where(
            Delivery.status == DeliveryStatus.pending.value, col(Delivery.next_attempt_at) <= now,
            or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now),
        ).order_by(col(Delivery.next_attempt_at)).limit(limit)).all()
        for delivery_id in due:
            taken = session.execute(
                update(Delivery).where(
                    Delivery.id == delivery_id, Delivery.status == DeliveryStatus.pending.value,  # type: ignore[arg-type]
                    or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now))
                .values(lease_until=until).execution_options(synchronize_session=False))
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(Claimed(delivery_id, until))
        session.commit()
    return claimed


def _finish(engine: Engine, job: Claimed, **values: Any) -> bool:
    """Write the outcome if this replica still holds the lease."""
    with Session(engine) as session:
        done = session.execute(
            update(Delivery).where(Delivery.id == job.delivery_id, Delivery.lease_until == job.lease,  # type: ignore[arg-type]
                                   Delivery.status == DeliveryStatus.pending.value)  # type: ignore[arg-type]
            .values(lease_until=None, updated_at=clock.now(), **values).execution_options(synchronize_session=False))
        session.commit()
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def _load(engine: Engine, job: Claimed) -> tuple[Delivery, Notification, EmailSetting]:
    with Session(engine) as session:
        delivery = session.get(Delivery, job.delivery_id)
        assert delivery is not None
        note = session.get(Notification, delivery.notification_id)
        assert note is not None
        chosen = preferences.setting(session, delivery.institution_id, delivery.account_id, MessageKind(note.kind))
        session.expunge_all()
        return delivery, note, chosen


class Sender:
    def __init__(self, settings: Settings, engine: Engine, participants: Participants) -> None:
        self.settings = settings
        self.engine = engine
        self.participants = participants
        self.domain = settings.mail_from.rpartition("@")[2] or "aliada.local"

    async def send_due(self) -> int:
        """Send what is due now; the number of deliveries handled (sent, failed, skipped, held for a digest or rescheduled)."""
        jobs = await asyncio.to_thread(claim, self.engine, clock.now(), timedelta(seconds=self.settings.lease_seconds))
        for job in jobs:
            await self.deliver(job)
        return len(jobs)

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        while not stop.is_set():
            try:
                while await self.send_due() and not stop.is_set():
                    pass
            except Exception as exc:  # keep going: the database may be back on the next round
                log.warning("delivery round failed", extra={"error": type(exc).__name__})
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass

    async def deliver(self, job: Claimed) -> None:
        delivery, note, chosen = await asyncio.to_thread(_load, self.engine, job)
        if chosen is EmailSetting.digest:
            await asyncio.to_thread(_finish, self.engine, job, status=DeliveryStatus.held.value)
            return
        attempts = delivery.attempts + 1
        try:
            if chosen is EmailSetting.off:
                raise Skip("unsubscribed from this kind")
            message, address = await self._message(delivery, note)
            await self._send(message)
        except Skip as why:
            await asyncio.to_thread(_finish, self.engine, job, status=DeliveryStatus.skipped.value, last_error=str(why))
        except Permanent as why:
            log.warning("delivery failed", extra={"delivery_id": str(delivery.id), "error": str(why)[:200]})
            await asyncio.to_thread(_finish, self.engine, job, status=DeliveryStatus.failed.value, attempts=attempts,
                                    last_error=str(why)[:300])
        except Temporary as why:
            if attempts >= self.settings.max_attempts:
                values: dict[str, Any] = {"status": DeliveryStatus.failed.value,
                                          "last_error": f"gave up after {attempts} attempts: {why}"[:300]}
            else:
                wait = retry.backoff(attempts, self.settings.retry_base_seconds, self.settings.retry_cap_seconds)
                values = {"next_attempt_at": clock.now() + wait, "last_error": str(why)[:300]}
            await asyncio.to_thread(_finish, self.engine, job, attempts=attempts, **values)
        else:
            await asyncio.to_thread(_finish, self.engine, job, status=DeliveryStatus.sent.value, attempts=attempts,
                                    sent_at=clock.now(), to_address=address, message_id=message["Message-ID"], last_error=None)

    async def _contact(self, institution_id: uuid.UUID, account_id: str) -> Contact | None:
        try:
            return await self.participants.contact(institution_id, account_id)
        except ContactUnavailable as exc:
            raise Temporary(str(exc)) from None

    async def _message(self, delivery: Delivery, note: Notification) -> tuple[EmailMessage, str]:
        kind, facts = MessageKind(note.kind), note.facts
        contact = await self._contact(delivery.institution_id, delivery.account_id)
        if contact is None:
            raise Skip("participants knows no such person in this institution")
        if not contact.email:
            raise Skip("no e-mail address")
        counterpart = None
        if facts.get("counterpart_account_id"):
            other = await self._contact(delivery.institution_id, str(facts["counterpart_account_id"]))
            counterpart = other.name if other else None
        to = compose.Recipient(contact.name, compose.language(contact.language, contact.institution_language),
                               compose.zone(contact.timezone, contact.institution_timezone))
        unsubscribe = self._unsubscribe_url(delivery, kind)
        ctx = compose.Context(institution=contact.institution_name, counterpart=counterpart,
                              action_url=self._action_url(kind, facts), unsubscribe_url=unsubscribe)
        parts = compose.compose(kind, facts, to, ctx)
        msg = EmailMessage()
        msg["From"] = formataddr((contact.institution_name, self.settings.mail_from))
        msg["To"] = formataddr((contact.name or "", contact.email))
        reply_to = self.settings.reply_to.get(str(delivery.institution_id))
        if reply_to:
            msg["Reply-To"] = reply_to
        msg["Subject"] = parts.subject
        msg["Date"] = format_datetime(clock.now())
        msg["Message-ID"] = f"<{delivery.id}@{self.domain}>"
        msg["Auto-Submitted"] = "auto-generated"
        if unsubscribe:
            msg["List-Unsubscribe"] = f"<{unsubscribe}>"
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(parts.text)
        msg.add_alternative(parts.html, subtype="html")
        method = INVITATIONS.get(kind)
        if method:
            ics = calendar.invitation(
                method=method, meeting_id=str(facts["meeting_id"]), sequence=int(facts.get("sequence", 0)),
                start=datetime.fromisoformat(facts["start"]), minutes=int(facts.get("duration_minutes", 60)),
                summary=parts.subject, organizer=self.settings.mail_from, organizer_name=contact.institution_name,
                attendee=contact.email, stamp=clock.now())
            msg.add_alternative(ics.decode(), subtype="calendar", params={"method": method})
        msg["Content-Language"] = to.lang  # after the parts: setting content drops Content-* headers
        return msg, contact.email

    def _unsubscribe_url(self, delivery: Delivery, kind: MessageKind) -> str | None:
        key = self.settings.unsubscribe_key.get_secret_value()
        if kind in OBLIGATIONS or not key:
            return None
        token = links.sign(key.encode(), links.Unsubscribe(str(delivery.institution_id), delivery.account_id, kind.value))
        return f"{self.settings.public_base_url.rstrip('/')}/v1/notifications/unsubscribe?token={quote(token)}"

    def _action_url(self, kind: MessageKind, facts: dict[str, Any]) -> str | None:
        base = self.settings.app_base_url.rstrip("/")
        if kind in (MessageKind.selected, MessageKind.confirm_reminder) and facts.get("application_id"):
            return f"{base}/applications/{facts['application_id']}/confirm"
        if kind is MessageKind.match_announced and facts.get("counterpart_participant_id"):
            return f"{base}/participants/{facts['counterpart_participant_id']}/public-profile"
        if kind in (MessageKind.feedback_due, MessageKind.feedback_overdue):
            return f"{base}/feedback"
        if kind is MessageKind.digest:
            return f"{base}/notifications"
        return None

    async def _send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                message, hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_username or None,
                password=s.smtp_password.get_secret_value() or None, use_tls=s.smtp_security == "tls",
                start_tls=s.smtp_security == "starttls", timeout=s.smtp_timeout_seconds)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            raise (Temporary if all(retry.temporary(c) for c in codes) else Permanent)(text) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise (Temporary if retry.temporary(exc.code) else Permanent)(f"{exc.code} {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise Temporary(f"mail server unreachable ({type(exc).__name__})") from None
