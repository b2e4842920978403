"""Administrations, drafts and the one submission per person.

Windows: before ``opens_at`` an administration is scheduled, from ``opens_at``
until ``closes_at`` (or an early closing) it is open; drafts and submissions
are accepted only while it is open (409 saying which side of the window).
A person's response is found by her pseudonym, HMAC(key, program_id + sub), in
every administration; only non-anonymous ones also store her participant id.
A submission to a perceived-achievement instrument also stores her dyad's keyed
pseudonym, HMAC(key, "dyad:" + program_id + dyad id): her dyad in the program is
read from the sessions service with her own token when she submits (the active
one, else the completed one, else the dissolved one; the latest first).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from servicekit import clock
from servicekit.auth import Principal
from servicekit.outbox import emit
from servicekit.pagination import paginate
from servicekit.problems import FieldError, ProblemError, conflict, not_found
from servicekit.tenancy import scoped

from services.evaluation import catalog
from services.evaluation.domain import Role, check_response, validate_response
from services.evaluation.enums import Submission
from services.evaluation.models import AdministrationRow, OutboxEvent, ResponseRow

ROLE_AUDIENCE = {"mentor": "mentors", "mentee": "mentees"}


def now() -> datetime:
    return clock.now()


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def state(adm: AdministrationRow, at: datetime | None = None) -> str:
    at = at or now()
    if adm.closed_at is not None or at >= _aware(adm.closes_at):
        return "closed"
    if at < _aware(adm.opens_at):
        return "scheduled"
    return "open"


def public(adm: AdministrationRow, **extra: Any) -> dict[str, Any]:
    data = adm.model_dump()
    data["state"] = state(adm)
    data.update(extra)
    return data


def role_of(membership_role: str) -> str:
    return "mentor" if membership_role in ("mentor", "peer_mentor") else "mentee"


@dataclass(frozen=True)
class Respondent:
    """The caller as a respondent of one administration."""

    subject: str
    participant_id: uuid.UUID
    role: str
    pseudonym: str


def create(session: Session, who: Principal, institution_id: uuid.UUID, body: Any) -> AdministrationRow:
    resolved = catalog.resolve(session, who, body.instrument_id)
    adm = AdministrationRow(
        institution_id=institution_id,
        program_id=body.program_id,
        instrument_id=resolved.id,
        instrument_key=resolved.instrument.key,
        instrument_version=resolved.instrument.version,
        audience=body.audience.value,
        moment=body.moment.value,
        label=body.label,
        opens_at=body.opens_at,
        closes_at=body.closes_at,
        anonymous=body.anonymous,
        created_by=who.subject,
    )
    session.add(adm)
    session.flush()
    return adm


def get(session: Session, who: Principal, administration_id: uuid.UUID) -> AdministrationRow:
    adm = session.exec(scoped(select(AdministrationRow).where(AdministrationRow.id == administration_id), AdministrationRow, who)).first()
    if adm is None:
        raise not_found("Administration")
    return adm


def list_for_staff(session: Session, who: Principal, program_id: uuid.UUID | None, limit: int, cursor: str | None) -> tuple[list[AdministrationRow], str | None]:
    stmt = scoped(select(AdministrationRow), AdministrationRow, who)
    if program_id is not None:
        stmt = stmt.where(AdministrationRow.program_id == program_id)
    return paginate(session, stmt, AdministrationRow.id, limit=limit, cursor=cursor)


def close(session: Session, who: Principal, adm: AdministrationRow) -> AdministrationRow:
    if state(adm) == "closed":
        raise conflict("The administration is already closed")
    adm.closed_at = now()
    session.add(adm)
    emit(session, OutboxEvent, "administration.closed", subject=adm.id, tenant_id=adm.institution_id,
         payload={"administration_id": str(adm.id), "program_id": str(adm.program_id), "moment": adm.moment})
    session.flush()
    return adm


def open_for_me(
    session: Session, institution_id: uuid.UUID, roles: dict[uuid.UUID, str], limit: int, cursor: str | None
) -> tuple[list[AdministrationRow], str | None]:
    if not roles:
        return [], None
    at = now()
    allowed = [
        and_(AdministrationRow.program_id == pid, AdministrationRow.audience.in_(["everyone", ROLE_AUDIENCE[role]]))  # type: ignore[attr-defined]
        for pid, role in roles.items()
    ]
    stmt = select(AdministrationRow).where(
        AdministrationRow.institution_id == institution_id,
        or_(*allowed),
        AdministrationRow.opens_at <= at,
        AdministrationRow.closes_at > at,
        AdministrationRow.closed_at.is_(None),  # type: ignore[union-attr]
    )
    return paginate(session, stmt, AdministrationRow.id, limit=limit, cursor=cursor)


def statuses(session: Session, adm_ids: list[uuid.UUID], pseudonyms: dict[uuid.UUID, str]) -> dict[uuid.UUID, str]:
    if not adm_ids:
        return {}
    rows = session.exec(select(ResponseRow).where(ResponseRow.administration_id.in_(adm_ids))).all()  # type: ignore[attr-defined]
    return {r.administration_id: r.status for r in rows if pseudonyms.get(r.administration_id) == r.pseudonym}


def mine(session: Session, adm: AdministrationRow, me: Respondent) -> ResponseRow | None:
    return session.exec(
        select(ResponseRow).where(
            ResponseRow.institution_id == adm.institution_id,
            ResponseRow.administration_id == adm.id,
            ResponseRow.pseudonym == me.pseudonym,
        )
    ).first()


def _window(adm: AdministrationRow) -> None:
    s = state(adm)
    if s == "scheduled":
        raise conflict(f"The administration is not open yet: it opens at {_aware(adm.opens_at).isoformat()}", window="not_yet_open")
    if s == "closed":
        when = adm.closed_at or adm.closes_at
        raise conflict(f"The administration is closed: it closed at {_aware(when).isoformat()}", window="closed")


def _invalid(issues: Any, prefix: str = "body.answers") -> ProblemError:
    errors = [FieldError(field=f"{prefix}.{i.item_id}", message=i.message, code=i.code) for i in issues]
    names = ", ".join(e.field for e in errors[:5])
    return ProblemError(422, f"{len(errors)} answer(s) are invalid: {names}", slug="validation-error",
                        title="Request validation failed", errors=errors)


def _jsonable(answers: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in answers.items()}


def save_draft(session: Session, adm: AdministrationRow, me: Respondent, answers: dict[str, Any]) -> ResponseRow:
    existing = mine(session, adm, me)
    if existing is not None and existing.status == Submission.SUBMITTED:
        raise conflict("You already submitted this questionnaire; it cannot change", submitted=True)
    _window(adm)
    instrument = catalog.load(session, adm.institution_id, adm.instrument_id)
    issues = check_response(instrument, answers, role=Role(me.role), complete=False)
    if issues:
        raise _invalid(issues)
    clean = _jsonable(validate_response(instrument, answers, role=Role(me.role), complete=False))
    row = existing or ResponseRow(
        institution_id=adm.institution_id, program_id=adm.program_id, administration_id=adm.id, pseudonym=me.pseudonym,
        participant_id=None if adm.anonymous else me.participant_id,
        account_id=None if adm.anonymous else me.subject, role=me.role,
    )
    row.answers = clean
    row.saved_at = now()
    session.add(row)
    session.flush()
    return row


def submit(session: Session, adm: AdministrationRow, me: Respondent, answers: dict[str, Any] | None,
           dyad_ref: str | None = None) -> ResponseRow:
    """The one submission; ``dyad_ref`` (perceived-achievement instruments) ties it to her dyad's pseudonym."""
    existing = mine(session, adm, me)
    if existing is not None and existing.status == Submission.SUBMITTED:
        raise conflict("You already submitted this questionnaire: it is accepted exactly once", submitted=True)
    _window(adm)
    if answers is not None:
        existing = save_draft(session, adm, me, answers)
    if existing is None:
        raise conflict("There is nothing to submit: save your answers first (or send them with the submission)")
    instrument = catalog.load(session, adm.institution_id, adm.instrument_id)
    issues = check_response(instrument, existing.answers, role=Role(me.role), complete=True)
    if issues:
        raise _invalid(issues, prefix="answers")
    existing.status = Submission.SUBMITTED.value
    existing.submitted_at = now()
    existing.dyad_ref = dyad_ref
    session.add(existing)
    emit(session, OutboxEvent, "response.submitted", subject=adm.id, tenant_id=adm.institution_id,
         payload={"administration_id": str(adm.id), "program_id": str(adm.program_id), "moment": adm.moment, "role": me.role})
    session.flush()
    return existing


def respondents(session: Session, adm: AdministrationRow) -> dict[str, Any]:
    rows = session.exec(
        select(ResponseRow.status, ResponseRow.role, ResponseRow.participant_id).where(
            ResponseRow.institution_id == adm.institution_id, ResponseRow.administration_id == adm.id
        )
    ).all()
    submitted = [r for r in rows if r[0] == Submission.SUBMITTED]
    by_role = {"mentor": 0, "mentee": 0}
    for r in submitted:
        by_role[r[1]] = by_role.get(r[1], 0) + 1
    return {
        "administration_id": adm.id,
        "anonymous": adm.anonymous,
        "drafts": sum(1 for r in rows if r[0] == Submission.DRAFT),
        "submitted": len(submitted),
        "submitted_by_role": by_role,
        "participant_ids": None if adm.anonymous else sorted((r[2] for r in submitted if r[2] is not None), key=str),
    }


def count_for_program(session: Session, who: Principal, program_id: uuid.UUID) -> int:
    stmt = scoped(select(func.count()).select_from(AdministrationRow).where(AdministrationRow.program_id == program_id), AdministrationRow, who)
    return int(session.exec(stmt).one())
