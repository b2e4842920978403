"""Provisioned profiles: the participant profile of an account that an
institution's identity provider manages (SCIM 2.0, through the gateway).

The gateway's ``/scim/v2`` endpoints create and change accounts; the profile
of each account lives here, so the gateway calls

- ``PUT /internal/institutions/{institution_id}/provisioned-participants/{account_id}``
  to create or update the profile (display name and the LMS, HR and SIS ids);
  the call is idempotent, so the gateway may retry it;
- ``DELETE`` on the same path when the identity provider deletes the user: the
  profile goes only if she never took part in a program (no membership);
  otherwise it stays, with her program records, and the answer is 409.

Who may call: the gateway forwards the token of the integration client that
made the SCIM request, so the caller is a client with scope ``scim`` whose
``tid`` is this institution; a client with scope ``scim`` of another
institution gets 404 (the institution is hidden from it), anything else 403.
A platform admin (a person) may call it for any institution. The paths are
under ``/internal``, which the gateway never routes from outside: only the
gateway, which has just checked that the account belongs to the client's
institution, reaches them.

An external id already held by another participant of the institution is a
409 naming the field; an absent field is left as it is, ``null`` clears it.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ConfigDict
from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.problems import FieldError, conflict, forbidden, not_found
from servicekit import clock
from servicekit import scopes


from services.participants.models import Membership, Participant
from services.participants.schemas.common import CreateModel, ExternalId, Name
from services.participants.service import get_institution

PROVISIONING_SCOPE = scopes.SCIM
EXTERNAL_IDS = ("lms_id", "hr_id", "sis_id")


class ProvisionedProfile(CreateModel):
    """What the institution's identity provider says about her profile.

    ``display_name`` is always given; an absent external id is kept as it is,
    ``null`` clears it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"display_name": "Ana López", "hr_id": "emp-0042", "sis_id": None}],
        },
    )

    display_name: Name
    lms_id: ExternalId | None = None
    hr_id: ExternalId | None = None
    sis_id: ExternalId | None = None


def authorize(who: Principal, institution_id: uuid.UUID) -> None:
    """A client with scope ``scim`` of this institution, or a platform admin."""
    if who.is_client:
        if PROVISIONING_SCOPE in who.scopes:
            if who.tenant_id == str(institution_id):
                return
            raise not_found("Institution")
        raise forbidden(f"Provisioning profiles needs an integration client with scope {PROVISIONING_SCOPE}")
    if who.is_admin:
        return
    raise forbidden(f"Provisioning profiles needs an integration client with scope {PROVISIONING_SCOPE} or the admin role")


def _find(session: Session, institution_id: uuid.UUID, account_id: str, *, lock: bool = False) -> Participant | None:
    stmt = select(Participant).where(Participant.institution_id == institution_id, Participant.account_id == account_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def upsert(
    session: Session, institution_id: uuid.UUID, account_id: str, data: ProvisionedProfile
) -> tuple[Participant, bool]:
    """Create or update her profile; returns it and whether it was created."""
    get_institution(session, institution_id)
    participant = _find(session, institution_id, account_id, lock=True)
    given: dict[str, Any] = {name: getattr(data, name) for name in data.model_fields_set}
    for name in EXTERNAL_IDS:
        value = given.get(name)
        if value is None or (participant is not None and value == getattr(participant, name)):
            continue
        column = getattr(Participant, name)
        taken = select(Participant.id).where(Participant.institution_id == institution_id, column == value)
        if session.exec(taken).first() is not None:
            detail = f"Another participant of this institution has {name} {value!r}"
            raise conflict(detail, errors=[FieldError(field=f"body.{name}", message=detail, code="already_exists")])
    now = clock.now()
    created = participant is None
    if participant is None:
        participant = Participant(
            institution_id=institution_id,
            account_id=account_id,
            display_name=data.display_name,
            created_at=now,
            updated_at=now,
        )
    elif participant.erased_at is not None:  # pragma: no cover - an erased record no longer carries the account id
        raise conflict("This participant's data was erased")
    for name, value in given.items():
        setattr(participant, name, value)
    participant.updated_at = now
    session.add(participant)
    session.flush()
    return participant, created


def remove(session: Session, institution_id: uuid.UUID, account_id: str) -> None:
    """Delete her profile if she never took part in a program (409 otherwise)."""
    get_institution(session, institution_id)
    participant = _find(session, institution_id, account_id, lock=True)
    if participant is None:
        raise not_found("Participant")
    took_part = select(Membership.id).where(
        Membership.institution_id == institution_id, Membership.participant_id == participant.id
    )
    if session.exec(took_part).first() is not None:
        raise conflict("She took part in a program: her profile is kept with her program records")
    session.delete(participant)
    session.flush()
