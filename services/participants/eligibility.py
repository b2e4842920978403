"""Eligibility: the program's rules evaluated on an application, with reasons.

Rules are data on the program (``Program.criteria``; the language is
described in ``schemas.programs``). Evaluation is pure and runs on read, so
results always reflect the current rules and answers. A coordinator's
override of one rule (with her reason) replaces its automatic outcome.

The verdict: ``ineligible`` if any rule finally fails, else ``needs_review``
if any still needs a person's judgement, else ``eligible``.

Rules limited to some roles (``roles``) apply to the role she would hold: the
one staff assigned when accepting her, before that the one she seeks; a
decision that assigns another role is judged against that role's rules.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, select

from servicekit.problems import conflict, not_found
from servicekit import clock


from services.participants.models import Application, EligibilityOverride, Program
from services.participants.schemas.applications import EligibilityPublic, OverridePublic, RuleResult
from services.participants.schemas.enums import ApplicationStatus, Role, RuleOp, RuleOutcome, Verdict
from services.participants.schemas.programs import expression

# Decisions are still open on these: overriding makes sense only here.
OVERRIDABLE = {ApplicationStatus.submitted, ApplicationStatus.waitlisted}

_SYMBOLS = {RuleOp.gt: ">", RuleOp.gte: ">=", RuleOp.lt: "<", RuleOp.lte: "<="}
_COMPARE = {
    RuleOp.gt: lambda a, b: a > b,
    RuleOp.gte: lambda a, b: a >= b,
    RuleOp.lt: lambda a, b: a < b,
    RuleOp.lte: lambda a, b: a <= b,
}


def _answered(value: Any) -> bool:
    return value is not None and value != [] and value != ""


def _role(application: Application, role: Role | None) -> tuple[str, str]:
    """The role to judge her for, and how to say it."""
    if role is not None and role != application.role:
        return role, f"is being assigned {role}"
    if application.assigned_role is not None and application.assigned_role != application.role:
        return application.assigned_role, f"was assigned {application.assigned_role}"
    return application.role, f"seeks {application.role}"


def evaluate_rule(rule: dict[str, Any], application: Application, role: Role | None = None) -> tuple[RuleOutcome, str]:
    """The automatic outcome of one rule on one application, and why; ``role``:
    judged for this role (a decision assigning it), else for ``role_of`` her."""
    field, op, expected = rule["field"], RuleOp(rule["op"]), rule.get("value")
    roles = rule.get("roles")
    judged_as, said = _role(application, role)
    if roles and judged_as not in roles:
        return RuleOutcome.not_applicable, f"Applies to {' or '.join(roles)} applicants; this one {said}"
    value = getattr(application, field)
    if not _answered(value):
        return RuleOutcome.failed, f"{field} is not answered"
    if op == RuleOp.review:
        return RuleOutcome.needs_review, f"A coordinator must review {field}"
    if op in (RuleOp.is_true, RuleOp.is_false):
        wanted = op == RuleOp.is_true
        ok = value is wanted
        return (RuleOutcome.passed if ok else RuleOutcome.failed), f"{field} is {str(value).lower()}"
    if op in (RuleOp.in_, RuleOp.not_in):
        inside = value in expected
        ok = inside if op == RuleOp.in_ else not inside
        listed = ", ".join(expected)
        relation = "one of" if inside else "not one of"
        return (RuleOutcome.passed if ok else RuleOutcome.failed), f"{field} is {value!r}, {relation} [{listed}]"
    if op in (RuleOp.equals, RuleOp.not_equals):
        same = value == expected
        ok = same if op == RuleOp.equals else not same
        return (RuleOutcome.passed if ok else RuleOutcome.failed), f"{field} is {value!r}" + (
            "" if same else f", not {expected!r}"
        )
    ok = _COMPARE[op](value, expected)
    return (
        RuleOutcome.passed if ok else RuleOutcome.failed,
        f"{field} is {value}, {'' if ok else 'not '}{_SYMBOLS[op]} {expected}",
    )


def evaluate(
    criteria: list[dict[str, Any]],
    application: Application,
    overrides: dict[str, EligibilityOverride],
    role: Role | None = None,
) -> EligibilityPublic:
    results = []
    for rule in criteria:
        outcome, reason = evaluate_rule(rule, application, role)
        override = overrides.get(rule["id"])
        final = outcome
        if override is not None and outcome != RuleOutcome.not_applicable:
            final = RuleOutcome.passed if override.passed else RuleOutcome.failed
        results.append(
            RuleResult(
                rule_id=rule["id"],
                expression=expression(rule),
                description=rule["description"],
                outcome=outcome,
                reason=reason,
                override=OverridePublic.model_validate(override) if override is not None else None,
                final=final,
            )
        )
    return EligibilityPublic(application_id=application.id, verdict=verdict(r.final for r in results), rules=results)


def verdict(finals: Iterable[RuleOutcome]) -> Verdict:
    finals = list(finals)
    if RuleOutcome.failed in finals:
        return Verdict.ineligible
    if RuleOutcome.needs_review in finals:
        return Verdict.needs_review
    return Verdict.eligible


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
    """Every application's evaluation, in three queries whatever their number;
    ``roles``: judge these applications for the role a decision assigns."""
    criteria = criteria_for(session, applications)
    overrides = overrides_for(session, applications)
    roles = roles or {}
    return {a.id: evaluate(criteria[a.program_id], a, overrides[a.id], roles.get(a.id)) for a in applications}


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
