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
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from servicekit.auth import Principal
from servicekit.inputs import InputModel
from servicekit.pagination import Cursor, Limit, Page, paginate
from servicekit.problems import ProblemError, field_problem, forbidden, not_found, problem_responses
from servicekit.tenancy import coordinates

from gateway.dependencies import in_transaction
from gateway.edge import EdgePrincipal
from gateway.models import Account, DataSubjectRequest, DataSubjectRequestStep
from gateway.subject_requests import ERASURE, EXPORT, SubjectRequests

router = APIRouter(prefix="/v1/data-subject-requests", tags=["data-subject-requests"])


class DataSubjectRequestCreate(InputModel):
    """What to do, and for whom (her account; yours when absent)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "export"}, {"kind": "erasure", "account_id": "0190f1c2-7a51-7d3c-9b1e-3f2a1c0d9e8f"}]},
    )

    kind: Literal["export", "erasure"]
    account_id: uuid.UUID | None = Field(default=None, description="Her account id; the caller's own when absent.")


class StepPublic(BaseModel):
    service: str = Field(examples=["participants"], description="gateway, participants, matching, sessions or evaluation.")
    status: Literal["pending", "done", "failed"]
    attempts: int
    last_error: str | None = Field(description="The class of the last error (e.g. `http_503`, `ConnectError`), never its text.")
    rows: dict[str, int] = Field(description="Table -> rows exported, or erased/pseudonymised.")
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When a failed erasure step is retried; null once done.")


class DataSubjectRequestPublic(BaseModel):
    """The completion record of a request: one step per service."""

    id: uuid.UUID
    kind: Literal["export", "erasure"]
    institution_id: str
    account_id: str | None = Field(description="Her account id; null once an erasure has finished.")
    status: Literal["pending", "done", "failed", "incomplete"] = Field(
        description="done: every step done. failed/pending: an erasure with steps still to retry. "
        "incomplete: an export some service could not answer (ask again)."
    )
    requested_by_role: str = Field(examples=["data_subject"], description="data_subject, coordinator or admin.")
    requested_by: str | None = Field(description="The coordinator's or admin's account id; null when she asked herself.")
    created_at: datetime
    finished_at: datetime | None
    steps: list[StepPublic]


class DataSubjectRequestResult(DataSubjectRequestPublic):
    bundle: dict[str, dict[str, list[dict[str, Any]]]] | None = Field(
        description="Export only: service -> table -> her rows (never stored). Null for an erasure."
    )


def _public(session: Session, request: DataSubjectRequest) -> DataSubjectRequestPublic:
    steps = session.exec(
        select(DataSubjectRequestStep)
        .where(DataSubjectRequestStep.request_id == request.id)
        .order_by(col(DataSubjectRequestStep.position))
    ).all()
    return DataSubjectRequestPublic(
        id=request.id,
        kind=request.kind,  # type: ignore[arg-type]
        institution_id=request.institution_id,
        account_id=request.account_id,
        status=request.status,  # type: ignore[arg-type]
        requested_by_role=request.requested_by_role,
        requested_by=request.requested_by,
        created_at=request.created_at,
        finished_at=request.finished_at,
        steps=[
            StepPublic(
                service=s.service,
                status=s.status,  # type: ignore[arg-type]
                attempts=s.attempts,
                last_error=s.last_error,
                rows=s.rows,
                started_at=s.started_at,
                finished_at=s.finished_at,
                next_attempt_at=None if s.status == "done" else s.next_attempt_at,
            )
            for s in steps
        ],
    )


def _people_only(who: Principal) -> None:
    if who.is_client:
        raise ProblemError(403, "Data-subject requests are made by people, not integration clients", slug="insufficient-scope")


def _authorize(who: Principal, account: Account | None) -> str:
    if account is None or account.institution_id is None:
        raise not_found("Account")
    if who.subject == str(account.id):
        return "data_subject"
    if who.is_admin:
        return "admin"
    if coordinates(who, account.institution_id):
        return "coordinator"
    if who.tenant_id is not None and who.tenant_id == account.institution_id:
        raise forbidden("Only the person herself and her institution's coordinators may do this")
    raise not_found("Account")


def _visible(who: Principal, request: DataSubjectRequest | None) -> DataSubjectRequest:
    if request is not None and (
        coordinates(who, request.institution_id)
        or (request.account_id is not None and request.account_id == who.subject)
    ):
        return request
    raise not_found("Data-subject request")


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

    def plan(session: Session) -> tuple[uuid.UUID, list[uuid.UUID]]:
        account = session.get(Account, target)
        role = _authorize(who, account)
        assert account is not None and account.institution_id is not None
        record, steps = requests.create(
            session,
            kind=body.kind,
            institution_id=account.institution_id,
            account_id=str(account.id),
            role=role,
            requested_by=None if role == "data_subject" else who.subject,
        )
        return record.id, steps

    request_id, step_ids = await in_transaction(request, plan)
    bundle = await requests.run(request_id, step_ids)

    def read(session: Session) -> DataSubjectRequestPublic:
        record = session.get(DataSubjectRequest, request_id)
        assert record is not None
        return _public(session, record)

    public = await in_transaction(request, read)
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
        stmt = select(DataSubjectRequest)
        if who.is_admin:
            pass
        elif who.has_role("coordinator") and who.tenant_id is not None:
            stmt = stmt.where(DataSubjectRequest.institution_id == who.tenant_id)
        else:
            stmt = stmt.where(DataSubjectRequest.account_id == who.subject)
        if kind is not None:
            stmt = stmt.where(DataSubjectRequest.kind == kind)
        if status is not None:
            stmt = stmt.where(DataSubjectRequest.status == status)
        rows, next_cursor = paginate(session, stmt, DataSubjectRequest.id, limit=limit, cursor=cursor)
        return Page[DataSubjectRequestPublic](items=[_public(session, r) for r in rows], next_cursor=next_cursor)

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
    return await in_transaction(request, lambda s: _public(s, _visible(who, s.get(DataSubjectRequest, request_id))))


__all__ = ["ERASURE", "EXPORT", "router"]
