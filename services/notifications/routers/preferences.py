"""/v1/notifications/preferences (hers) and /v1/notifications/unsubscribe (the signed link, no login)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from servicekit.auth import CurrentPrincipal
from servicekit.db import SessionDep
from servicekit.problems import problem_responses

from services.notifications import access, preferences
from services.notifications.enums import MessageKind
from services.notifications.schemas.preferences import PreferencePublic, PreferenceUpdate, UnsubscribePublic

router = APIRouter(prefix="/v1/notifications", tags=["preferences"])

Token = Annotated[str, Query(min_length=10, max_length=1000, description="The signed token of the unsubscribe link.")]


def _key(request: Request) -> str:
    return str(request.app.state.settings.unsubscribe_key.get_secret_value())


@router.get("/preferences", response_model=list[PreferencePublic], operation_id="list_my_notification_preferences",
            summary="My choice for every kind of message, with the obligatory ones explained", responses=problem_responses(401, 403))
def list_my_notification_preferences(who: CurrentPrincipal, session: SessionDep) -> Any:
    return preferences.mine(session, access.person(who))


@router.put("/preferences/{kind}", response_model=PreferencePublic, operation_id="set_my_notification_preference",
            summary="Get a kind of message by e-mail, in the daily digest, or not at all (obligatory ones: always, 409)",
            responses=problem_responses(401, 403, 409, 422))
def set_my_notification_preference(kind: Annotated[MessageKind, Path(description="The kind of message.")], body: PreferenceUpdate,
                                   who: CurrentPrincipal, session: SessionDep) -> Any:
    me = access.person(who)
    return preferences.choose(session, me.institution_id, me.account_id, kind, body.setting)


@router.get("/unsubscribe", response_model=UnsubscribePublic, operation_id="read_unsubscribe_link",
            summary="What an unsubscribe link would turn off, and whether it already is (no login; changes nothing)",
            responses=problem_responses(404, 422))
def read_unsubscribe_link(token: Token, request: Request, session: SessionDep) -> Any:
    return preferences.look(session, _key(request), token)


@router.post("/unsubscribe", response_model=UnsubscribePublic, operation_id="unsubscribe",
             summary="Turn off the kind of message the link names (RFC 8058 one-click; no login)",
             description="Mail clients POST `List-Unsubscribe=One-Click` here; the body is not needed. Idempotent.",
             responses=problem_responses(404, 409, 422))
def unsubscribe(token: Token, request: Request, session: SessionDep) -> Any:
    return preferences.unsubscribe(session, _key(request), token)
