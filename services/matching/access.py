"""Who may see and do what, decided on the verified token *and* on the data.

- Programs belong to the participants service: a program is read there with the
  caller's own token, so another institution's program (or one she is not a
  member of) is a 404 there and here.
- Coordinator actions: admin, or a coordinator whose ``tid`` is the program's
  institution. A member of the institution who is not: 403. Integration clients: 403.
- Her own questionnaire: she must hold a current membership (active or
  substitute) in the program, found through ``GET /v1/participants/me``.
- A match: its two members (by account id, the token's ``sub``, in the match's
  institution) and the institution's coordinators; anyone else gets 404, the
  same as for a match that does not exist.
- The program's outcomes (counts and scores, no person named) also answer the
  evaluation service's own token (scope ``reports:read``), which decided first
  whether its caller may see the report; that scope opens nothing else here.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.problems import ProblemError, forbidden, not_found
from servicekit.tenancy import client_with, coordinates, scoped, tenant_of
from servicekit import scopes

from services.matching.clients.participants import Membership, Participant, Program
from services.matching.dependencies import Context
from services.matching.enums import CURRENT, Actor
from services.matching.models import Match, SubstituteOffer

REPORTS_READ_SCOPE = scopes.REPORTS_READ


async def coordinated_program(ctx: Context, program_id: uuid.UUID) -> Program:
    """The program, for admins and its institution's coordinators."""
    if ctx.who.is_client and not ctx.who.is_admin:
        raise forbidden("Integration clients may not run matching")
    program = await ctx.program(program_id)
    if coordinates(ctx.who, program.institution_id):
        return program
    raise forbidden("Only the institution's coordinators may do this")


async def report_program(ctx: Context, program_id: uuid.UUID) -> Program:
    """The program, for its coordinators, admins and a ``reports:read`` client (a
    platform client reads any institution's, a client with a ``tid`` its own only).
    The program is read in participants with the same token, which accepts that scope."""
    who = ctx.who
    if not (who.is_client and REPORTS_READ_SCOPE in who.scopes):
        return await coordinated_program(ctx, program_id)
    program = await ctx.program(program_id)
    if not client_with(who, REPORTS_READ_SCOPE, program.institution_id):
        raise not_found("Program")
    return program


async def membership_in(ctx: Context, program_id: uuid.UUID) -> tuple[Program, Participant, Membership]:
    """Her participant record and current membership in the program (else 404)."""
    if ctx.who.is_client or tenant_of(ctx.who) is None:
        raise not_found("Program")
    me = await ctx.me()
    membership = next((m for m in me.memberships if m.program_id == program_id and m.status in CURRENT), None)
    if membership is None:
        raise not_found("Program")
    program = await ctx.program(program_id)
    return program, me, membership


def member_side(who: Principal, match: Match) -> Actor | None:
    """``mentee`` or ``mentor`` when the caller is that member of the match."""
    if who.is_client or tenant_of(who) != match.institution_id:
        return None
    if who.subject == match.mentee_account_id:
        return Actor.mentee
    if who.subject == match.mentor_account_id:
        return Actor.mentor
    return None


def match_for(session: Session, who: Principal, match_id: uuid.UUID, *, allow: tuple[Actor, ...], lock: bool = False) -> tuple[Match, Actor]:
    """The match and the caller's capacity (``mentee``, ``mentor`` or ``coordinator``).

    ``allow`` lists the capacities that may act; a visible match with another
    capacity is a 403, an invisible one a 404."""
    stmt = scoped(select(Match).where(Match.id == match_id), Match, who)
    if lock:
        stmt = stmt.with_for_update()
    match = session.exec(stmt).first()
    if match is None:
        raise not_found("Match")
    side = member_side(who, match)
    capacity = side or (Actor.coordinator if coordinates(who, match.institution_id) else None)
    if capacity is None:
        raise not_found("Match")
    if capacity not in allow:
        raise forbidden(f"Only the {' or '.join(allow)} may do this")
    return match, capacity


def offer_for(session: Session, who: Principal, offer_id: uuid.UUID) -> SubstituteOffer:
    """A substitute offer, for the mentor it was made to (coordinators: 403)."""
    stmt = scoped(select(SubstituteOffer).where(SubstituteOffer.id == offer_id), SubstituteOffer, who)
    offer = session.exec(stmt.with_for_update()).first()
    if offer is None:
        raise not_found("Substitute offer")
    if not who.is_client and who.subject == offer.mentor_account_id:
        return offer
    if coordinates(who, offer.institution_id):
        raise forbidden("Only the mentor herself may answer her substitute offer")
    raise not_found("Substitute offer")


def problem_from_cohort_error(exc: Exception) -> ProblemError:
    return ProblemError(409, f"The settings contradict the cohort: {exc}", slug="conflict")
