"""The per-program matching settings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from servicekit.db import SessionDep
from servicekit.problems import problem_responses

from services.matching import access, settings
from services.matching.dependencies import Ctx, ProgramId, in_thread
from services.matching.schemas import SettingsPublic, SettingsUpdate

router = APIRouter(tags=["settings"])
BASE = "/programs/{program_id}"


@router.get(
    BASE + "/settings",
    response_model=SettingsPublic,
    operation_id="get_matching_settings",
    summary="The program's matching settings: weights, hard rules, objective, algorithm, taxonomy (coordinators)",
    description="Until saved, the defaults: the pilots' rule (different campus and different academic unit).",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_matching_settings(program_id: ProgramId, ctx: Ctx, session: SessionDep) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    return await in_thread(settings.current, session, program)


@router.put(
    BASE + "/settings",
    response_model=SettingsPublic,
    operation_id="put_matching_settings",
    summary="Replace the program's matching settings (coordinators)",
    description="Pinned and forbidden pairs name current members of the program, a mentee and a mentor (else 422 "
    "unknown-reference naming the field; nothing is saved).",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def put_matching_settings(program_id: ProgramId, body: SettingsUpdate, ctx: Ctx, session: SessionDep) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    return await settings.replace(ctx, session, program, body)
