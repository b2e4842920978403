"""Programs (coordinators run them; members read theirs) and the public call (no token)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from servicekit.auth import CurrentPrincipal, allow_clients
from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import problem_responses

from services.participants import access, programs
from services.participants.access import MEMBER, REPORT_CLIENT, RUN
from services.participants.dependencies import CoordinatorOf, InstitutionId
from services.participants.routers.common import CREATED, location, replayed
from services.participants.schemas import (
    CallPublic,
    ProgramCreate,
    ProgramPublic,
    ProgramStatus,
    ProgramTransition,
    ProgramUpdate,
)

router = APIRouter()
PROGRAMS, CALLS = "programs", "calls"

ProgramId = Annotated[uuid.UUID, Path(description="The program's id.")]


@router.post(
    "/institutions/{institution_id}/programs",
    status_code=status.HTTP_201_CREATED,
    response_model=ProgramPublic,
    operation_id="create_program",
    summary="Create a program (cohort) as a draft (the institution's coordinators, admin)",
    description="Phases are checked to be ordered and not overlapping; criteria to be well-formed rules.",
    tags=[PROGRAMS],
    responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)},
)
def create_program(
    institution_id: InstitutionId,
    _coordinator: CoordinatorOf,
    idem: IdempotencyDep,
    body: ProgramCreate,
    session: SessionDep,
    request: Request,
    response: Response,
) -> Any:
    if (replay := idem.replay(session)) is not None:
        return replayed(replay, request, "get_program", "program_id")
    program = programs.create_program(session, institution_id, body)
    result = programs.public_one(session, program)
    idem.remember(session, status.HTTP_201_CREATED, result)
    response.headers["Location"] = location(request, "get_program", program_id=program.id)
    return result


@router.get(
    "/institutions/{institution_id}/programs",
    response_model=Page[ProgramPublic],
    operation_id="list_programs",
    dependencies=[allow_clients(access.TRAINING_WRITE_SCOPE)],
    summary="List an institution's programs (coordinators: all; a person: those she is a member of)",
    description="Integration clients with scope `training:write` of the institution see all of them.",
    tags=[PROGRAMS],
    responses=problem_responses(400, 401, 404, 422),
)
def list_programs(
    institution_id: InstitutionId,
    who: CurrentPrincipal,
    session: SessionDep,
    program_status: Annotated[
        ProgramStatus | None, Query(alias="status", description="Only programs in this status.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    access.institution_programs_reader(who, institution_id)
    rows, next_cursor = programs.list_programs(
        session, who, institution_id, status=program_status, limit=limit, cursor=cursor
    )
    return Page[ProgramPublic](items=programs.public(session, rows), next_cursor=next_cursor)


@router.get(
    "/programs/{program_id}",
    response_model=ProgramPublic,
    operation_id="get_program",
    dependencies=[allow_clients(access.REPORTS_READ_SCOPE)],
    summary="Get a program (the institution's coordinators, admin, its members; the evaluation service with reports:read)",
    tags=[PROGRAMS],
    responses=problem_responses(401, 403, 404, 422),
)
def get_program(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep) -> Any:
    program = access.program(session, who, program_id, allow=(RUN, MEMBER, REPORT_CLIENT))
    return programs.public_one(session, program)


@router.patch(
    "/programs/{program_id}",
    response_model=ProgramPublic,
    operation_id="update_program",
    summary="Change a program's settings, phases, criteria or privacy notice (coordinators, admin)",
    description=(
        "The mode changes only in draft; criteria only until selection ends; a changed privacy-notice text "
        "needs a new version. `phases` and `criteria` replace the whole list."
    ),
    tags=[PROGRAMS],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_program(program_id: ProgramId, who: CurrentPrincipal, body: ProgramUpdate, session: SessionDep) -> Any:
    program = access.program(session, who, program_id, lock=True)
    return programs.public_one(session, programs.update_program(session, program, body))


@router.post(
    "/programs/{program_id}/transitions",
    response_model=ProgramPublic,
    operation_id="transition_program",
    summary="Move a program to its next status (coordinators, admin)",
    description=(
        "draft → call_open → selection → training → matching → mentoring → evaluation → closed, one step at a "
        "time; any other move is a 409 saying why. Opening the call needs a privacy notice and a call phase "
        "that has not ended. Writes `program.status_changed`."
    ),
    tags=[PROGRAMS],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def transition_program(program_id: ProgramId, who: CurrentPrincipal, body: ProgramTransition, session: SessionDep) -> Any:
    program = access.program(session, who, program_id, lock=True)
    return programs.public_one(session, programs.transition(session, program, body.to))


# ---------------------------------------------------------------------------
# The public call: no token needed.


@router.get(
    "/calls",
    response_model=Page[CallPublic],
    operation_id="list_calls",
    summary="List open calls, optionally of one institution (public, no token)",
    tags=[CALLS],
    responses=problem_responses(400, 422),
)
def list_calls(
    session: SessionDep,
    institution_id: Annotated[uuid.UUID | None, Query(description="Only this institution's calls.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    rows, next_cursor = programs.list_open_calls(session, institution_id=institution_id, limit=limit, cursor=cursor)
    return Page[CallPublic](items=programs.calls(session, rows), next_cursor=next_cursor)


@router.get(
    "/calls/{program_id}",
    response_model=CallPublic,
    operation_id="get_call",
    summary="Read a program's call: description, criteria, deadlines, privacy notice (public, no token)",
    description="Every program past its draft has a readable call; `accepting_applications` says whether it is open now.",
    tags=[CALLS],
    responses=problem_responses(404, 422),
)
def get_call(program_id: ProgramId, session: SessionDep) -> Any:
    return programs.get_call(session, program_id)
