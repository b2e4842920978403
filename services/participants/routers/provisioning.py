"""``/internal/institutions/{institution_id}/provisioned-participants/{account_id}``:
the profile of an account the institution's identity provider provisions
(the gateway's SCIM endpoints call it with the SCIM client's own token; see
``services.participants.provisioning``). Not routed by the gateway."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from servicekit.auth import CurrentPrincipal, allow_clients
from servicekit.db import SessionDep
from servicekit.problems import problem_responses

from services.participants import people, provisioning
from services.participants.dependencies import InstitutionId
from services.participants.provisioning import ProvisionedProfile
from services.participants.schemas import ParticipantPublic

router = APIRouter(prefix="/internal", tags=["internal"], responses=problem_responses(503))

AccountId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$",
        description="The account's id at the gateway (her tokens' `sub`).",
    ),
]
PATH = "/institutions/{institution_id}/provisioned-participants/{account_id}"


@router.put(
    PATH,
    response_model=ParticipantPublic,
    operation_id="provision_participant",
    dependencies=[allow_clients(provisioning.PROVISIONING_SCOPE)],
    summary="Create or update the profile of a provisioned account (SCIM clients of the institution, admin)",
    description="Idempotent. 201 when the profile was created, 200 when it was updated. An absent external id "
    "is kept, `null` clears it; one held by another participant of the institution is a 409 naming the field.",
    responses={201: {"description": "Created", "model": ParticipantPublic}, **problem_responses(401, 403, 404, 409, 422)},
)
def provision_participant(
    institution_id: InstitutionId,
    account_id: AccountId,
    body: ProvisionedProfile,
    who: CurrentPrincipal,
    session: SessionDep,
    response: Response,
) -> Any:
    provisioning.authorize(who, institution_id)
    participant, created = provisioning.upsert(session, institution_id, account_id, body)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return people.full(session, participant)


@router.delete(
    PATH,
    status_code=status.HTTP_204_NO_CONTENT,
    response_model=None,
    operation_id="delete_provisioned_participant",
    dependencies=[allow_clients(provisioning.PROVISIONING_SCOPE)],
    summary="Delete the profile of a deprovisioned account that never took part in a program",
    description="409 when she has a membership: her profile is kept with her program records.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def delete_provisioned_participant(
    institution_id: InstitutionId, account_id: AccountId, who: CurrentPrincipal, session: SessionDep
) -> Response:
    provisioning.authorize(who, institution_id)
    provisioning.remove(session, institution_id, account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
