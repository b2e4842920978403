"""Institutions (admins), their campuses and academic units (their coordinators)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import problem_responses

from services.participants import service
from services.participants.dependencies import (
    AdminOnly,
    CoordinatorOf,
    InstitutionDirectoryReader,
    InstitutionId,
    InstitutionViewer,
    MemberOf,
)
from services.participants.routers.common import CREATED
from services.participants.routers.common import location as _location
from services.participants.routers.common import page as _page
from services.participants.routers.common import replayed as _replayed
from services.participants.schemas import (
    AcademicUnitCreate,
    AcademicUnitPublic,
    AcademicUnitUpdate,
    CampusCreate,
    CampusPublic,
    CampusUpdate,
    InstitutionCreate,
    InstitutionPublic,
    InstitutionUpdate,
)

router = APIRouter()

INSTITUTIONS, CAMPUSES, UNITS = "institutions", "campuses", "academic-units"
CAMPUSES_PATH = "/institutions/{institution_id}/campuses"
UNITS_PATH = "/institutions/{institution_id}/academic-units"

CampusId = Annotated[uuid.UUID, Path(description="The campus's id.")]
UnitId = Annotated[uuid.UUID, Path(description="The academic unit's id.")]


# ---------------------------------------------------------------------------
# Institutions


@router.post(
    "/institutions",
    status_code=status.HTTP_201_CREATED,
    response_model=InstitutionPublic,
    operation_id="create_institution",
    summary="Create an institution (admin)",
    description="Writes `institution.created` to the outbox feed. Send `Idempotency-Key` to make retries safe.",
    tags=[INSTITUTIONS],
    responses={**CREATED, **problem_responses(401, 403, 409, 422)},
)
def create_institution(
    _admin: AdminOnly,
    idem: IdempotencyDep,
    body: InstitutionCreate,
    session: SessionDep,
    request: Request,
    response: Response,
) -> Any:
    if (replay := idem.replay(session)) is not None:
        return _replayed(replay, request, "get_institution", "institution_id")
    institution = service.create_institution(session, body)
    result = InstitutionPublic.model_validate(institution)
    idem.remember(session, status.HTTP_201_CREATED, result)
    response.headers["Location"] = _location(request, "get_institution", institution_id=institution.id)
    return result


@router.get(
    "/institutions",
    response_model=Page[InstitutionPublic],
    operation_id="list_institutions",
    summary="List institutions (admin, or a client with scope institutions:read)",
    tags=[INSTITUTIONS],
    responses=problem_responses(400, 401, 403, 422),
)
def list_institutions(
    _reader: InstitutionDirectoryReader,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    rows, next_cursor = service.list_institutions(session, limit=limit, cursor=cursor)
    return _page(InstitutionPublic, rows, next_cursor)


@router.get(
    "/institutions/{institution_id}",
    response_model=InstitutionPublic,
    operation_id="get_institution",
    summary="Get an institution (admin, its members, a client with scope institutions:read; the evaluation service with reports:read)",
    tags=[INSTITUTIONS],
    responses=problem_responses(401, 404, 422),
)
def get_institution(institution_id: InstitutionId, _viewer: InstitutionViewer, session: SessionDep) -> Any:
    return service.get_institution(session, institution_id)


@router.patch(
    "/institutions/{institution_id}",
    response_model=InstitutionPublic,
    operation_id="update_institution",
    summary="Change an institution (admin)",
    description="Writes `institution.updated` to the outbox feed when a field really changes.",
    tags=[INSTITUTIONS],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_institution(
    institution_id: InstitutionId, _admin: AdminOnly, body: InstitutionUpdate, session: SessionDep
) -> Any:
    return service.update_institution(session, institution_id, body)


# ---------------------------------------------------------------------------
# Campuses


@router.post(
    CAMPUSES_PATH,
    status_code=status.HTTP_201_CREATED,
    response_model=CampusPublic,
    operation_id="create_campus",
    summary="Add a campus to an institution (its coordinators, admin)",
    tags=[CAMPUSES],
    responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)},
)
def create_campus(
    institution_id: InstitutionId,
    _coordinator: CoordinatorOf,
    idem: IdempotencyDep,
    body: CampusCreate,
    session: SessionDep,
    request: Request,
    response: Response,
) -> Any:
    if (replay := idem.replay(session)) is not None:
        return _replayed(replay, request, "get_campus", "campus_id", institution_id=institution_id)
    campus = service.create_campus(session, institution_id, body)
    result = CampusPublic.model_validate(campus)
    idem.remember(session, status.HTTP_201_CREATED, result)
    response.headers["Location"] = _location(request, "get_campus", institution_id=institution_id, campus_id=campus.id)
    return result


@router.get(
    CAMPUSES_PATH,
    response_model=Page[CampusPublic],
    operation_id="list_campuses",
    summary="List an institution's campuses (its members, admin)",
    tags=[CAMPUSES],
    responses=problem_responses(400, 401, 404, 422),
)
def list_campuses(
    institution_id: InstitutionId,
    _member: MemberOf,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    rows, next_cursor = service.list_campuses(session, institution_id, limit=limit, cursor=cursor)
    return _page(CampusPublic, rows, next_cursor)


@router.get(
    CAMPUSES_PATH + "/{campus_id}",
    response_model=CampusPublic,
    operation_id="get_campus",
    summary="Get a campus (the institution's members, admin)",
    tags=[CAMPUSES],
    responses=problem_responses(401, 404, 422),
)
def get_campus(institution_id: InstitutionId, campus_id: CampusId, _member: MemberOf, session: SessionDep) -> Any:
    return service.get_campus(session, institution_id, campus_id)


@router.patch(
    CAMPUSES_PATH + "/{campus_id}",
    response_model=CampusPublic,
    operation_id="update_campus",
    summary="Change a campus (the institution's coordinators, admin)",
    tags=[CAMPUSES],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_campus(
    institution_id: InstitutionId,
    campus_id: CampusId,
    _coordinator: CoordinatorOf,
    body: CampusUpdate,
    session: SessionDep,
) -> Any:
    return service.update_campus(session, institution_id, campus_id, body)


@router.delete(
    CAMPUSES_PATH + "/{campus_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_model=None,
    operation_id="delete_campus",
    summary="Delete a campus no academic unit refers to (the institution's coordinators, admin)",
    tags=[CAMPUSES],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def delete_campus(
    institution_id: InstitutionId, campus_id: CampusId, _coordinator: CoordinatorOf, session: SessionDep
) -> None:
    service.delete_campus(session, institution_id, campus_id)


# ---------------------------------------------------------------------------
# Academic units


@router.post(
    UNITS_PATH,
    status_code=status.HTTP_201_CREATED,
    response_model=AcademicUnitPublic,
    operation_id="create_academic_unit",
    summary="Add an academic unit to an institution (its coordinators, admin)",
    tags=[UNITS],
    responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)},
)
def create_academic_unit(
    institution_id: InstitutionId,
    _coordinator: CoordinatorOf,
    idem: IdempotencyDep,
    body: AcademicUnitCreate,
    session: SessionDep,
    request: Request,
    response: Response,
) -> Any:
    if (replay := idem.replay(session)) is not None:
        return _replayed(replay, request, "get_academic_unit", "unit_id", institution_id=institution_id)
    unit = service.create_academic_unit(session, institution_id, body)
    result = AcademicUnitPublic.model_validate(unit)
    idem.remember(session, status.HTTP_201_CREATED, result)
    response.headers["Location"] = _location(
        request, "get_academic_unit", institution_id=institution_id, unit_id=unit.id
    )
    return result


@router.get(
    UNITS_PATH,
    response_model=Page[AcademicUnitPublic],
    operation_id="list_academic_units",
    summary="List an institution's academic units (its members, admin)",
    tags=[UNITS],
    responses=problem_responses(400, 401, 404, 422),
)
def list_academic_units(
    institution_id: InstitutionId,
    _member: MemberOf,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    rows, next_cursor = service.list_academic_units(session, institution_id, limit=limit, cursor=cursor)
    return _page(AcademicUnitPublic, rows, next_cursor)


@router.get(
    UNITS_PATH + "/{unit_id}",
    response_model=AcademicUnitPublic,
    operation_id="get_academic_unit",
    summary="Get an academic unit (the institution's members, admin)",
    tags=[UNITS],
    responses=problem_responses(401, 404, 422),
)
def get_academic_unit(institution_id: InstitutionId, unit_id: UnitId, _member: MemberOf, session: SessionDep) -> Any:
    return service.get_academic_unit(session, institution_id, unit_id)


@router.patch(
    UNITS_PATH + "/{unit_id}",
    response_model=AcademicUnitPublic,
    operation_id="update_academic_unit",
    summary="Change an academic unit (the institution's coordinators, admin)",
    tags=[UNITS],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_academic_unit(
    institution_id: InstitutionId,
    unit_id: UnitId,
    _coordinator: CoordinatorOf,
    body: AcademicUnitUpdate,
    session: SessionDep,
) -> Any:
    return service.update_academic_unit(session, institution_id, unit_id, body)


@router.delete(
    UNITS_PATH + "/{unit_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_model=None,
    operation_id="delete_academic_unit",
    summary="Delete an academic unit (the institution's coordinators, admin)",
    tags=[UNITS],
    responses=problem_responses(401, 403, 404, 422),
)
def delete_academic_unit(
    institution_id: InstitutionId, unit_id: UnitId, _coordinator: CoordinatorOf, session: SessionDep
) -> None:
    service.delete_academic_unit(session, institution_id, unit_id)
