"""Matches (dyads): see, accept, dissolve, complete; substitutes and re-matching."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import problem_responses
from servicekit.tenancy import tenant_of

from services.matching import access, matches
from services.matching.dependencies import Ctx, MatchId, ProgramId, in_thread
from services.matching.enums import Actor, MatchStatus
from services.matching.routers.common import CREATED, path_for
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
    return await in_thread(matches.page_of_member, session, tid, ctx.who.subject, limit=limit, cursor=cursor)


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
    return await in_thread(matches.page, session, program, status=status, limit=limit, cursor=cursor)


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
        return matches.accept(session, match, side)

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
        return matches.dissolve(session, match, side, body.reason)

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
        return matches.complete(session, match)

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
    return await matches.substitutes(ctx, session, match, limit)


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
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    match = await matches.rematch(ctx, session, program, body)
    out = MatchPublic.model_validate(match)
    await in_thread(idem.remember, session, 201, out)
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
    return await in_thread(matches.offers_to, session, tid, ctx.who.subject)


@router.post(
    "/substitute-offers/{offer_id}/accept",
    response_model=SubstituteOfferPublic,
    operation_id="accept_substitute_offer",
    summary="Agree to stay on as a substitute (the mentor herself)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def accept_substitute_offer(offer_id: OfferId, ctx: Ctx, session: SessionDep) -> Any:
    def work() -> Any:
        return matches.accept_offer(session, access.offer_for(session, ctx.who, offer_id))

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
    return await in_thread(matches.offers, session, program.institution_id, program.id)
