"""The participant roles of gateway accounts, as the participants service decides them.

Sign-up gives an account the single role ``applicant`` (gateway/routers/auth.py).
Who she becomes is the participants service's decision: confirming her place
writes ``participant.confirmed`` (her account id, her membership and its role:
mentor, mentee or peer mentor) on its outbox feed, a withdrawal
``participant.withdrawn``. The gateway reads that feed (``FeedConsumer``, its
internal token with scope ``events:read``, its own cursor) and keeps one row per
membership (``participant_roles``); after each event her account's roles are
her staff roles (admin, coordinator, evaluator: untouched here) plus the roles
of her active memberships, and ``applicant`` when she has none of either (she
may apply again). Her next token (a login or a refresh) carries them; a token
already issued keeps its roles until it expires (the services authorize
participants by their memberships, never by the role alone).

An account of another institution than the event's, or one that no longer
exists, is left alone. Each event is applied once (servicekit.consumer).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlmodel import Field, Session, select

from servicekit.consumer import FeedConsumer, FeedCursorBase, HandledEventBase
from servicekit.outbox import EventOut, utcnow

from gateway.models import Account, Base

log = logging.getLogger("gateway.participant_roles")

PARTICIPANT_ROLES = frozenset({"applicant", "mentor", "mentee", "peer_mentor"})
CONFIRMED_ROLES = frozenset({"mentor", "mentee", "peer_mentor"})


class ParticipantRole(Base, table=True):
    __tablename__ = "participant_roles"

    membership_id: str = Field(primary_key=True, max_length=40)
    account_id: str = Field(max_length=64, index=True)
    institution_id: str = Field(max_length=64)
    role: str = Field(max_length=16)
    active: bool = True
    updated_at: datetime = Field(default_factory=utcnow)


class RoleFeedCursor(FeedCursorBase, Base, table=True):
    __tablename__ = "role_feed_cursors"


class RoleHandledEvent(HandledEventBase, Base, table=True):
    __tablename__ = "role_handled_events"


def apply(session: Session, event: EventOut) -> None:
    """One participants event, in the consumer's transaction."""
    if event.type not in ("participant.confirmed", "participant.withdrawn"):
        return
    payload = event.payload
    membership_id = str(payload.get("membership_id") or "")
    if not membership_id:
        return
    row = session.get(ParticipantRole, membership_id)
    if event.type == "participant.confirmed":
        role, account_id = payload.get("role"), payload.get("account_id")
        if role not in CONFIRMED_ROLES or not isinstance(account_id, str) or not account_id:
            return
        row = row or ParticipantRole(membership_id=membership_id, account_id=account_id,
                                     institution_id=str(event.tenant_id or ""), role=role)
        row.active, row.updated_at = True, utcnow()
    else:
        if row is None:
            return  # a membership confirmed before the gateway kept roles: nothing of hers here
        row.active, row.updated_at = False, utcnow()
    session.add(row)
    session.flush()
    refresh_account(session, row.account_id, row.institution_id)


def refresh_account(session: Session, account_id: str, institution_id: str) -> None:
    """Her roles: staff roles kept, participant roles from her active memberships (else ``applicant``)."""
    try:
        account = session.get(Account, uuid.UUID(account_id), with_for_update=True)
    except ValueError:
        return
    if account is None or account.institution_id != institution_id:
        return
    held = set(session.exec(select(ParticipantRole.role).where(
        ParticipantRole.account_id == account_id, ParticipantRole.institution_id == institution_id,
        ParticipantRole.active == True,  # noqa: E712
    )).all())
    staff = [r for r in account.roles if r not in PARTICIPANT_ROLES]
    roles = staff + sorted(held) if staff or held else ["applicant"]
    if roles != list(account.roles):
        log.info("participant roles changed", extra={"account_id": account_id, "roles": roles})
        account.roles, account.updated_at = roles, utcnow()
        session.add(account)


class ParticipantRoles:
    """The consumer of the participants feed, run from the gateway's lifespan."""

    def __init__(self, engine: object, participants_url: str, token: Callable[[], Awaitable[str]], poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._token = token
        self.consumer = FeedConsumer(
            source="participants", feed_url=participants_url.rstrip("/") + "/internal/events", tokens=self,  # type: ignore[arg-type]
            engine=engine, cursor_model=RoleFeedCursor, handled_model=RoleHandledEvent, handler=apply,  # type: ignore[arg-type]
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def token(self) -> str:
        return await self._token()

    async def start(self, _app: object = None) -> None:
        if self.poll_seconds > 0 and self._task is None:
            self._stop = asyncio.Event()
            self._task = asyncio.create_task(self.consumer.run(self._stop, self.poll_seconds), name="participant-roles")

    async def stop(self, _app: object = None) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None
