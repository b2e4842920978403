"""The questionnaire (matching profiles)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from servicekit.db import SessionDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import problem_responses

from services.matching import access, profiles
from services.matching.dependencies import Ctx, ProgramId, in_thread
from services.matching.schemas import MissingProfile, ProfilePublic, ProfileUpsert

router = APIRouter(tags=["profiles"])
BASE = "/programs/{program_id}"


@router.get(
    BASE + "/profiles/me",
    response_model=ProfilePublic,
    operation_id="get_my_matching_profile",
    summary="My matching questionnaire in this program (a confirmed member)",
    responses=problem_responses(401, 404, 422, 503),
)
async def get_my_matching_profile(program_id: ProgramId, ctx: Ctx, session: SessionDep) -> Any:
    program, me, _membership = await access.membership_in(ctx, program_id)
    return await in_thread(profiles.mine, session, program, me)


@router.put(
    BASE + "/profiles/me",
    response_model=ProfilePublic,
    operation_id="put_my_matching_profile",
    summary="Fill or replace my matching questionnaire (a confirmed member)",
    description=(
        "Objectives and expertise are codes of the program's taxonomy; availability is weekly slots in her own "
        "time zone (default: her profile's). Mentors set a capacity within the program's maximum; only mentees "
        "may add requests (identity match, a requested mentor, people to avoid), used only because she asks. The "
        "mentors she requests or avoids must be mentors of this program whose questionnaire is in (else 422 "
        "unknown-reference naming the field)."
    ),
    responses=problem_responses(401, 404, 422, 503),
)
async def put_my_matching_profile(program_id: ProgramId, body: ProfileUpsert, ctx: Ctx, session: SessionDep) -> Any:
    program, me, membership = await access.membership_in(ctx, program_id)
    return await profiles.save_mine(ctx, session, program, me, membership, body)


@router.get(
    BASE + "/profiles",
    response_model=Page[ProfilePublic],
    operation_id="list_matching_profiles",
    summary="Every matching questionnaire of the program (coordinators, admin)",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def list_matching_profiles(program_id: ProgramId, ctx: Ctx, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    return await in_thread(profiles.page, session, program, limit=limit, cursor=cursor)


@router.get(
    BASE + "/profiles/missing",
    response_model=Page[MissingProfile],
    operation_id="list_missing_matching_profiles",
    summary="Members (active or substitute) who have not filled the questionnaire yet (coordinators, admin)",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_missing_matching_profiles(program_id: ProgramId, ctx: Ctx, session: SessionDep) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    return Page[MissingProfile](items=await profiles.missing(ctx, session, program), next_cursor=None)
