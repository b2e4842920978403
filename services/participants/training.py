"""Training modules per program, completions, "trained", and cohort statistics.

Completions come from a coordinator or an integration client (an LMS) with
scope ``training:write``. They are idempotent: one completion per member and
module, and an ``external_id`` names one completion within the institution,
so a retried push never doubles anything (it answers with the first record).

A membership is *trained* once every required module of its program has a
completion (a program without required modules trains nobody); ``trained_at``
is the last of those completions. Adding a required module, or making one
required, re-evaluates the cohort.

Statistics measure days from the start of the program's training phase to
each trained member's ``trained_at`` (dates in the institution's time zone):
median, quartiles (inclusive method), IQR, min and max.
"""

import statistics
import uuid
from collections import defaultdict
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from servicekit.outbox import emit
from servicekit.pagination import paginate
from servicekit.problems import FieldError, conflict, field_problem, not_found
from servicekit import clock

from services.participants import programs
from services.participants.domain.memberships import CURRENT
from services.participants.models import Membership, OutboxEvent, Participant, Program, TrainingCompletion, TrainingModule
from services.participants.enums import MembershipStatus, PhaseKind
from services.participants.schemas.training import (
    CompletionCreate,
    CompletionPublic,
    DaysSummary,
    ModuleStats,
    TrainingModuleCreate,
    TrainingModuleUpdate,
    TrainingStats,
)
from services.participants.service import Rows

# Completions may come in a little ahead of this clock (clock skew between systems).
FUTURE_TOLERANCE = timedelta(minutes=5)


def _activity_free(session: Session, institution_id: uuid.UUID, activity_id: str | None, module_id: uuid.UUID | None) -> None:
    """An LMS activity IRI names one module of the institution (xAPI statements find it by it)."""
    if activity_id is None:
        return
    stmt = select(TrainingModule.id).where(
        TrainingModule.institution_id == institution_id, TrainingModule.lms_activity_id == activity_id
    )
    if module_id is not None:
        stmt = stmt.where(TrainingModule.id != module_id)
    if session.exec(stmt).first() is not None:
        detail = "Another training module of this institution has this lms_activity_id"
        raise conflict(detail, errors=[FieldError(field="body.lms_activity_id", message=detail, code="already_exists")])


def create_module(session: Session, program: Program, data: TrainingModuleCreate) -> TrainingModule:
    now = clock.now()
    _activity_free(session, program.institution_id, data.lms_activity_id, None)
    module = TrainingModule(
        institution_id=program.institution_id, program_id=program.id, **data.model_dump(), created_at=now, updated_at=now
    )
    session.add(module)
    session.flush()
    if module.required:
        recompute_program(session, program)
    return module


def list_modules(session: Session, program: Program, *, limit: int, cursor: str | None) -> Rows:
    stmt = select(TrainingModule).where(
        TrainingModule.institution_id == program.institution_id, TrainingModule.program_id == program.id
    )
    return paginate(session, stmt, TrainingModule.id, limit=limit, cursor=cursor)


def update_module(session: Session, module: TrainingModule, program: Program, data: TrainingModuleUpdate) -> TrainingModule:
    changes = data.changes()
    if "lms_activity_id" in changes:
        _activity_free(session, module.institution_id, changes["lms_activity_id"], module.id)
    for name, value in changes.items():
        setattr(module, name, value)
    module.updated_at = clock.now()
    session.add(module)
    session.flush()
    if "required" in changes:
        recompute_program(session, program)
    return module


# ---------------------------------------------------------------------------
# Completions


def _member(session: Session, module: TrainingModule, data: CompletionCreate) -> Membership:
    if data.participant_id is not None:
        field = "body.participant_id"
        condition = Participant.id == data.participant_id
    else:
        field = "body.lms_id"
        condition = Participant.lms_id == data.lms_id
    same_person = (Participant.institution_id == Membership.institution_id) & (
        Participant.id == Membership.participant_id  # type: ignore[arg-type]
    )
    stmt = (
        select(Membership)
        .join(Participant, same_person)
        .where(
            Membership.institution_id == module.institution_id,
            Membership.program_id == module.program_id,
            Membership.status != MembershipStatus.withdrawn,
            condition,
        )
    )
    membership = session.exec(stmt.with_for_update()).first()
    if membership is None:
        raise field_problem(field, "No current member of this module's program has this id", code="not_a_member")
    return membership


def record_completion(
    session: Session, module: TrainingModule, data: CompletionCreate, recorded_by: str
) -> tuple[TrainingCompletion, Membership, bool]:
    """Record a completion; returns it, her membership, and whether it already existed."""
    now = clock.now()
    if data.completed_at > now + FUTURE_TOLERANCE:
        raise field_problem("body.completed_at", "A completion cannot be in the future", code="in_the_future")
    membership = _member(session, module, data)
    existing = session.exec(
        select(TrainingCompletion).where(
            TrainingCompletion.institution_id == module.institution_id,
            TrainingCompletion.module_id == module.id,
            TrainingCompletion.membership_id == membership.id,
        )
    ).first()
    if data.external_id is not None:
        named = session.exec(
            select(TrainingCompletion).where(
                TrainingCompletion.institution_id == module.institution_id,
                TrainingCompletion.external_id == data.external_id,
            )
        ).first()
        if named is not None and named is not existing:
            detail = "This external id already names another completion"
            raise conflict(detail, errors=[FieldError(field="body.external_id", message=detail, code="already_exists")])
    if existing is not None:
        if data.external_id is not None and existing.external_id not in (None, data.external_id):
            detail = f"She already completed this module (external id {existing.external_id})"
            raise conflict(detail, errors=[FieldError(field="body.external_id", message=detail, code="already_completed")])
        return existing, membership, True
    completion = TrainingCompletion(
        institution_id=module.institution_id,
        module_id=module.id,
        membership_id=membership.id,
        completed_at=data.completed_at,
        external_id=data.external_id,
        recorded_by=recorded_by,
        recorded_at=now,
    )
    session.add(completion)
    session.flush()
    recompute(session, [membership])
    emit(
        session,
        OutboxEvent,
        "training.completed",
        subject=membership.participant_id,
        tenant_id=module.institution_id,
        payload={
            "completion_id": str(completion.id),
            "module_id": str(module.id),
            "program_id": str(module.program_id),
            "participant_id": str(membership.participant_id),
            "membership_id": str(membership.id),
            "completed_at": completion.completed_at.isoformat(),
            "trained": membership.trained,
        },
    )
    return completion, membership, False


def completion_public(session: Session, completions: list[TrainingCompletion]) -> list[CompletionPublic]:
    if not completions:
        return []
    rows = session.exec(
        select(Membership).where(
            Membership.institution_id == completions[0].institution_id,
            Membership.id.in_({c.membership_id for c in completions}),  # type: ignore[attr-defined]
        )
    ).all()
    members = {m.id: m for m in rows}
    return [
        CompletionPublic(
            id=c.id,
            module_id=c.module_id,
            program_id=members[c.membership_id].program_id,
            participant_id=members[c.membership_id].participant_id,
            membership_id=c.membership_id,
            completed_at=c.completed_at,
            external_id=c.external_id,
            recorded_by=c.recorded_by,
            recorded_at=c.recorded_at,
            trained=members[c.membership_id].trained,
        )
        for c in completions
    ]


def list_completions(session: Session, module: TrainingModule, *, limit: int, cursor: str | None) -> Rows:
    stmt = select(TrainingCompletion).where(
        TrainingCompletion.institution_id == module.institution_id, TrainingCompletion.module_id == module.id
    )
    return paginate(session, stmt, TrainingCompletion.id, limit=limit, cursor=cursor)


def get_completion(session: Session, module: TrainingModule, completion_id: uuid.UUID) -> TrainingCompletion:
    completion = session.exec(
        select(TrainingCompletion).where(
            TrainingCompletion.institution_id == module.institution_id,
            TrainingCompletion.module_id == module.id,
            TrainingCompletion.id == completion_id,
        )
    ).first()
    if completion is None:
        raise not_found("Completion")
    return completion


# ---------------------------------------------------------------------------
# Trained


def recompute_program(session: Session, program: Program) -> None:
    memberships = session.exec(
        select(Membership).where(Membership.institution_id == program.institution_id, Membership.program_id == program.id)
    ).all()
    recompute(session, list(memberships))


def recompute(session: Session, memberships: list[Membership]) -> None:
    """Set ``trained``/``trained_at`` of these memberships (all of one institution)."""
    if not memberships:
        return
    institution_id = memberships[0].institution_id
    program_ids = {m.program_id for m in memberships}
    required: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for module_id, program_id in session.exec(
        select(TrainingModule.id, TrainingModule.program_id).where(
            TrainingModule.institution_id == institution_id,
            TrainingModule.program_id.in_(program_ids),  # type: ignore[attr-defined]
            TrainingModule.required == True,  # noqa: E712
        )
    ).all():
        required[program_id].add(module_id)
    done: dict[uuid.UUID, dict[uuid.UUID, object]] = defaultdict(dict)
    for membership_id, module_id, completed_at in session.exec(
        select(TrainingCompletion.membership_id, TrainingCompletion.module_id, TrainingCompletion.completed_at).where(
            TrainingCompletion.institution_id == institution_id,
            TrainingCompletion.membership_id.in_([m.id for m in memberships]),  # type: ignore[attr-defined]
        )
    ).all():
        done[membership_id][module_id] = completed_at
    now = clock.now()
    for membership in memberships:
        needed = required[membership.program_id]
        completed = done[membership.id]
        trained = bool(needed) and needed <= completed.keys()
        trained_at = max(completed[m] for m in needed) if trained else None  # type: ignore[type-var]
        if (membership.trained, membership.trained_at) != (trained, trained_at):
            membership.trained, membership.trained_at, membership.updated_at = trained, trained_at, now
            session.add(membership)
    session.flush()


# ---------------------------------------------------------------------------
# Statistics


def _summary(days: list[int]) -> DaysSummary | None:
    if not days:
        return None
    if len(days) == 1:
        q1 = q3 = float(days[0])
    else:
        q1, _, q3 = statistics.quantiles(days, n=4, method="inclusive")
    return DaysSummary(
        count=len(days),
        median=float(statistics.median(days)),
        q1=q1,
        q3=q3,
        iqr=q3 - q1,
        min=min(days),
        max=max(days),
    )


def stats(session: Session, program: Program) -> TrainingStats:
    members = list(
        session.exec(
            select(Membership).where(
                Membership.institution_id == program.institution_id,
                Membership.program_id == program.id,
                Membership.status.in_(CURRENT),  # type: ignore[attr-defined]
            )
        ).all()
    )
    modules = list(
        session.exec(
            select(TrainingModule)
            .where(TrainingModule.institution_id == program.institution_id, TrainingModule.program_id == program.id)
            .order_by(TrainingModule.id)
        ).all()
    )
    member_ids = {m.id for m in members}
    per_module: dict[uuid.UUID, int] = defaultdict(int)
    if member_ids and modules:
        for module_id, membership_id in session.exec(
            select(TrainingCompletion.module_id, TrainingCompletion.membership_id).where(
                TrainingCompletion.institution_id == program.institution_id,
                TrainingCompletion.module_id.in_([m.id for m in modules]),  # type: ignore[attr-defined]
            )
        ).all():
            per_module[module_id] += membership_id in member_ids
    training = programs.phase(programs.phases_of(session, program), PhaseKind.training)
    zone = ZoneInfo(programs.timezones(session, [program])[program.institution_id])
    trained = [m for m in members if m.trained]
    days = (
        sorted((m.trained_at.astimezone(zone).date() - training.starts_on).days for m in trained)  # type: ignore[union-attr]
        if training is not None
        else []
    )
    count = len(members)
    return TrainingStats(
        program_id=program.id,
        training_starts_on=training.starts_on if training else None,
        members=count,
        trained=len(trained),
        completion_rate=round(len(trained) / count, 4) if count else 0.0,
        required_modules=sum(1 for m in modules if m.required),
        days_to_completion=_summary(days),
        modules=[
            ModuleStats(
                module_id=m.id,
                title=m.title,
                kind=m.kind,
                required=m.required,
                completed=per_module[m.id],
                completion_rate=round(per_module[m.id] / count, 4) if count else 0.0,
            )
            for m in modules
        ],
    )
