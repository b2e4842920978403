"""How to reach a person, for the notifications service (scope ``contacts:read``).

Her name, e-mail address, language and time zone in one institution, and the
institution's name, time zone and default language (a message's sender and
fallbacks). Her participant profile answers first; before she has one (an
applicant), her latest application in the institution does. Nothing else about
her leaves here: no answer of a form, no identity data.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from servicekit import scopes
from servicekit.auth import Principal
from servicekit.problems import forbidden, not_found
from servicekit.tenancy import client_with

from services.participants.models import Application, Institution, Participant

CONTACTS_SCOPE = scopes.CONTACTS_READ


class ContactPublic(BaseModel):
    account_id: str
    participant_id: uuid.UUID | None = Field(description="Her participant profile, if she has one (a public profile link).")
    name: str | None
    email: str | None
    language: str | None = Field(description="Her language (ISO 639-1), if she gave one.")
    timezone: str | None = Field(description="Her time zone (IANA), if she gave one.")
    institution_name: str
    institution_timezone: str
    institution_language: str | None = Field(description="The institution's first default language.")


def authorize(who: Principal, institution_id: uuid.UUID) -> None:
    """A client with scope ``contacts:read`` that may act in this institution."""
    if not who.is_client:
        raise forbidden(f"Contacts are for service clients with scope {CONTACTS_SCOPE}")
    if not client_with(who, CONTACTS_SCOPE, institution_id):
        raise not_found("Contact")


def contact(session: Session, institution_id: uuid.UUID, account_id: str) -> ContactPublic:
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise not_found("Contact")
    base = {
        "account_id": account_id,
        "institution_name": institution.name,
        "institution_timezone": institution.timezone,
        "institution_language": institution.default_languages[0] if institution.default_languages else None,
    }
    person = session.exec(select(Participant).where(
        Participant.institution_id == institution_id, Participant.account_id == account_id,
        col(Participant.erased_at).is_(None))).first()
    if person is not None:
        return ContactPublic(**base, participant_id=person.id, name=person.display_name, email=person.email,
                             language=person.languages[0] if person.languages else None, timezone=person.timezone)
    application = session.exec(select(Application).where(
        Application.institution_id == institution_id, Application.applicant_id == account_id)
        .order_by(col(Application.created_at).desc())).first()
    if application is None:
        raise not_found("Contact")
    return ContactPublic(**base, participant_id=None, name=application.full_name, email=application.email,
                         language=application.preferred_language, timezone=None)
