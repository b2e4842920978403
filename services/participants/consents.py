"""Consent per purpose, and the optional identity data it governs.

Each consent is opt-in, timestamped and given for the program's current
privacy-notice version; a withdrawal stamps it (the row stays as history).
Withdrawing has these documented effects, in the same transaction:

- ``program``: she can no longer take part. Her application is withdrawn
  (unless already final) and so is her membership, as if she had withdrawn
  herself (``application.withdrawn``, ``participant.withdrawn``).
- ``matching_identity``: her identity data is deleted, so nothing remains to
  use in matching; the matching service's list no longer includes her.
- ``research``: nothing here is deleted; the ``consent.withdrawn`` event tells
  the evaluation service to leave her out of evaluation and research.
- ``quotes``: nothing here is deleted; the ``consent.withdrawn`` event tells the
  evaluation service that no excerpt of her interview may be published any more.

Every withdrawal writes ``consent.withdrawn`` (application, program, purpose).

Identity data (gender identity, ethnicity, first generation) is optional and
self-described. It is readable by her, and by the matching service (scope
``identity:read``) for members whose ``matching_identity`` consent is active;
coordinators never see it. It can only be held while that consent is active.
"""

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, select

from servicekit.outbox import emit
from servicekit.pagination import paginate
from servicekit.problems import FieldError, conflict, not_found
from servicekit import clock


from services.participants.domain.applications import FINAL
from services.participants.domain.memberships import CURRENT
from services.participants.models import (
    Application,
    Consent,
    IdentityRecord,
    Membership,
    OutboxEvent,
    Participant,
    Program,
)
from services.participants.schemas.applications import IdentityData, MatchingIdentity, ResearchMember
from services.participants.enums import ConsentPurpose
from services.participants.service import Rows


def _of(application: Application) -> Any:
    return select(Consent).where(
        Consent.institution_id == application.institution_id, Consent.application_id == application.id
    )


def history(session: Session, application: Application) -> list[Consent]:
    """Every consent of the application, oldest first (ids are time-ordered)."""
    return list(session.exec(_of(application).order_by(Consent.id)).all())  # type: ignore[arg-type]


def list_page(session: Session, application: Application, *, limit: int, cursor: str | None) -> Rows:
    return paginate(session, _of(application), Consent.id, limit=limit, cursor=cursor)


def active_consents(session: Session, application: Application) -> dict[ConsentPurpose, Consent]:
    return {ConsentPurpose(c.purpose): c for c in history(session, application) if c.withdrawn_at is None}


def _check_version(program: Program, version: str) -> None:
    if version != program.privacy_notice_version:
        detail = f"The privacy notice is now version {program.privacy_notice_version}; read it and consent to that version"
        raise conflict(
            detail,
            errors=[FieldError(field="body.privacy_notice_version", message=detail, code="notice_version_changed")],
            current_version=program.privacy_notice_version,
        )


def grant_consents(
    session: Session, application: Application, program: Program, version: str, purposes: list[ConsentPurpose]
) -> list[Consent]:
    """Grant each purpose for ``version``; a purpose already granted for it is kept as is."""
    if application.status in FINAL:
        raise conflict(
            f"The application is {application.status}: no consent can be given for it",
            current_status=application.status,
        )
    _check_version(program, version)
    active = active_consents(session, application)
    now = clock.now()
    granted = []
    for purpose in purposes:
        current = active.get(purpose)
        if current is not None and current.privacy_notice_version == version:
            granted.append(current)
            continue
        if current is not None:  # given for an older notice: superseded
            current.withdrawn_at = now
            session.add(current)
        consent = Consent(
            institution_id=application.institution_id,
            application_id=application.id,
            purpose=purpose,
            privacy_notice_version=version,
            granted_at=now,
        )
        session.add(consent)
        granted.append(consent)
    session.flush()
    return granted


def require_active(session: Session, application: Application, purpose: ConsentPurpose) -> Consent:
    consent = active_consents(session, application).get(purpose)
    if consent is None:
        raise conflict(f"There is no active consent for {purpose.value} on this application", purpose=purpose.value)
    return consent


def withdraw(
    session: Session, application: Application, purpose: ConsentPurpose, lifecycle: Sequence[str] = ()
) -> tuple[Consent, list[str]]:
    """Withdraw one purpose and apply its documented effects; returns them in words.
    ``lifecycle``: what withdrawing the program consent already did to her
    application (``applications.withdraw_consent`` runs the lifecycle first)."""
    consent = require_active(session, application, purpose)
    now = clock.now()
    consent.withdrawn_at = now
    session.add(consent)
    session.flush()
    effects: list[str] = [f"consent for {purpose.value} withdrawn"]
    if purpose == ConsentPurpose.program:
        effects += lifecycle
    elif purpose == ConsentPurpose.matching_identity:
        if delete_identity(session, application):
            effects.append("identity data deleted; it is no longer available for matching")
        else:
            effects.append("no identity data was held")
    elif purpose == ConsentPurpose.quotes:
        effects.append(
            "no excerpt of her interview is published from now on (consent.withdrawn tells the evaluation service)"
        )
    else:
        effects.append(
            "she is left out of evaluation and research from now on (consent.withdrawn tells the evaluation service)"
        )
    membership_id = session.exec(
        select(Membership.id).where(
            Membership.institution_id == application.institution_id, Membership.application_id == application.id
        )
    ).first()
    emit(
        session,
        OutboxEvent,
        "consent.withdrawn",
        subject=application.id,
        tenant_id=application.institution_id,
        payload={
            "application_id": str(application.id),
            "program_id": str(application.program_id),
            "membership_id": str(membership_id) if membership_id else None,
            "purpose": purpose.value,
            "withdrawn_at": now.isoformat(),
        },
    )
    return consent, effects


# ---------------------------------------------------------------------------
# Identity data


def identity_of(session: Session, application: Application) -> IdentityRecord | None:
    stmt = select(IdentityRecord).where(
        IdentityRecord.institution_id == application.institution_id, IdentityRecord.application_id == application.id
    )
    return session.exec(stmt).first()


def put_identity(session: Session, application: Application, data: IdentityData) -> IdentityRecord:
    if ConsentPurpose.matching_identity not in active_consents(session, application):
        raise conflict(
            "Identity data is kept only while you consent to its use in matching (purpose matching_identity)",
            errors=[FieldError(field="consents.matching_identity", message="Consent required", code="consent_required")],
        )
    record = identity_of(session, application) or IdentityRecord(
        institution_id=application.institution_id, application_id=application.id
    )
    record.gender_identity, record.ethnicity, record.first_generation = (
        data.gender_identity,
        data.ethnicity,
        data.first_generation,
    )
    record.updated_at = clock.now()
    session.add(record)
    session.flush()
    return record


def get_identity(session: Session, application: Application) -> IdentityRecord:
    record = identity_of(session, application)
    if record is None:
        raise not_found("Identity data")
    return record


def delete_identity(session: Session, application: Application) -> bool:
    record = identity_of(session, application)
    if record is None:
        return False
    session.delete(record)
    session.flush()
    return True


def matching_identity(session: Session, program: Program, *, limit: int, cursor: str | None) -> Rows:
    """Identity records of the program's current members whose
    matching_identity consent is active, by application id."""
    consenting = select(Consent.application_id).where(
        Consent.institution_id == program.institution_id,
        Consent.purpose == ConsentPurpose.matching_identity,
        Consent.withdrawn_at.is_(None),  # type: ignore[union-attr]
    )
    members = select(Membership.application_id).where(
        Membership.institution_id == program.institution_id,
        Membership.program_id == program.id,
        Membership.status.in_(CURRENT),  # type: ignore[attr-defined]
    )
    stmt = select(IdentityRecord).where(
        IdentityRecord.institution_id == program.institution_id,
        IdentityRecord.application_id.in_(members),  # type: ignore[attr-defined]
        IdentityRecord.application_id.in_(consenting),  # type: ignore[attr-defined]
    )
    return paginate(session, stmt, IdentityRecord.application_id, limit=limit, cursor=cursor)


def matching_items(session: Session, records: list[IdentityRecord]) -> list[MatchingIdentity]:
    if not records:
        return []
    ids = [r.application_id for r in records]
    rows = session.exec(
        select(Membership.application_id, Membership.participant_id, Membership.role).where(
            Membership.institution_id == records[0].institution_id,
            Membership.application_id.in_(ids),  # type: ignore[attr-defined]
        )
    ).all()
    by_application = {row[0]: (row[1], row[2]) for row in rows}
    return [
        MatchingIdentity(
            application_id=r.application_id,
            participant_id=by_application[r.application_id][0],
            role=by_application[r.application_id][1],
            gender_identity=r.gender_identity,
            ethnicity=r.ethnicity,
            first_generation=r.first_generation,
        )
        for r in records
    ]


# ---------------------------------------------------------------------------
# Research: who may be interviewed (the evaluation service, scope research:read)


def _consenting(program: Program, purpose: ConsentPurpose) -> Any:
    return select(Consent.application_id).where(
        Consent.institution_id == program.institution_id,
        Consent.purpose == purpose,
        Consent.withdrawn_at.is_(None),  # type: ignore[union-attr]
    )


def research_members(session: Session, program: Program, *, limit: int, cursor: str | None) -> Rows:
    """Memberships of the program's current members whose research consent is active, by membership id."""
    stmt = select(Membership).where(
        Membership.institution_id == program.institution_id,
        Membership.program_id == program.id,
        Membership.status.in_(CURRENT),  # type: ignore[attr-defined]
        Membership.application_id.in_(_consenting(program, ConsentPurpose.research)),  # type: ignore[attr-defined]
    )
    return paginate(session, stmt, Membership.id, limit=limit, cursor=cursor)


def research_items(session: Session, program: Program, memberships: list[Membership]) -> list[ResearchMember]:
    if not memberships:
        return []
    application_ids = [m.application_id for m in memberships]
    participants = {
        p.id: p
        for p in session.exec(
            select(Participant).where(
                Participant.institution_id == program.institution_id,
                Participant.id.in_([m.participant_id for m in memberships]),  # type: ignore[attr-defined]
            )
        ).all()
    }
    applications = {
        a.id: a
        for a in session.exec(
            select(Application).where(
                Application.institution_id == program.institution_id,
                Application.id.in_(application_ids),  # type: ignore[attr-defined]
            )
        ).all()
    }
    quoting = set(
        session.exec(
            _consenting(program, ConsentPurpose.quotes).where(Consent.application_id.in_(application_ids))  # type: ignore[attr-defined]
        ).all()
    )
    items = []
    for m in memberships:
        person, application = participants[m.participant_id], applications[m.application_id]
        fields = list(person.stem_fields) or ([application.stem_field] if application.stem_field else [])
        items.append(
            ResearchMember(
                participant_id=m.participant_id,
                membership_id=m.id,
                application_id=m.application_id,
                role=m.role,
                status=m.status,
                career_stage=person.career_stage or application.career_stage,
                stem_fields=fields,
                quotes=m.application_id in quoting,
            )
        )
    return items
