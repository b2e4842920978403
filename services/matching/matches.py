"""Matches: create one from a run's pair, and re-match a mentee left alone.

Re-matching works on the published run's snapshot with the program's settings
now, her dissolved pairs forbidden, and never names a former member.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from servicekit.problems import conflict
from servicekit.references import Given, Ref, References

from services.matching import domain, service
from services.matching.access import problem_from_cohort_error
from services.matching.clients.participants import Membership, Program
from services.matching.dependencies import Context, in_thread
from services.matching.enums import CURRENT, LIVE, Delivery, MatchStatus, MembershipStatus, OfferStatus
from services.matching.models import Match, MatchingRun
from services.matching.schemas.matches import Rematch, SubstituteOption
from services.matching.snapshot import Member, ProgramInfo, Snapshot


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

    stored = program.stored()
    return {
        "mentee": side(mentee),
        "mentor": side(mentor),
        "preferred_delivery": mentee.delivery if mentee.delivery == mentor.delivery else Delivery.hybrid,
        "meetings": {
            "delivery": program.delivery,
            "meetings_count": program.meetings_count,
            "cadence": program.meeting_cadence,
            "duration_minutes": snap.settings.meeting_minutes,
            "mentoring_starts_on": stored["mentoring_starts_on"],
            "mentoring_ends_on": stored["mentoring_ends_on"],
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


def former_members(memberships: list[Membership]) -> set[str]:
    """Participant ids whose membership of the program ended (withdrawn, completed): the
    published run still lists them, but nobody is re-matched with them."""
    return {str(m.participant_id) for m in memberships if m.status not in CURRENT}


class _Rematching:
    """The published run, its snapshot, the domain's inputs with the program's settings now
    (her dissolved pairs forbidden), and the current pairs (proposed or active)."""

    def __init__(self, session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, mentee_id: str) -> None:
        run = service.latest_run(session, institution_id, program_id, published=True)
        if run is None:
            raise conflict("No run of this program is published yet")
        found = service.program_matches(session, institution_id, program_id)
        self.current = [(str(m.mentee_participant_id), str(m.mentor_participant_id)) for m in found if m.status in LIVE]
        if any(pair[0] == mentee_id for pair in self.current):
            raise conflict("This mentee already has a proposed or active match")
        hers = [m for m in found if m.status == MatchStatus.dissolved and str(m.mentee_participant_id) == mentee_id]
        self.run, self.snap = run, Snapshot.model_validate(run.inputs)
        self.settings = service.effective_settings(session, institution_id, program_id)
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
        offers = {str(o.mentor_participant_id): o.status for o in service.offers(session, match.institution_id, match.program_id)}
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
                substitute_offer=offers.get(o.mentor_id),
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
        offer = next((o for o in service.offers(session, program.institution_id, program.id) if str(o.mentor_participant_id) == mentor), None)
        return at, score, offer

    at, score, offer = await in_thread(check)
    if offer is not None and offer.membership_id is not None:
        membership = next((m for m in memberships if m.id == offer.membership_id), None)
        if membership is not None and membership.status == MembershipStatus.substitute:
            await ctx.participants.set_membership_status(program.id, membership.id, MembershipStatus.active, "Assigned as a substitute mentor", ctx.who.token)

    def write() -> Match:
        match = new_match(at.run, at.snap, ProgramInfo.of(program), mentee, mentor, round(score, 6), at.replaces)
        service.create_match(session, match, auto_accept=at.settings.auto_accept)
        if offer is not None and offer.status in (OfferStatus.offered, OfferStatus.accepted):
            service.assign_substitute(session, offer, match)
        session.flush()
        return match

    return await in_thread(write)
