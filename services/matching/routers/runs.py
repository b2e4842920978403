"""Matching runs: run, review, adjust and run again, publish; explain any pair."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response

from servicekit.auth import allow_clients
from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import problem_responses

from services.matching import access, matches, outcomes, runs
from services.matching.dependencies import Ctx, ProgramId, RunId, in_thread
from services.matching.routers.common import CREATED, path_for
from services.matching.schemas import Adjustments, MatchPublic, PairExplanation, Publication, RunCreate, RunPublic
from services.matching.schemas.matches import SubstituteOfferPublic
from services.matching.schemas.outcomes import MatchingOutcomes

router = APIRouter(tags=["runs"])
BASE = "/programs/{program_id}"
ParticipantPath = Annotated[uuid.UUID, Path(description="A participant's id.")]


@router.post(
    BASE + "/runs",
    status_code=201,
    response_model=RunPublic,
    operation_id="create_matching_run",
    summary="Run the matching on the whole cohort (coordinators)",
    description=(
        "Snapshots the inputs (questionnaires, campuses and units, settings), solves on a worker thread and stores "
        "the solver, parameters, timing and report. The same inputs give the same pairs. An infeasible cohort is "
        "reported (each unmatched mentee with the rules responsible), never an error."
    ),
    responses={**CREATED, **problem_responses(401, 403, 404, 409, 422, 503)},
)
async def create_matching_run(
    program_id: ProgramId,
    ctx: Ctx,
    idem: IdempotencyDep,
    session: SessionDep,
    request: Request,
    response: Response,
    body: Annotated[RunCreate | None, Body()] = None,
) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    run = await runs.create(ctx, session, program, body or RunCreate())
    out = RunPublic.model_validate(run)
    await in_thread(idem.remember, session, 201, out)
    response.headers["Location"] = path_for(request, "get_matching_run", program_id=program.id, run_id=run.id)
    return out


@router.get(
    BASE + "/runs",
    response_model=Page[RunPublic],
    operation_id="list_matching_runs",
    summary="The program's runs, oldest first, with their reports (coordinators)",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def list_matching_runs(program_id: ProgramId, ctx: Ctx, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    return await in_thread(runs.page, session, program, limit=limit, cursor=cursor)


@router.get(
    BASE + "/outcomes",
    response_model=MatchingOutcomes,
    operation_id="get_matching_outcomes",
    dependencies=[allow_clients(access.REPORTS_READ_SCOPE)],
    summary="The program's matching outcomes for the report: the run's counts and pair scores, matches by status, "
    "matched mentors and mentees; no person named (coordinators; the evaluation service with reports:read)",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_matching_outcomes(program_id: ProgramId, ctx: Ctx, session: SessionDep) -> Any:
    program = await access.report_program(ctx, program_id)
    return await in_thread(outcomes.of_program, session, program.institution_id, program.id)


@router.get(
    BASE + "/runs/{run_id}",
    response_model=RunPublic,
    operation_id="get_matching_run",
    summary="One run and its report (coordinators)",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_matching_run(program_id: ProgramId, run_id: RunId, ctx: Ctx, session: SessionDep) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    return await in_thread(runs.get, session, program.institution_id, program.id, run_id)


@router.post(
    BASE + "/runs/{run_id}/adjustments",
    status_code=201,
    response_model=RunPublic,
    operation_id="adjust_matching_run",
    summary="Pin, forbid or swap pairs, then run again on the same snapshot (coordinators)",
    description="The pins and forbids are saved in the program's settings; the new run names this one as its parent.",
    responses={**CREATED, **problem_responses(401, 403, 404, 409, 422, 503)},
)
async def adjust_matching_run(
    program_id: ProgramId, run_id: RunId, body: Adjustments, ctx: Ctx, idem: IdempotencyDep, session: SessionDep, request: Request, response: Response
) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    run = await runs.adjust(ctx, session, program, run_id, body)
    out = RunPublic.model_validate(run)
    await in_thread(idem.remember, session, 201, out)
    response.headers["Location"] = path_for(request, "get_matching_run", program_id=program.id, run_id=run.id)
    return out


@router.post(
    BASE + "/runs/{run_id}/publish",
    response_model=Publication,
    operation_id="publish_matching_run",
    summary="Publish a run: create the matches, announce them, offer the substitutes their role (coordinators)",
    description=(
        "Creates one match per pair (proposed, or active when the settings auto-accept) and writes match.published "
        "(and match.activated) events. Unmatched mentors who said they are willing are marked as substitutes in the "
        "participants service and get a substitute offer to accept. A program publishes one run."
    ),
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def publish_matching_run(program_id: ProgramId, run_id: RunId, ctx: Ctx, idem: IdempotencyDep, session: SessionDep) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    run, created, offers = await matches.publish(ctx, session, program, run_id)
    out = Publication(
        run=RunPublic.model_validate(run),
        matches=[MatchPublic.model_validate(m) for m in created],
        substitute_offers=[SubstituteOfferPublic.model_validate(o) for o in offers],
    )
    await in_thread(idem.remember, session, 200, out)
    return out


@router.get(
    BASE + "/pairs/{mentee_participant_id}/{mentor_participant_id}/explanation",
    response_model=PairExplanation,
    operation_id="explain_matching_pair",
    summary="Explain one pair: each score component's value, weight and contribution, and the rules that forbid it",
    description="Uses the given run's snapshot, by default the latest run's; with no run yet, the current data.",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def explain_matching_pair(
    program_id: ProgramId,
    mentee_participant_id: ParticipantPath,
    mentor_participant_id: ParticipantPath,
    ctx: Ctx,
    session: SessionDep,
    run_id: Annotated[uuid.UUID | None, Query(description="Explain with this run's snapshot.")] = None,
) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    return await runs.explain(ctx, session, program, mentee_participant_id, mentor_participant_id, run_id)
