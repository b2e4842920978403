"""Matches (dyads): see, accept, dissolve, complete; substitutes and re-matching."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import conflict, problem_responses
from servicekit.references import Given, Ref, References
from servicekit.tenancy import tenant_of

from services.matching import access, cohort, domain, service, workflows
from services.matching.clients.participants import Membership
from services.matching.dependencies import Ctx, MatchId, ProgramId, in_thread
from services.matching.routers.common import CREATED, path_for, remember, replay
from services.matching.enums import CURRENT, Actor, MatchStatus, MembershipStatus, OfferStatus
from services.matching.schemas import Dissolution, MatchPublic, Rematch, SubstituteOfferPublic, SubstituteOption

router = APIRouter(tags=["matches"])
OfferId = Annotated[uuid.UUID, Path(description="The substitute offer's id.")]
MEMBERS, EVERYONE = (Actor.mentee, Actor.mentor), (Actor.mentee, Actor.mentor, Actor.coordinator)


@router.get(
    "/matches/mine",
    response_model=Page[MatchPublic],
    operation_id="list_my_matches",
    summary="My matches, as mentee or mentor",
    responses=problem_responses(400, 401, 422),
)
async def list_my_matches(ctx: Ctx, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    tid = tenant_of(ctx.who)
    if tid is None or ctx.who.is_client:
        return Page[MatchPublic](items=[], next_cursor=None)
    rows, next_cursor = await in_thread(service.my_matches, session, tid, ctx.who.subject, limit=limit, cursor=cursor)
    return Page[MatchPublic](items=[MatchPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/matches/{match_id}",
    response_model=MatchPublic,
    operation_id="get_match",
    summary="One match (its two members, the institution's coordinators, admin; anyone else 404)",
    responses=problem_responses(401, 404, 422),
)
async def get_match(match_id: MatchId, ctx: Ctx, session: SessionDep) -> Any:
    match, _ = await in_thread(access.match_for, session, ctx.who, match_id, allow=EVERYONE)
    return match


@router.get(
    "/programs/{program_id}/matches",
    response_model=Page[MatchPublic],
    operation_id="list_program_matches",
    summary="The program's matches (coordinators, admin)",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def list_program_matches(
    program_id: ProgramId,
    ctx: Ctx,
    session: SessionDep,
    status: Annotated[MatchStatus | None, Query(description="Only matches in this status.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    rows, next_cursor = await in_thread(
        service.list_matches, session, program.institution_id, program.id, status=status, limit=limit, cursor=cursor
    )
    return Page[MatchPublic](items=[MatchPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/matches/{match_id}/accept",
    response_model=MatchPublic,
    operation_id="accept_match",
    summary="Accept a proposed match (each member); when both have, it is active (match.activated)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def accept_match(match_id: MatchId, ctx: Ctx, session: SessionDep) -> Any:
    def work() -> Any:
        match, side = access.match_for(session, ctx.who, match_id, allow=MEMBERS, lock=True)
        return service.accept(session, match, side)

    return await in_thread(work)


@router.post(
    "/matches/{match_id}/dissolution",
    response_model=MatchPublic,
    operation_id="dissolve_match",
    summary="Dissolve a proposed or active match, with a reason (either member, coordinators)",
    responses=problem_responses(401, 404, 409, 422),
)
async def dissolve_match(match_id: MatchId, body: Dissolution, ctx: Ctx, session: SessionDep) -> Any:
    def work() -> Any:
        match, side = access.match_for(session, ctx.who, match_id, allow=EVERYONE, lock=True)
        return service.dissolve(session, match, side, body.reason)

    return await in_thread(work)


@router.post(
    "/matches/{match_id}/completion",
    response_model=MatchPublic,
    operation_id="complete_match",
    summary="Mark an active match completed (coordinators)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def complete_match(match_id: MatchId, ctx: Ctx, session: SessionDep) -> Any:
    def work() -> Any:
        match, _ = access.match_for(session, ctx.who, match_id, allow=(Actor.coordinator,), lock=True)
        return service.complete(session, match)

    return await in_thread(work)


@router.get(
    "/matches/{match_id}/substitutes",
    response_model=list[SubstituteOption],
    operation_id="list_match_substitutes",
    summary="Mentors who could take the mentee of a dissolved match now, best first, under the same hard rules (coordinators)",
    description=(
        "Her former mentors, and mentors no longer members of the program (withdrawn or completed), are left out. "
        "Substitutes (no mentee) and mentors with a free place are listed. A mentee who is no longer a member is a 409."
    ),
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def list_match_substitutes(
    match_id: MatchId, ctx: Ctx, session: SessionDep, limit: Annotated[int, Query(ge=1, le=50)] = 10
) -> Any:
    match, _ = await in_thread(access.match_for, session, ctx.who, match_id, allow=(Actor.coordinator,))
    if match.status != MatchStatus.dissolved:
        raise conflict("Substitutes are proposed for the mentee of a dissolved match")
    gone = former_members(await ctx.participants.memberships(match.program_id, ctx.who.token))
    if str(match.mentee_participant_id) in gone:
        raise conflict("This mentee is no longer a member of the program (withdrawn or completed)")

    def work() -> Any:
        mentee = str(match.mentee_participant_id)
        run, current, dissolved = workflows.rematch_context(session, (match.institution_id, match.program_id), mentee)
        settings = service.effective_settings(session, match.institution_id, match.program_id)
        offers = {str(o.mentor_participant_id): o.status for o in service.offers(session, match.institution_id, match.program_id)}
        cohort_, settings_ = workflows.rematch_inputs(run, settings, dissolved)
        try:
            options = domain.rank_substitutes(cohort_, settings_, current, mentee, limit + len(gone))
        except domain.CohortError as exc:
            raise access.problem_from_cohort_error(exc) from None
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


def former_members(memberships: list[Membership]) -> set[str]:
    """Participant ids whose membership of the program ended (withdrawn, completed): the
    published run still lists them, but nobody is re-matched with them."""
    return {str(m.participant_id) for m in memberships if m.status not in CURRENT}


REMATCH = References(
    Ref("mentee_participant_id", Given("mentees", "a mentee of the published run")),
    Ref("mentor_participant_id", Given("mentors", "a mentor of the published run")),
    operations=("create_rematch",),
)


@router.post(
    "/programs/{program_id}/rematches",
    status_code=201,
    response_model=MatchPublic,
    operation_id="create_rematch",
    summary="Pair a mentee left alone with a new mentor, without touching any other pair (coordinators)",
    description=(
        "The same hard rules apply, and her former mentors are excluded. A mentee or mentor no longer a member "
        "of the program (withdrawn or completed) is a 409. A substitute who accepted her offer is "
        "assigned (substitute.assigned) and her membership becomes active again in participants."
    ),
    responses={**CREATED, **problem_responses(401, 403, 404, 409, 422, 503)},
)
async def create_rematch(
    program_id: ProgramId, body: Rematch, ctx: Ctx, idem: IdempotencyDep, session: SessionDep, request: Request, response: Response
) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    if (replayed := await replay(idem, session)) is not None:
        return replayed
    mentee, mentor = str(body.mentee_participant_id), str(body.mentor_participant_id)
    memberships = await ctx.participants.memberships(program.id, ctx.who.token)
    gone = former_members(memberships)

    def check() -> Any:
        run, current, dissolved = workflows.rematch_context(session, (program.institution_id, program.id), mentee)
        REMATCH.check(body, tenant=program.institution_id, parent=program.id, given={
            "mentees": [p["id"] for p in run.inputs["mentees"]], "mentors": [p["id"] for p in run.inputs["mentors"]],
        })  # fmt: skip
        for field, who in (("mentee_participant_id", mentee), ("mentor_participant_id", mentor)):
            if who in gone:
                raise conflict(f"{field}: she is no longer a member of the program (withdrawn or completed)")
        settings = service.effective_settings(session, program.institution_id, program.id)
        cohort_, settings_ = workflows.rematch_inputs(run, settings, dissolved)
        try:
            domain.add_pair(cohort_, settings_, current, mentee, mentor)
        except domain.CohortError as exc:
            raise conflict(str(exc)) from None
        score = domain.explain_pair(cohort_, settings_, mentee, mentor).score
        offer = next((o for o in service.offers(session, program.institution_id, program.id) if str(o.mentor_participant_id) == mentor), None)
        replaced = [m for m in service.program_matches(session, program.institution_id, program.id, (MatchStatus.dissolved,)) if str(m.mentee_participant_id) == mentee]
        return run, settings, score, offer, (replaced[-1].id if replaced else None)

    run, settings, score, offer, replaces = await in_thread(check)
    if offer is not None and offer.membership_id is not None:
        membership = next((m for m in memberships if m.id == offer.membership_id), None)
        if membership is not None and membership.status == MembershipStatus.substitute:
            await ctx.participants.set_membership_status(program.id, membership.id, MembershipStatus.active, "Assigned as a substitute mentor", ctx.who.token)

    def write() -> Any:
        match = workflows.new_match(run, cohort.program_info(program), mentee, mentor, round(score, 6), replaces)
        service.create_match(session, match, auto_accept=settings.auto_accept)
        if offer is not None and offer.status in (OfferStatus.offered, OfferStatus.accepted):
            service.assign_substitute(session, offer, match)
        session.flush()
        return match

    match = await in_thread(write)
    out = MatchPublic.model_validate(match)
    await remember(idem, session, 201, out)
    response.headers["Location"] = path_for(request, "get_match", match_id=match.id)
    return out


@router.get(
    "/substitute-offers/mine",
    response_model=list[SubstituteOfferPublic],
    operation_id="list_my_substitute_offers",
    summary="The substitute offers made to me (a mentor left unmatched)",
    responses=problem_responses(401),
)
async def list_my_substitute_offers(ctx: Ctx, session: SessionDep) -> Any:
    tid = tenant_of(ctx.who)
    if tid is None or ctx.who.is_client:
        return []
    return await in_thread(service.my_offers, session, tid, ctx.who.subject)


@router.post(
    "/substitute-offers/{offer_id}/accept",
    response_model=SubstituteOfferPublic,
    operation_id="accept_substitute_offer",
    summary="Agree to stay on as a substitute (the mentor herself)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def accept_substitute_offer(offer_id: OfferId, ctx: Ctx, session: SessionDep) -> Any:
    def work() -> Any:
        return service.accept_offer(session, access.offer_for(session, ctx.who, offer_id))

    return await in_thread(work)


@router.get(
    "/programs/{program_id}/substitute-offers",
    response_model=list[SubstituteOfferPublic],
    operation_id="list_substitute_offers",
    summary="The program's substitute offers and whether each mentor agreed (coordinators)",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_substitute_offers(program_id: ProgramId, ctx: Ctx, session: SessionDep) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    return await in_thread(service.offers, session, program.institution_id, program.id)
