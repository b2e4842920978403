"""Eligibility: a program's rules judged on one applicant's answers, with reasons.

A rule is data (``Program.criteria``; ``schemas.programs`` describes the
language): a field of the form, an operator, maybe a value, maybe the roles it
applies to. A coordinator's override of one rule (passed or failed, with her
reason) replaces its automatic outcome, except where the rule does not apply.

The verdict: ``ineligible`` if any rule finally fails, else ``needs_review``
if any still needs a person's judgement, else ``eligible``.

Rules limited to some roles apply to the role she would hold: the one staff
assigned when accepting her, before that the one she seeks; a decision that
assigns another role is judged against that role's rules.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.participants.enums import Role, RuleOp, RuleOutcome, Verdict

_SYMBOLS = {RuleOp.gt: ">", RuleOp.gte: ">=", RuleOp.lt: "<", RuleOp.lte: "<="}
_COMPARE: dict[RuleOp, Callable[[Any, Any], bool]] = {
    RuleOp.gt: lambda a, b: a > b,
    RuleOp.gte: lambda a, b: a >= b,
    RuleOp.lt: lambda a, b: a < b,
    RuleOp.lte: lambda a, b: a <= b,
}


@dataclass(frozen=True)
class Applicant:
    """What the rules look at: the role she seeks, the role staff assigned her
    (None before), and her answers by field name (a missing field is unanswered)."""

    role: str
    assigned_role: str | None
    answers: Mapping[str, Any]


@dataclass(frozen=True)
class Judgement:
    """One rule on one applicant: its automatic outcome and why, and the
    final outcome once an override is applied."""

    rule_id: str
    outcome: RuleOutcome
    reason: str
    final: RuleOutcome


@dataclass(frozen=True)
class Evaluation:
    verdict: Verdict
    rules: tuple[Judgement, ...]


def _answered(value: Any) -> bool:
    return value is not None and value != [] and value != ""


def _judged_as(applicant: Applicant, role: str | None) -> tuple[str, str]:
    """The role to judge her for, and how to say it."""
    if role is not None and role != applicant.role:
        return role, f"is being assigned {role}"
    if applicant.assigned_role is not None and applicant.assigned_role != applicant.role:
        return applicant.assigned_role, f"was assigned {applicant.assigned_role}"
    return applicant.role, f"seeks {applicant.role}"


def evaluate_rule(rule: Mapping[str, Any], applicant: Applicant, role: Role | None = None) -> tuple[RuleOutcome, str]:
    """The automatic outcome of one rule, and why; ``role``: judged for this
    role (a decision assigning it), else for the one she holds or seeks."""
    field, op, expected = rule["field"], RuleOp(rule["op"]), rule.get("value")
    roles = rule.get("roles")
    judged_as, said = _judged_as(applicant, role)
    if roles and judged_as not in roles:
        return RuleOutcome.not_applicable, f"Applies to {' or '.join(roles)} applicants; this one {said}"
    value = applicant.answers.get(field)
    if not _answered(value):
        return RuleOutcome.failed, f"{field} is not answered"
    if op == RuleOp.review:
        return RuleOutcome.needs_review, f"A coordinator must review {field}"
    if op in (RuleOp.is_true, RuleOp.is_false):
        ok = value is (op == RuleOp.is_true)
        return _outcome(ok), f"{field} is {str(value).lower()}"
    if op in (RuleOp.in_, RuleOp.not_in):
        inside = value in expected
        ok = inside if op == RuleOp.in_ else not inside
        relation = "one of" if inside else "not one of"
        return _outcome(ok), f"{field} is {value!r}, {relation} [{', '.join(expected)}]"
    if op in (RuleOp.equals, RuleOp.not_equals):
        same = value == expected
        ok = same if op == RuleOp.equals else not same
        return _outcome(ok), f"{field} is {value!r}" + ("" if same else f", not {expected!r}")
    ok = _COMPARE[op](value, expected)
    return _outcome(ok), f"{field} is {value}, {'' if ok else 'not '}{_SYMBOLS[op]} {expected}"


def _outcome(ok: bool) -> RuleOutcome:
    return RuleOutcome.passed if ok else RuleOutcome.failed


def evaluate(
    criteria: Iterable[Mapping[str, Any]],
    applicant: Applicant,
    overrides: Mapping[str, bool],
    role: Role | None = None,
) -> Evaluation:
    """Every rule in order, and the verdict; ``overrides``: a coordinator's
    judgement (passed or not) by rule id."""
    judgements = []
    for rule in criteria:
        outcome, reason = evaluate_rule(rule, applicant, role)
        final = outcome
        if rule["id"] in overrides and outcome != RuleOutcome.not_applicable:
            final = _outcome(overrides[rule["id"]])
        judgements.append(Judgement(rule_id=rule["id"], outcome=outcome, reason=reason, final=final))
    return Evaluation(verdict=verdict(j.final for j in judgements), rules=tuple(judgements))


def verdict(finals: Iterable[RuleOutcome]) -> Verdict:
    finals = list(finals)
    if RuleOutcome.failed in finals:
        return Verdict.ineligible
    if RuleOutcome.needs_review in finals:
        return Verdict.needs_review
    return Verdict.eligible

