"""/v1/notifications/mine: her inbox."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from servicekit.auth import CurrentPrincipal
from servicekit.db import SessionDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import problem_responses

from services.notifications import access, inbox
from services.notifications.models import Notification
from services.notifications.schemas.inbox import Facts, NotificationPublic

router = APIRouter(prefix="/v1/notifications", tags=["inbox"])

NotificationId = Annotated[uuid.UUID, Path(description="The notification's id.")]


def public(note: Notification) -> NotificationPublic:
    return NotificationPublic(id=note.id, kind=note.kind, created_at=note.created_at, read_at=note.read_at,  # type: ignore[arg-type]
                              facts=Facts.model_validate(note.facts))


@router.get("/mine", response_model=Page[NotificationPublic], operation_id="list_my_notifications",
            summary="My messages, oldest first (the person herself)", responses=problem_responses(401, 403, 422))
def list_my_notifications(who: CurrentPrincipal, session: SessionDep,
                          unread: Annotated[bool, Query(description="Only the ones not read yet.")] = False,
                          limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    rows, next_cursor = inbox.page(session, access.person(who), unread=unread, limit=limit, cursor=cursor)
    return Page[NotificationPublic](items=[public(n) for n in rows], next_cursor=next_cursor)


@router.post("/mine/{notification_id}/read", response_model=NotificationPublic, operation_id="mark_notification_read",
             summary="Mark one of my messages read (idempotent; anyone else's is a 404)", responses=problem_responses(401, 403, 404, 422))
def mark_notification_read(notification_id: NotificationId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return public(inbox.mark_read(session, access.person(who), notification_id))
