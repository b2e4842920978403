"""Matches (dyads) and substitute offers: publish a run's pairs, accept, dissolve,
complete, and re-match a mentee left alone.

Each change of a match writes its event (``match.published``, ``match.activated``,
``match.dissolved``, ``match.completed``, ``substitute.assigned``) in the same
transaction. Re-matching works on the published run's snapshot with the
program's settings now, her dissolved pairs forbidden, and never names a former
member.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, select

from servicekit.outbox import emit, utcnow
from servicekit.pagination import Page, paginate
from servicekit.problems import conflict
from servicekit.references import Given, Ref, References

from services.matching import domain, runs, settings
from services.matching.access import problem_from_cohort_error
from services.matching.clients.participants import Membership, Program
from services.matching.dependencies import Context, in_thread
from services.matching.enums import CURRENT, LIVE, Actor, Delivery, MatchStatus, MembershipStatus, OfferStatus
from services.matching.models import Match, MatchingRun, OutboxEvent, SubstituteOffer
from services.matching.schemas.matches import MatchPublic, Rematch, SubstituteOption
from services.matching.schemas.runs import RunReport, SubstituteCandidate
from services.matching.snapshot import Member, ProgramInfo, Snapshot

# ---------------------------------------------------------------------------
# Reading


def of_program(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, statuses: tuple[MatchStatus, ...] | None = None) -> list[Match]:
    stmt = select(Match).where(Match.institution_id == institution_id, Match.program_id == program_id)
    if statuses:
        stmt = stmt.where(Match.status.in_(statuses))  # type: ignore[attr-defined]
    return list(session.exec(stmt.order_by(Match.id)).all())


def page(session: Session, program: Program, *, status: MatchStatus | None, limit: int, cursor: str | None) -> Page[MatchPublic]:
    stmt = select(Match).where(Match.institution_id == program.institution_id, Match.program_id == program.id)
    if status:
        stmt = stmt.where(Match.status == status)
    rows, next_cursor = paginate(session, stmt, Match.id, limit=limit, cursor=cursor)
    return Page[MatchPublic](items=[MatchPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


def page_of_member(session: Session, institution_id: uuid.UUID, account_id: str, *, limit: int, cursor: str | None) -> Page[MatchPublic]:
    """Her matches, as mentee or mentor."""
    stmt = select(Match).where(
        Match.institution_id == institution_id,
        (Match.mentee_account_id == account_id) | (Match.mentor_account_id == account_id),
    )
    rows, next_cursor = paginate(session, stmt, Match.id, limit=limit, cursor=cursor)
    return Page[MatchPublic](items=[MatchPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


def offers(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> list[SubstituteOffer]:
    stmt = select(SubstituteOffer).where(
        SubstituteOffer.institution_id == institution_id, SubstituteOffer.program_id == program_id
    )
    return list(session.exec(stmt.order_by(SubstituteOffer.rank, SubstituteOffer.id)).all())


def offers_to(session: Session, institution_id: uuid.UUID, account_id: str) -> list[SubstituteOffer]:
    stmt = select(SubstituteOffer).where(
        SubstituteOffer.institution_id == institution_id, SubstituteOffer.mentor_account_id == account_id
    )
    return list(session.exec(stmt.order_by(SubstituteOffer.id)).all())


# ---------------------------------------------------------------------------
# A match's life and its events


def published_payload(match: Match) -> dict[str, Any]:
    return {
        "match_id": str(match.id),
        "program_id": str(match.program_id),
        "institution_id": str(match.institution_id),
        "run_id": str(match.run_id),
        "mentee_participant_id": str(match.mentee_participant_id),
        "mentor_participant_id": str(match.mentor_participant_id),
        "mentee_account_id": match.mentee_account_id,
        "mentor_account_id": match.mentor_account_id,
        "score": match.score,
        "status": match.status,
        "replaces_match_id": str(match.replaces_match_id) if match.replaces_match_id else None,
    }


def activated_payload(match: Match) -> dict[str, Any]:
    """Self-contained for the sessions service: it needs nothing else to propose a schedule."""
    ctx = match.context
    return {
        "match_id": str(match.id),
        "program_id": str(match.program_id),
        "institution_id": str(match.institution_id),
        "mentee": ctx["mentee"],
        "mentor": ctx["mentor"],
        "preferred_delivery": ctx["preferred_delivery"],
        "meetings": ctx["meetings"],
        "activated_at": match.activated_at.isoformat() if match.activated_at else None,
    }


def _event(session: Session, kind: str, match: Match, payload: dict[str, Any]) -> None:
    emit(session, OutboxEvent, kind, subject=match.id, tenant_id=match.institution_id, payload=payload)


def _activate(session: Session, match: Match) -> None:
    match.status, match.activated_at, match.updated_at = MatchStatus.active, utcnow(), utcnow()
    session.add(match)
    _event(session, "match.activated", match, activated_payload(match))


def create(session: Session, match: Match, *, auto_accept: bool) -> Match:
    session.add(match)
    session.flush()
    _event(session, "match.published", match, published_payload(match))
    if auto_accept:
        _activate(session, match)
    session.flush()
    return match


def accept(session: Session, match: Match, side: Actor) -> Match:
    if match.status != MatchStatus.proposed:
        raise conflict(f"A match that is {match.status} cannot be accepted", current_status=match.status)
    now = utcnow()
    if side == Actor.mentee:
        match.mentee_accepted_at = match.mentee_accepted_at or now
    else:
        match.mentor_accepted_at = match.mentor_accepted_at or now
    match.updated_at = now
    session.add(match)
    if match.mentee_accepted_at and match.mentor_accepted_at:
        _activate(session, match)
    session.flush()
    return match


def dissolve(session: Session, match: Match, by: Actor, reason: str) -> Match:
    if match.status not in LIVE:
        raise conflict(f"A match that is {match.status} cannot be dissolved", current_status=match.status)
    now = utcnow()
    match.status, match.dissolved_at, match.dissolved_by, match.dissolution_reason = MatchStatus.dissolved, now, by, reason
    match.updated_at = now
    session.add(match)
    _event(session, "match.dissolved", match, {**published_payload(match), "dissolved_by": by, "reason": reason})
    session.flush()
    return match


def complete(session: Session, match: Match) -> Match:
    if match.status != MatchStatus.active:
        raise conflict(f"A match that is {match.status} cannot be completed; it must be active", current_status=match.status)
    now = utcnow()
    match.status, match.completed_at, match.updated_at = MatchStatus.completed, now, now
    session.add(match)
    _event(session, "match.completed", match, published_payload(match))
    session.flush()
    return match


def accept_offer(session: Session, offer: SubstituteOffer) -> SubstituteOffer:
    if offer.status != OfferStatus.offered:
        raise conflict(f"This substitute offer is already {offer.status}", current_status=offer.status)
    offer.status, offer.responded_at = OfferStatus.accepted, utcnow()
    session.add(offer)
    session.flush()
    return offer


def _assign_substitute(session: Session, offer: SubstituteOffer, match: Match) -> None:
    offer.status = OfferStatus.assigned
    session.add(offer)
    emit(
        session,
        OutboxEvent,
        "substitute.assigned",
        subject=offer.id,
        tenant_id=offer.institution_id,
        payload={
            "offer_id": str(offer.id),
            "match_id": str(match.id),
            "program_id": str(match.program_id),
            "institution_id": str(match.institution_id),
            "mentor_participant_id": str(offer.mentor_participant_id),
            "mentor_account_id": offer.mentor_account_id,
            "mentee_participant_id": str(match.mentee_participant_id),
        },
    )


# ---------------------------------------------------------------------------
# From a run's pairs


def activation_context(snap: Snapshot, program: ProgramInfo, mentee: Member, mentor: Member) -> dict[str, Any]:
    """What ``match.activated`` carries, fixed when the match is created."""

    def side(p: Member) -> dict[str, Any]:
        return {
            "participant_id": p.id,
            "account_id": p.account_id,
            "timezone": p.timezone,
            "availability": [s.model_dump(mode="json") for s in p.availability_local],
            "availability_utc": [{"weekday": w, "start_minute": s, "end_minute": e} for w, s, e in p.availability],
            "delivery": p.delivery,
        }

    dates = program.stored()
    return {
        "mentee": side(mentee),
        "mentor": side(mentor),
        "preferred_delivery": mentee.delivery if mentee.delivery == mentor.delivery else Delivery.hybrid,
        "meetings": {
            "delivery": program.delivery,
            "meetings_count": program.meetings_count,
            "cadence": program.meeting_cadence,
            "duration_minutes": snap.settings.meeting_minutes,
            "mentoring_starts_on": dates["mentoring_starts_on"],
            "mentoring_ends_on": dates["mentoring_ends_on"],
            "feedback_deadline_hours": program.feedback_deadline_hours,
        },
    }


def new_match(run: MatchingRun, snap: Snapshot, program: ProgramInfo, mentee_id: str, mentor_id: str, score: float,
              replaces: uuid.UUID | None = None) -> Match:  # fmt: skip
    """A match of the run's pair, with what ``match.activated`` will carry (``program``: as it is now)."""
    mentee, mentor = snap.member(mentee_id), snap.member(mentor_id)
    assert mentee is not None and mentor is not None
    return Match(
        institution_id=run.institution_id,
        program_id=run.program_id,
        run_id=run.id,
        mentee_participant_id=uuid.UUID(mentee_id),
        mentor_participant_id=uuid.UUID(mentor_id),
        mentee_account_id=mentee.account_id,
        mentor_account_id=mentor.account_id,
        score=score,
        context=activation_context(snap, program, mentee, mentor),
        replaces_match_id=replaces,
    )


async def publish(ctx: Context, session: Session, program: Program, run_id: uuid.UUID) -> tuple[MatchingRun, list[Match], list[SubstituteOffer]]:
    """The run's pairs become matches (proposed, or active when the settings auto-accept), and its
    willing unmatched mentors get substitute offers. A program publishes one run."""
    run = await in_thread(runs.get, session, program.institution_id, program.id, run_id, True)
    if run.published_at is not None:
        raise conflict("This run is already published")
    if await in_thread(runs.latest, session, program.institution_id, program.id, published=True):
        raise conflict("Another run of this program is already published; re-match single mentees instead")
    memberships = {str(m.participant_id): m for m in await ctx.participants.memberships(program.id, ctx.who.token)}
    # Willing unmatched mentors become substitutes in participants first: if that
    # fails, nothing is written here.
    marked: list[tuple[SubstituteCandidate, Membership]] = []
    for candidate in RunReport.model_validate(run.report).substitutes:
        if not candidate.willing:
            continue
        membership = memberships.get(str(candidate.mentor_participant_id))
        if membership is None or membership.status not in CURRENT:
            continue
        if membership.status == MembershipStatus.active:
            await ctx.participants.set_membership_status(
                program.id, membership.id, MembershipStatus.substitute, "Unmatched in the matching run; willing to step in", ctx.who.token
            )
        marked.append((candidate, membership))
    return await in_thread(_write_publication, session, run, ProgramInfo.of(program), marked)


def _write_publication(session: Session, run: MatchingRun, program: ProgramInfo, marked: list[tuple[SubstituteCandidate, Membership]]) -> tuple[MatchingRun, list[Match], list[SubstituteOffer]]:
    snap = Snapshot.model_validate(run.inputs)
    created = [
        create(
            session,
            new_match(run, snap, program, str(p.mentee_participant_id), str(p.mentor_participant_id), p.score),
            auto_accept=snap.settings.auto_accept,
        )
        for p in RunReport.model_validate(run.report).pairs
    ]
    made = []
    for candidate, membership in marked:
        mentor = snap.member(str(candidate.mentor_participant_id))
        assert mentor is not None
        offer = SubstituteOffer(
            institution_id=run.institution_id,
            program_id=run.program_id,
            run_id=run.id,
            mentor_participant_id=membership.participant_id,
            mentor_account_id=mentor.account_id,
            membership_id=membership.id,
            rank=candidate.rank,
        )
        session.add(offer)
        made.append(offer)
    run.published_at = utcnow()
    session.add(run)
    session.flush()
    return run, created, made


# ---------------------------------------------------------------------------
# Re-matching


def former_members(memberships: list[Membership]) -> set[str]:
    """Participant ids whose membership of the program ended (withdrawn, completed): the
    published run still lists them, but nobody is re-matched with them."""
    return {str(m.participant_id) for m in memberships if m.status not in CURRENT}


class _Rematching:
    """The published run, its snapshot, the domain's inputs with the program's settings now
    (her dissolved pairs forbidden), and the current pairs (proposed or active)."""

    def __init__(self, session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, mentee_id: str) -> None:
        run = runs.latest(session, institution_id, program_id, published=True)
        if run is None:
            raise conflict("No run of this program is published yet")
        found = of_program(session, institution_id, program_id)
        self.current = [(str(m.mentee_participant_id), str(m.mentor_participant_id)) for m in found if m.status in LIVE]
        if any(pair[0] == mentee_id for pair in self.current):
            raise conflict("This mentee already has a proposed or active match")
        hers = [m for m in found if m.status == MatchStatus.dissolved and str(m.mentee_participant_id) == mentee_id]
        self.run, self.snap = run, Snapshot.model_validate(run.inputs)
        self.settings = settings.effective(session, institution_id, program_id)
        self.cohort = self.snap.cohort()
        self.rules = self.snap.rules(self.settings, [(str(m.mentee_participant_id), str(m.mentor_participant_id)) for m in hers])
        self.replaces = hers[-1].id if hers else None


async def substitutes(ctx: Context, session: Session, match: Match, limit: int) -> list[SubstituteOption]:
    """Mentors who could take the mentee of the dissolved ``match`` now, best first."""
    if match.status != MatchStatus.dissolved:
        raise conflict("Substitutes are proposed for the mentee of a dissolved match")
    gone = former_members(await ctx.participants.memberships(match.program_id, ctx.who.token))
    mentee = str(match.mentee_participant_id)
    if mentee in gone:
        raise conflict("This mentee is no longer a member of the program (withdrawn or completed)")

    def work() -> list[SubstituteOption]:
        at = _Rematching(session, match.institution_id, match.program_id, mentee)
        offered = {str(o.mentor_participant_id): o.status for o in offers(session, match.institution_id, match.program_id)}
        try:
            options = domain.rank_substitutes(at.cohort, at.rules, at.current, mentee, limit + len(gone))
        except domain.CohortError as exc:
            raise problem_from_cohort_error(exc) from None
        kept = [o for o in options if o.mentor_id not in gone][:limit]
        return [
            SubstituteOption(
                rank=rank,
                mentor_participant_id=uuid.UUID(o.mentor_id),
                score=round(o.score, 6),
                spare_capacity=o.spare_capacity,
                unmatched=o.unmatched,
                substitute_offer=offered.get(o.mentor_id),
            )
            for rank, o in enumerate(kept, start=1)
        ]

    return await in_thread(work)


REMATCH = References(
    Ref("mentee_participant_id", Given("mentees", "a mentee of the published run")),
    Ref("mentor_participant_id", Given("mentors", "a mentor of the published run")),
    operations=("create_rematch",),
)


async def rematch(ctx: Context, session: Session, program: Program, body: Rematch) -> Match:
    """A new match for a mentee left alone; no other pair changes. A substitute who accepted her
    offer is assigned, and her membership becomes active again in participants."""
    mentee, mentor = str(body.mentee_participant_id), str(body.mentor_participant_id)
    memberships = await ctx.participants.memberships(program.id, ctx.who.token)
    gone = former_members(memberships)

    def check() -> tuple[_Rematching, float, Any]:
        at = _Rematching(session, program.institution_id, program.id, mentee)
        REMATCH.check(body, tenant=program.institution_id, parent=program.id, given={
            "mentees": [p.id for p in at.snap.mentees], "mentors": [p.id for p in at.snap.mentors],
        })  # fmt: skip
        for field, who in (("mentee_participant_id", mentee), ("mentor_participant_id", mentor)):
            if who in gone:
                raise conflict(f"{field}: she is no longer a member of the program (withdrawn or completed)")
        try:
            domain.add_pair(at.cohort, at.rules, at.current, mentee, mentor)
        except domain.CohortError as exc:
            raise conflict(str(exc)) from None
        score = domain.explain_pair(at.cohort, at.rules, mentee, mentor).score
        offer = next((o for o in offers(session, program.institution_id, program.id) if str(o.mentor_participant_id) == mentor), None)
        return at, score, offer

    at, score, offer = await in_thread(check)
    if offer is not None and offer.membership_id is not None:
        membership = next((m for m in memberships if m.id == offer.membership_id), None)
        if membership is not None and membership.status == MembershipStatus.substitute:
            await ctx.participants.set_membership_status(program.id, membership.id, MembershipStatus.active, "Assigned as a substitute mentor", ctx.who.token)

    def write() -> Match:
        match = new_match(at.run, at.snap, ProgramInfo.of(program), mentee, mentor, round(score, 6), at.replaces)
        create(session, match, auto_accept=at.settings.auto_accept)
        if offer is not None and offer.status in (OfferStatus.offered, OfferStatus.accepted):
            _assign_substitute(session, offer, match)
        session.flush()
        return match

    return await in_thread(write)
