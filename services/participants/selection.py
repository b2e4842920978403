"""Selection: the coordinators' side of the application lifecycle.

Decisions (one, or many at once: all or none). Accepting an applicant fixes
the role she will hold (``assigned_role``): the one the decision names (staff
split the confirmed participants by their needs, experience and objectives),
else the one she sought; she is judged against that role's rules. An accepted
application takes no further decision, so its role never changes silently.
Invitations to confirm by a
deadline (one, or every accepted application), the idempotent expiry sweep,
and the program's funnel. The machine itself is ``domain.applications``; the
applicant's own moves live in ``applications``.
"""

import uuid
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import update as sql_update
from sqlmodel import Session, select

from servicekit.problems import FieldError, ProblemError, conflict, field_problem
from servicekit.references import Ref, References
from servicekit.references import Rows as Records
from servicekit import clock

from services.participants import eligibility
from services.participants.applications import check_transition, effective_status, emit_event, of_program, program_of
from services.participants.domain.applications import role_of
from services.participants.domain.programs import SELECTING, roles_offered
from services.participants.models import Application, Membership, Program
from services.participants.schemas.applications import (
    BulkDecisionItem,
    FunnelPublic,
    RoleFunnel,
    StageCounts,
    StatusCounts,
)
from services.participants.enums import (
    ApplicationStatus as S,
    Decision,
    MembershipStatus,
    Role,
    Verdict,
)


def _apply_decision(
    application: Application, decision: Decision, role: Role | None, reason: str, by: str, now: datetime
) -> None:
    application.status = S(decision.value)
    application.decision, application.decision_reason = decision, reason
    application.decided_by, application.decided_at, application.updated_at = by, now, now
    if decision == Decision.accepted:
        application.assigned_role = role or application.role
    if decision == Decision.rejected:
        application.closed_at = now


def _decision_errors(
    application: Application, decision: Decision, role: Role | None, verdict: Verdict, now: datetime
) -> list[str]:
    try:
        check_transition("decide", application, now, S(decision.value))
    except ProblemError as exc:
        return [exc.detail or "not allowed"]
    if decision == Decision.accepted and verdict != Verdict.eligible:
        as_role = f" as {role}" if role is not None and role != application.role else ""
        return [f"Eligibility{as_role} is {verdict}: override or review the rules first"]
    return []


def _check_role(program: Program, role: Role | None, field: str) -> None:
    offered = roles_offered(program.mode)
    if role is not None and role not in offered:
        raise field_problem(field, f"This program's roles are: {', '.join(offered)}", code="role_not_offered")


def _check_selecting(program: Program) -> None:
    if program.status not in SELECTING:
        raise conflict(
            f"Decisions and invitations are made during the call and selection (the program is in {program.status})",
            program_status=program.status,
        )


def decide(
    session: Session, application: Application, decision: Decision, reason: str, by: str, role: Role | None = None
) -> Application:
    """One decision; ``role``: with an acceptance, the role staff assign (default: the one she sought)."""
    now = clock.now()
    program = program_of(session, application)
    _check_role(program, role, "body.role")
    check_transition("decide", application, now, S(decision.value))
    _check_selecting(program)
    verdict = eligibility.eligibility(session, application, role)
    if decision == Decision.accepted and verdict.verdict != Verdict.eligible:
        open_rules = [r for r in verdict.rules if r.final in ("failed", "needs_review")]
        as_role = f" as {role}" if role is not None and role != application.role else ""
        raise conflict(
            f"The application is {verdict.verdict}{as_role}; override the open rules with a reason before accepting",
            errors=[FieldError(field=f"criteria.{r.rule_id}", message=r.reason, code=r.final) for r in open_rules],
        )
    _apply_decision(application, decision, role, reason, by, now)
    session.add(application)
    session.flush()
    emit_event(session, application, "application.decided", decision=decision.value, decided_at=now.isoformat())
    return application


# Bodies name applications of the program they are posted to (servicekit.references).
PROGRAM_APPLICATION = Records("an application of this program", (Application.id,), tenant=Application.institution_id,
                              parent=Application.program_id)
DECISIONS = References(Ref("decisions[].application_id", PROGRAM_APPLICATION), operations=("decide_applications",))
INVITATIONS = References(Ref("application_ids[]", PROGRAM_APPLICATION), operations=("invite_applications",))


def decide_many(session: Session, program: Program, items: list[BulkDecisionItem], by: str) -> list[Application]:
    """All decisions are made, or none (a 409 lists every refused one)."""
    _check_selecting(program)
    now = clock.now()
    ids = [item.application_id for item in items]
    found = {
        a.id: a
        for a in session.exec(
            select(Application)
            .where(
                Application.institution_id == program.institution_id,
                Application.program_id == program.id,
                Application.id.in_(ids),  # type: ignore[attr-defined]
            )
            .with_for_update()
        ).all()
    }
    DECISIONS.check({"decisions": items}, session=session, tenant=program.institution_id, parent=program.id)
    offered = roles_offered(program.mode)
    not_offered = [i for i, item in enumerate(items) if item.role is not None and item.role not in offered]
    if not_offered:
        message = f"This program's roles are: {', '.join(offered)}"
        raise ProblemError(
            422,
            f"Roles this program does not offer: {', '.join(f'body.decisions.{i}.role' for i in not_offered)}",
            slug="validation-error",
            title="Request validation failed",
            errors=[FieldError(field=f"body.decisions.{i}.role", message=message, code="role_not_offered") for i in not_offered],
        )
    roles = {item.application_id: item.role for item in items}
    verdicts = {k: v.verdict for k, v in eligibility.evaluations(session, list(found.values()), roles).items()}
    errors = [
        FieldError(field=f"body.decisions.{i}.decision", message=message, code="not_allowed")
        for i, item in enumerate(items)
        for message in _decision_errors(
            found[item.application_id], item.decision, item.role, verdicts[item.application_id], now
        )
    ]
    if errors:
        raise conflict(f"{len(errors)} of {len(items)} decisions cannot be made; none was made", errors=errors)
    decided = []
    for item in items:
        application = found[item.application_id]
        _apply_decision(application, item.decision, item.role, item.reason, by, now)
        session.add(application)
        decided.append(application)
    session.flush()
    for application, item in zip(decided, items, strict=True):
        emit_event(session, application, "application.decided", decision=item.decision.value, decided_at=now.isoformat())
    return decided


def _deadline(program: Program, confirm_by: datetime | None, now: datetime) -> datetime:
    deadline = confirm_by or now + timedelta(days=program.confirmation_days)
    if deadline <= now:
        raise field_problem("body.confirm_by", "The deadline must be in the future", code="in_the_past")
    return deadline


def _invite(session: Session, application: Application, deadline: datetime, now: datetime) -> None:
    application.status, application.invited_at, application.confirm_by = S.invited, now, deadline
    application.updated_at = now
    session.add(application)


def invite(session: Session, application: Application, confirm_by: datetime | None) -> Application:
    now = clock.now()
    check_transition("invite", application, now)
    program = program_of(session, application)
    _check_selecting(program)
    deadline = _deadline(program, confirm_by, now)
    _invite(session, application, deadline, now)
    session.flush()
    emit_event(session, application, "application.invited", confirm_by=deadline.isoformat())
    return application


def invite_many(
    session: Session, program: Program, application_ids: list[uuid.UUID] | None, confirm_by: datetime | None
) -> list[Application]:
    """Invite the given accepted applications (default: every accepted one); all or none."""
    _check_selecting(program)
    now = clock.now()
    deadline = _deadline(program, confirm_by, now)
    stmt = of_program(program)
    if application_ids is None:
        stmt = stmt.where(Application.status == S.accepted)
    else:
        stmt = stmt.where(Application.id.in_(application_ids))  # type: ignore[attr-defined]
    found = {a.id: a for a in session.exec(stmt.order_by(Application.id).with_for_update()).all()}
    INVITATIONS.check({"application_ids": application_ids}, session=session, tenant=program.institution_id, parent=program.id)
    order = application_ids if application_ids is not None else list(found)
    errors = []
    for i, app_id in enumerate(order):
        try:
            check_transition("invite", found[app_id], now)
        except ProblemError as exc:
            errors.append(FieldError(field=f"body.application_ids.{i}", message=exc.detail or "", code="not_allowed"))
    if errors:
        raise conflict(f"{len(errors)} of {len(order)} applications cannot be invited; none was", errors=errors)
    invited = [found[app_id] for app_id in order]
    for application in invited:
        _invite(session, application, deadline, now)
    session.flush()
    for application in invited:
        emit_event(session, application, "application.invited", confirm_by=deadline.isoformat())
    return invited


def expire_due(
    session: Session, *, institution_id: uuid.UUID | None = None, program_id: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """Write down every invitation past its deadline; safe to run concurrently.

    The UPDATE's own WHERE re-checks ``status = 'invited'`` on each row it
    takes (PostgreSQL re-evaluates it after waiting for a concurrent sweep's
    lock), so a row expires in exactly one transaction and its event is
    emitted exactly once.
    """
    now = clock.now()
    conditions = [Application.status == S.invited, Application.confirm_by <= now]
    if institution_id is not None:
        conditions.append(Application.institution_id == institution_id)
    if program_id is not None:
        conditions.append(Application.program_id == program_id)
    stmt = (
        sql_update(Application)
        .where(*conditions)
        .values(status=S.expired.value, closed_at=Application.confirm_by, updated_at=now)
        .returning(Application.id)
        .execution_options(synchronize_session=False)
    )
    expired = sorted(session.execute(stmt).scalars().all())
    if expired:
        stmt = select(Application).where(Application.id.in_(expired)).order_by(Application.id)  # type: ignore[attr-defined]
        for application in session.exec(stmt.execution_options(populate_existing=True)).all():
            deadline = application.confirm_by.isoformat()  # type: ignore[union-attr]
            emit_event(session, application, "application.expired", confirm_by=deadline)
    return expired


# ---------------------------------------------------------------------------
# Funnel


def funnel(session: Session, program: Program) -> FunnelPublic:
    now = clock.now()
    applications = session.exec(
        select(Application).where(Application.institution_id == program.institution_id, Application.program_id == program.id)
    ).all()
    memberships = session.exec(
        select(Membership).where(Membership.institution_id == program.institution_id, Membership.program_id == program.id)
    ).all()
    roles = roles_offered(program.mode)
    stages = {role: Counter() for role in roles}
    statuses = {role: Counter() for role in roles}
    for a in applications:
        status = effective_status(a, now)
        role = role_of(a.role, a.assigned_role)
        stages.setdefault(role, Counter())
        statuses.setdefault(role, Counter())
        statuses[role][status.value] += 1
        stages[role]["applied"] += a.submitted_at is not None
        stages[role]["accepted"] += a.decision == Decision.accepted
        stages[role]["invited"] += a.invited_at is not None
        stages[role]["confirmed"] += a.confirmed_at is not None
        stages[role]["withdrawn"] += status == S.withdrawn
    withdrawn_applications = {a.id for a in applications if a.status == S.withdrawn}
    for m in memberships:
        role = Role(m.role)
        stages[role]["trained"] += m.trained
        stages[role]["completed"] += m.status == MembershipStatus.completed
        # A member the coordinators withdrew (her application still says confirmed).
        left = m.status == MembershipStatus.withdrawn and m.application_id not in withdrawn_applications
        stages[role]["withdrawn"] += left
    by_role = [
        RoleFunnel(role=role, stages=StageCounts(**stages[role]), by_status=StatusCounts(**statuses[role]))
        for role in stages
    ]
    total_stages: Counter = sum((stages[r] for r in stages), Counter())
    total_statuses: Counter = sum((statuses[r] for r in statuses), Counter())
    return FunnelPublic(
        program_id=program.id,
        total=StageCounts(**total_stages),
        by_status=StatusCounts(**total_statuses),
        by_role=by_role,
    )
