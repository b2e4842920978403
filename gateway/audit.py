"""The gateway's audit trail: who changed what trust setting, when.

One row per security-relevant administrative act (identity-provider
registrations and their approval, for now), written in the same transaction as
the act, so a rolled-back act leaves no record and a committed one always has
its record. A record holds ids, the action and the *names* of the fields that
changed, never their values or any personal text (no name, email or answer).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, Session
from uuid6 import uuid7

from servicekit.auth import Principal
from servicekit.outbox import utcnow

from gateway.models import Base

log = logging.getLogger("gateway.audit")


class AuditEvent(Base, table=True):
    __tablename__ = "audit_events"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: str = Field(max_length=64)
    actor_role: str = Field(max_length=16)
    action: str = Field(max_length=64, index=True)
    target_type: str = Field(max_length=32)
    target_id: str = Field(max_length=64, index=True)
    institution_id: str | None = Field(default=None, max_length=64, index=True)
    # Ids, enums and field names only.
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


def record(
    session: Session,
    actor: Principal,
    action: str,
    *,
    target_type: str,
    target_id: Any,
    institution_id: str | None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor.subject,
        actor_role="admin" if actor.is_admin else "coordinator" if actor.has_role("coordinator") else "other",
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        institution_id=institution_id,
        details=details or {},
    )
    session.add(event)
    log.info(
        "audit",
        extra={"action": action, "actor": event.actor_id, "target": event.target_id, "institution": institution_id, "details": details or {}},
    )
    return event
