"""Administrations: scheduling (coordinators), the respondent's draft and single submission."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from servicekit.auth import CurrentPrincipal, Principal
from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import not_found, problem_responses
from servicekit.tenancy import tenant_of

from services.evaluation import access, administering, analysis, catalog
from services.evaluation.access import in_thread
from services.evaluation.routers.common import CREATED
from services.evaluation.schemas import (
    AdministrationCreate,
    AdministrationPublic,
    AnswersIn,
    MyAdministration,
    MyResponse,
    RespondentsPublic,
    SubmissionIn,
)

router = APIRouter(prefix="/v1/administrations", tags=["administrations"])
AdministrationId = Annotated[uuid.UUID, Path(description="The administration's id.")]
# Members who take part (substitutes included: trained, and they may step in).
LIVE = ("active", "substitute", "completed")


async def _my_roles(request: Request, who: Principal) -> tuple[uuid.UUID, dict[uuid.UUID, tuple[str, uuid.UUID]]]:
    tid = tenant_of(who)
    if tid is None or who.is_client:
        raise not_found("Administration")
    me = await request.app.state.upstreams.me(who.token)
    roles = {m.program_id: (administering.role_of(m.role), m.participant_id) for m in me.memberships if m.status in LIVE}
    return tid, roles


async def _respondent(request: Request, who: Principal, session: Any, administration_id: uuid.UUID) -> tuple[Any, administering.Respondent]:
    tid, roles = await _my_roles(request, who)
    adm = await in_thread(administering.get, session, who, administration_id)
    mine = roles.get(adm.program_id)
    if adm.institution_id != tid or mine is None or adm.audience not in ("everyone", administering.ROLE_AUDIENCE[mine[0]]):
        raise not_found("Administration")
    key: bytes = request.app.state.pseudonym_key
    return adm, administering.Respondent(who.subject, mine[1], mine[0], access.pseudonym(key, adm.program_id, who.subject))


DYAD_PREFERENCE = {"active": 0, "completed": 1, "dissolved": 2}


async def _dyad_ref(request: Request, who: Principal, session: Any, adm: Any) -> str | None:
    """For a perceived-achievement instrument: the keyed pseudonym of her dyad in the program (read with her token)."""
    instrument = await in_thread(catalog.load, session, adm.institution_id, adm.instrument_id)
    if not analysis.is_achievement_instrument(instrument):
        return None
    mine = [d for d in await request.app.state.upstreams.my_dyads(who.token) if d.program_id == adm.program_id]
    if not mine:
        return None
    mine.sort(key=lambda d: str(d.activated_at or ""), reverse=True)
    dyad = min(mine, key=lambda d: DYAD_PREFERENCE.get(d.status, len(DYAD_PREFERENCE)))
    return access.dyad_pseudonym(request.app.state.pseudonym_key, adm.program_id, dyad.id)


@router.post("", status_code=201, response_model=AdministrationPublic, operation_id="create_administration",
             summary="Give an instrument version to a program's mentors, mentees or everyone, in a window (coordinators)",
             responses={**CREATED, **problem_responses(401, 403, 404, 409, 422, 503)})
async def create_administration(body: AdministrationCreate, request: Request, response: Response, who: CurrentPrincipal,
                                session: SessionDep, idem: IdempotencyDep) -> Any:
    access.staff_role(who, ("coordinator",))
    institution_id = access.institution_of(who)
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    program = await request.app.state.upstreams.program(body.program_id, who.token)
    if program.institution_id != institution_id:
        raise not_found("Program")
    adm = await in_thread(administering.create, session, who, institution_id, body)
    out = AdministrationPublic.model_validate(administering.public(adm))
    await in_thread(idem.remember, session, 201, out)
    response.headers["Location"] = f"/v1/administrations/{adm.id}"
    return out


@router.get("", response_model=Page[AdministrationPublic], operation_id="list_administrations",
            summary="Your institution's administrations, optionally of one program (coordinators, evaluators)",
            responses=problem_responses(400, 401, 403, 422))
def list_administrations(
    who: CurrentPrincipal, session: SessionDep,
    program_id: Annotated[uuid.UUID | None, Query(description="Only this program's.")] = None,
    limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
) -> Any:
    access.staff_role(who)
    rows, nxt = administering.list_for_staff(session, who, program_id, limit, cursor)
    return Page[AdministrationPublic](items=[AdministrationPublic.model_validate(administering.public(r)) for r in rows], next_cursor=nxt)


@router.get("/mine", response_model=Page[MyAdministration], operation_id="list_my_administrations",
            summary="Open administrations meant for me (my role in each program comes from the participants service)",
            responses=problem_responses(400, 401, 422, 503))
async def list_my_administrations(request: Request, who: CurrentPrincipal, session: SessionDep,
                                  limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    try:
        tid, roles = await _my_roles(request, who)
    except Exception as exc:  # no participant record: nothing is meant for her
        if getattr(exc, "status", None) == 404:
            return Page[MyAdministration](items=[])
        raise
    rows, nxt = await in_thread(administering.open_for_me, session, tid, {p: r for p, (r, _) in roles.items()}, limit, cursor)
    key: bytes = request.app.state.pseudonym_key
    pseudonyms = {a.id: access.pseudonym(key, a.program_id, who.subject) for a in rows}
    statuses = await in_thread(administering.statuses, session, [a.id for a in rows], pseudonyms)
    items = [MyAdministration.model_validate(administering.public(a, my_role=roles[a.program_id][0], my_status=statuses.get(a.id, "none")))
             for a in rows]
    return Page[MyAdministration](items=items, next_cursor=nxt)


@router.get("/{administration_id}", response_model=AdministrationPublic, operation_id="get_administration",
            summary="One administration (coordinators, evaluators)", responses=problem_responses(401, 403, 404, 422))
def get_administration(administration_id: AdministrationId, who: CurrentPrincipal, session: SessionDep) -> Any:
    access.staff_role(who)
    return administering.public(administering.get(session, who, administration_id))


@router.post("/{administration_id}/closing", response_model=AdministrationPublic, operation_id="close_administration",
             summary="Close the window now (coordinators); emits administration.closed; 409 when already closed",
             responses=problem_responses(401, 403, 404, 409, 422))
def close_administration(administration_id: AdministrationId, who: CurrentPrincipal, session: SessionDep) -> Any:
    access.staff_role(who, ("coordinator",))
    return administering.public(administering.close(session, who, administering.get(session, who, administration_id)))


@router.get("/{administration_id}/respondents", response_model=RespondentsPublic, operation_id="get_administration_respondents",
            summary="Who has responded: counts, and participant ids when not anonymous; never answers (coordinators)",
            responses=problem_responses(401, 403, 404, 422))
def get_administration_respondents(administration_id: AdministrationId, who: CurrentPrincipal, session: SessionDep) -> Any:
    access.staff_role(who, ("coordinator",))
    return administering.respondents(session, administering.get(session, who, administration_id))


@router.get("/{administration_id}/responses/mine", response_model=MyResponse, operation_id="get_my_response",
            summary="My own draft or submitted answers (404 until I save some)", responses=problem_responses(401, 404, 422, 503))
async def get_my_response(administration_id: AdministrationId, request: Request, who: CurrentPrincipal, session: SessionDep) -> Any:
    adm, me = await _respondent(request, who, session, administration_id)
    row = await in_thread(administering.mine, session, adm, me)
    if row is None:
        raise not_found("Response")
    return row


@router.put("/{administration_id}/responses/mine", response_model=MyResponse, operation_id="save_my_response",
            summary="Save my draft (validated against the instrument; required items may still be missing)",
            responses=problem_responses(401, 404, 409, 422, 503))
async def save_my_response(administration_id: AdministrationId, body: AnswersIn, request: Request, who: CurrentPrincipal,
                           session: SessionDep) -> Any:
    adm, me = await _respondent(request, who, session, administration_id)
    return await in_thread(administering.save_draft, session, adm, me, body.answers)


@router.post("/{administration_id}/responses/mine/submission", status_code=201, response_model=MyResponse,
             operation_id="submit_my_response",
             summary="Submit my answers, exactly once (409 after, or when the window is not open); emits response.submitted",
             description="A perceived-achievement answer is tied to the keyed pseudonym of her dyad, read from the sessions "
                         "service with her own token, so the report can pair it with her counterpart's and the measured "
                         "achievement; the dyad's id is not stored.",
             responses={**CREATED, **problem_responses(401, 404, 409, 422, 503)})
async def submit_my_response(administration_id: AdministrationId, request: Request, response: Response, who: CurrentPrincipal,
                             session: SessionDep, idem: IdempotencyDep, body: SubmissionIn | None = None) -> Any:
    adm, me = await _respondent(request, who, session, administration_id)
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    dyad_ref = await _dyad_ref(request, who, session, adm)
    row = await in_thread(administering.submit, session, adm, me, body.answers if body else None, dyad_ref)
    out = MyResponse.model_validate(row)
    await in_thread(idem.remember, session, 201, out)
    response.headers["Location"] = f"/v1/administrations/{adm.id}/responses/mine"
    return out
