"""Who may see and do what, decided on the verified token and on the data.

- Instruments: built-ins are readable by anyone authenticated; an institution's
  copies by its coordinators and evaluators (admins: all). Copies and edits:
  coordinators. Another institution's instrument is a 404.
- Administrations: created, listed and closed by coordinators; read by the
  institution's evaluators too; respondents see only the open ones meant for
  them (``/mine``), with their role read from the participants service.
- Answers: a person sees her own; coordinators see who has responded (counts,
  and participant ids when not anonymous), never what anyone answered;
  evaluators see aggregates only. There is no route returning another person's
  answers.
- Every query filters by the caller's institution (the token's ``tid``).
- The program report is authorized here (coordinators and evaluators of the
  program's institution, admins) before its inputs are read from the other
  services with this service's own token (scope ``reports:read``), which reads
  aggregates and pseudonymous dyads only.

Interviews (``interviews.py``), per program, with its interview team
(``InterviewTeamRow``, set by coordinators):

- Guides, the team and the codebook: read by the institution's coordinators
  and evaluators; guides and the team are set by coordinators; the codebook by
  coordinators and evaluators.
- Samples (who to interview, with their strata): coordinators only.
- Recording an interview: the institution's coordinators, and evaluators the
  team names as interviewers.
- A raw interview (her answers) is read by its interviewer and by the
  program's coders only. Coders are evaluators the team names as coders (a
  coordinator, who knows the participants by name, never codes); they see the
  interview's code, role and answers, never who she is, who interviewed her or
  when (``pseudonymous``). Coordinators see an interview's record without its
  answers; other evaluators and admins the same. Mentors, mentees and API
  clients: 403; another institution: 404.
- A coder writes only her own coding and reads the other coders' codes of an
  interview only once she has submitted hers; the lead coder writes the
  consensus. Quotes: written and read by the program's coders.
- Her interviews' export and erasure: she herself, the institution's
  coordinators, admins.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread

from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.problems import forbidden, not_found
from servicekit.tenancy import coordinates, scoped, tenant_of

from services.evaluation.models import InterviewRow, InterviewTeamRow, SamplePickRow

T = TypeVar("T")
STAFF = ("coordinator", "evaluator")


def is_evaluator(who: Principal, institution_id: uuid.UUID | None) -> bool:
    return not who.is_client and "evaluator" in who.roles and institution_id is not None and tenant_of(who) == institution_id


def staff_role(who: Principal, allow: tuple[str, ...] = STAFF) -> str:
    """The caller's staff capacity in her own institution, or a 403."""
    tid = tenant_of(who)
    if "coordinator" in allow and coordinates(who, tid):
        return "coordinator"
    if "evaluator" in allow and is_evaluator(who, tid):
        return "evaluator"
    raise forbidden(f"Requires one of the roles: {', '.join(allow)} of the institution")


def institution_of(who: Principal) -> uuid.UUID:
    tid = tenant_of(who)
    if tid is None:
        raise forbidden("Only a member of an institution may do this")
    return tid


def pseudonym(key: bytes, program_id: uuid.UUID, subject: str) -> str:
    """HMAC-SHA256(key, program_id + account sub): pairs a person's pre and post
    answers within one program without storing who she is."""
    return hmac.new(key, f"{program_id}:{subject}".encode(), hashlib.sha256).hexdigest()


def dyad_pseudonym(key: bytes, program_id: uuid.UUID, dyad_id: uuid.UUID) -> str:
    """HMAC-SHA256(key, "dyad:" + program_id + dyad id): ties a mentee's and her mentor's
    perceived achievement to their dyad's measured achievement without storing the dyad's id."""
    return hmac.new(key, f"dyad:{program_id}:{dyad_id}".encode(), hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------- interviews


def require_staff_of(who: Principal, institution_id: uuid.UUID, allow: tuple[str, ...] = STAFF) -> str:
    """The caller's capacity in ``institution_id`` (admins count as coordinators): 403 for people and clients
    without it, 404 for staff of another institution."""
    capacity = staff_role(who, allow)
    if not who.is_admin and tenant_of(who) != institution_id:
        raise not_found("Program")
    return capacity


def team_member(session: Session, who: Principal, institution_id: uuid.UUID, program_id: uuid.UUID) -> InterviewTeamRow | None:
    """Her place on the program's interview team, if she has one (people of the institution only)."""
    if who.is_client or tenant_of(who) != institution_id:
        return None
    return session.exec(select(InterviewTeamRow).where(
        InterviewTeamRow.institution_id == institution_id, InterviewTeamRow.program_id == program_id,
        InterviewTeamRow.account_id == who.subject,
    )).first()


def may_interview(session: Session, who: Principal, institution_id: uuid.UUID, program_id: uuid.UUID) -> None:
    """Coordinators of the institution (and admins), and evaluators the team names as interviewers."""
    if coordinates(who, institution_id):
        return
    member = team_member(session, who, institution_id, program_id)
    if is_evaluator(who, institution_id) and member is not None and member.interviewer:
        return
    raise forbidden("Only the institution's coordinators and the program's interviewers record interviews")


def coder(session: Session, who: Principal, institution_id: uuid.UUID, program_id: uuid.UUID, *, lead: bool = False) -> InterviewTeamRow:
    """The program's coder (its lead coder with ``lead``): an evaluator the team names so."""
    member = team_member(session, who, institution_id, program_id) if is_evaluator(who, institution_id) else None
    if member is None or not member.coder or (lead and not member.lead_coder):
        raise forbidden("Only the program's lead coder may do this" if lead else "Only the program's coders may do this")
    return member


def is_coder(session: Session, who: Principal, institution_id: uuid.UUID, program_id: uuid.UUID) -> bool:
    member = team_member(session, who, institution_id, program_id) if is_evaluator(who, institution_id) else None
    return member is not None and member.coder


INTERVIEWER, CODER, RECORD = "interviewer", "coder", "record"


def interview_view(session: Session, who: Principal, interview: InterviewRow) -> str:
    """How the caller sees an interview she may know of: ``interviewer`` (all of it, answers included),
    ``coder`` (answers, pseudonymous) or ``record`` (no answers). 403/404 otherwise."""
    require_staff_of(who, interview.institution_id)
    if not who.is_client and interview.interviewer == who.subject and tenant_of(who) == interview.institution_id:
        return INTERVIEWER
    if is_coder(session, who, interview.institution_id, interview.program_id):
        return CODER
    return RECORD


def interview(session: Session, who: Principal, interview_id: uuid.UUID) -> InterviewRow:
    """An interview of the caller's institution (admins: any) for its staff; 403 for anyone else."""
    staff_role(who)
    row = session.exec(scoped(select(InterviewRow).where(InterviewRow.id == interview_id), InterviewRow, who)).first()
    if row is None:
        raise not_found("Interview")
    return row


def data_subject(session: Session, who: Principal, own_participant_id: uuid.UUID | None, participant_id: uuid.UUID) -> uuid.UUID:
    """The institution holding her interview data, for whoever may export or erase it: she herself
    (``own_participant_id``, read with her token), the institution's coordinators, admins. API clients: 403;
    another institution, or nothing held: 404; anyone else of the institution: 403."""
    if who.is_client:
        raise forbidden("API clients do not act for a data subject here")
    institution_id = session.exec(select(InterviewRow.institution_id).where(InterviewRow.participant_id == participant_id)).first()
    if institution_id is None:
        institution_id = session.exec(select(SamplePickRow.institution_id).where(SamplePickRow.participant_id == participant_id)).first()
    if institution_id is None or (not who.is_admin and tenant_of(who) != institution_id):
        raise not_found("Personal data of this person")
    if (own_participant_id is not None and own_participant_id == participant_id) or coordinates(who, institution_id):
        return institution_id
    raise forbidden("Only she herself and the institution's coordinators may do this")


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))


__all__ = ["forbidden", "not_found"]
