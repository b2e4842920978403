"""Participants (profiles), memberships, and data-subject rights.

Visibility of a profile: the full profile is for her and the institution's
coordinators; a member of a program she is in sees the public profile; nobody
else sees anything (``access.participant``).

Memberships change status as ``domain.memberships`` allows; withdrawing writes
``participant.withdrawn``.

Data-subject rights, per person (her account id) and institution:

- **export**: everything held about her, as JSON;
- **erasure**: her applications and participant record are kept only as far
  as the aggregates need them (role, statuses, dates, trained flags,
  completion dates), under a random pseudonym that nothing links to her; every
  personal field is blanked; her consents, identity data and eligibility
  overrides are deleted; completions lose their external ids; outbox payloads
  naming her account id name the pseudonym instead; idempotency records of her
  requests are deleted, as are the xAPI statement records of her completions
  and the stored roster uploads (not yet committed) that name her. Her
  current memberships are withdrawn
  (``participant.withdrawn``) and ``data_subject.erased`` tells the other
  services to erase what they hold for the participant and application ids it
  lists. The request is recorded (``ErasureRequest``) without naming her.
"""

import uuid
from typing import Any

from sqlalchemy import String, cast, delete, or_
from sqlmodel import Session, select

from servicekit.outbox import emit
from servicekit.pagination import paginate
from servicekit.problems import FieldError, conflict, forbidden, not_found
from servicekit import clock

from services.participants import consents, roster
from services.participants.applications import effective_status, represent, withdraw_membership
from services.participants.domain import memberships as machine
from services.participants.domain.applications import FINAL as FINAL_APPLICATION
from services.participants.domain.memberships import WITHDRAWABLE
from services.participants.models import (
    Application,
    Consent,
    EligibilityOverride,
    ErasureRequest,
    IdempotencyRecord,
    IdentityRecord,
    Membership,
    OutboxEvent,
    Participant,
    Program,
    TrainingCompletion,
    XapiStatement,
)
from services.participants.schemas.applications import ConsentPublic, IdentityPublic, OverridePublic
from services.participants.enums import AccountLink, ApplicationStatus, MembershipStatus
from services.participants.schemas.people import (
    ApplicationRecord,
    DataExport,
    ErasureSummary,
    MembershipPublic,
    ParticipantPublic,
    ParticipantUpdate,
    PublicProfile,
)
from services.participants.service import PLACES, Rows, get_institution
from services.participants.training import completion_public

EXTERNAL_IDS = ("lms_id", "hr_id", "sis_id")
ERASED_NAME = "[erased]"


# ---------------------------------------------------------------------------
# Profiles


def memberships_of(session: Session, participant: Participant) -> list[Membership]:
    stmt = select(Membership).where(
        Membership.institution_id == participant.institution_id, Membership.participant_id == participant.id
    )
    return list(session.exec(stmt.order_by(Membership.id)).all())


def full(session: Session, participant: Participant) -> ParticipantPublic:
    data = {name: getattr(participant, name) for name in ParticipantPublic.model_fields if hasattr(participant, name)}
    data["memberships"] = [MembershipPublic.model_validate(m) for m in memberships_of(session, participant)]
    return ParticipantPublic.model_validate(data)


def public_profile(participant: Participant) -> PublicProfile:
    return PublicProfile.model_validate(participant)


def list_participants(
    session: Session,
    institution_id: uuid.UUID,
    *,
    lms_id: str | None,
    limit: int,
    cursor: str | None,
    account: AccountLink = AccountLink.linked,
) -> Rows:
    """Profiles claimed by an account (default), roster profiles not claimed yet, or both."""
    get_institution(session, institution_id)
    stmt = select(Participant).where(Participant.institution_id == institution_id)
    if account == AccountLink.linked:
        stmt = stmt.where(Participant.account_id.is_not(None))  # type: ignore[union-attr]
    elif account == AccountLink.unlinked:
        stmt = stmt.where(Participant.account_id.is_(None))  # type: ignore[union-attr]
    if lms_id is not None:
        stmt = stmt.where(Participant.lms_id == lms_id)
    return paginate(session, stmt, Participant.id, limit=limit, cursor=cursor)


def update_participant(
    session: Session, participant: Participant, data: ParticipantUpdate, *, as_coordinator: bool
) -> Participant:
    changes = data.changes()
    if participant.erased_at is not None:
        raise conflict("This participant's data was erased")
    if not as_coordinator:
        refused = [name for name in EXTERNAL_IDS if name in changes]
        if refused:
            raise forbidden(f"Only the institution's coordinators may set {', '.join(refused)}")
    PLACES.check(changes, session=session, tenant=participant.institution_id)
    for name in EXTERNAL_IDS:
        value = changes.get(name)
        if value is None or value == getattr(participant, name):
            continue
        column = getattr(Participant, name)
        stmt = select(Participant.id).where(Participant.institution_id == participant.institution_id, column == value)
        if session.exec(stmt).first() is not None:
            detail = f"Another participant of this institution has {name} {value!r}"
            raise conflict(detail, errors=[FieldError(field=f"body.{name}", message=detail, code="already_exists")])
    for name, value in changes.items():
        setattr(participant, name, value)
    participant.updated_at = clock.now()
    session.add(participant)
    session.flush()
    return participant


# ---------------------------------------------------------------------------
# Memberships


def list_memberships(
    session: Session, program: Program, *, status: MembershipStatus | None, limit: int, cursor: str | None
) -> Rows:
    stmt = select(Membership).where(Membership.institution_id == program.institution_id, Membership.program_id == program.id)
    if status is not None:
        stmt = stmt.where(Membership.status == status)
    return paginate(session, stmt, Membership.id, limit=limit, cursor=cursor)


def change_membership(session: Session, membership: Membership, status: MembershipStatus, reason: str | None) -> Membership:
    refused = machine.refusal(membership.status, status)
    if refused is not None:
        raise conflict(refused.detail, **refused.facts())
    if status == MembershipStatus.withdrawn:
        withdraw_membership(session, membership, reason)
        return membership
    membership.status, membership.status_reason, membership.updated_at = status, reason, clock.now()
    session.add(membership)
    session.flush()
    return membership


# ---------------------------------------------------------------------------
# Data-subject rights


def _held(session: Session, institution_id: uuid.UUID, subject_id: str) -> tuple[list[Application], Participant | None]:
    get_institution(session, institution_id)
    applications = list(
        session.exec(
            select(Application)
            .where(Application.institution_id == institution_id, Application.applicant_id == subject_id)
            .order_by(Application.id)
        ).all()
    )
    participant = session.exec(
        select(Participant).where(Participant.institution_id == institution_id, Participant.account_id == subject_id)
    ).first()
    if not applications and participant is None:
        raise not_found("Personal data of this person")
    return applications, participant


def _completions(session: Session, participant: Participant | None) -> list[TrainingCompletion]:
    if participant is None:
        return []
    ids = [m.id for m in memberships_of(session, participant)]
    if not ids:
        return []
    stmt = select(TrainingCompletion).where(
        TrainingCompletion.institution_id == participant.institution_id,
        TrainingCompletion.membership_id.in_(ids),  # type: ignore[attr-defined]
    )
    return list(session.exec(stmt.order_by(TrainingCompletion.id)).all())


def export(session: Session, institution_id: uuid.UUID, subject_id: str) -> DataExport:
    applications, participant = _held(session, institution_id, subject_id)
    records = []
    for application, shown in zip(applications, represent(session, applications), strict=True):
        identity = consents.identity_of(session, application)
        overrides = session.exec(
            select(EligibilityOverride).where(
                EligibilityOverride.institution_id == institution_id, EligibilityOverride.application_id == application.id
            )
        ).all()
        records.append(
            ApplicationRecord(
                application=shown,
                consents=[
                    ConsentPublic.model_validate({**c.model_dump(), "active": c.withdrawn_at is None})
                    for c in consents.history(session, application)
                ],
                identity=IdentityPublic.model_validate(identity) if identity else None,
                eligibility_overrides={o.rule_id: OverridePublic.model_validate(o) for o in overrides},
            )
        )
    return DataExport(
        subject_id=subject_id,
        institution_id=institution_id,
        exported_at=clock.now(),
        applications=records,
        participant=full(session, participant) if participant else None,
        training_completions=completion_public(session, _completions(session, participant)),
    )


_BLANK_APPLICATION: dict[str, Any] = {
    "full_name": None, "email": None, "preferred_language": None, "campus_id": None, "academic_unit_id": None,
    "affiliation": None, "career_stage": None, "stem_field": None, "identifies_as_woman": None,
    "willing_to_train": None, "interest": None, "expectations": None, "experience": None,
    "years_of_experience": None, "funding_experience": None, "has_recognition": None, "recognition": None,
    "evidence": [], "decision_reason": None, "withdrawal_reason": None,
}  # fmt: skip
_BLANK_PARTICIPANT: dict[str, Any] = {
    "display_name": ERASED_NAME, "pronouns": None, "languages": [], "timezone": None, "campus_id": None,
    "academic_unit_id": None, "career_stage": None, "stem_fields": [], "bio": None,
    "lms_id": None, "hr_id": None, "sis_id": None, "email": None, "affiliation": None,
}  # fmt: skip


def _replace(value: Any, old: set[str], new: str) -> tuple[Any, bool]:
    """``value`` with every string in ``old`` replaced by ``new`` (recursively)."""
    if isinstance(value, str):
        return (new, True) if value in old else (value, False)
    if isinstance(value, list):
        pairs = [_replace(v, old, new) for v in value]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    if isinstance(value, dict):
        pairs = {k: _replace(v, old, new) for k, v in value.items()}
        return {k: p[0] for k, p in pairs.items()}, any(p[1] for p in pairs.values())
    return value, False


def erase(
    session: Session, institution_id: uuid.UUID, subject_id: str, *, requested_by_role: str, requested_by: str | None
) -> ErasureRequest:
    applications, participant = _held(session, institution_id, subject_id)
    now = clock.now()
    pseudonym = f"erased-{uuid.uuid4().hex}"
    identifiers = {subject_id}
    summary = dict.fromkeys(ErasureSummary.model_fields, 0)

    # Applications: withdraw what is still open, blank the form, pseudonymise.
    for application in applications:
        if application.email:
            identifiers.add(application.email)
        if effective_status(application, now) not in FINAL_APPLICATION:
            application.status, application.closed_at = ApplicationStatus.withdrawn, now
        for name, value in _BLANK_APPLICATION.items():
            setattr(application, name, value)
        application.applicant_id, application.updated_at = pseudonym, now
        session.add(application)
        summary["applications_pseudonymised"] += 1
    application_ids = [a.id for a in applications]
    if application_ids:
        attached = (
            (Consent, "consents_deleted"),
            (IdentityRecord, "identity_records_deleted"),
            (EligibilityOverride, "overrides_deleted"),
        )
        for model, key in attached:
            ids = model.application_id.in_(application_ids)  # type: ignore[attr-defined]
            result = session.execute(delete(model).where(model.institution_id == institution_id, ids))
            summary[key] = result.rowcount or 0

    # The participant: withdraw current memberships, blank the profile.
    memberships: list[Membership] = []
    if participant is not None:
        identifiers |= {v for v in (participant.lms_id, participant.hr_id, participant.sis_id, participant.email) if v}
        # The xAPI statements that recorded her completions (their ids, a digest naming her).
        result = session.execute(
            delete(XapiStatement).where(
                XapiStatement.institution_id == institution_id, XapiStatement.participant_id == participant.id
            )
        )
        summary["xapi_statements_deleted"] = result.rowcount or 0
        memberships = memberships_of(session, participant)
        for membership in memberships:
            if membership.status in WITHDRAWABLE:
                withdraw_membership(session, membership, None)
                summary["memberships_withdrawn"] += 1
            elif membership.status_reason is not None:
                membership.status_reason = None
                session.add(membership)
        for name, value in _BLANK_PARTICIPANT.items():
            setattr(participant, name, value)
        participant.account_id, participant.erased_at, participant.updated_at = pseudonym, now, now
        session.add(participant)
        summary["participants_pseudonymised"] = 1
        for completion in _completions(session, participant):
            if completion.external_id:
                identifiers.add(completion.external_id)
            completion.external_id = None
            session.add(completion)
            summary["completions_kept"] += 1
    session.flush()

    # Her identifiers in event payloads and in stored responses.
    for event in session.exec(
        select(OutboxEvent).where(
            OutboxEvent.tenant_id == str(institution_id),
            or_(*(cast(OutboxEvent.payload, String).contains(i, autoescape=True) for i in identifiers)),
        )
    ).all():
        payload, changed = _replace(event.payload, identifiers, pseudonym)
        if changed:
            event.payload = payload
            session.add(event)
            summary["events_scrubbed"] += 1
    result = session.execute(
        delete(IdempotencyRecord).where(
            or_(
                IdempotencyRecord.principal == subject_id,  # type: ignore[arg-type]
                *(cast(IdempotencyRecord.body, String).contains(i, autoescape=True) for i in identifiers),
            )
        )
    )
    summary["idempotency_records_deleted"] = result.rowcount or 0
    # Roster uploads still stored (not committed, within retention) that name her.
    summary["roster_uploads_deleted"] = roster.erase_uploads_naming(
        session, institution_id, identifiers - {subject_id, pseudonym}
    )

    record = ErasureRequest(
        institution_id=institution_id,
        pseudonym=pseudonym,
        requested_by_role=requested_by_role,
        requested_by=requested_by,
        requested_at=now,
        completed_at=clock.now(),
        summary=summary,
    )
    session.add(record)
    session.flush()
    emit(
        session,
        OutboxEvent,
        "data_subject.erased",
        subject=record.id,
        tenant_id=institution_id,
        payload={
            "erasure_request_id": str(record.id),
            "participant_id": str(participant.id) if participant else None,
            "application_ids": [str(i) for i in application_ids],
            "program_ids": sorted({str(a.program_id) for a in applications} | {str(m.program_id) for m in memberships}),
        },
    )
    return record


def list_erasures(session: Session, institution_id: uuid.UUID, *, limit: int, cursor: str | None) -> Rows:
    get_institution(session, institution_id)
    stmt = select(ErasureRequest).where(ErasureRequest.institution_id == institution_id)
    return paginate(session, stmt, ErasureRequest.id, limit=limit, cursor=cursor)


def get_erasure(session: Session, institution_id: uuid.UUID, request_id: uuid.UUID) -> ErasureRequest:
    record = session.exec(
        select(ErasureRequest).where(ErasureRequest.institution_id == institution_id, ErasureRequest.id == request_id)
    ).first()
    if record is None:
        raise not_found("Erasure request")
    return record

