"""Feedback forms: submission judged on server time, who reads, overdue lists and the idempotent overdue sweep."""

from __future__ import annotations

import uuid
from datetime import datetime
from statistics import fmean
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.outbox import emit
from servicekit.problems import FieldError, ProblemError, conflict, forbidden, not_found
from servicekit import clock
from servicekit.tenancy import scoped, tenant_of

from services.sessions import access, domain
from services.sessions.enums import DyadStatus, MeetingStatus
from services.sessions.meetings import meeting_for
from services.sessions.models import Dyad, FeedbackForm, OutboxEvent, ProgramSettings
from services.sessions.schemas import FeedbackPublic, FeedbackTemplate, FeedbackTemplateOut, OverdueOut


def template(program: ProgramSettings) -> FeedbackTemplateOut:
    return FeedbackTemplateOut(program_id=program.program_id, items=program.feedback_items,
                               counterpart_reads_feedback=program.counterpart_reads_feedback,
                               feedback_deadline_hours=program.feedback_deadline_hours)


def set_template(session: Session, program: ProgramSettings, body: FeedbackTemplate) -> ProgramSettings:
    """Replace the program's form, who reads the answers and the deadline."""
    program.feedback_items = [i.model_dump() for i in body.items]
    program.counterpart_reads_feedback = body.counterpart_reads_feedback
    program.feedback_deadline_hours, program.updated_at = body.feedback_deadline_hours, clock.now()
    session.add(program)
    session.flush()
    return program


def status_of(form: FeedbackForm, now: datetime) -> str:
    if form.submitted_at is not None:
        return "on_time" if form.on_time else "late"
    return "overdue" if now > form.due_at else "pending"


def public(form: FeedbackForm, now: datetime | None = None) -> FeedbackPublic:
    return FeedbackPublic(
        id=form.id, meeting_id=form.meeting_id, dyad_id=form.dyad_id, respondent_role=form.respondent_role,
        due_at=form.due_at, submitted_at=form.submitted_at, status=status_of(form, now or clock.now()), on_time=form.on_time,
        delay_days=form.delay_days, ratings=form.ratings or {}, rating=form.rating, comments=form.comments,
        meeting_took_place=form.meeting_took_place,
    )


def submit(session: Session, who: Principal, body: Any) -> FeedbackForm:
    meeting, dyad, side = meeting_for(session, who, body.meeting_id, allow=access.EVERYONE)
    if side == "coordinator":
        raise forbidden("Only the meeting's two members submit feedback forms; this meeting is not yours")
    if meeting.status != MeetingStatus.HELD:
        raise ProblemError(409, f"The meeting is {meeting.status}, not held: confirm it was held first",
                           slug="meeting-not-held", current_status=meeting.status)
    form = session.exec(
        select(FeedbackForm).where(FeedbackForm.meeting_id == meeting.id, FeedbackForm.respondent_role == side,
                                   FeedbackForm.institution_id == dyad.institution_id).with_for_update()
    ).first()
    assert form is not None
    if form.submitted_at is not None:
        raise ProblemError(409, "You already answered the form for this meeting", slug="already-answered", form_id=str(form.id))
    program = session.get(ProgramSettings, dyad.program_id)
    assert program is not None
    codes = [i["code"] for i in program.feedback_items]
    errors = [FieldError(field=f"body.ratings.{c}", message="Rate this item from 1 to 5", code="missing") for c in codes if c not in body.ratings]
    errors += [FieldError(field=f"body.ratings.{c}", message="Not an item of this program's form", code="unknown_item")
               for c in body.ratings if c not in codes]
    if errors:
        raise ProblemError(422, f"{len(errors)} field(s) are invalid: {', '.join(e.field for e in errors)}",
                           slug="validation-error", title="Request validation failed", errors=errors)
    now = clock.now()
    timeliness = domain.assess_submission(form.due_at, now)
    form.submitted_at, form.ratings = now, dict(body.ratings)
    form.rating = fmean(body.ratings.values())
    form.comments, form.meeting_took_place = body.comments, body.meeting_took_place
    form.on_time, form.delay_days = timeliness.on_time, timeliness.delay_days
    session.add(form)
    session.flush()
    emit(session, OutboxEvent, "feedback.submitted", subject=form.id, tenant_id=dyad.institution_id, payload={
        "form_id": str(form.id), "meeting_id": str(meeting.id), "dyad_id": str(dyad.id), "program_id": str(dyad.program_id),
        "respondent_role": side, "due_at": form.due_at.isoformat(), "submitted_at": now.isoformat(),
        "on_time": form.on_time, "delay_days": form.delay_days, "rating": form.rating,
    })
    return form


def readable(session: Session, who: Principal, form: FeedbackForm, dyad: Dyad, capacity: str) -> bool:
    if capacity in ("coordinator", form.respondent_role):
        return True
    program = session.get(ProgramSettings, dyad.program_id)
    return bool(program and program.counterpart_reads_feedback and form.submitted_at is not None)


def form_for(session: Session, who: Principal, form_id: uuid.UUID) -> FeedbackForm:
    form = session.exec(scoped(select(FeedbackForm).where(FeedbackForm.id == form_id), FeedbackForm, who)).first()
    if form is None:
        raise not_found("Feedback form")
    dyad, capacity = access.dyad_for(session, who, form.dyad_id, what="Feedback form")
    if not readable(session, who, form, dyad, capacity):
        raise not_found("Feedback form")
    return form


def dyad_forms(session: Session, who: Principal, dyad: Dyad, capacity: str) -> list[FeedbackForm]:
    rows = session.exec(select(FeedbackForm).where(FeedbackForm.dyad_id == dyad.id, FeedbackForm.institution_id == dyad.institution_id)
                        .order_by(FeedbackForm.due_at, FeedbackForm.respondent_role)).all()  # type: ignore[arg-type]
    return [f for f in rows if readable(session, who, f, dyad, capacity)]


def _overdue(rows: list[FeedbackForm], now: datetime) -> list[OverdueOut]:
    by_key = {(str(f.meeting_id), f.respondent_role): f for f in rows}
    listed = domain.list_overdue(
        [domain.FeedbackForm(meeting_id=str(f.meeting_id), dyad_id=str(f.dyad_id), respondent_id=f.respondent_role, due=f.due_at)
         for f in rows], now)
    return [OverdueOut(form_id=by_key[(o.meeting_id, o.respondent_id)].id, meeting_id=uuid.UUID(o.meeting_id),
                       dyad_id=uuid.UUID(o.dyad_id), respondent_role=o.respondent_id, due_at=o.due, days_overdue=o.days_overdue)
            for o in listed]


def my_overdue(session: Session, who: Principal) -> list[OverdueOut]:
    tid = tenant_of(who)
    if tid is None or who.is_client:
        return []
    now = clock.now()
    rows = list(session.exec(select(FeedbackForm).where(
        FeedbackForm.institution_id == tid, FeedbackForm.respondent_account_id == who.subject,
        FeedbackForm.submitted_at.is_(None), FeedbackForm.due_at < now)).all())  # type: ignore[union-attr,operator]
    return _overdue(rows, now)


def program_overdue(session: Session, program: ProgramSettings) -> list[OverdueOut]:
    now = clock.now()
    rows = list(session.exec(select(FeedbackForm).where(
        FeedbackForm.institution_id == program.institution_id, FeedbackForm.program_id == program.program_id,
        FeedbackForm.submitted_at.is_(None), FeedbackForm.due_at < now)).all())  # type: ignore[union-attr,operator]
    return _overdue(rows, now)


def sweep(session: Session, program: ProgramSettings | None = None) -> int:
    """Announce each overdue form once (``feedback.overdue``). Safe on several replicas: the
    announcement is claimed by a conditional UPDATE, so only one transaction writes the event."""
    now = clock.now()
    stmt = select(FeedbackForm).where(FeedbackForm.submitted_at.is_(None), FeedbackForm.overdue_announced_at.is_(None),  # type: ignore[union-attr]
                                      FeedbackForm.due_at < now)  # type: ignore[operator]
    if program is not None:
        stmt = stmt.where(FeedbackForm.institution_id == program.institution_id, FeedbackForm.program_id == program.program_id)
    announced = 0
    for form in session.exec(stmt.order_by(FeedbackForm.due_at)).all():  # type: ignore[arg-type]
        claimed = session.execute(
            update(FeedbackForm).where(FeedbackForm.id == form.id, FeedbackForm.overdue_announced_at.is_(None))  # type: ignore[arg-type,union-attr]
            .values(overdue_announced_at=now).execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        emit(session, OutboxEvent, "feedback.overdue", subject=form.id, tenant_id=form.institution_id, payload={
            "form_id": str(form.id), "meeting_id": str(form.meeting_id), "dyad_id": str(form.dyad_id),
            "program_id": str(form.program_id), "respondent_role": form.respondent_role,
            "respondent_account_id": form.respondent_account_id, "due_at": form.due_at.isoformat(),
            "days_overdue": domain.delay_days(form.due_at, now),
        })
        announced += 1
    session.flush()
    return announced


def conflict_if_ended(dyad: Dyad) -> None:
    if dyad.status != DyadStatus.ACTIVE:
        raise conflict(f"The dyad is {dyad.status}", dyad_status=dyad.status)
