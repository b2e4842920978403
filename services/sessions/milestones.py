"""Milestones of SMART objectives: the verifiable steps whose confirmation is the measured achievement.

Lifecycle::

    planned --evidence (the mentee)--> reported --confirmation (her mentor, a coordinator)--> confirmed
    reported --return, with a reason (her mentor, a coordinator)--> planned
    reported --evidence again (the mentee)--> reported (the new evidence replaces the current one)

- The mentee (the objective's owner) creates milestones, edits them and reports
  them met with evidence: a link (http or https), a note, or both, and the day
  it was met. She never confirms her own: her counterpart confirms, and a
  coordinator of the institution may too.
- A return sends the milestone back to planned and clears its current evidence;
  the report it answered stays in the history (``milestone_changes``) with the
  evidence it carried, beside the return and its reason. Nothing she gave is
  lost, and the next report starts clean.
- A confirmed milestone is final: editing it, reporting it again or returning
  it is a 409. Confirming it again changes nothing.
- An ended dyad (completed or dissolved) refuses every change (409).
- Who reads: the dyad's two members, the institution's coordinators, admins.
  Anyone else gets 404, as for a milestone that does not exist.
- Events (``milestone.reported``, ``milestone.confirmed``, ``milestone.returned``)
  carry ids, dates and roles only: never the evidence or a reason, which are
  personal content.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, func, select

from servicekit.auth import Principal
from servicekit.outbox import emit
from servicekit.problems import ProblemError, conflict, field_problem, forbidden, not_found
from servicekit import clock
from servicekit.tenancy import scoped

from services.sessions import access, domain
from services.sessions.enums import MilestoneChangeKind, MilestoneStatus
from services.sessions.feedback import conflict_if_ended
from services.sessions.models import Dyad, Milestone, MilestoneChange, Objective, OutboxEvent
from services.sessions.schemas import MAX_MILESTONES, MilestonePublic

CONFIRMERS = ("mentor", "coordinator")


def to_domain(m: Milestone) -> domain.Milestone:
    return domain.Milestone(id=str(m.id), objective_id=str(m.objective_id), due_on=m.due_on, created_at=m.created_at,
                            reported_at=m.reported_at, confirmed_at=m.confirmed_at)


def public(m: Milestone, now: datetime) -> MilestonePublic:
    return MilestonePublic(
        id=m.id, objective_id=m.objective_id, dyad_id=m.dyad_id, title=m.title, due_on=m.due_on, status=MilestoneStatus(m.status),
        overdue=domain.milestone_overdue(to_domain(m), now), met_on=m.met_on, evidence_link=m.evidence_link,
        evidence_note=m.evidence_note, reported_at=m.reported_at, confirmed_at=m.confirmed_at, confirmed_by=m.confirmed_by,
        returned_at=m.returned_at, return_reason=m.return_reason, created_at=m.created_at, updated_at=m.updated_at,
    )


def of_objective(session: Session, objective: Objective) -> list[Milestone]:
    return list(session.exec(select(Milestone).where(
        Milestone.objective_id == objective.id, Milestone.institution_id == objective.institution_id,
    ).order_by(Milestone.due_on, Milestone.created_at, Milestone.id)).all())  # type: ignore[arg-type]


def milestone_for(session: Session, who: Principal, milestone_id: uuid.UUID, *, allow: tuple[str, ...] = access.EVERYONE,
                  lock: bool = False) -> tuple[Milestone, Objective, Dyad, str]:
    """The milestone, its objective, its dyad and the caller's capacity (404 for anyone the dyad hides it from)."""
    stmt = scoped(select(Milestone).where(Milestone.id == milestone_id), Milestone, who)
    if lock:
        stmt = stmt.with_for_update()
    milestone = session.exec(stmt).first()
    if milestone is None:
        raise not_found("Milestone")
    dyad, capacity = access.dyad_for(session, who, milestone.dyad_id, allow=allow, what="Milestone")
    objective = session.exec(select(Objective).where(Objective.id == milestone.objective_id,
                                                     Objective.institution_id == milestone.institution_id)).one()
    return milestone, objective, dyad, capacity


def date_problems(due_dates: Sequence[tuple[str, date]], set_on: date, objective_due: date) -> list[tuple[str, str]]:
    """(field, problem) for each due date outside the objective's life."""
    found = []
    for name, due_on in due_dates:
        problem = domain.milestone_date_problem(due_on, set_on, objective_due)
        if problem is not None:
            found.append((name, problem))
    return found


def _dates_or_422(field: str, due_on: date, objective: Objective) -> None:
    problem = domain.milestone_date_problem(due_on, objective.set_on, objective.due_date)
    if problem is not None:
        raise field_problem(field, problem, code="outside_objective")


def add(session: Session, objective: Objective, title: str, due_on: date, now: datetime) -> Milestone:
    """A new planned milestone (dates already checked)."""
    milestone = Milestone(institution_id=objective.institution_id, objective_id=objective.id, dyad_id=objective.dyad_id,
                          title=title, due_on=due_on, created_at=now, updated_at=now)
    session.add(milestone)
    return milestone


def create(session: Session, objective: Objective, dyad: Dyad, body: Any) -> Milestone:
    conflict_if_ended(dyad)
    count = session.exec(select(func.count()).select_from(Milestone).where(
        Milestone.objective_id == objective.id, Milestone.institution_id == objective.institution_id)).one()
    if count >= MAX_MILESTONES:
        raise conflict(f"An objective holds at most {MAX_MILESTONES} milestones", milestones=count)
    _dates_or_422("body.due_on", body.due_on, objective)
    milestone = add(session, objective, body.title, body.due_on, clock.now())
    session.flush()
    return milestone


def _not_confirmed(milestone: Milestone, action: str) -> None:
    if milestone.status == MilestoneStatus.CONFIRMED:
        raise conflict(f"A confirmed milestone cannot be {action}", current_status=milestone.status)


def update(session: Session, milestone: Milestone, objective: Objective, dyad: Dyad, body: Any) -> Milestone:
    conflict_if_ended(dyad)
    _not_confirmed(milestone, "edited")
    if body.due_on is not None:
        _dates_or_422("body.due_on", body.due_on, objective)
        milestone.due_on = body.due_on
    if body.title is not None:
        milestone.title = body.title
    milestone.updated_at = clock.now()
    session.add(milestone)
    session.flush()
    return milestone


def _event(session: Session, kind: str, milestone: Milestone, dyad: Dyad, **extra: Any) -> None:
    """Ids, dates and roles only: never the evidence or a reason."""
    emit(session, OutboxEvent, kind, subject=milestone.id, tenant_id=dyad.institution_id, payload={
        "milestone_id": str(milestone.id), "objective_id": str(milestone.objective_id), "dyad_id": str(dyad.id),
        "program_id": str(dyad.program_id), "due_on": milestone.due_on.isoformat(), **extra,
    })


def report(session: Session, milestone: Milestone, objective: Objective, dyad: Dyad, body: Any) -> Milestone:
    """The mentee reports it met, with evidence (a report while reported replaces the current evidence)."""
    conflict_if_ended(dyad)
    _not_confirmed(milestone, "reported again")
    now = clock.now()
    met_on = body.met_on or now.date()
    if met_on > now.date():
        raise field_problem("body.met_on", "must not be in the future")
    if met_on < objective.set_on:
        raise field_problem("body.met_on", f"before the objective was set ({met_on} < {objective.set_on})")
    link = str(body.link) if body.link is not None else None
    milestone.status, milestone.met_on, milestone.evidence_link, milestone.evidence_note = MilestoneStatus.REPORTED.value, met_on, link, body.note
    milestone.reported_at, milestone.returned_at, milestone.return_reason, milestone.updated_at = now, None, None, now
    session.add(milestone)
    session.add(MilestoneChange(institution_id=milestone.institution_id, milestone_id=milestone.id, kind=MilestoneChangeKind.REPORTED.value,
                                by="mentee", met_on=met_on, evidence_link=link, evidence_note=body.note, at=now))
    session.flush()
    _event(session, "milestone.reported", milestone, dyad, met_on=met_on.isoformat(), reported_at=now.isoformat())
    return milestone


def _reviewable(milestone: Milestone, dyad: Dyad, capacity: str, action: str) -> None:
    if capacity == "mentee":
        raise forbidden(f"The mentee cannot {action} her own milestone: her mentor or a coordinator does")
    conflict_if_ended(dyad)
    if milestone.status == MilestoneStatus.PLANNED:
        raise ProblemError(409, f"The milestone has no evidence to {action}: the mentee has not reported it met",
                           slug="not-reported", current_status=milestone.status)


def confirm(session: Session, milestone: Milestone, dyad: Dyad, capacity: str) -> Milestone:
    """Her counterpart (or a coordinator) confirms the evidence: the milestone counts as achieved."""
    if milestone.status == MilestoneStatus.CONFIRMED and capacity != "mentee":
        return milestone  # a retry: nothing changes, nothing is announced again
    _reviewable(milestone, dyad, capacity, "confirm")
    now = clock.now()
    milestone.status, milestone.confirmed_at, milestone.confirmed_by, milestone.updated_at = MilestoneStatus.CONFIRMED.value, now, capacity, now
    session.add(milestone)
    session.add(MilestoneChange(institution_id=milestone.institution_id, milestone_id=milestone.id, kind=MilestoneChangeKind.CONFIRMED.value,
                                by=capacity, at=now))
    session.flush()
    assert milestone.met_on is not None
    _event(session, "milestone.confirmed", milestone, dyad, met_on=milestone.met_on.isoformat(), confirmed_at=now.isoformat(),
           confirmed_by=capacity)
    return milestone


def give_back(session: Session, milestone: Milestone, dyad: Dyad, capacity: str, reason: str) -> Milestone:
    """The confirmer returns it with a reason: planned again, the current evidence cleared (the history keeps it)."""
    _reviewable(milestone, dyad, capacity, "return")
    _not_confirmed(milestone, "returned")
    now = clock.now()
    milestone.status, milestone.met_on, milestone.evidence_link, milestone.evidence_note = MilestoneStatus.PLANNED.value, None, None, None
    milestone.reported_at, milestone.returned_at, milestone.return_reason, milestone.updated_at = None, now, reason, now
    session.add(milestone)
    session.add(MilestoneChange(institution_id=milestone.institution_id, milestone_id=milestone.id, kind=MilestoneChangeKind.RETURNED.value,
                                by=capacity, reason=reason, at=now))
    session.flush()
    _event(session, "milestone.returned", milestone, dyad, returned_at=now.isoformat(), returned_by=capacity)
    return milestone


def history(session: Session, milestone: Milestone) -> list[MilestoneChange]:
    return list(session.exec(select(MilestoneChange).where(
        MilestoneChange.milestone_id == milestone.id, MilestoneChange.institution_id == milestone.institution_id,
    ).order_by(MilestoneChange.at, MilestoneChange.id)).all())  # type: ignore[arg-type]
