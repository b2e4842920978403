"""Eligibility of applications: the program's rules (``domain.eligibility``)
judged on read, so results always reflect the current rules and answers, and
coordinators' overrides, recorded with their reasons."""

import uuid
from collections import defaultdict
from typing import Any

from sqlmodel import Session, select

from servicekit.problems import conflict, not_found
from servicekit import clock

from services.participants.domain.applications import OVERRIDABLE
from services.participants.domain.eligibility import Applicant, evaluate
from services.participants.models import Application, EligibilityOverride, Program
from services.participants.schemas.applications import EligibilityPublic, OverridePublic, RuleResult
from services.participants.enums import EligibilityField, Role
from services.participants.schemas.programs import expression


def applicant(application: Application) -> Applicant:
    """What the rules see of an application."""
    answers = {field.value: getattr(application, field.value) for field in EligibilityField}
    return Applicant(role=application.role, assigned_role=application.assigned_role, answers=answers)


def _public(
    criteria: list[dict[str, Any]],
    application: Application,
    overrides: dict[str, EligibilityOverride],
    role: Role | None,
) -> EligibilityPublic:
    evaluation = evaluate(criteria, applicant(application), {k: o.passed for k, o in overrides.items()}, role)
    rules = [
        RuleResult(
            rule_id=judged.rule_id,
            expression=expression(rule),
            description=rule["description"],
            outcome=judged.outcome,
            reason=judged.reason,
            override=OverridePublic.model_validate(overrides[rule["id"]]) if rule["id"] in overrides else None,
            final=judged.final,
        )
        for rule, judged in zip(criteria, evaluation.rules, strict=True)
    ]
    return EligibilityPublic(application_id=application.id, verdict=evaluation.verdict, rules=rules)


def overrides_for(session: Session, applications: list[Application]) -> dict[uuid.UUID, dict[str, EligibilityOverride]]:
    found: dict[uuid.UUID, dict[str, EligibilityOverride]] = defaultdict(dict)
    if not applications:
        return found
    stmt = select(EligibilityOverride).where(
        EligibilityOverride.institution_id.in_({a.institution_id for a in applications}),  # type: ignore[attr-defined]
        EligibilityOverride.application_id.in_([a.id for a in applications]),  # type: ignore[attr-defined]
    )
    for override in session.exec(stmt).all():
        found[override.application_id][override.rule_id] = override
    return found


def criteria_for(session: Session, applications: list[Application]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    ids = {a.program_id for a in applications}
    if not ids:
        return {}
    stmt = select(Program.id, Program.criteria).where(
        Program.institution_id.in_({a.institution_id for a in applications}),  # type: ignore[attr-defined]
        Program.id.in_(ids),  # type: ignore[attr-defined]
    )
    return {row[0]: row[1] for row in session.exec(stmt).all()}


def evaluations(
    session: Session, applications: list[Application], roles: dict[uuid.UUID, Role | None] | None = None
) -> dict[uuid.UUID, EligibilityPublic]:
    """Every application's evaluation, in two queries whatever their number;
    ``roles``: judge these applications for the role a decision assigns."""
    criteria = criteria_for(session, applications)
    overrides = overrides_for(session, applications)
    roles = roles or {}
    return {a.id: _public(criteria[a.program_id], a, overrides[a.id], roles.get(a.id)) for a in applications}


def eligibility(session: Session, application: Application, role: Role | None = None) -> EligibilityPublic:
    return evaluations(session, [application], {application.id: role})[application.id]


def override(
    session: Session, application: Application, rule_id: str, *, passed: bool, reason: str, by: str
) -> EligibilityPublic:
    """Record (or replace) a coordinator's judgement of one rule."""
    if application.status not in OVERRIDABLE:
        raise conflict(
            f"Eligibility can be overridden only before the decision (the application is {application.status})",
            current_status=application.status,
        )
    program = session.exec(
        select(Program).where(Program.institution_id == application.institution_id, Program.id == application.program_id)
    ).one()
    if rule_id not in {rule["id"] for rule in program.criteria}:
        raise not_found("Eligibility rule")
    record = session.exec(
        select(EligibilityOverride).where(
            EligibilityOverride.institution_id == application.institution_id,
            EligibilityOverride.application_id == application.id,
            EligibilityOverride.rule_id == rule_id,
        )
    ).first()
    if record is None:
        record = EligibilityOverride(
            institution_id=application.institution_id, application_id=application.id, rule_id=rule_id,
            passed=passed, reason=reason, decided_by=by,
        )  # fmt: skip
    record.passed, record.reason, record.decided_by, record.decided_at = passed, reason, by, clock.now()
    session.add(record)
    session.flush()
    return eligibility(session, application)
