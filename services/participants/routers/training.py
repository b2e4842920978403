"""Training modules, completions (coordinators or an LMS with scope training:write), statistics."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from servicekit.auth import CurrentPrincipal, allow_clients
from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import problem_responses

from services.participants import access, training
from services.participants.access import MEMBER, REPORT_CLIENT, RUN, TRAINING_CLIENT
from services.participants.routers.common import CREATED, location, replayed
from services.participants.schemas import (
    CompletionCreate,
    CompletionPublic,
    TrainingModuleCreate,
    TrainingModulePublic,
    TrainingModuleUpdate,
    TrainingStats,
)

router = APIRouter()
TRAINING = "training"

ProgramId = Annotated[uuid.UUID, Path(description="The program's id.")]
ModuleId = Annotated[uuid.UUID, Path(description="The training module's id.")]
CompletionId = Annotated[uuid.UUID, Path(description="The completion's id.")]
READERS = (RUN, MEMBER, TRAINING_CLIENT)
WRITERS = (RUN, TRAINING_CLIENT)
WRITERS_ONLY = "the institution's coordinators and integration clients with scope training:write may do this"


@router.post(
    "/programs/{program_id}/training-modules",
    status_code=status.HTTP_201_CREATED,
    response_model=TrainingModulePublic,
    operation_id="create_training_module",
    summary="Add a training module to a program (coordinators, admin)",
    description="A required module re-evaluates who is trained.",
    tags=[TRAINING],
    responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)},
)
def create_training_module(
    program_id: ProgramId,
    who: CurrentPrincipal,
    idem: IdempotencyDep,
    body: TrainingModuleCreate,
    session: SessionDep,
    request: Request,
    response: Response,
) -> Any:
    program = access.program(session, who, program_id, lock=True)
    if (replay := idem.replay(session)) is not None:
        return replayed(replay, request, "get_training_module", "module_id")
    module = training.create_module(session, program, body)
    result = TrainingModulePublic.model_validate(module)
    idem.remember(session, status.HTTP_201_CREATED, result)
    response.headers["Location"] = location(request, "get_training_module", module_id=module.id)
    return result


@router.get(
    "/programs/{program_id}/training-modules",
    response_model=Page[TrainingModulePublic],
    operation_id="list_training_modules",
    dependencies=[allow_clients(access.TRAINING_WRITE_SCOPE)],
    summary="List a program's training modules (coordinators, admin, its members, training:write clients)",
    tags=[TRAINING],
    responses=problem_responses(400, 401, 403, 404, 422),
)
def list_training_modules(
    program_id: ProgramId, who: CurrentPrincipal, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Any:
    program = access.program(session, who, program_id, allow=READERS)
    rows, next_cursor = training.list_modules(session, program, limit=limit, cursor=cursor)
    return Page[TrainingModulePublic](items=[TrainingModulePublic.model_validate(m) for m in rows], next_cursor=next_cursor)


@router.get(
    "/training-modules/{module_id}",
    response_model=TrainingModulePublic,
    operation_id="get_training_module",
    dependencies=[allow_clients(access.TRAINING_WRITE_SCOPE)],
    summary="Get a training module (coordinators, admin, the program's members, training:write clients)",
    tags=[TRAINING],
    responses=problem_responses(401, 403, 404, 422),
)
def get_training_module(module_id: ModuleId, who: CurrentPrincipal, session: SessionDep) -> Any:
    module, _program = access.training_module(session, who, module_id, allow=READERS)
    return module


@router.patch(
    "/training-modules/{module_id}",
    response_model=TrainingModulePublic,
    operation_id="update_training_module",
    summary="Change a training module (coordinators, admin)",
    description="Changing `required` re-evaluates who is trained.",
    tags=[TRAINING],
    responses=problem_responses(401, 403, 404, 422),
)
def update_training_module(
    module_id: ModuleId, who: CurrentPrincipal, body: TrainingModuleUpdate, session: SessionDep
) -> Any:
    module, program = access.training_module(session, who, module_id)
    return training.update_module(session, module, program, body)


@router.post(
    "/training-modules/{module_id}/completions",
    status_code=status.HTTP_201_CREATED,
    response_model=CompletionPublic,
    operation_id="record_completion",
    dependencies=[allow_clients(access.TRAINING_WRITE_SCOPE)],
    summary="Record that a member completed a module (coordinators, admin, clients with scope training:write)",
    description=(
        "Idempotent: a member completes a module once, and `external_id` names one completion in the "
        "institution, so a retry answers with the first record (`Idempotent-Replayed: true`). Writes "
        "`training.completed`; her membership shows `trained` once every required module is complete."
    ),
    tags=[TRAINING],
    responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)},
)
def record_completion(
    module_id: ModuleId,
    who: CurrentPrincipal,
    idem: IdempotencyDep,
    body: CompletionCreate,
    session: SessionDep,
    request: Request,
    response: Response,
) -> Any:
    module, _program = access.training_module(session, who, module_id, allow=WRITERS, action=WRITERS_ONLY)
    if (replay := idem.replay(session)) is not None:
        return replayed(replay, request, "get_completion", "completion_id", module_id=module_id)
    completion, _membership, existed = training.record_completion(session, module, body, who.subject)
    (result,) = training.completion_public(session, [completion])
    idem.remember(session, status.HTTP_201_CREATED, result)
    response.headers["Location"] = location(request, "get_completion", module_id=module_id, completion_id=completion.id)
    if existed:
        response.headers["Idempotent-Replayed"] = "true"
    return result


@router.get(
    "/training-modules/{module_id}/completions",
    response_model=Page[CompletionPublic],
    operation_id="list_completions",
    dependencies=[allow_clients(access.TRAINING_WRITE_SCOPE)],
    summary="List a module's completions (coordinators, admin, clients with scope training:write)",
    tags=[TRAINING],
    responses=problem_responses(400, 401, 403, 404, 422),
)
def list_completions(
    module_id: ModuleId, who: CurrentPrincipal, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Any:
    module, _program = access.training_module(session, who, module_id, allow=WRITERS, action=WRITERS_ONLY)
    rows, next_cursor = training.list_completions(session, module, limit=limit, cursor=cursor)
    return Page[CompletionPublic](items=training.completion_public(session, rows), next_cursor=next_cursor)


@router.get(
    "/training-modules/{module_id}/completions/{completion_id}",
    response_model=CompletionPublic,
    operation_id="get_completion",
    dependencies=[allow_clients(access.TRAINING_WRITE_SCOPE)],
    summary="Get one completion (coordinators, admin, clients with scope training:write)",
    tags=[TRAINING],
    responses=problem_responses(401, 403, 404, 422),
)
def get_completion(module_id: ModuleId, completion_id: CompletionId, who: CurrentPrincipal, session: SessionDep) -> Any:
    module, _program = access.training_module(session, who, module_id, allow=WRITERS, action=WRITERS_ONLY)
    (result,) = training.completion_public(session, [training.get_completion(session, module, completion_id)])
    return result


@router.get(
    "/programs/{program_id}/training-stats",
    response_model=TrainingStats,
    operation_id="get_training_stats",
    dependencies=[allow_clients(access.REPORTS_READ_SCOPE)],
    summary="Cohort training statistics: completion rate, median and spread of days to completion (coordinators, admin; "
    "the evaluation service with reports:read)",
    description="Days run from the start of the training phase to each trained member's last required completion.",
    tags=[TRAINING],
    responses=problem_responses(401, 403, 404, 422),
)
def get_training_stats(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return training.stats(session, access.program(session, who, program_id, allow=(RUN, REPORT_CLIENT)))
