"""Group events of a program (kickoff, accompaniment sessions, in-person cohort meetings) and their attendance."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.pagination import paginate
from servicekit.problems import ProblemError, not_found
from servicekit.references import Ref, References
from servicekit import clock
from servicekit.tenancy import scoped

from services.sessions import access
from services.sessions.models import Attendance, GroupEvent, ProgramSettings
from services.sessions.schemas import AttendanceList, AttendanceOut, AttendanceUpdate, GroupEventCreate

ATTENDANCE = References(Ref("records[].participant_id", access.PROGRAM_PARTICIPANT), operations=("record_attendance",))


def event_for(session: Session, who: Principal, event_id: uuid.UUID, *, coordinator: bool) -> GroupEvent:
    """The event, for whoever may read its program (``coordinator``: only its coordinators); a program the
    caller may not know makes the event a 404."""
    event = session.exec(scoped(select(GroupEvent).where(GroupEvent.id == event_id), GroupEvent, who)).first()
    if event is None:
        raise not_found("Group event")
    try:
        access.program_for(session, who, event.program_id, members_may_read=not coordinator)
    except ProblemError as exc:
        if exc.status == 404:
            raise not_found("Group event") from None
        raise
    return event


def create(session: Session, program: ProgramSettings, body: GroupEventCreate) -> GroupEvent:
    event = GroupEvent(institution_id=program.institution_id, program_id=program.program_id, title=body.title, kind=body.kind.value,
                       starts_at=body.starts_at, duration_minutes=body.duration_minutes, modality=body.modality.value,
                       link=body.link, place=body.place, created_at=clock.now())
    session.add(event)
    session.flush()
    return event


def of_program(session: Session, program: ProgramSettings, *, limit: int, cursor: str | None) -> tuple[list[GroupEvent], str | None]:
    """One page of the program's events."""
    stmt = select(GroupEvent).where(GroupEvent.institution_id == program.institution_id, GroupEvent.program_id == program.program_id)
    return paginate(session, stmt, GroupEvent.id, limit=limit, cursor=cursor)


def attendance(session: Session, event: GroupEvent) -> AttendanceList:
    rows = session.exec(select(Attendance).where(Attendance.event_id == event.id, Attendance.institution_id == event.institution_id)
                        .order_by(Attendance.participant_id)).all()  # type: ignore[arg-type]
    return AttendanceList(event_id=event.id, attended=sum(1 for r in rows if r.attended), absent=sum(1 for r in rows if not r.attended),
                          records=[AttendanceOut.model_validate(r) for r in rows])


def record(session: Session, event: GroupEvent, body: AttendanceUpdate) -> AttendanceList:
    """Upsert the records by participant, each a participant of one of the program's dyads (else nothing is written)."""
    ATTENDANCE.check(body, session=session, tenant=event.institution_id, parent=event.program_id)
    now = clock.now()
    existing = {r.participant_id: r for r in session.exec(select(Attendance).where(Attendance.event_id == event.id)).all()}
    for rec in body.records:
        row = existing.get(rec.participant_id) or Attendance(institution_id=event.institution_id, event_id=event.id,
                                                             participant_id=rec.participant_id, attended=rec.attended)
        row.attended, row.recorded_at = rec.attended, now
        session.add(row)
    session.flush()
    return attendance(session, event)
