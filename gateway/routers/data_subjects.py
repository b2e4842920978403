"""``/v1/data-subject-requests``: export or erase a person's data in every
service at once (GDPR Art. 15/20 and 17), and the completion record of each
request. The orchestration is ``gateway.subject_requests``.

Who may ask: she herself (for her own account), an admin, or a coordinator of
her institution. Any other person of her institution gets 403; anyone else,
and a coordinator of another institution, 404. Integration clients never
(403): a person's rights are exercised by or for a person.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session

from servicekit.auth import Principal
from servicekit.pagination import Cursor, Limit, Page
from servicekit.problems import ProblemError, field_problem, problem_responses

from gateway import subject_requests
from gateway.dependencies import in_transaction
from gateway.edge import EdgePrincipal
from gateway.schemas import DataSubjectRequestCreate, DataSubjectRequestPublic, DataSubjectRequestResult
from gateway.subject_requests import EXPORT, SubjectRequests

router = APIRouter(prefix="/v1/data-subject-requests", tags=["data-subject-requests"])


def _people_only(who: Principal) -> None:
    if who.is_client:
        raise ProblemError(403, "Data-subject requests are made by people, not integration clients", slug="insufficient-scope")


@router.post(
    "",
    status_code=201,
    response_model=DataSubjectRequestResult,
    operation_id="create_data_subject_request",
    summary="Export or erase a person's data in every service (she herself, her institution's coordinators, admin)",
    description=(
        "Runs one step per service and answers the completion record. An export answers her data as `bundle` "
        "(never stored). An erasure ends her account (no more logins, every session revoked, SSO links removed) "
        "and erases or pseudonymises her rows in every service; a step a service could not finish is retried in "
        "the background until done (see the record)."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
async def create_data_subject_request(
    request: Request, response: Response, who: EdgePrincipal, body: DataSubjectRequestCreate
) -> DataSubjectRequestResult:
    _people_only(who)
    target = body.account_id or _own_account(who)
    requests: SubjectRequests = request.app.state.subject_requests
    request_id, step_ids = await in_transaction(request, subject_requests.open_request, requests, who, body.kind, target)
    bundle = await requests.run(request_id, step_ids)
    public = await in_transaction(request, subject_requests.record, request_id)
    response.headers["Location"] = f"/v1/data-subject-requests/{request_id}"
    return DataSubjectRequestResult(**public.model_dump(), bundle=bundle if body.kind == EXPORT else None)


def _own_account(who: Principal) -> uuid.UUID:
    try:
        return uuid.UUID(who.subject)
    except ValueError:
        raise field_problem("body.account_id", "Give the account id: yours is not an account", code="required") from None


@router.get(
    "",
    response_model=Page[DataSubjectRequestPublic],
    operation_id="list_data_subject_requests",
    summary="Data-subject requests: all (admin), her institution's (coordinators), her own (anyone else)",
    responses=problem_responses(400, 401, 403, 422),
)
async def list_data_subject_requests(
    request: Request,
    who: EdgePrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
    kind: Annotated[Literal["export", "erasure"] | None, Query(description="Only this kind.")] = None,
    status: Annotated[
        Literal["pending", "done", "failed", "incomplete"] | None, Query(description="Only this status.")
    ] = None,
) -> Page[DataSubjectRequestPublic]:
    _people_only(who)

    def work(session: Session) -> Page[DataSubjectRequestPublic]:
        return subject_requests.page(session, who, kind=kind, status=status, limit=limit, cursor=cursor)

    return await in_transaction(request, work)


@router.get(
    "/{request_id}",
    response_model=DataSubjectRequestPublic,
    operation_id="get_data_subject_request",
    summary="One request's completion record: each step's outcome, attempts and times",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_data_subject_request(request: Request, who: EdgePrincipal, request_id: uuid.UUID) -> DataSubjectRequestPublic:
    _people_only(who)
    return await in_transaction(request, subject_requests.record_for, who, request_id)

