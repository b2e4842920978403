"""/v1/milestones: one milestone, its evidence, its confirmation or return, its history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from servicekit.problems import problem_responses
from servicekit import clock

from services.sessions import access, milestones, supervision
from services.sessions.dependencies import CurrentPrincipal, MilestoneId, SessionDep
from services.sessions.schemas import EvidenceSubmit, MilestoneChangePublic, MilestonePublic, MilestoneReturn, MilestoneUpdate

router = APIRouter(prefix="/v1/milestones", tags=["objectives"])


@router.get("/{milestone_id}", response_model=MilestonePublic, operation_id="get_milestone", name="get_milestone",
            summary="One milestone with its current evidence (the dyad's members, coordinators)", responses=problem_responses(401, 404, 422))
def get_milestone(milestone_id: MilestoneId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return milestones.public(milestones.milestone_for(session, who, milestone_id)[0], clock.now())


@router.patch("/{milestone_id}", response_model=MilestonePublic, operation_id="update_milestone",
              summary="Change the milestone's title or target date (the mentee; 409 once confirmed)",
              responses=problem_responses(401, 403, 404, 409, 422))
def update_milestone(milestone_id: MilestoneId, body: MilestoneUpdate, who: CurrentPrincipal, session: SessionDep) -> Any:
    milestone, objective, dyad, _ = milestones.milestone_for(session, who, milestone_id, allow=("mentee",), lock=True)
    milestones.update(session, milestone, objective, dyad, body)
    supervision.refresh(session, dyad)
    return milestones.public(milestone, clock.now())


@router.get("/{milestone_id}/history", response_model=list[MilestoneChangePublic], operation_id="get_milestone_history",
            summary="Every report (with the evidence it carried), confirmation and return (with its reason), oldest first",
            responses=problem_responses(401, 404, 422))
def get_milestone_history(milestone_id: MilestoneId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return milestones.history(session, milestones.milestone_for(session, who, milestone_id)[0])


@router.post("/{milestone_id}/evidence", response_model=MilestonePublic, operation_id="report_milestone_met",
             summary="Report the milestone met, with evidence: a link, a note or both, and the day (the mentee; it awaits confirmation)",
             responses=problem_responses(401, 403, 404, 409, 422))
def report_milestone_met(milestone_id: MilestoneId, body: EvidenceSubmit, who: CurrentPrincipal, session: SessionDep) -> Any:
    milestone, objective, dyad, _ = milestones.milestone_for(session, who, milestone_id, allow=("mentee",), lock=True)
    milestones.report(session, milestone, objective, dyad, body)
    supervision.refresh(session, dyad)
    return milestones.public(milestone, clock.now())


@router.post("/{milestone_id}/confirmation", response_model=MilestonePublic, operation_id="confirm_milestone",
             summary="Confirm the reported milestone: it counts as verified achievement (her mentor or a coordinator; never the "
                     "mentee herself)", responses=problem_responses(401, 403, 404, 409, 422))
def confirm_milestone(milestone_id: MilestoneId, who: CurrentPrincipal, session: SessionDep) -> Any:
    milestone, _, dyad, capacity = milestones.milestone_for(session, who, milestone_id, allow=access.EVERYONE, lock=True)
    milestones.confirm(session, milestone, dyad, capacity)
    supervision.refresh(session, dyad)
    return milestones.public(milestone, clock.now())


@router.post("/{milestone_id}/return", response_model=MilestonePublic, operation_id="return_milestone",
             summary="Return the reported milestone with a reason: planned again, its evidence kept in the history (her mentor "
                     "or a coordinator)", responses=problem_responses(401, 403, 404, 409, 422))
def return_milestone(milestone_id: MilestoneId, body: MilestoneReturn, who: CurrentPrincipal, session: SessionDep) -> Any:
    milestone, _, dyad, capacity = milestones.milestone_for(session, who, milestone_id, allow=access.EVERYONE, lock=True)
    milestones.give_back(session, milestone, dyad, capacity, body.reason)
    supervision.refresh(session, dyad)
    return milestones.public(milestone, clock.now())
