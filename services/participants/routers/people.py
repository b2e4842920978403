"""Participants (profiles), memberships, and data-subject rights."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from servicekit.auth import CurrentPrincipal
from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import problem_responses
from servicekit.tenancy import coordinates

from services.participants import access, people
from services.participants.access import COUNTERPART, RUN, SELF
from services.participants.dependencies import CoordinatorOf, InstitutionId
from services.participants.routers.common import CREATED, location, replayed
from services.participants.schemas import (
    AccountLink,
    DataExport,
    ErasureCreate,
    ErasureRequestPublic,
    ExternalId,
    MembershipPublic,
    MembershipStatus,
    MembershipUpdate,
    ParticipantPublic,
    ParticipantUpdate,
    PublicProfile,
)

router = APIRouter()
PARTICIPANTS, MEMBERSHIPS, DATA_SUBJECTS = "participants", "memberships", "data-subjects"

ParticipantId = Annotated[uuid.UUID, Path(description="The participant's id.")]
ProgramId = Annotated[uuid.UUID, Path(description="The program's id.")]
MembershipId = Annotated[uuid.UUID, Path(description="The membership's id.")]
SubjectId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$",
        description="Her account id (a token's `sub`).",
    ),
]
ErasureId = Annotated[uuid.UUID, Path(description="The erasure request's id.")]


# ---------------------------------------------------------------------------
# Profiles


@router.get(
    "/participants/me",
    response_model=ParticipantPublic,
    operation_id="get_my_participant",
    summary="My participant profile in my institution (404 until I confirm a place)",
    tags=[PARTICIPANTS],
    responses=problem_responses(401, 404),
)
def get_my_participant(who: CurrentPrincipal, session: SessionDep) -> Any:
    return people.full(session, access.me(session, who))


@router.patch(
    "/participants/me",
    response_model=ParticipantPublic,
    operation_id="update_my_participant",
    summary="Change my profile (external ids are for coordinators)",
    tags=[PARTICIPANTS],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_my_participant(who: CurrentPrincipal, body: ParticipantUpdate, session: SessionDep) -> Any:
    participant = access.me(session, who)
    return people.full(session, people.update_participant(session, participant, body, as_coordinator=False))


@router.get(
    "/institutions/{institution_id}/participants",
    response_model=Page[ParticipantPublic],
    operation_id="list_participants",
    summary="List an institution's participants with their full profiles (coordinators, admin)",
    tags=[PARTICIPANTS],
    responses=problem_responses(400, 401, 403, 404, 422),
)
def list_participants(
    institution_id: InstitutionId,
    _coordinator: CoordinatorOf,
    session: SessionDep,
    lms_id: Annotated[ExternalId | None, Query(description="Only the participant with this LMS id.")] = None,
    account: Annotated[
        AccountLink,
        Query(
            description=(
                "`linked` (default): profiles claimed by an account; `unlinked`: roster-imported profiles no "
                "account has claimed yet; `any`: both."
            )
        ),
    ] = AccountLink.linked,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    rows, next_cursor = people.list_participants(
        session, institution_id, lms_id=lms_id, limit=limit, cursor=cursor, account=account
    )
    return Page[ParticipantPublic](items=[people.full(session, p) for p in rows], next_cursor=next_cursor)


@router.get(
    "/participants/{participant_id}",
    response_model=ParticipantPublic,
    operation_id="get_participant",
    summary="A participant's full profile (she herself, the institution's coordinators, admin)",
    description="Members of a program she is in get 403 (they may read the public profile); anyone else 404.",
    tags=[PARTICIPANTS],
    responses=problem_responses(401, 403, 404, 422),
)
def get_participant(participant_id: ParticipantId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return people.full(session, access.participant(session, who, participant_id))


@router.patch(
    "/participants/{participant_id}",
    response_model=ParticipantPublic,
    operation_id="update_participant",
    summary="Change a profile (she herself; coordinators and admin also set the LMS, HR and SIS ids)",
    tags=[PARTICIPANTS],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_participant(
    participant_id: ParticipantId, who: CurrentPrincipal, body: ParticipantUpdate, session: SessionDep
) -> Any:
    participant = access.participant(session, who, participant_id, lock=True)
    as_coordinator = coordinates(who, participant.institution_id)
    return people.full(session, people.update_participant(session, participant, body, as_coordinator=as_coordinator))


@router.get(
    "/participants/{participant_id}/public-profile",
    response_model=PublicProfile,
    operation_id="get_public_profile",
    summary="A participant's public profile (members of a program she is in, she herself, coordinators, admin)",
    tags=[PARTICIPANTS],
    responses=problem_responses(401, 404, 422),
)
def get_public_profile(participant_id: ParticipantId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return people.public_profile(access.participant(session, who, participant_id, allow=(SELF, RUN, COUNTERPART)))


# ---------------------------------------------------------------------------
# Memberships


@router.get(
    "/programs/{program_id}/memberships",
    response_model=Page[MembershipPublic],
    operation_id="list_memberships",
    summary="List a program's memberships: role, status, trained (coordinators, admin)",
    tags=[MEMBERSHIPS],
    responses=problem_responses(400, 401, 403, 404, 422),
)
def list_memberships(
    program_id: ProgramId,
    who: CurrentPrincipal,
    session: SessionDep,
    membership_status: Annotated[MembershipStatus | None, Query(alias="status", description="Only this status.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    program = access.program(session, who, program_id)
    rows, next_cursor = people.list_memberships(session, program, status=membership_status, limit=limit, cursor=cursor)
    return Page[MembershipPublic](items=[MembershipPublic.model_validate(m) for m in rows], next_cursor=next_cursor)


@router.patch(
    "/programs/{program_id}/memberships/{membership_id}",
    response_model=MembershipPublic,
    operation_id="update_membership",
    summary="Change a membership's status (coordinators, admin)",
    description=(
        "active ⇄ substitute; active or substitute → withdrawn; active → completed. Withdrawn and completed are "
        "final; any other move is a 409. Withdrawing writes `participant.withdrawn`."
    ),
    tags=[MEMBERSHIPS],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_membership(
    program_id: ProgramId, membership_id: MembershipId, who: CurrentPrincipal, body: MembershipUpdate, session: SessionDep
) -> Any:
    membership, _program = access.membership(session, who, program_id, membership_id, lock=True)
    return people.change_membership(session, membership, body.status, body.reason)


# ---------------------------------------------------------------------------
# Data-subject rights


@router.get(
    "/institutions/{institution_id}/data-subjects/{subject_id}/export",
    response_model=DataExport,
    operation_id="export_data_subject",
    summary="Export everything held about a person, as JSON (she herself, coordinators, admin)",
    tags=[DATA_SUBJECTS],
    responses=problem_responses(401, 403, 404, 422),
)
def export_data_subject(
    institution_id: InstitutionId, subject_id: SubjectId, who: CurrentPrincipal, session: SessionDep
) -> Any:
    access.data_subject_access(who, institution_id, subject_id)
    return people.export(session, institution_id, subject_id)


@router.post(
    "/institutions/{institution_id}/data-subjects/{subject_id}/erasure",
    status_code=status.HTTP_201_CREATED,
    response_model=ErasureRequestPublic,
    operation_id="erase_data_subject",
    summary="Erase a person's data: pseudonymise what aggregates need, delete the rest (she herself, coordinators, admin)",
    description=(
        "Records the request (naming no one) and writes `data_subject.erased`. When she asks herself, no "
        "idempotency record is kept (it would hold her account id): a retry then finds nothing left (404)."
    ),
    tags=[DATA_SUBJECTS],
    responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)},
)
def erase_data_subject(
    institution_id: InstitutionId,
    subject_id: SubjectId,
    who: CurrentPrincipal,
    idem: IdempotencyDep,
    session: SessionDep,
    request: Request,
    response: Response,
    body: ErasureCreate | None = None,
) -> Any:
    role = access.data_subject_access(who, institution_id, subject_id)
    if role != "data_subject" and (replay := idem.replay(session)) is not None:
        return replayed(replay, request, "get_erasure_request", "request_id", institution_id=institution_id)
    record = people.erase(
        session,
        institution_id,
        subject_id,
        requested_by_role=role,
        requested_by=None if role == "data_subject" else who.subject,
    )
    result = ErasureRequestPublic.model_validate(record)
    if role != "data_subject":
        # The stored route would name her (it is in the path): keep the template.
        idem.route = f"POST /v1/institutions/{institution_id}/data-subjects/{{subject_id}}/erasure"
        idem.remember(session, status.HTTP_201_CREATED, result)
    response.headers["Location"] = location(
        request, "get_erasure_request", institution_id=institution_id, request_id=record.id
    )
    return result


@router.get(
    "/institutions/{institution_id}/erasure-requests",
    response_model=Page[ErasureRequestPublic],
    operation_id="list_erasure_requests",
    summary="The record of erasures done in an institution (coordinators, admin)",
    tags=[DATA_SUBJECTS],
    responses=problem_responses(400, 401, 403, 404, 422),
)
def list_erasure_requests(
    institution_id: InstitutionId,
    _coordinator: CoordinatorOf,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    rows, next_cursor = people.list_erasures(session, institution_id, limit=limit, cursor=cursor)
    return Page[ErasureRequestPublic](items=[ErasureRequestPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/institutions/{institution_id}/erasure-requests/{request_id}",
    response_model=ErasureRequestPublic,
    operation_id="get_erasure_request",
    summary="One erasure record (coordinators, admin)",
    tags=[DATA_SUBJECTS],
    responses=problem_responses(401, 403, 404, 422),
)
def get_erasure_request(
    institution_id: InstitutionId, request_id: ErasureId, _coordinator: CoordinatorOf, session: SessionDep
) -> Any:
    return people.get_erasure(session, institution_id, request_id)
