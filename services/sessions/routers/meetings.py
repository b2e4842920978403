"""/v1/meetings: confirm held, reschedule, cancel, no-show, notes, history; the iCalendar feed."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Request, Response

from servicekit.problems import not_found, problem_responses

from services.sessions import access, calendar_feed, meetings, supervision
from services.sessions.dependencies import CurrentPrincipal, MeetingId, SessionDep
from services.sessions.routers.common import CREATED
from services.sessions.schemas import (
    CalendarTokenCreated, CalendarTokenPublic, Cancellation, Confirmation, MeetingChangePublic, MeetingPublic, MeetingUpdate, Reschedule,
)

router = APIRouter(prefix="/v1/meetings", tags=["meetings"])
TokenId = Annotated[uuid.UUID, Path(description="The calendar token's id.")]


@router.post("/calendar-tokens", status_code=201, response_model=CalendarTokenCreated, operation_id="create_calendar_token",
             summary="Create my private iCalendar URL (the token is shown once; only its hash is kept, so no Idempotency-Key replay)",
             responses={**CREATED, **problem_responses(401, 403, 409, 422)})
def create_calendar_token(request: Request, response: Response, who: CurrentPrincipal, session: SessionDep) -> Any:
    row, token = calendar_feed.issue(session, who)
    base = request.app.state.settings.public_base_url.rstrip("/")
    out = CalendarTokenCreated(id=row.id, token=token, url=f"{base}/v1/meetings/calendar/{token}.ics", created_at=row.created_at)
    response.headers["Location"] = f"/v1/meetings/calendar-tokens/{row.id}"
    return out


@router.get("/calendar-tokens", response_model=list[CalendarTokenPublic], operation_id="list_calendar_tokens",
            summary="My calendar tokens (never the secrets)", responses=problem_responses(401))
def list_calendar_tokens(who: CurrentPrincipal, session: SessionDep) -> Any:
    return calendar_feed.mine(session, who)


@router.delete("/calendar-tokens/{token_id}", status_code=204, response_class=Response, operation_id="revoke_calendar_token",
               summary="Revoke one of my calendar URLs", responses=problem_responses(401, 404, 422))
def revoke_calendar_token(token_id: TokenId, who: CurrentPrincipal, session: SessionDep) -> Response:
    calendar_feed.revoke(session, who, token_id)
    return Response(status_code=204)


@router.get("/calendar/{token}.ics", operation_id="get_calendar_feed", response_class=Response,
            summary="A participant's iCalendar feed (public: the token in the URL is the secret)",
            responses={200: {"content": {"text/calendar": {"schema": {"type": "string"}}}, "description": "RFC 5545 calendar"},
                       **problem_responses(404, 422, 503)})
async def get_calendar_feed(token: Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")],
                            request: Request, session: SessionDep) -> Response:
    """404 as for an unknown feed once the owner's account is suspended or gone; 503 while the gateway
    cannot say (services.sessions.owners: fail closed)."""
    row = await anyio.to_thread.run_sync(calendar_feed.feed_token, session, token)
    if not await request.app.state.account_statuses.is_active(row.account_id):
        raise not_found("Calendar")
    body = await anyio.to_thread.run_sync(calendar_feed.render, session, row)
    return Response(body, media_type="text/calendar; charset=utf-8", headers={"Cache-Control": "private, max-age=300"})


@router.get("/{meeting_id:uuid}", response_model=MeetingPublic, operation_id="get_meeting",
            summary="One meeting (its dyad's members, coordinators, admin)", responses=problem_responses(401, 404, 422))
def get_meeting(meeting_id: MeetingId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return meetings.public(meetings.meeting_for(session, who, meeting_id)[0])


@router.get("/{meeting_id:uuid}/history", response_model=list[MeetingChangePublic], operation_id="get_meeting_history",
            summary="Every reschedule, cancellation and no-show of the meeting, with reasons", responses=problem_responses(401, 404, 422))
def get_meeting_history(meeting_id: MeetingId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return meetings.history(session, meetings.meeting_for(session, who, meeting_id)[0])


@router.post("/{meeting_id:uuid}/confirmation", response_model=MeetingPublic, operation_id="confirm_meeting_held",
             summary="Confirm the meeting took place (each member; it becomes held; both confirmations are the evidence)",
             responses=problem_responses(401, 403, 404, 409, 422))
def confirm_meeting_held(meeting_id: MeetingId, body: Confirmation, who: CurrentPrincipal, session: SessionDep) -> Any:
    meeting, dyad, side = meetings.meeting_for(session, who, meeting_id, allow=access.MEMBERS, lock=True)
    meetings.confirm(session, meeting, dyad, side, body.notes)
    supervision.refresh(session, dyad)
    return meetings.public(meeting)


@router.post("/{meeting_id:uuid}/reschedule", response_model=MeetingPublic, operation_id="reschedule_meeting",
             summary="Move the meeting, with a reason (either member); the history is kept and SEQUENCE bumped",
             responses=problem_responses(401, 403, 404, 409, 422))
def reschedule_meeting(meeting_id: MeetingId, body: Reschedule, who: CurrentPrincipal, session: SessionDep) -> Any:
    meeting, dyad, side = meetings.meeting_for(session, who, meeting_id, allow=access.MEMBERS, lock=True)
    meetings.reschedule(session, meeting, dyad, side, body)
    supervision.refresh(session, dyad)
    return meetings.public(meeting)


@router.post("/{meeting_id:uuid}/cancellation", response_model=MeetingPublic, operation_id="cancel_meeting",
             summary="Cancel the meeting, with a reason (either member, coordinators)", responses=problem_responses(401, 404, 409, 422))
def cancel_meeting(meeting_id: MeetingId, body: Cancellation, who: CurrentPrincipal, session: SessionDep) -> Any:
    meeting, dyad, capacity = meetings.meeting_for(session, who, meeting_id, lock=True)
    meetings.cancel(session, meeting, dyad, capacity, body.reason)
    supervision.refresh(session, dyad)
    return meetings.public(meeting)


@router.post("/{meeting_id:uuid}/no-show", response_model=MeetingPublic, operation_id="mark_meeting_no_show",
             summary="Record that a member did not come (either member, after the start)", responses=problem_responses(401, 403, 404, 409, 422))
def mark_meeting_no_show(meeting_id: MeetingId, body: Cancellation, who: CurrentPrincipal, session: SessionDep) -> Any:
    meeting, dyad, side = meetings.meeting_for(session, who, meeting_id, allow=access.MEMBERS, lock=True)
    meetings.no_show(session, meeting, dyad, side, body.reason)
    supervision.refresh(session, dyad)
    return meetings.public(meeting)


@router.patch("/{meeting_id:uuid}", response_model=MeetingPublic, operation_id="update_meeting",
              summary="Notes, or the modality with its link or place (either member)", responses=problem_responses(401, 403, 404, 409, 422))
def update_meeting(meeting_id: MeetingId, body: MeetingUpdate, who: CurrentPrincipal, session: SessionDep) -> Any:
    meeting, dyad, _ = meetings.meeting_for(session, who, meeting_id, allow=access.MEMBERS, lock=True)
    return meetings.public(meetings.update(session, meeting, dyad, body))

