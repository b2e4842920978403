"""SMART objectives (domain validation naming each component) with their milestones, progress, and
achievement: verified (confirmed milestones, the measure), self-reported (progress) and perceived."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.outbox import emit
from servicekit.problems import FieldError, ProblemError, field_problem, not_found
from servicekit.references import Ref, References
from servicekit import clock
from servicekit.tenancy import scoped

from services.sessions import access, domain, milestones
from services.sessions.enums import DyadStatus, MeetingStatus
from services.sessions.meetings import dyad_meetings
from services.sessions.models import Dyad, Meeting, Milestone, Objective, OutboxEvent, ProgramSettings, ProgressEntry
from services.sessions.schemas import ComparisonOut, ObjectivePublic, ProgressPublic


def entries(session: Session, objective: Objective) -> list[ProgressEntry]:
    return list(session.exec(select(ProgressEntry).where(
        ProgressEntry.objective_id == objective.id, ProgressEntry.institution_id == objective.institution_id,
    ).order_by(ProgressEntry.recorded_at, ProgressEntry.id)).all())  # type: ignore[arg-type]


def assessed(o: Objective, recorded: list[ProgressEntry], steps: list[Milestone], now: datetime) -> domain.AchievementComparison:
    """Verified (from its milestones), self-reported (from its progress entries) and perceived, at ``now``."""
    return domain.assess_objective(o.baseline, o.target, [domain.ProgressEntry(e.recorded_at, e.value) for e in recorded],
                                   milestones=[milestones.to_domain(m) for m in steps], now=now,
                                   mentee=o.mentee_perceived, mentor=o.mentor_perceived)


def comparison(session: Session, o: Objective) -> domain.AchievementComparison:
    return assessed(o, entries(session, o), milestones.of_objective(session, o), clock.now())


def public(session: Session, o: Objective) -> ObjectivePublic:
    now = clock.now()
    steps = milestones.of_objective(session, o)
    c = assessed(o, entries(session, o), steps, now)
    tally = domain.tally_milestones([milestones.to_domain(m) for m in steps], now)
    return ObjectivePublic(
        id=o.id, dyad_id=o.dyad_id, program_id=o.program_id, statement=o.statement, metric=o.metric, baseline=o.baseline,
        target=o.target, unit=o.unit, direction=o.direction, plan=o.plan, resources=o.resources, career_goal=o.career_goal,
        due_date=o.due_date, set_on=o.set_on, created_at=o.created_at, milestones=[milestones.public(m, now) for m in steps],
        achievement=ComparisonOut(verified=c.verified, milestones=tally.total, milestones_confirmed=tally.confirmed,
                                  self_reported=c.self_reported, mentee=c.mentee, mentor=c.mentor,
                                  mentee_vs_verified=c.mentee_vs_verified, mentor_vs_verified=c.mentor_vs_verified,
                                  mentee_vs_mentor=c.mentee_vs_mentor),
    )


def _first_meeting(session: Session, dyad: Dyad) -> Meeting | None:
    live = [m for m in dyad_meetings(session, dyad) if m.status != MeetingStatus.CANCELLED]
    return min(live, key=lambda m: m.start) if live else None


def create(session: Session, who: Principal, body: Any) -> Objective:
    dyad, _ = access.dyad_for(session, who, body.dyad_id, allow=("mentee",))
    if dyad.status != DyadStatus.ACTIVE:
        raise ProblemError(409, f"The dyad is {dyad.status}", slug="conflict", dyad_status=dyad.status)
    now = clock.now()
    first = _first_meeting(session, dyad)
    if first is None or first.start > now:
        raise ProblemError(409, "Objectives are set from the first meeting on; it has not taken place yet", slug="before-first-meeting",
                           first_meeting=first.start.isoformat() if first else None)
    set_on = body.set_on or now.date()
    if set_on > now.date():
        raise field_problem("body.set_on", "must not be in the future")
    if set_on < first.start.date():
        raise field_problem("body.set_on", f"before the first meeting ({first.start.date()})")
    program = session.get(ProgramSettings, dyad.program_id)
    assert program is not None
    draft = domain.ObjectiveDraft(
        statement=body.statement, metric=body.metric, baseline=body.baseline, target=body.target, unit=body.unit,
        direction=domain.Direction(body.direction) if body.direction else None, plan=body.plan, resources=tuple(body.resources),
        career_goal=body.career_goal, due_date=body.due_date, created_on=set_on,
    )
    window = domain.ProgramWindow(start=program.mentoring_starts_on, end=program.mentoring_ends_on, first_meeting=first.start.date())
    issues = domain.validate_objective(draft, window)
    steps = [(f"body.milestones.{n}.due_on", m.due_on) for n, m in enumerate(body.milestones)]
    misplaced = milestones.date_problems(steps, set_on, body.due_date) if body.due_date is not None else []
    if issues:
        errors = [FieldError(field=f"body.{i.field}", message=f"{i.component.value}: {i.problem}", code=f"smart_{i.component.value}") for i in issues]
        errors += [FieldError(field=f, message=problem, code="outside_objective") for f, problem in misplaced]
        components = sorted({i.component.value for i in issues}, key=[c.value for c in domain.Component].index)
        raise ProblemError(422, f"The objective is not SMART yet: {', '.join(components)}", slug="not-smart",
                           title="Request validation failed", errors=errors, components=components)
    if misplaced:
        raise ProblemError(422, f"{len(misplaced)} milestone{'s fall' if len(misplaced) > 1 else ' falls'} outside the objective's life "
                                f"({set_on} to {body.due_date})", slug="validation-error", title="Request validation failed",
                           errors=[FieldError(field=f, message=problem, code="outside_objective") for f, problem in misplaced])
    objective = Objective(
        institution_id=dyad.institution_id, program_id=dyad.program_id, dyad_id=dyad.id, statement=body.statement.strip(),
        metric=body.metric, baseline=body.baseline, target=body.target, unit=body.unit, direction=body.direction, plan=body.plan,
        resources=[r for r in body.resources if r.strip()], career_goal=body.career_goal, due_date=body.due_date, set_on=set_on,
        created_at=now,
    )
    session.add(objective)
    session.flush()
    for m in body.milestones:
        milestones.add(session, objective, m.title, m.due_on, now)
    session.flush()
    emit(session, OutboxEvent, "objective.created", subject=objective.id, tenant_id=dyad.institution_id, payload={
        "objective_id": str(objective.id), "dyad_id": str(dyad.id), "program_id": str(dyad.program_id),
        "metric": objective.metric, "baseline": objective.baseline, "target": objective.target, "unit": objective.unit,
        "due_date": objective.due_date.isoformat(), "milestones": len(body.milestones),
    })
    return objective


def objective_for(session: Session, who: Principal, objective_id: uuid.UUID, *, allow: tuple[str, ...] = access.EVERYONE) -> tuple[Objective, Dyad, str]:
    objective = session.exec(scoped(select(Objective).where(Objective.id == objective_id), Objective, who)).first()
    if objective is None:
        raise not_found("Objective")
    dyad, capacity = access.dyad_for(session, who, objective.dyad_id, allow=allow, what="Objective")
    return objective, dyad, capacity


PROGRESS_REFERENCES = References(Ref("meeting_id", access.DYAD_MEETING), operations=("create_progress_entry",))


def add_progress(session: Session, objective: Objective, dyad: Dyad, body: Any) -> ProgressEntry:
    now = clock.now()
    at = body.recorded_at or now
    if at > now:
        raise field_problem("body.recorded_at", "must not be in the future")
    PROGRESS_REFERENCES.check(body, session=session, tenant=dyad.institution_id, parent=dyad.id)
    entry = ProgressEntry(institution_id=objective.institution_id, objective_id=objective.id, value=body.value, note=body.note,
                          meeting_id=body.meeting_id, recorded_at=at)
    session.add(entry)
    session.flush()
    return entry


def progress_public(objective: Objective, e: ProgressEntry) -> ProgressPublic:
    return ProgressPublic(id=e.id, objective_id=e.objective_id, value=e.value, note=e.note, meeting_id=e.meeting_id, recorded_at=e.recorded_at,
                          achievement=domain.self_reported_achievement(objective.baseline, objective.target, e.value))


def assess(session: Session, objective: Objective, dyad: Dyad, side: str, achievement: float) -> Objective:
    """Perceived achievement, once the last meeting has started."""
    meetings = [m for m in dyad_meetings(session, dyad) if m.status != MeetingStatus.CANCELLED]
    last = max(meetings, key=lambda m: m.start) if meetings else None
    if last is None or last.start > clock.now():
        raise ProblemError(409, "Perceived achievement is rated at the last meeting, which has not started yet",
                           slug="before-last-meeting", last_meeting=last.start.isoformat() if last else None)
    if side == "mentee":
        objective.mentee_perceived = achievement
    else:
        objective.mentor_perceived = achievement
    session.add(objective)
    session.flush()
    # Who assessed, never what she answered: a perceived achievement is a personal answer.
    emit(session, OutboxEvent, "objective.assessed", subject=objective.id, tenant_id=dyad.institution_id, payload={
        "objective_id": str(objective.id), "dyad_id": str(dyad.id), "program_id": str(dyad.program_id), "by": side,
    })
    return objective


def dyad_objectives(session: Session, dyad: Dyad) -> list[Objective]:
    return list(session.exec(select(Objective).where(Objective.dyad_id == dyad.id, Objective.institution_id == dyad.institution_id)
                             .order_by(Objective.created_at, Objective.id)).all())  # type: ignore[arg-type]
