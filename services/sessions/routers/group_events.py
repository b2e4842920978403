"""/v1/group-events: kickoff, accompaniment sessions, in-person cohort meetings, with attendance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import problem_responses

from services.sessions import access, group_events
from services.sessions.dependencies import CurrentPrincipal, EventId, IdempotencyDep, ProgramId, SessionDep
from services.sessions.routers.common import CREATED, path_for
from services.sessions.schemas import AttendanceList, AttendanceUpdate, GroupEventCreate, GroupEventPublic

router = APIRouter(prefix="/v1/group-events", tags=["group events"])


@router.post("/programs/{program_id}", status_code=201, response_model=GroupEventPublic, operation_id="create_group_event",
             summary="Create a group event of the program (coordinators)", responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)})
def create_group_event(request: Request, response: Response, program_id: ProgramId, body: GroupEventCreate, who: CurrentPrincipal,
                       session: SessionDep, idem: IdempotencyDep) -> Any:
    if (again := idem.replay(session)) is not None:
        return again
    program, _ = access.program_for(session, who, program_id)
    event = group_events.create(session, program, body)
    out = GroupEventPublic.model_validate(event)
    idem.remember(session, 201, out)
    response.headers["Location"] = path_for(request, "get_group_event", event_id=event.id)
    return out


@router.get("/programs/{program_id}", response_model=Page[GroupEventPublic], operation_id="list_group_events",
            summary="The program's group events (coordinators and the program's members)", responses=problem_responses(400, 401, 404, 422))
def list_group_events(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    program, _ = access.program_for(session, who, program_id, members_may_read=True)
    rows, nxt = group_events.of_program(session, program, limit=limit, cursor=cursor)
    return Page[GroupEventPublic](items=[GroupEventPublic.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/{event_id}", response_model=GroupEventPublic, operation_id="get_group_event", name="get_group_event",
            summary="One group event", responses=problem_responses(401, 404, 422))
def get_group_event(event_id: EventId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return group_events.event_for(session, who, event_id, coordinator=False)


@router.put("/{event_id}/attendance", response_model=AttendanceList, operation_id="record_attendance",
            summary="Record who attended (coordinators); records are upserted by participant, each a participant of one of the "
                    "program's dyads (else 422 unknown-reference, nothing recorded)", responses=problem_responses(401, 403, 404, 409, 422))
def record_attendance(event_id: EventId, body: AttendanceUpdate, who: CurrentPrincipal, session: SessionDep) -> Any:
    return group_events.record(session, group_events.event_for(session, who, event_id, coordinator=True), body)


@router.get("/{event_id}/attendance", response_model=AttendanceList, operation_id="get_attendance",
            summary="Who attended (coordinators)", responses=problem_responses(401, 403, 404, 422))
def get_attendance(event_id: EventId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return group_events.attendance(session, group_events.event_for(session, who, event_id, coordinator=True))
