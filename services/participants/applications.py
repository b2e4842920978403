"""Applications: the form, the lifecycle, invitations and their expiry.

The status machine is ``domain.applications``; any move it refuses is a 409
problem that names the current status and what is allowed from it.

Expiry is computed on read: an invitation past ``confirm_by`` reads as
``expired`` everywhere (representations, filters, the funnel) and can no
longer be confirmed. ``selection.expire_due`` writes it down (and emits
``application.expired``) with one conditional ``UPDATE ... RETURNING``: run
by any number of replicas or jobs at once, each invitation expires once.

This module holds the form and the applicant's own moves; ``selection``
holds the coordinators' (decisions, invitations, the sweep, the funnel).

Every transition writes an event in the same transaction:
``application.submitted``, ``application.decided``, ``application.invited``,
``participant.confirmed``, ``application.declined``, ``application.expired``,
``application.withdrawn`` (and ``participant.withdrawn`` when a member leaves).
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import Session, select

from servicekit.outbox import emit
from servicekit.pagination import paginate
from servicekit.problems import FieldError, conflict, field_problem
from servicekit import clock

from services.participants import consents, eligibility, programs, roster
from services.participants.consents import active_consents, grant_consents, put_identity
from services.participants.domain import applications as machine
from services.participants.domain.applications import FINAL, Action, role_of
from services.participants.domain.memberships import WITHDRAWABLE
from services.participants.domain.programs import CONFIRMABLE, roles_offered
from services.participants.models import (
    Application,
    Campus,
    Consent,
    Membership,
    OutboxEvent,
    Participant,
    Program,
)
from services.participants.schemas.applications import ApplicationCreate, ApplicationPublic, ApplicationUpdate
from services.participants.enums import ApplicationStatus as S
from services.participants.enums import ConsentPurpose, MembershipStatus, ProgramStatus, Role
from services.participants.service import PLACES, Rows

GENERAL_FIELDS = (
    "full_name", "email", "affiliation", "career_stage", "stem_field", "identifies_as_woman",
    "willing_to_train", "interest", "expectations", "experience",
)  # fmt: skip
MENTOR_FIELDS = ("funding_experience", "has_recognition")


# ---------------------------------------------------------------------------
# Status, computed on read


def effective_status(application: Application, now: datetime) -> S:
    return machine.effective_status(application.status, application.confirm_by, now)


def status_column(now: datetime) -> Any:
    """SQL for the effective status (an overdue invitation is expired)."""
    overdue = and_(Application.status == S.invited, Application.confirm_by <= now)
    return case((overdue, S.expired.value), else_=Application.status)


def check_transition(action: Action, application: Application, now: datetime, target: S | None = None) -> S:
    """The effective status, if the machine allows ``action`` from it (to ``target``); else a 409."""
    refused = machine.refusal(action, application.status, application.confirm_by, now, target)
    if refused is not None:
        raise conflict(refused.detail, **refused.facts())
    return effective_status(application, now)


def role_column() -> Any:
    """``domain.applications.role_of`` as a SQL expression, for filters."""
    return func.coalesce(Application.assigned_role, Application.role)


def emit_event(session: Session, application: Application, event: str, **extra: Any) -> None:
    payload = {
        "application_id": str(application.id),
        "program_id": str(application.program_id),
        "account_id": application.applicant_id,
        "role": application.role,
        "assigned_role": application.assigned_role,
        "status": application.status,
        **extra,
    }
    emit(session, OutboxEvent, event, subject=application.id, tenant_id=application.institution_id, payload=payload)


def of_program(program: Program) -> Any:
    return select(Application).where(
        Application.institution_id == program.institution_id, Application.program_id == program.id
    )


def program_of(session: Session, application: Application, lock: bool = False) -> Program:
    stmt = select(Program).where(Program.institution_id == application.institution_id, Program.id == application.program_id)
    return session.exec(stmt.with_for_update() if lock else stmt).one()


# ---------------------------------------------------------------------------
# Representation


def represent(session: Session, applications: list[Application]) -> list[ApplicationPublic]:
    now = clock.now()
    verdicts = {k: v.verdict for k, v in eligibility.evaluations(session, applications).items()}
    memberships: dict[uuid.UUID, uuid.UUID] = {}
    if applications:
        stmt = select(Membership.application_id, Membership.id).where(
            Membership.institution_id.in_({a.institution_id for a in applications}),  # type: ignore[attr-defined]
            Membership.application_id.in_([a.id for a in applications]),  # type: ignore[attr-defined]
        )
        memberships = {row[0]: row[1] for row in session.exec(stmt).all()}
    shown = []
    for a in applications:
        status = effective_status(a, now)
        data = {name: getattr(a, name) for name in ApplicationPublic.model_fields if hasattr(a, name)}
        data.update(
            status=status,
            eligibility=verdicts[a.id],
            membership_id=memberships.get(a.id),
            closed_at=a.closed_at or (a.confirm_by if status == S.expired else None),
        )
        shown.append(ApplicationPublic.model_validate(data))
    return shown


def represent_one(session: Session, application: Application) -> ApplicationPublic:
    return represent(session, [application])[0]


# ---------------------------------------------------------------------------
# The form


def _check_role(program: Program, role: str, field: str = "body.role") -> None:
    offered = roles_offered(program.mode)
    if role not in offered:
        raise field_problem(field, f"This program takes applications for: {', '.join(offered)}", code="role_not_offered")


def create(session: Session, applicant_id: str, institution_id: uuid.UUID, data: ApplicationCreate) -> Application:
    program = session.exec(
        select(Program).where(Program.institution_id == institution_id, Program.id == data.program_id)
    ).first()
    if program is None or program.status == ProgramStatus.draft:
        raise field_problem("body.program_id", "No program with this id has a call here", code="unknown_program")
    open_now, why = programs.accepting_applications(session, program)
    if not open_now:
        raise conflict(why, errors=[FieldError(field="body.program_id", message=why, code="call_closed")])
    _check_role(program, data.role)
    values = data.model_dump(exclude={"program_id", "role", "consents", "identity"})
    PLACES.check(values, session=session, tenant=institution_id)
    if data.identity is not None and (
        data.consents is None or ConsentPurpose.matching_identity not in data.consents.purposes
    ):
        raise field_problem(
            "body.identity", "Identity data is kept only with the matching_identity consent", code="consent_required"
        )
    taken = select(Application.id).where(Application.program_id == program.id, Application.applicant_id == applicant_id)
    if (existing := session.exec(taken).first()) is not None:
        raise conflict(
            "You already have an application to this program",
            errors=[FieldError(field="body.program_id", message="Already applied", code="already_exists")],
            application_id=str(existing),
        )
    now = clock.now()
    application = Application(
        institution_id=institution_id,
        program_id=program.id,
        applicant_id=applicant_id,
        role=data.role,
        status=S.draft,
        **values,
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    session.flush()
    if data.consents is not None:
        grant_consents(session, application, program, data.consents.privacy_notice_version, data.consents.purposes)
    if data.identity is not None:
        put_identity(session, application, data.identity)
    return application


def list_mine(session: Session, applicant_id: str, institution_id: uuid.UUID, *, limit: int, cursor: str | None) -> Rows:
    stmt = select(Application).where(Application.institution_id == institution_id, Application.applicant_id == applicant_id)
    return paginate(session, stmt, Application.id, limit=limit, cursor=cursor)


def list_for_program(
    session: Session, program: Program, *, status: S | None, role: Role | None, limit: int, cursor: str | None
) -> Rows:
    stmt = of_program(program)
    if status is not None:
        stmt = stmt.where(status_column(clock.now()) == status.value)
    if role is not None:
        stmt = stmt.where(role_column() == role.value)
    return paginate(session, stmt, Application.id, limit=limit, cursor=cursor)


def update(session: Session, application: Application, data: ApplicationUpdate) -> Application:
    now = clock.now()
    if effective_status(application, now) != S.draft:
        raise conflict(
            f"Only a draft can be changed; this application is {application.status}", current_status=application.status
        )
    changes = data.changes()
    if "role" in changes:
        _check_role(program_of(session, application), changes["role"])
    PLACES.check(changes, session=session, tenant=application.institution_id)
    for name, value in changes.items():
        setattr(application, name, value)
    application.updated_at = now
    session.add(application)
    session.flush()
    return application


# ---------------------------------------------------------------------------
# Transitions


def submit(session: Session, application: Application) -> Application:
    now = clock.now()
    check_transition("submit", application, now)
    program = program_of(session, application)
    open_now, why = programs.accepting_applications(session, program)
    if not open_now:
        raise conflict(why)
    required = GENERAL_FIELDS + (MENTOR_FIELDS if application.role == Role.mentor else ())
    missing = [
        FieldError(field=name, message="Required to submit", code="missing")
        for name in required
        if getattr(application, name) in (None, "")
    ]
    if ConsentPurpose.program not in active_consents(session, application):
        missing.append(FieldError(field="consents.program", message="Consent to run the program is needed", code="missing"))
    if missing:
        raise conflict(
            "The application is incomplete: " + ", ".join(e.field for e in missing),
            errors=missing,
            current_status=application.status,
        )
    application.status, application.submitted_at, application.updated_at = S.submitted, now, now
    session.add(application)
    session.flush()
    emit_event(session, application, "application.submitted")
    return application


def confirm(session: Session, application: Application) -> tuple[Application, Participant, Membership]:
    """She takes her place: her participant record (created on her first
    confirmation in the institution) and her membership with the role staff
    assigned when accepting her."""
    now = clock.now()
    check_transition("confirm", application, now)
    program = program_of(session, application)
    if program.status not in CONFIRMABLE:
        raise conflict(
            f"Places can no longer be confirmed (the program is in {program.status})", program_status=program.status
        )
    participant = session.exec(
        select(Participant).where(
            Participant.institution_id == application.institution_id, Participant.account_id == application.applicant_id
        )
    ).first()
    if participant is None:
        # A roster-imported profile with her e-mail becomes hers; else a new one.
        participant = roster.link_on_confirmation(session, application) or _new_participant(session, application, program)
    application.status, application.confirmed_at, application.updated_at = S.confirmed, now, now
    membership = Membership(
        institution_id=application.institution_id,
        program_id=program.id,
        participant_id=participant.id,
        application_id=application.id,
        role=role_of(application.role, application.assigned_role),
        status=MembershipStatus.active,
        created_at=now,
        updated_at=now,
    )
    session.add_all([application, membership])
    session.flush()
    emit(
        session,
        OutboxEvent,
        "participant.confirmed",
        subject=participant.id,
        tenant_id=application.institution_id,
        payload={
            "participant_id": str(participant.id),
            "membership_id": str(membership.id),
            "application_id": str(application.id),
            "program_id": str(program.id),
            "account_id": application.applicant_id,
            "role": membership.role,
            "confirmed_at": now.isoformat(),
        },
    )
    return application, participant, membership


def _new_participant(session: Session, application: Application, program: Program) -> Participant:
    timezone = None
    if application.campus_id is not None:
        campus = session.exec(
            select(Campus).where(Campus.institution_id == application.institution_id, Campus.id == application.campus_id)
        ).one()
        timezone = campus.timezone
    if timezone is None:
        timezone = programs.timezones(session, [program])[program.institution_id]
    now = clock.now()
    participant = Participant(
        institution_id=application.institution_id,
        account_id=application.applicant_id,
        display_name=application.full_name or "Participant",
        email=application.email.lower() if application.email else None,
        affiliation=application.affiliation,
        languages=[application.preferred_language] if application.preferred_language else list(program.languages[:1]),
        timezone=timezone,
        campus_id=application.campus_id,
        academic_unit_id=application.academic_unit_id,
        career_stage=application.career_stage,
        stem_fields=[application.stem_field] if application.stem_field else [],
        created_at=now,
        updated_at=now,
    )
    session.add(participant)
    session.flush()
    return participant


def decline(session: Session, application: Application) -> Application:
    now = clock.now()
    check_transition("decline", application, now)
    application.status, application.closed_at, application.updated_at = S.declined, now, now
    session.add(application)
    session.flush()
    emit_event(session, application, "application.declined")
    return application


def withdraw(session: Session, application: Application, reason: str | None) -> list[str]:
    """She withdraws; if she was a member, her membership is withdrawn too.
    Returns what changed, in words."""
    now = clock.now()
    check_transition("withdraw", application, now)
    application.status, application.closed_at, application.updated_at = S.withdrawn, now, now
    application.withdrawal_reason = reason
    session.add(application)
    session.flush()
    emit_event(session, application, "application.withdrawn")
    effects = ["application withdrawn"]
    membership = session.exec(
        select(Membership).where(
            Membership.institution_id == application.institution_id, Membership.application_id == application.id
        )
    ).first()
    if membership is not None and membership.status in WITHDRAWABLE:
        withdraw_membership(session, membership, reason)
        effects.append("membership withdrawn")
    return effects


def withdraw_consent(session: Session, application: Application, purpose: ConsentPurpose) -> tuple[Consent, list[str]]:
    """She withdraws one consent. Withdrawing the program consent withdraws her
    application (and membership) first, unless it already ended."""
    consents.require_active(session, application, purpose)
    lifecycle: list[str] = []
    if purpose == ConsentPurpose.program:
        if effective_status(application, clock.now()) not in FINAL:
            lifecycle = withdraw(session, application, "Consent to run the program withdrawn")
        else:
            lifecycle = [f"the application was already {application.status}"]
    return consents.withdraw(session, application, purpose, lifecycle)


def withdraw_membership(session: Session, membership: Membership, reason: str | None) -> None:
    now = clock.now()
    participant = session.get(Participant, membership.participant_id)
    membership.status, membership.status_reason, membership.updated_at = MembershipStatus.withdrawn, reason, now
    session.add(membership)
    session.flush()
    emit(
        session,
        OutboxEvent,
        "participant.withdrawn",
        subject=membership.participant_id,
        tenant_id=membership.institution_id,
        payload={
            "participant_id": str(membership.participant_id),
            "membership_id": str(membership.id),
            "program_id": str(membership.program_id),
            # Whose account loses the role (the gateway's participant roles, gateway/participant_roles.py).
            "account_id": participant.account_id if participant is not None else None,
            "role": membership.role,
            "withdrawn_at": now.isoformat(),
        },
    )
