"""Sending e-mail deliveries: claim with a lease, compose, send over SMTP, record the outcome.

Exactly once, as far as SMTP allows. A delivery row exists once per (event,
recipient, channel). Deliveries are servicekit leased jobs: a replica claims
due rows (``servicekit.jobs.Lease``), only the holder of the lease may record
the outcome, and a replica that dies mid-send leaves the row to another once
the lease ends. ``Runner`` sends several at once and stops cleanly.
The one window left is a crash after the server accepted the message and
before the outcome was written: the message is then sent again with the same
``Message-ID`` (the delivery's id), which mail systems use to spot duplicates.

Outcomes: accepted → ``sent``; a 5xx reply → ``failed`` at once (permanent,
with the reply); a 4xx reply, no connection, or participants out of reach →
tried again after ``backoff`` until ``max_attempts``, then ``failed``. A
person participants does not know, one with no address, or one who turned the
kind off → ``skipped`` with the reason; a kind she gets as a digest → ``held``
for her next digest (``digests``).

Quiet hours (``domain.quiet``; ``NOTIFICATIONS_QUIET_HOURS``, by default
21:00-08:00 in her time zone, or her institution's own period): a delivery due
inside them is not sent; its ``next_attempt_at`` moves to their end, and that
counts as no attempt. Every kind waits, the obligations too: none is urgent at
night.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any
from urllib.parse import quote

import aiosmtplib
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from servicekit import clock
from servicekit.jobs import Lease, Runner, new_holder

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


class Quiet(Exception):
    """Her quiet hours: send it when they end."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"quiet hours until {until.isoformat()}")
        self.until = until


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    holder: str


def leases(settings: Settings) -> Lease:
    return Lease(Delivery, holder="lease_holder", until="lease_until", seconds=settings.lease_seconds)


def claim(engine: Engine, lease: Lease, limit: int = BATCH) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries nobody holds."""
    holder = new_holder()
    due = (select(Delivery.id)
           .where(Delivery.status == DeliveryStatus.pending.value, col(Delivery.next_attempt_at) <= clock.now())
           .order_by(col(Delivery.next_attempt_at), col(Delivery.id)).limit(limit))  # fmt: skip
    with Session(engine) as session:
        if not lease.claim(session, due, Delivery.status == DeliveryStatus.pending.value, holder=holder, skip_locked=True):
            session.rollback()
            return []
        session.commit()
        ids = session.exec(select(Delivery.id).where(Delivery.lease_holder == holder)).all()
    return [Claimed(delivery_id, holder) for delivery_id in ids]


def _finish(engine: Engine, lease: Lease, job: Claimed, **values: Any) -> bool:
    """Write the outcome if this replica still holds the lease."""
    with Session(engine) as session:
        done = lease.release(session, job.delivery_id, job.holder, updated_at=clock.now(), **values)
        session.commit()
        return done


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
        self.leases = leases(settings)
        self.runner: Runner[Claimed] = Runner(
            "notifications-deliveries", claim=lambda limit: claim(self.engine, self.leases, limit), work=self.deliver,
            concurrency=BATCH, interval=settings.delivery_poll_seconds, stop_timeout=settings.smtp_timeout_seconds + 5,
        )  # fmt: skip

    async def send_due(self) -> int:
        """Send what is due now, here; the number of deliveries handled (sent, failed, skipped, held for a digest or rescheduled)."""
        return await self.runner.run_once()

    def finish(self, job: Claimed, **values: Any) -> bool:
        return _finish(self.engine, self.leases, job, **values)

    async def deliver(self, job: Claimed) -> None:
        delivery, note, chosen = await asyncio.to_thread(_load, self.engine, job)
        if chosen is EmailSetting.digest:
            await asyncio.to_thread(self.finish, job, status=DeliveryStatus.held.value)
            return
        attempts = delivery.attempts + 1
        try:
            if chosen is EmailSetting.off:
                raise Skip("unsubscribed from this kind")
            message, address = await self._message(delivery, note)
            await self._send(message)
        except Quiet as quiet:
            await asyncio.to_thread(self.finish, job, next_attempt_at=quiet.until)
        except Skip as why:
            await asyncio.to_thread(self.finish, job, status=DeliveryStatus.skipped.value, last_error=str(why))
        except Permanent as why:
            log.warning("delivery failed", extra={"delivery_id": str(delivery.id), "error": str(why)[:200]})
            await asyncio.to_thread(self.finish, job, status=DeliveryStatus.failed.value, attempts=attempts,
                                    last_error=str(why)[:300])
        except Temporary as why:
            if attempts >= self.settings.max_attempts:
                values: dict[str, Any] = {"status": DeliveryStatus.failed.value,
                                          "last_error": f"gave up after {attempts} attempts: {why}"[:300]}
            else:
                wait = retry.backoff(attempts, self.settings.retry_base_seconds, self.settings.retry_cap_seconds)
                values = {"next_attempt_at": clock.now() + wait, "last_error": str(why)[:300]}
            await asyncio.to_thread(self.finish, job, attempts=attempts, **values)
        else:
            await asyncio.to_thread(self.finish, job, status=DeliveryStatus.sent.value, attempts=attempts,
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
        to = compose.Recipient(contact.name, compose.language(contact.language, contact.institution_language),
                               compose.zone(contact.timezone, contact.institution_timezone))
        quiet = self.settings.quiet_hours_of(str(delivery.institution_id))
        until = quiet.until(clock.now(), to.tz) if quiet is not None else None
        if until is not None:
            raise Quiet(until)
        counterpart = None
        if facts.get("counterpart_account_id"):
            other = await self._contact(delivery.institution_id, str(facts["counterpart_account_id"]))
            counterpart = other.name if other else None
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
        if kind is MessageKind.milestone_to_confirm and facts.get("milestone_id"):
            return f"{base}/milestones/{facts['milestone_id']}"
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
