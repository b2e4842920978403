"""Meetings: confirm held, reschedule with history, cancel, no-show, notes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.pagination import paginate
from servicekit.problems import ProblemError, conflict, not_found
from servicekit import clock
from servicekit.tenancy import scoped

from services.sessions import access, domain
from services.sessions.dyads import emit_meeting
from services.sessions.enums import PENDING, DyadStatus, MeetingChangeKind, MeetingStatus, Modality
from services.sessions.models import Dyad, FeedbackForm, Meeting, MeetingChange, ProgramSettings
from services.sessions.schemas import MeetingPublic


def public(m: Meeting) -> MeetingPublic:
    return MeetingPublic(
        id=m.id, dyad_id=m.dyad_id, number=m.number, planned_start=m.planned_start, start=m.start,
        end=m.start + timedelta(minutes=m.duration_minutes), duration_minutes=m.duration_minutes, modality=m.modality,  # type: ignore[arg-type]
        link=m.link, place=m.place, status=m.status, reschedules=m.reschedules, sequence=m.sequence,  # type: ignore[arg-type]
        mentee_confirmed_at=m.mentee_confirmed_at, mentor_confirmed_at=m.mentor_confirmed_at,
        confirmed_by_both=m.mentee_confirmed_at is not None and m.mentor_confirmed_at is not None,
        notes=m.notes, updated_at=m.updated_at,
    )


def meeting_for(session: Session, who: Principal, meeting_id: uuid.UUID, *, allow: tuple[str, ...] = access.EVERYONE, lock: bool = False) -> tuple[Meeting, Dyad, str]:
    stmt = scoped(select(Meeting).where(Meeting.id == meeting_id), Meeting, who)
    if lock:
        stmt = stmt.with_for_update()
    meeting = session.exec(stmt).first()
    if meeting is None:
        raise not_found("Meeting")
    dyad, capacity = access.dyad_for(session, who, meeting.dyad_id, allow=allow, what="Meeting")
    return meeting, dyad, capacity


def _pending(meeting: Meeting, action: str) -> None:
    if meeting.status not in PENDING:
        raise conflict(f"A meeting that is {meeting.status} cannot be {action}", current_status=meeting.status)


def _active(dyad: Dyad) -> None:
    if dyad.status != DyadStatus.ACTIVE:
        raise conflict(f"The dyad is {dyad.status}; its meetings can no longer change", dyad_status=dyad.status)


def _where(meeting: Meeting, body: Any) -> None:
    if body.modality is not None:
        meeting.modality = body.modality.value
        meeting.link = body.link if body.modality is Modality.VIRTUAL else None
        meeting.place = body.place if body.modality is Modality.IN_PERSON else None
    else:
        if body.link is not None:
            meeting.link = body.link
        if body.place is not None:
            meeting.place = body.place


def confirm(session: Session, meeting: Meeting, dyad: Dyad, side: str, notes: str | None) -> Meeting:
    """She confirms it took place: the meeting is held (a past meeting may be confirmed afterwards)."""
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.NO_SHOW):
        raise conflict(f"A meeting that is {meeting.status} cannot be marked held", current_status=meeting.status)
    now = clock.now()
    if meeting.start > now:
        raise ProblemError(409, f"The meeting starts at {meeting.start.isoformat()}; it cannot be marked held before it starts",
                           slug="meeting-in-future")
    if side == "mentee":
        meeting.mentee_confirmed_at = meeting.mentee_confirmed_at or now
    else:
        meeting.mentor_confirmed_at = meeting.mentor_confirmed_at or now
    if notes:
        meeting.notes = notes
    meeting.updated_at = now
    if meeting.status != MeetingStatus.HELD:
        meeting.status = MeetingStatus.HELD.value
        program = session.get(ProgramSettings, dyad.program_id)
        assert program is not None
        due = domain.feedback_due(meeting.start + timedelta(minutes=meeting.duration_minutes), program.feedback_deadline_hours)
        for role, account in (("mentee", dyad.mentee_account_id), ("mentor", dyad.mentor_account_id)):
            session.add(FeedbackForm(institution_id=dyad.institution_id, program_id=dyad.program_id, dyad_id=dyad.id,
                                     meeting_id=meeting.id, respondent_role=role, respondent_account_id=account, due_at=due))
        emit_meeting(session, "meeting.held", meeting, dyad, confirmed_by=side, feedback_due=due.isoformat())
    session.add(meeting)
    session.flush()
    return meeting


def reschedule(session: Session, meeting: Meeting, dyad: Dyad, side: str, body: Any) -> Meeting:
    _active(dyad)
    _pending(meeting, "rescheduled")
    now = clock.now()
    session.add(MeetingChange(institution_id=dyad.institution_id, meeting_id=meeting.id, kind=MeetingChangeKind.RESCHEDULED.value, by=side,
                              from_start=meeting.start, to_start=body.start, reason=body.reason, at=now))
    previous = meeting.start
    meeting.start = body.start
    _where(meeting, body)
    meeting.status, meeting.reschedules, meeting.sequence, meeting.updated_at = (
        MeetingStatus.RESCHEDULED.value, meeting.reschedules + 1, meeting.sequence + 1, now)
    session.add(meeting)
    session.flush()
    emit_meeting(session, "meeting.rescheduled", meeting, dyad, previous_start=previous.isoformat(), reason=body.reason, by=side)
    return meeting


def cancel(session: Session, meeting: Meeting, dyad: Dyad, by: str, reason: str) -> Meeting:
    _pending(meeting, "cancelled")
    now = clock.now()
    session.add(MeetingChange(institution_id=dyad.institution_id, meeting_id=meeting.id, kind=MeetingChangeKind.CANCELLED.value, by=by,
                              from_start=meeting.start, reason=reason, at=now))
    meeting.status, meeting.sequence, meeting.updated_at = MeetingStatus.CANCELLED.value, meeting.sequence + 1, now
    session.add(meeting)
    session.flush()
    emit_meeting(session, "meeting.cancelled", meeting, dyad, by=by)
    return meeting


def no_show(session: Session, meeting: Meeting, dyad: Dyad, by: str, reason: str) -> Meeting:
    _pending(meeting, "marked a no-show")
    now = clock.now()
    if meeting.start > now:
        raise ProblemError(409, "A meeting cannot be a no-show before it starts", slug="meeting-in-future")
    session.add(MeetingChange(institution_id=dyad.institution_id, meeting_id=meeting.id, kind=MeetingChangeKind.NO_SHOW.value, by=by,
                              from_start=meeting.start, reason=reason, at=now))
    meeting.status, meeting.updated_at = MeetingStatus.NO_SHOW.value, now
    session.add(meeting)
    session.flush()
    return meeting


def update(session: Session, meeting: Meeting, dyad: Dyad, body: Any) -> Meeting:
    if body.modality is not None or body.link is not None or body.place is not None:
        _pending(meeting, "moved to another place")
        _where(meeting, body)
        meeting.sequence += 1
    if body.notes is not None:
        meeting.notes = body.notes
    meeting.updated_at = clock.now()
    session.add(meeting)
    session.flush()
    return meeting


def history(session: Session, meeting: Meeting) -> list[MeetingChange]:
    return list(session.exec(
        select(MeetingChange).where(MeetingChange.meeting_id == meeting.id, MeetingChange.institution_id == meeting.institution_id)
        .order_by(MeetingChange.at, MeetingChange.id)  # type: ignore[arg-type]
    ).all())


def dyad_meetings(session: Session, dyad: Dyad) -> list[Meeting]:
    return list(session.exec(
        select(Meeting).where(Meeting.dyad_id == dyad.id, Meeting.institution_id == dyad.institution_id).order_by(Meeting.number)  # type: ignore[arg-type]
    ).all())


def dyad_page(session: Session, dyad: Dyad, *, limit: int, cursor: str | None) -> tuple[list[Meeting], str | None]:
    """One page of the dyad's meetings, in schedule order within the page."""
    stmt = select(Meeting).where(Meeting.dyad_id == dyad.id, Meeting.institution_id == dyad.institution_id)
    rows, nxt = paginate(session, stmt, Meeting.id, limit=limit, cursor=cursor)
    return sorted(rows, key=lambda m: m.number), nxt
