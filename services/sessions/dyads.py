"""Dyads from the matching feed: match.activated creates the dyad and proposes
its schedule (domain.propose_schedule); match.dissolved / match.completed end it
and cancel its future meetings. Every handler is idempotent on its own (a
second delivery changes nothing), besides the consumer's handled-event table.
Also the lists of dyads: the caller's own, and a program's."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.outbox import EventOut, emit
from servicekit.pagination import paginate
from servicekit import clock, erasures
from servicekit.tenancy import tenant_of

from services.sessions import domain
from services.sessions.enums import PENDING, DyadStatus, MeetingChangeKind, MeetingStatus, Modality
from services.sessions.models import Dyad, ErasedSubject, Meeting, MeetingChange, OutboxEvent, ProgramSettings

log = logging.getLogger("sessions.dyads")

DEFAULT_FEEDBACK_ITEMS = [
    {"code": "preparation", "label": "My counterpart came prepared"},
    {"code": "listening", "label": "My counterpart listened actively"},
    {"code": "usefulness", "label": "The meeting was useful for my objectives"},
    {"code": "rapport", "label": "I felt trust and rapport"},
]


def _hhmm(value: str) -> time:
    if value == "24:00":
        return time(0)
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def availability(timezone: str, slots: list[dict[str, Any]]) -> domain.Availability:
    return domain.Availability(
        timezone=timezone,
        windows=tuple(domain.WeeklyWindow(int(s["weekday"]), _hhmm(s["start"]), _hhmm(s["end"])) for s in slots),
    )


def modality_for(delivery: str, preferred: str) -> str:
    """A program's delivery (virtual, in person or hybrid) and the pair's preference give a meeting's modality."""
    if delivery in (Modality.VIRTUAL, Modality.IN_PERSON):
        return delivery
    return Modality.IN_PERSON.value if preferred == Modality.IN_PERSON else Modality.VIRTUAL.value


def meeting_payload(meeting: Meeting, dyad: Dyad) -> dict[str, Any]:
    return {
        "meeting_id": str(meeting.id),
        "dyad_id": str(dyad.id),
        "program_id": str(dyad.program_id),
        "number": meeting.number,
        "start": meeting.start.isoformat(),
        "duration_minutes": meeting.duration_minutes,
        "modality": meeting.modality,
        "status": meeting.status,
        "sequence": meeting.sequence,
        "mentee_account_id": dyad.mentee_account_id,
        "mentor_account_id": dyad.mentor_account_id,
    }


def emit_meeting(session: Session, kind: str, meeting: Meeting, dyad: Dyad, **extra: Any) -> None:
    emit(session, OutboxEvent, kind, subject=meeting.id, tenant_id=dyad.institution_id,
         payload={**meeting_payload(meeting, dyad), **extra})


def first_date(program: ProgramSettings) -> date | None:
    """A dyad that starts once the mentoring phase is under way (a re-match from
    a substitute) meets from tomorrow on, not in the weeks already gone. Before
    the phase, or after it (a past cohort recorded afterwards), the whole phase
    is proposed."""
    tomorrow = clock.now().date() + timedelta(days=1)
    return tomorrow if program.mentoring_starts_on < tomorrow <= program.mentoring_ends_on else None


def propose(program: ProgramSettings, dyad: Dyad) -> domain.Schedule:
    cadence = domain.Cadence.WEEKLY if program.cadence == "weekly" else domain.Cadence.BIWEEKLY
    count = program.meetings_count * (2 if program.cadence == "monthly" else 1)
    request = domain.ScheduleRequest(
        preferred_first_date=first_date(program),
        mentee=availability(dyad.mentee_timezone, dyad.mentee_availability),
        mentor=availability(dyad.mentor_timezone, dyad.mentor_availability),
        phase_start=program.mentoring_starts_on,
        phase_end=program.mentoring_ends_on,
        count=count,
        cadence=cadence,
        duration_minutes=program.duration_minutes,
    )
    schedule = domain.propose_schedule(request)
    if program.cadence == "monthly":  # every other biweekly date: every four weeks
        from dataclasses import replace

        kept = tuple(replace(o, number=n) for n, o in enumerate(schedule.occurrences[::2], start=1))
        schedule = replace(schedule, occurrences=kept)
    return schedule


def _program(session: Session, payload: dict[str, Any]) -> ProgramSettings:
    program_id = uuid.UUID(payload["program_id"])
    meetings = payload["meetings"]
    program = session.get(ProgramSettings, program_id)
    if program is None:
        program = ProgramSettings(
            program_id=program_id,
            institution_id=uuid.UUID(payload["institution_id"]),
            feedback_items=list(DEFAULT_FEEDBACK_ITEMS),
            delivery=meetings["delivery"],
            meetings_count=int(meetings["meetings_count"]),
            cadence=meetings["cadence"],
            duration_minutes=int(meetings["duration_minutes"]),
            mentoring_starts_on=date.fromisoformat(meetings["mentoring_starts_on"]),
            mentoring_ends_on=date.fromisoformat(meetings["mentoring_ends_on"]),
            feedback_deadline_hours=float(meetings["feedback_deadline_hours"]),
        )
        session.add(program)
        session.flush()
    return program


def activate(session: Session, payload: dict[str, Any], occurred_at: datetime) -> Dyad | None:
    dyad_id = uuid.UUID(payload["match_id"])
    if session.get(Dyad, dyad_id) is not None:
        return None  # already applied
    mentee, mentor = payload["mentee"], payload["mentor"]
    if erasures.erased(session, ErasedSubject, uuid.UUID(payload["institution_id"]), [mentee["account_id"], mentor["account_id"]]):
        return None  # a member was erased here after matching published the match: no dyad is made of her
    program = _program(session, payload)
    dyad = Dyad(
        id=dyad_id,
        institution_id=uuid.UUID(payload["institution_id"]),
        program_id=program.program_id,
        mentee_participant_id=uuid.UUID(mentee["participant_id"]),
        mentor_participant_id=uuid.UUID(mentor["participant_id"]),
        mentee_account_id=mentee["account_id"],
        mentor_account_id=mentor["account_id"],
        mentee_timezone=mentee["timezone"],
        mentor_timezone=mentor["timezone"],
        mentee_availability=list(mentee.get("availability") or []),
        mentor_availability=list(mentor.get("availability") or []),
        preferred_delivery=payload.get("preferred_delivery") or "hybrid",
        schedule_status="pending",
        activated_at=occurred_at,
    )
    try:
        schedule = propose(program, dyad)
    except domain.DomainError as exc:
        dyad.schedule_status, dyad.schedule_reasons = "no_common_slot", [str(exc)]
        session.add(dyad)
        session.flush()
        return dyad
    dyad.schedule_status = schedule.status.value
    dyad.schedule_slot = schedule.slot.label() if schedule.slot else None
    dyad.schedule_reasons = list(schedule.reasons)
    session.add(dyad)
    session.flush()
    modality = modality_for(program.delivery, dyad.preferred_delivery)
    for occurrence in schedule.occurrences:
        meeting = Meeting(
            institution_id=dyad.institution_id,
            dyad_id=dyad.id,
            number=occurrence.number,
            planned_start=occurrence.start_utc,
            start=occurrence.start_utc,
            duration_minutes=program.duration_minutes,
            modality=modality,
        )
        session.add(meeting)
        session.flush()
        emit_meeting(session, "meeting.scheduled", meeting, dyad)
    return dyad


def end(session: Session, payload: dict[str, Any], status: DyadStatus) -> Dyad | None:
    dyad = session.get(Dyad, uuid.UUID(payload["match_id"]))
    if dyad is None or dyad.status != DyadStatus.ACTIVE:
        return None
    now = clock.now()
    dyad.status, dyad.ended_at = status.value, now
    dyad.end_reason = payload.get("reason") if status is DyadStatus.DISSOLVED else "completed"
    session.add(dyad)
    future = session.exec(
        select(Meeting).where(Meeting.dyad_id == dyad.id, Meeting.institution_id == dyad.institution_id,
                              Meeting.status.in_(PENDING), Meeting.start > now)  # type: ignore[attr-defined]
    ).all()
    for meeting in future:
        session.add(MeetingChange(institution_id=dyad.institution_id, meeting_id=meeting.id, kind=MeetingChangeKind.CANCELLED.value, by="system",
                                  from_start=meeting.start, reason=f"the match was {status}"))
        meeting.status, meeting.sequence, meeting.updated_at = MeetingStatus.CANCELLED.value, meeting.sequence + 1, now
        session.add(meeting)
        # As any cancellation: the members' calendars drop it (notifications sends the invitation's CANCEL).
        emit_meeting(session, "meeting.cancelled", meeting, dyad, by="system")
    session.flush()
    return dyad


def handle(session: Session, event: EventOut) -> None:
    """The matching feed's handler (servicekit.consumer.FeedConsumer)."""
    if event.type == "match.activated":
        activate(session, event.payload, event.occurred_at)
    elif event.type == "match.dissolved":
        end(session, event.payload, DyadStatus.DISSOLVED)
    elif event.type == "match.completed":
        end(session, event.payload, DyadStatus.COMPLETED)


def mine(session: Session, who: Principal, *, limit: int, cursor: str | None) -> tuple[list[Dyad], str | None]:
    """One page of the dyads the caller is a member of (none for an API client or a caller without an institution)."""
    tid = tenant_of(who)
    if tid is None or who.is_client:
        return [], None
    stmt = select(Dyad).where(Dyad.institution_id == tid, (Dyad.mentee_account_id == who.subject) | (Dyad.mentor_account_id == who.subject))
    return paginate(session, stmt, Dyad.id, limit=limit, cursor=cursor)


def of_program(session: Session, program: ProgramSettings, *, limit: int, cursor: str | None) -> tuple[list[Dyad], str | None]:
    """One page of the program's dyads."""
    stmt = select(Dyad).where(Dyad.institution_id == program.institution_id, Dyad.program_id == program.program_id)
    return paginate(session, stmt, Dyad.id, limit=limit, cursor=cursor)
