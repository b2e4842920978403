"""``/internal/institutions/{institution_id}/contacts/{account_id}``: how to reach a
person (the notifications service's own token). Not routed by the gateway."""

from typing import Any

from fastapi import APIRouter

from servicekit.auth import CurrentPrincipal, allow_clients
from servicekit.db import SessionDep
from servicekit.problems import problem_responses

from services.participants import contacts
from services.participants.dependencies import InstitutionId
from services.participants.routers.provisioning import AccountId

router = APIRouter(prefix="/internal", tags=["internal"], responses=problem_responses(503))


@router.get(
    "/institutions/{institution_id}/contacts/{account_id}",
    response_model=contacts.ContactPublic,
    operation_id="get_contact_internal",
    dependencies=[allow_clients(contacts.CONTACTS_SCOPE)],
    summary="A person's name, e-mail, language and time zone (service clients with scope contacts:read)",
    responses=problem_responses(401, 403, 404, 422),
)
def get_contact(institution_id: InstitutionId, account_id: AccountId, who: CurrentPrincipal, session: SessionDep) -> Any:
    contacts.authorize(who, institution_id)
    return contacts.contact(session, institution_id, account_id)
