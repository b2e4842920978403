"""Programs (cohorts): settings, dated phases, criteria, privacy notice, the
status machine (``domain.programs``), and the public call.

A move the machine refuses is a 409 problem that says why. Opening the call
needs a privacy notice and a call phase that has not ended. Every change of
status writes ``program.status_changed`` to the outbox in the same
transaction.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import false
from sqlmodel import Session, delete, select

from servicekit.outbox import emit
from servicekit.pagination import paginate
from servicekit.problems import FieldError, conflict, field_problem, not_found
from servicekit import clock

from servicekit.tenancy import coordinates

from services.participants.access import is_person_of, own_participant
from services.participants.domain import programs as machine
from services.participants.domain.memberships import CURRENT
from services.participants.domain.programs import CRITERIA_EDITABLE, call_closed_because, call_closes_at, roles_offered
from services.participants.models import Institution, Membership, OutboxEvent, Program, ProgramPhase
from services.participants.enums import PhaseKind, ProgramStatus
from services.participants.schemas.programs import (
    CallPublic,
    EligibilityRulePublic,
    Phase,
    PhasePublic,
    PrivacyNoticePublic,
    ProgramCreate,
    ProgramPublic,
    ProgramUpdate,
)
from services.participants.service import Rows, get_institution

def phases_of(session: Session, program: Program) -> list[ProgramPhase]:
    return phases_by_program(session, [program])[program.id]


def phases_by_program(session: Session, programs: Iterable[Program]) -> dict[uuid.UUID, list[ProgramPhase]]:
    programs = list(programs)
    found: dict[uuid.UUID, list[ProgramPhase]] = defaultdict(list)
    if not programs:
        return found
    order = {k.value: i for i, k in enumerate(PhaseKind)}
    stmt = select(ProgramPhase).where(
        ProgramPhase.institution_id.in_({p.institution_id for p in programs}),  # type: ignore[attr-defined]
        ProgramPhase.program_id.in_([p.id for p in programs]),  # type: ignore[attr-defined]
    )
    for phase in session.exec(stmt).all():
        found[phase.program_id].append(phase)
    for phases in found.values():
        phases.sort(key=lambda p: order[p.kind])
    return found


def phase(phases: list[ProgramPhase], kind: PhaseKind) -> ProgramPhase | None:
    return next((p for p in phases if p.kind == kind), None)


def applications_close_at(phases: list[ProgramPhase], timezone: str) -> datetime | None:
    call = phase(phases, PhaseKind.call)
    return call_closes_at(call.ends_on, timezone) if call else None


def timezones(session: Session, programs: Iterable[Program]) -> dict[uuid.UUID, str]:
    ids = {p.institution_id for p in programs}
    if not ids:
        return {}
    stmt = select(Institution.id, Institution.timezone).where(Institution.id.in_(ids))  # type: ignore[attr-defined]
    return {row[0]: row[1] for row in session.exec(stmt).all()}


def close_at(session: Session, program: Program) -> datetime | None:
    return applications_close_at(phases_of(session, program), timezones(session, [program])[program.institution_id])


def accepting_applications(session: Session, program: Program) -> tuple[bool, str]:
    """Whether the call takes applications now, and if not, why."""
    closes = close_at(session, program) if program.status == ProgramStatus.call_open else None
    why = call_closed_because(program.status, closes, clock.now())
    return (False, why) if why is not None else (True, "open")


# ---------------------------------------------------------------------------
# Representations


# ProgramPublic fields read straight from the row (the others are computed).
_COPIED = [
    name for name in ProgramPublic.model_fields
    if name not in {"phases", "criteria", "privacy_notice", "roles", "applications_close_at"}
]


def _public(program: Program, phases: list[ProgramPhase], timezone: str) -> ProgramPublic:
    notice = (
        PrivacyNoticePublic(version=program.privacy_notice_version, text=program.privacy_notice_text or "")
        if program.privacy_notice_version
        else None
    )
    return ProgramPublic(
        **{name: getattr(program, name) for name in _COPIED},
        phases=[PhasePublic.model_validate(p) for p in phases],
        criteria=[EligibilityRulePublic.of(rule) for rule in program.criteria],
        privacy_notice=notice,
        roles=roles_offered(program.mode),
        applications_close_at=applications_close_at(phases, timezone),
    )


def public(session: Session, programs: list[Program]) -> list[ProgramPublic]:
    phases = phases_by_program(session, programs)
    zones = timezones(session, programs)
    return [_public(p, phases[p.id], zones[p.institution_id]) for p in programs]


def public_one(session: Session, program: Program) -> ProgramPublic:
    return public(session, [program])[0]


# ---------------------------------------------------------------------------
# Creating and changing


def _set_phases(session: Session, program: Program, phases: list[Phase]) -> None:
    session.exec(
        delete(ProgramPhase).where(
            ProgramPhase.institution_id == program.institution_id,  # type: ignore[arg-type]
            ProgramPhase.program_id == program.id,  # type: ignore[arg-type]
        )
    )
    for p in phases:
        session.add(ProgramPhase(institution_id=program.institution_id, program_id=program.id, **p.model_dump()))


def create_program(session: Session, institution_id: uuid.UUID, data: ProgramCreate) -> Program:
    get_institution(session, institution_id)
    now = clock.now()
    values = data.model_dump(exclude={"phases", "criteria", "privacy_notice"})
    program = Program(
        institution_id=institution_id,
        **values,
        criteria=[rule.model_dump(mode="json") for rule in data.criteria],
        privacy_notice_version=data.privacy_notice.version if data.privacy_notice else None,
        privacy_notice_text=data.privacy_notice.text if data.privacy_notice else None,
        status=ProgramStatus.draft,
        status_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(program)
    session.flush()
    _set_phases(session, program, data.phases)
    session.flush()
    return program


def _refuse_change(field: str, detail: str) -> Any:
    return conflict(detail, errors=[FieldError(field=f"body.{field}", message=detail, code="not_changeable_now")])


def update_program(session: Session, program: Program, data: ProgramUpdate) -> Program:
    status = ProgramStatus(program.status)
    if status == ProgramStatus.closed:
        raise conflict("A closed program cannot change")
    changes = data.changes()
    if "mode" in changes and changes["mode"] != program.mode and status != ProgramStatus.draft:
        raise _refuse_change("mode", "The mentoring mode can change only while the program is a draft")
    if "criteria" in changes and status not in CRITERIA_EDITABLE:
        raise _refuse_change(
            "criteria", f"Eligibility criteria can change only until selection ends (the program is in {status})"
        )
    if "phases" in changes:
        kinds = {p.kind for p in data.phases or []}
        if status != ProgramStatus.draft and PhaseKind.call not in kinds:
            raise _refuse_change("phases", "Once the call has opened, the program keeps its call phase")
        _set_phases(session, program, data.phases or [])
    if "privacy_notice" in changes:
        notice = data.privacy_notice
        assert notice is not None  # not nullable in the schema
        if notice.version == program.privacy_notice_version and notice.text != program.privacy_notice_text:
            raise field_problem(
                "body.privacy_notice.version",
                "A changed privacy notice needs a new version: consents are given for one version",
                code="version_unchanged",
            )
        program.privacy_notice_version, program.privacy_notice_text = notice.version, notice.text
    if "criteria" in changes:
        program.criteria = [rule.model_dump(mode="json") for rule in data.criteria or []]
    for name in changes.keys() - {"phases", "privacy_notice", "criteria"}:
        setattr(program, name, changes[name])
    program.updated_at = clock.now()
    session.add(program)
    session.flush()
    return program


def transition(session: Session, program: Program, to: ProgramStatus) -> Program:
    refused = machine.refusal(program.status, to)
    if refused is not None:
        raise conflict(refused.detail, **refused.facts())
    current = ProgramStatus(program.status)
    if to == ProgramStatus.call_open:
        _check_call_can_open(session, program)
    now = clock.now()
    program.status, program.status_changed_at, program.updated_at = to, now, now
    session.add(program)
    session.flush()
    emit(
        session,
        OutboxEvent,
        "program.status_changed",
        subject=program.id,
        tenant_id=program.institution_id,
        payload={"program_id": str(program.id), "from": current.value, "to": to.value, "changed_at": now.isoformat()},
    )
    return program


def _check_call_can_open(session: Session, program: Program) -> None:
    missing: list[FieldError] = []
    if not program.privacy_notice_version:
        missing.append(FieldError(field="privacy_notice", message="The call needs a privacy notice", code="missing"))
    closes = close_at(session, program)
    if closes is None:
        missing.append(FieldError(field="phases", message="The call needs a call phase (its deadline)", code="missing"))
    elif closes <= clock.now():
        missing.append(FieldError(field="phases", message=f"The call phase ended at {closes.isoformat()}", code="ended"))
    if missing:
        raise conflict(
            "The call cannot open yet: " + "; ".join(e.message for e in missing), errors=missing
        )


# ---------------------------------------------------------------------------
# Reading


def list_programs(
    session: Session, who: Any, institution_id: uuid.UUID, *, status: ProgramStatus | None, limit: int, cursor: str | None
) -> Rows:
    """Coordinators, admins and the institution's integration clients see
    every program; a person sees those she is a member of."""
    get_institution(session, institution_id)
    stmt = select(Program).where(Program.institution_id == institution_id)
    if status is not None:
        stmt = stmt.where(Program.status == status)
    if not coordinates(who, institution_id) and is_person_of(who, institution_id):
        mine = own_participant(session, who, institution_id)
        if mine is None:
            stmt = stmt.where(false())
        else:
            member_of = select(Membership.program_id).where(
                Membership.institution_id == institution_id,
                Membership.participant_id == mine.id,
                Membership.status.in_(CURRENT),  # type: ignore[attr-defined]
            )
            stmt = stmt.where(Program.id.in_(member_of))  # type: ignore[attr-defined]
    return paginate(session, stmt, Program.id, limit=limit, cursor=cursor)


def get_call(session: Session, program_id: uuid.UUID) -> CallPublic:
    """The public call of any program past its draft."""
    program = session.get(Program, program_id)
    if program is None or program.status == ProgramStatus.draft:
        raise not_found("Call")
    return calls(session, [program])[0]


def calls(session: Session, programs: list[Program]) -> list[CallPublic]:
    phases = phases_by_program(session, programs)
    ids = {p.institution_id for p in programs}
    institutions = {
        i.id: i for i in session.exec(select(Institution).where(Institution.id.in_(ids))).all()  # type: ignore[attr-defined]
    } if ids else {}
    now = clock.now()
    result = []
    for program in programs:
        institution = institutions[program.institution_id]
        closes = applications_close_at(phases[program.id], institution.timezone)
        shown = _public(program, phases[program.id], institution.timezone)
        result.append(
            CallPublic(
                program_id=program.id,
                institution_id=program.institution_id,
                institution_name=institution.name,
                **shown.model_dump(
                    include={
                        "name", "description", "languages", "mode", "delivery", "meetings_count",
                        "meeting_cadence", "roles", "confirmation_days",
                    }
                ),
                criteria=shown.criteria,
                phases=shown.phases,
                privacy_notice=shown.privacy_notice,
                applications_close_at=closes,
                accepting_applications=call_closed_because(program.status, closes, now) is None,
            )
        )
    return result


def list_open_calls(session: Session, *, institution_id: uuid.UUID | None, limit: int, cursor: str | None) -> Rows:
    stmt = select(Program).where(Program.status == ProgramStatus.call_open)
    if institution_id is not None:
        stmt = stmt.where(Program.institution_id == institution_id)
    return paginate(session, stmt, Program.id, limit=limit, cursor=cursor)

