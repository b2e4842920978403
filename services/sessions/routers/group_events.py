"""/v1/group-events: kickoff, accompaniment sessions, in-person cohort meetings, with attendance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel import select

from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, paginate
from servicekit.problems import not_found, problem_responses
from servicekit.references import Ref, References

from services.sessions import access, clock
from services.sessions.dependencies import CurrentPrincipal, EventId, IdempotencyDep, ProgramId, SessionDep
from services.sessions.models import Attendance, GroupEvent
from services.sessions.routers.common import CREATED, path_for, remember, replay
from services.sessions.schemas import AttendanceList, AttendanceOut, AttendanceUpdate, GroupEventCreate, GroupEventPublic

router = APIRouter(prefix="/v1/group-events", tags=["group events"])

ATTENDANCE = References(Ref("records[].participant_id", access.PROGRAM_PARTICIPANT), operations=("record_attendance",))


def _event(session: Any, who: Any, event_id: Any, *, coordinator: bool) -> GroupEvent:
    event = session.exec(access.scoped(select(GroupEvent).where(GroupEvent.id == event_id), GroupEvent, who)).first()
    if event is None:
        raise not_found("Group event")
    try:
        access.program_for(session, who, event.program_id, members_may_read=not coordinator)
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            raise not_found("Group event") from None
        raise
    return event


@router.post("/programs/{program_id}", status_code=201, response_model=GroupEventPublic, operation_id="create_group_event",
             summary="Create a group event of the program (coordinators)", responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)})
def create_group_event(request: Request, response: Response, program_id: ProgramId, body: GroupEventCreate, who: CurrentPrincipal,
                       session: SessionDep, idem: IdempotencyDep) -> Any:
    if (again := replay(idem, session)) is not None:
        return again
    program, _ = access.program_for(session, who, program_id)
    event = GroupEvent(institution_id=program.institution_id, program_id=program_id, title=body.title, kind=body.kind.value,
                       starts_at=body.starts_at, duration_minutes=body.duration_minutes, modality=body.modality.value,
                       link=body.link, place=body.place, created_at=clock.now())
    session.add(event)
    session.flush()
    out = GroupEventPublic.model_validate(event)
    remember(idem, session, 201, out)
    response.headers["Location"] = path_for(request, "get_group_event", event_id=event.id)
    return out


@router.get("/programs/{program_id}", response_model=Page[GroupEventPublic], operation_id="list_group_events",
            summary="The program's group events (coordinators and the program's members)", responses=problem_responses(400, 401, 404, 422))
def list_group_events(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    program, _ = access.program_for(session, who, program_id, members_may_read=True)
    stmt = select(GroupEvent).where(GroupEvent.institution_id == program.institution_id, GroupEvent.program_id == program_id)
    rows, nxt = paginate(session, stmt, GroupEvent.id, limit=limit, cursor=cursor)
    return Page[GroupEventPublic](items=[GroupEventPublic.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/{event_id}", response_model=GroupEventPublic, operation_id="get_group_event", name="get_group_event",
            summary="One group event", responses=problem_responses(401, 404, 422))
def get_group_event(event_id: EventId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return _event(session, who, event_id, coordinator=False)


def _attendance(session: Any, event: GroupEvent) -> AttendanceList:
    rows = session.exec(select(Attendance).where(Attendance.event_id == event.id, Attendance.institution_id == event.institution_id)
                        .order_by(Attendance.participant_id)).all()
    return AttendanceList(event_id=event.id, attended=sum(1 for r in rows if r.attended), absent=sum(1 for r in rows if not r.attended),
                          records=[AttendanceOut.model_validate(r) for r in rows])


@router.put("/{event_id}/attendance", response_model=AttendanceList, operation_id="record_attendance",
            summary="Record who attended (coordinators); records are upserted by participant, each a participant of one of the "
                    "program's dyads (else 422 unknown-reference, nothing recorded)", responses=problem_responses(401, 403, 404, 409, 422))
def record_attendance(event_id: EventId, body: AttendanceUpdate, who: CurrentPrincipal, session: SessionDep) -> Any:
    event = _event(session, who, event_id, coordinator=True)
    ATTENDANCE.check(body, session=session, tenant=event.institution_id, parent=event.program_id)
    now = clock.now()
    existing = {r.participant_id: r for r in session.exec(select(Attendance).where(Attendance.event_id == event.id)).all()}
    for rec in body.records:
        row = existing.get(rec.participant_id) or Attendance(institution_id=event.institution_id, event_id=event.id, participant_id=rec.participant_id, attended=rec.attended)
        row.attended, row.recorded_at = rec.attended, now
        session.add(row)
    session.flush()
    return _attendance(session, event)


@router.get("/{event_id}/attendance", response_model=AttendanceList, operation_id="get_attendance",
            summary="Who attended (coordinators)", responses=problem_responses(401, 403, 404, 422))
def get_attendance(event_id: EventId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return _attendance(session, _event(session, who, event_id, coordinator=True))
