"""/v1/objectives: SMART objectives, their milestones, progress entries, perceived achievement."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from servicekit.problems import problem_responses
from servicekit import clock

from services.sessions import milestones, objectives, supervision
from services.sessions.dependencies import CurrentPrincipal, IdempotencyDep, ObjectiveId, SessionDep
from services.sessions.routers.common import CREATED, path_for
from services.sessions.schemas import (
    Assessment, MilestoneCreate, MilestonePublic, ObjectiveCreate, ObjectivePublic, ProgressCreate, ProgressPublic,
)

router = APIRouter(prefix="/v1/objectives", tags=["objectives"])


@router.post("", status_code=201, response_model=ObjectivePublic, operation_id="create_objective",
             summary="Set a SMART objective, with its milestones (the mentee, from the first meeting on); 422 names each SMART "
                     "component at fault",
             responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)})
def create_objective(request: Request, response: Response, body: ObjectiveCreate, who: CurrentPrincipal, session: SessionDep, idem: IdempotencyDep) -> Any:
    if (again := idem.replay(session)) is not None:
        return again
    objective = objectives.create(session, who, body)
    supervision.refresh_dyad(session, objective.dyad_id)  # a sign of life, and a new objective to progress on
    out = objectives.public(session, objective)
    idem.remember(session, 201, out)
    response.headers["Location"] = path_for(request, "get_objective", objective_id=out.id)
    return out


@router.get("/{objective_id}", response_model=ObjectivePublic, operation_id="get_objective", name="get_objective",
            summary="One objective with its milestones and its verified, self-reported and perceived achievement, and the gaps",
            responses=problem_responses(401, 404, 422))
def get_objective(objective_id: ObjectiveId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return objectives.public(session, objectives.objective_for(session, who, objective_id)[0])


@router.post("/{objective_id}/progress", status_code=201, response_model=ProgressPublic, operation_id="create_progress_entry",
             summary="Record a value on the objective's metric (the mentee)", responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)})
def create_progress_entry(request: Request, response: Response, objective_id: ObjectiveId, body: ProgressCreate, who: CurrentPrincipal,
                          session: SessionDep, idem: IdempotencyDep) -> Any:
    if (again := idem.replay(session)) is not None:
        return again
    objective, dyad, _ = objectives.objective_for(session, who, objective_id, allow=("mentee",))
    entry = objectives.add_progress(session, objective, dyad, body)
    supervision.refresh(session, dyad)
    out = objectives.progress_public(objective, entry)
    idem.remember(session, 201, out)
    response.headers["Location"] = path_for(request, "list_progress_entries", objective_id=objective.id)
    return out


@router.get("/{objective_id}/progress", response_model=list[ProgressPublic], operation_id="list_progress_entries", name="list_progress_entries",
            summary="The objective's progress entries, oldest first", responses=problem_responses(401, 404, 422))
def list_progress_entries(objective_id: ObjectiveId, who: CurrentPrincipal, session: SessionDep) -> Any:
    objective, _, _ = objectives.objective_for(session, who, objective_id)
    return [objectives.progress_public(objective, e) for e in objectives.entries(session, objective)]


@router.put("/{objective_id}/assessment", response_model=ObjectivePublic, operation_id="assess_objective",
            summary="Rate the achievement I perceive, 0-100 (mentee or mentor, from the last meeting on)",
            responses=problem_responses(401, 403, 404, 409, 422))
def assess_objective(objective_id: ObjectiveId, body: Assessment, who: CurrentPrincipal, session: SessionDep) -> Any:
    objective, dyad, side = objectives.objective_for(session, who, objective_id, allow=("mentee", "mentor"))
    return objectives.public(session, objectives.assess(session, objective, dyad, side, body.achievement))


@router.get("/{objective_id}/milestones", response_model=list[MilestonePublic], operation_id="list_objective_milestones",
            name="list_objective_milestones", summary="The objective's milestones, by due date (the dyad's members, coordinators)",
            responses=problem_responses(401, 404, 422))
def list_objective_milestones(objective_id: ObjectiveId, who: CurrentPrincipal, session: SessionDep) -> Any:
    objective, _, _ = objectives.objective_for(session, who, objective_id)
    now = clock.now()
    return [milestones.public(m, now) for m in milestones.of_objective(session, objective)]


@router.post("/{objective_id}/milestones", status_code=201, response_model=MilestonePublic, operation_id="create_milestone",
             summary="Add a milestone to the objective: a verifiable step due within its life (the mentee)",
             responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)})
def create_milestone(request: Request, response: Response, objective_id: ObjectiveId, body: MilestoneCreate, who: CurrentPrincipal,
                     session: SessionDep, idem: IdempotencyDep) -> Any:
    if (again := idem.replay(session)) is not None:
        return again
    objective, dyad, _ = objectives.objective_for(session, who, objective_id, allow=("mentee",))
    milestone = milestones.create(session, objective, dyad, body)
    supervision.refresh(session, dyad)
    out = milestones.public(milestone, clock.now())
    idem.remember(session, 201, out)
    response.headers["Location"] = path_for(request, "get_milestone", milestone_id=milestone.id)
    return out
