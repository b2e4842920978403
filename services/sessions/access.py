"""Who may see and do what, decided on the verified token *and* on the data.

- A dyad: its two members (her token's ``sub`` equals the stored account id, in
  the dyad's institution), the institution's coordinators (token ``tid``) and
  admins. Anyone else gets 404, the same as for a dyad that does not exist;
  a visible dyad where the caller's capacity may not act is a 403.
- Program views (at-risk, digest, statistics, thresholds, overdue, group
  events): admins and the program's institution's coordinators; a member of one
  of the program's dyads, or an API client of the institution (whatever its
  scopes), gets 403 (or read access where the route allows members); anyone
  else 404.
- The program's outcomes for the report (``/v1/dyads/programs/{id}/outcomes``)
  hold personal answers (ratings, perceived achievement), so besides the
  program's coordinators and admins they answer only the evaluation service's
  own token (scope ``reports:read``; a platform client, no ``tid``, reads any
  institution's, a client with a ``tid`` only that one's): evaluation decides
  first whether its caller may see the report. A client of the institution
  without that scope and an evaluator who may know the program get 403 (a
  platform client without it knows no program: 404); members of its dyads 403.
  That scope opens nothing else here: every other route is a 404 for it.
- Milestones: as their dyad (members and coordinators read; the mentee creates,
  edits and reports them; her mentor or a coordinator confirms or returns them).
- Every query filters by the institution (the token's ``tid``; admins see all):
  ``servicekit.tenancy``, as the coordinator rule.
- Ids inside request bodies are checked the same way (``servicekit.references``):
  a participant named in a program's attendance must be a member of one of the
  program's dyads (the only people this service knows, from match.activated);
  a meeting or objective named in a dyad's diary or progress must be that
  dyad's. Anything else is a 422 ``unknown-reference`` naming the field.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.problems import forbidden, not_found
from servicekit.references import Rows
from servicekit.tenancy import coordinates, scoped, tenant_of
from servicekit import scopes

from services.sessions.models import Dyad, Meeting, Objective, ProgramSettings

MEMBERS = ("mentee", "mentor")
EVERYONE = ("mentee", "mentor", "coordinator")
REPORTS_READ_SCOPE = scopes.REPORTS_READ

# What ids in bodies may name (``servicekit.references``); the parent is the program or the dyad.
PROGRAM_PARTICIPANT = Rows("a participant of one of this program's dyads", (Dyad.mentee_participant_id, Dyad.mentor_participant_id),
                           tenant=Dyad.institution_id, parent=Dyad.program_id)
DYAD_MEETING = Rows("a meeting of this dyad", (Meeting.id,), tenant=Meeting.institution_id, parent=Meeting.dyad_id)
DYAD_OBJECTIVE = Rows("an objective of this dyad", (Objective.id,), tenant=Objective.institution_id, parent=Objective.dyad_id)


def member_side(who: Principal, dyad: Dyad) -> str | None:
    if who.is_client or tenant_of(who) != dyad.institution_id:
        return None
    if who.subject == dyad.mentee_account_id:
        return "mentee"
    if who.subject == dyad.mentor_account_id:
        return "mentor"
    return None


def dyad_for(session: Session, who: Principal, dyad_id: uuid.UUID, *, allow: tuple[str, ...] = EVERYONE, what: str = "Dyad") -> tuple[Dyad, str]:
    """The dyad and the caller's capacity: ``mentee``, ``mentor`` or ``coordinator``."""
    dyad = session.exec(scoped(select(Dyad).where(Dyad.id == dyad_id), Dyad, who)).first()
    if dyad is None:
        raise not_found(what)
    capacity = member_side(who, dyad) or ("coordinator" if coordinates(who, dyad.institution_id) else None)
    if capacity is None:
        raise not_found(what)
    if capacity not in allow:
        raise forbidden(f"Only the {' or '.join(allow)} may do this")
    return dyad, capacity


def program_for(session: Session, who: Principal, program_id: uuid.UUID, *, members_may_read: bool = False) -> tuple[ProgramSettings, str]:
    """The program and the caller's capacity (``coordinator`` or ``member``)."""
    program = session.exec(scoped(select(ProgramSettings).where(ProgramSettings.program_id == program_id), ProgramSettings, who)).first()
    if program is None:
        raise not_found("Program")
    if coordinates(who, program.institution_id):
        return program, "coordinator"
    if who.is_client:
        raise forbidden("An API client's scopes do not open this route; it is for the institution's coordinators")
    member = session.exec(
        select(Dyad.id).where(
            Dyad.institution_id == program.institution_id,
            Dyad.program_id == program_id,
            (Dyad.mentee_account_id == who.subject) | (Dyad.mentor_account_id == who.subject),
        )
    ).first()
    if member is None:
        raise not_found("Program")
    if not members_may_read:
        raise forbidden("Only the institution's coordinators may do this")
    return program, "member"


def reports_client(who: Principal) -> bool:
    """A service client holding ``reports:read`` (the evaluation service)."""
    return who.is_client and REPORTS_READ_SCOPE in who.scopes


def _known_program(session: Session, who: Principal, program_id: uuid.UUID) -> ProgramSettings:
    """The program as far as the caller's tenancy lets her know it (a platform client with ``reports:read``: any;
    else her institution's)."""
    stmt = select(ProgramSettings).where(ProgramSettings.program_id == program_id)
    program = session.exec(scoped(stmt, ProgramSettings, who, client_scopes=(REPORTS_READ_SCOPE,))).first()
    if program is None:
        raise not_found("Program")
    return program


def program_for_report(session: Session, who: Principal, program_id: uuid.UUID) -> ProgramSettings:
    """The program, for its coordinators, admins and a ``reports:read`` client
    (of any institution without a ``tid``, else of its own only). Another client,
    or an evaluator, that may know the program gets 403: evaluators read the
    report the evaluation service publishes, never the per-dyad answers."""
    if reports_client(who):
        return _known_program(session, who, program_id)
    if who.is_client or who.has_role("evaluator"):
        program = _known_program(session, who, program_id)
        if not coordinates(who, program.institution_id):
            raise forbidden("Per-dyad outcomes hold personal answers: only the program's coordinators and the evaluation "
                            "service (scope reports:read) read them")
        return program
    return program_for(session, who, program_id)[0]
