"""Who may see and do what with programs, applications, participants and
training: decided on the verified token *and* on the data.

Roles in a token say little here: an applicant's token says ``applicant``,
a participant's may or may not say ``mentor`` yet. What counts is

- ``tid``: every lookup is filtered by the caller's institution
  (``servicekit.tenancy.scoped``: admins excepted, and platform clients, which
  have no ``tid``, for programs and training modules when they hold one of the
  scopes below), so another tenant's record is simply not found: 404, never
  its data;
- ``sub``: an application is hers when its ``applicant_id`` is her account
  id; a participant record is hers when its ``account_id`` is;
- her membership rows: she is a member of a program while one of her
  memberships in it is active, substitute or completed;
- the coordinator role in the record's institution (or admin) to run things;
- for integration clients, a scope: ``training:write`` (record completions,
  read modules), ``identity:read`` (the matching service reading consented
  identity data), ``reports:read`` (the evaluation service reading a
  program, its funnel and its training statistics for the program report, after
  it authorized its own caller; nothing else) and ``research:read`` (the
  evaluation service reading who consents to research and to quotes, with
  career stage and STEM field, to propose an interview sample and check consent
  before an interview is recorded; nothing else). A client with a ``tid`` acts in
  that institution only; a platform client (no ``tid``) in any.

Refusals follow the rule of the whole service: whoever may not know a record
exists gets 404; whoever may see it but not do this gets 403.

These functions read through the request's session and raise problems; they
know nothing of HTTP requests.
"""

import uuid
from collections.abc import Collection
from typing import Any

from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.problems import ProblemError, forbidden, not_found
from servicekit.tenancy import client_with, coordinates, scoped, tenant_of
from servicekit import scopes

from services.participants.models import (
    Application,
    Membership,
    Participant,
    Program,
    TrainingModule,
)
from services.participants.domain.memberships import CURRENT

TRAINING_WRITE_SCOPE = scopes.TRAINING_WRITE
# People who may apply: applicants, and participants applying to another program.
APPLYING_ROLES = ("applicant", "mentor", "mentee", "peer_mentor")
IDENTITY_READ_SCOPE = scopes.IDENTITY_READ
REPORTS_READ_SCOPE = scopes.REPORTS_READ
RESEARCH_READ_SCOPE = scopes.RESEARCH_READ


def is_person_of(who: Principal, institution_id: uuid.UUID) -> bool:
    """A person (not an integration client) whose token names this institution."""
    return not who.is_client and tenant_of(who) == institution_id


def own_participant(session: Session, who: Principal, institution_id: uuid.UUID) -> Participant | None:
    """Her participant record in this institution, if she has one."""
    if not is_person_of(who, institution_id):
        return None
    stmt = select(Participant).where(
        Participant.institution_id == institution_id, Participant.account_id == who.subject
    )
    return session.exec(stmt).first()


def member_program_ids(session: Session, participant_id: uuid.UUID, institution_id: uuid.UUID) -> set[uuid.UUID]:
    stmt = select(Membership.program_id).where(
        Membership.institution_id == institution_id,
        Membership.participant_id == participant_id,
        Membership.status.in_(CURRENT),  # type: ignore[attr-defined]
    )
    return set(session.exec(stmt).all())


def is_member(session: Session, who: Principal, program: Program) -> bool:
    mine = own_participant(session, who, program.institution_id)
    return mine is not None and program.id in member_program_ids(session, mine.id, program.institution_id)


def _load(
    session: Session, model: Any, record_id: uuid.UUID, who: Principal, what: str, lock: bool, client_scopes: Collection[str] = ()
) -> Any:
    stmt = scoped(select(model).where(model.id == record_id), model, who, client_scopes=client_scopes)
    if lock:
        stmt = stmt.with_for_update()
    record = session.exec(stmt).first()
    if record is None:
        raise not_found(what)
    return record


# ---------------------------------------------------------------------------
# The caller's own records, in her token's institution


def applying_in(who: Principal) -> uuid.UUID:
    """The institution she applies in: her token's, for a person holding an
    applicant or participant role; anyone else gets 403."""
    institution_id = tenant_of(who)
    if who.is_client or institution_id is None or not who.has_role(*APPLYING_ROLES):
        raise forbidden("Only a person of the program's institution with a participant or applicant role may apply")
    return institution_id


def own_applications_in(who: Principal) -> uuid.UUID | None:
    """Where her own applications are listed: her token's institution (None
    when it names none); a client has no applications of its own (403)."""
    if who.is_client:
        raise forbidden("Applications are listed for the person who made them")
    return tenant_of(who)


def me(session: Session, who: Principal) -> Participant:
    """Her own participant record in her token's institution; 404 until she
    has one, and for a client or a token that names no institution."""
    institution_id = tenant_of(who)
    record = own_participant(session, who, institution_id) if institution_id is not None else None
    if record is None:
        raise not_found("Participant")
    return record


# ---------------------------------------------------------------------------
# Programs and training modules

RUN, MEMBER, TRAINING_CLIENT, IDENTITY_CLIENT = "run", "member", "training_client", "identity_client"
REPORT_CLIENT = "report_client"
RESEARCH_CLIENT = "research_client"
# The scopes that let an API client at a program (and its training modules): a platform client
# holding one of them may know any institution's programs.
PROGRAM_CLIENT_SCOPES = (TRAINING_WRITE_SCOPE, IDENTITY_READ_SCOPE, REPORTS_READ_SCOPE, RESEARCH_READ_SCOPE)


def _program_check(session: Session, who: Principal, program: Program, allow: Collection[str], action: str) -> None:
    """Pass if the caller is one of ``allow``; 403 if she may see the program
    in another capacity; 404 if she may not know it exists."""
    institution_id = program.institution_id
    capacities = set()
    if coordinates(who, institution_id):
        capacities.add(RUN)
    if client_with(who, TRAINING_WRITE_SCOPE, institution_id):
        capacities.add(TRAINING_CLIENT)
    if client_with(who, IDENTITY_READ_SCOPE, institution_id):
        capacities.add(IDENTITY_CLIENT)
    if client_with(who, REPORTS_READ_SCOPE, institution_id):
        capacities.add(REPORT_CLIENT)
    if client_with(who, RESEARCH_READ_SCOPE, institution_id):
        capacities.add(RESEARCH_CLIENT)
    if not capacities and is_member(session, who, program):
        capacities.add(MEMBER)
    if capacities & set(allow):
        return
    if capacities:
        raise forbidden(f"Only {action}")
    raise not_found("Program")


def program(
    session: Session,
    who: Principal,
    program_id: uuid.UUID,
    *,
    allow: Collection[str] = (RUN,),
    action: str = "the institution's coordinators may do this",
    lock: bool = False,
) -> Program:
    """The program, if the caller may do what ``allow`` says with it."""
    record: Program = _load(session, Program, program_id, who, "Program", lock, PROGRAM_CLIENT_SCOPES)
    _program_check(session, who, record, allow, action)
    return record


def training_module(
    session: Session,
    who: Principal,
    module_id: uuid.UUID,
    *,
    allow: Collection[str] = (RUN,),
    action: str = "the institution's coordinators may do this",
) -> tuple[TrainingModule, Program]:
    module: TrainingModule = _load(
        session, TrainingModule, module_id, who, "Training module", False, PROGRAM_CLIENT_SCOPES
    )
    parent = session.exec(
        select(Program).where(Program.institution_id == module.institution_id, Program.id == module.program_id)
    ).one()
    try:
        _program_check(session, who, parent, allow, action)
    except ProblemError as exc:
        if exc.status == 404:
            raise not_found("Training module") from None
        raise
    return module, parent


# ---------------------------------------------------------------------------
# Applications

OWNER = "owner"


def owns(who: Principal, application: Application) -> bool:
    return is_person_of(who, application.institution_id) and application.applicant_id == who.subject


def application(
    session: Session,
    who: Principal,
    application_id: uuid.UUID,
    *,
    allow: Collection[str] = (OWNER, RUN),
    action: str = "the applicant herself may do this",
    lock: bool = False,
) -> Application:
    """The application, if it is hers (``owner``) or she runs the institution (``run``)."""
    record: Application = _load(session, Application, application_id, who, "Application", lock)
    mine, running = owns(who, record), coordinates(who, record.institution_id)
    if (OWNER in allow and mine) or (RUN in allow and running):
        return record
    if mine or running:
        raise forbidden(f"Only {action}")
    raise not_found("Application")


# ---------------------------------------------------------------------------
# Participants

SELF, COUNTERPART = "self", "counterpart"


def shares_a_program(session: Session, who: Principal, participant: Participant) -> bool:
    mine = own_participant(session, who, participant.institution_id)
    if mine is None:
        return False
    if mine.id == participant.id:
        return True
    ours = member_program_ids(session, mine.id, participant.institution_id)
    return bool(ours & member_program_ids(session, participant.id, participant.institution_id))


def participant(
    session: Session,
    who: Principal,
    participant_id: uuid.UUID,
    *,
    allow: Collection[str] = (SELF, RUN),
    lock: bool = False,
) -> Participant:
    """The participant, for herself (``self``), the institution's coordinators
    (``run``) and members of a program she is in (``counterpart``)."""
    record: Participant = _load(session, Participant, participant_id, who, "Participant", lock)
    mine = is_person_of(who, record.institution_id) and record.account_id == who.subject
    running = coordinates(who, record.institution_id)
    if (SELF in allow and mine) or (RUN in allow and running):
        return record
    counterpart = not mine and not running and shares_a_program(session, who, record)
    if COUNTERPART in allow and counterpart:
        return record
    if mine or running or counterpart:
        raise forbidden("Only she herself and the institution's coordinators may see or change her full profile")
    raise not_found("Participant")


def membership(
    session: Session, who: Principal, program_id: uuid.UUID, membership_id: uuid.UUID, *, lock: bool = False
) -> tuple[Membership, Program]:
    """A membership of a program, for the institution's coordinators."""
    parent = program(session, who, program_id, allow=(RUN,))
    stmt = select(Membership).where(
        Membership.institution_id == parent.institution_id,
        Membership.program_id == parent.id,
        Membership.id == membership_id,
    )
    if lock:
        stmt = stmt.with_for_update()
    record = session.exec(stmt).first()
    if record is None:
        raise not_found("Membership")
    return record, parent


# ---------------------------------------------------------------------------
# Institution-level resources


def institution_programs_reader(who: Principal, institution_id: uuid.UUID) -> None:
    """May list the institution's programs (each caller sees what she may)."""
    if coordinates(who, institution_id) or is_person_of(who, institution_id):
        return
    if client_with(who, TRAINING_WRITE_SCOPE, institution_id):
        return
    raise not_found("Institution")


def data_subject_access(who: Principal, institution_id: uuid.UUID, subject_id: str) -> str:
    """May exercise a data subject's rights: she herself, or those who run the
    institution. Returns who asked: ``data_subject``, ``coordinator`` or ``admin``."""
    if is_person_of(who, institution_id) and who.subject == subject_id:
        return "data_subject"
    if who.is_admin:
        return "admin"
    if coordinates(who, institution_id):
        return "coordinator"
    if is_person_of(who, institution_id):
        raise forbidden("Only the person herself and the institution's coordinators may do this")
    raise not_found("Institution")
