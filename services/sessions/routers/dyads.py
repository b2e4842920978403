"""/v1/dyads: dyads, their meetings, health; program views (at-risk, statistics, thresholds)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from servicekit.auth import allow_clients
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.types import Instant
from servicekit.problems import field_problem, problem_responses
from servicekit import clock

from services.sessions import access, diary, dyads, feedback, meetings, objectives, outcomes, supervision
from services.sessions.dependencies import CurrentPrincipal, DyadId, ProgramId, SessionDep
from services.sessions.schemas import (
    DiaryCounts, DigestOut, DyadPublic, FeedbackPublic, HealthOut, MeetingPublic, ObjectivePublic, ProgramOutcomesOut, StatisticsOut,
    Thresholds, ThresholdsOut,
)

router = APIRouter(prefix="/v1/dyads", tags=["dyads"])


@router.get("/mine", response_model=Page[DyadPublic], operation_id="list_my_dyads", summary="My dyads, as mentee or mentor",
            responses=problem_responses(400, 401, 422))
def list_my_dyads(who: CurrentPrincipal, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    rows, nxt = dyads.mine(session, who, limit=limit, cursor=cursor)
    return Page[DyadPublic](items=[DyadPublic.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/programs/{program_id}", response_model=Page[DyadPublic], operation_id="list_program_dyads",
            summary="The program's dyads (coordinators, admin)", responses=problem_responses(400, 401, 403, 404, 422))
def list_program_dyads(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    program, _ = access.program_for(session, who, program_id)
    rows, nxt = dyads.of_program(session, program, limit=limit, cursor=cursor)
    return Page[DyadPublic](items=[DyadPublic.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/programs/{program_id}/at-risk", response_model=list[HealthOut], operation_id="list_dyads_at_risk",
            summary="The program's amber and red dyads, worst first, each with the signs that flagged it against the program's "
                    "norms (coordinators)",
            responses=problem_responses(401, 403, 404, 422))
def list_dyads_at_risk(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep) -> Any:
    program, _ = access.program_for(session, who, program_id)
    return supervision.at_risk(session, program)


AsOf = Annotated[Instant | None, Query(description="The end of the week looked at (timezone-aware, not in the future); "
                                                   "default now.", examples=["2026-10-05T09:00:00Z"])]


@router.get("/programs/{program_id}/digest", response_model=DigestOut, operation_id="get_program_digest",
            summary="The coordinator's weekly digest: new flags and escalations, recoveries, dyads that ended and dyads "
                    "without a held meeting in the seven days before as_of (coordinators)",
            responses=problem_responses(401, 403, 404, 422))
def get_program_digest(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep, as_of: AsOf = None) -> Any:
    program, _ = access.program_for(session, who, program_id)
    if as_of is not None and as_of > clock.now():
        raise field_problem("query.as_of", "must not be in the future")
    return supervision.digest(session, program, as_of)


@router.get("/programs/{program_id}/statistics", response_model=StatisticsOut, operation_id="get_program_statistics",
            summary="Held vs planned, reschedule/cancel rates, feedback timeliness and delays, in-person, achievement (coordinators)",
            responses=problem_responses(401, 403, 404, 422))
def get_program_statistics(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep) -> Any:
    program, _ = access.program_for(session, who, program_id)
    return supervision.statistics(session, program)


@router.get("/programs/{program_id}/outcomes", response_model=ProgramOutcomesOut, operation_id="get_program_outcomes",
            dependencies=[allow_clients(access.REPORTS_READ_SCOPE)],
            summary="Per-dyad outcomes for the program report: verified (confirmed milestones), self-reported and perceived "
                    "objective achievement, milestones, rapport, meetings held of scheduled, feedback on time and late (with "
                    "each delay), status and risk; no person named, no comment or evidence given (coordinators; the "
                    "evaluation service with scope reports:read)",
            responses=problem_responses(401, 403, 404, 422))
def get_program_outcomes(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return outcomes.program_outcomes(session, access.program_for_report(session, who, program_id))


@router.get("/programs/{program_id}/health-thresholds", response_model=ThresholdsOut, operation_id="get_health_thresholds",
            summary="The program's supervision policy: each signal's floors and ceilings, how norms are computed (coordinators)",
            responses=problem_responses(401, 403, 404, 422))
def get_health_thresholds(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep) -> Any:
    program, _ = access.program_for(session, who, program_id)
    return supervision.thresholds_out(program)


@router.put("/programs/{program_id}/health-thresholds", response_model=ThresholdsOut, operation_id="set_health_thresholds",
            summary="Replace the program's supervision policy (omitted fields take the defaults; coordinators)",
            responses=problem_responses(401, 403, 404, 422))
def set_health_thresholds(program_id: ProgramId, body: Thresholds, who: CurrentPrincipal, session: SessionDep) -> Any:
    program, _ = access.program_for(session, who, program_id)
    supervision.set_policy(session, program, body.model_dump())
    return supervision.thresholds_out(program)


@router.get("/{dyad_id}", response_model=DyadPublic, operation_id="get_dyad",
            summary="One dyad (its members, the institution's coordinators, admin; anyone else 404)", responses=problem_responses(401, 404, 422))
def get_dyad(dyad_id: DyadId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return access.dyad_for(session, who, dyad_id)[0]


@router.get("/{dyad_id}/meetings", response_model=Page[MeetingPublic], operation_id="list_dyad_meetings",
            summary="The dyad's meetings in schedule order", responses=problem_responses(400, 401, 404, 422))
def list_dyad_meetings(dyad_id: DyadId, who: CurrentPrincipal, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    dyad, _ = access.dyad_for(session, who, dyad_id)
    rows, nxt = meetings.dyad_page(session, dyad, limit=limit, cursor=cursor)
    return Page[MeetingPublic](items=[meetings.public(m) for m in rows], next_cursor=nxt)


@router.get("/{dyad_id}/health", response_model=HealthOut, operation_id="get_dyad_health",
            summary="The dyad's health now: green, amber or red, with every sign that flagged it and all it measured (coordinators)",
            responses=problem_responses(401, 403, 404, 422))
def get_dyad_health(dyad_id: DyadId, who: CurrentPrincipal, session: SessionDep) -> Any:
    dyad, _ = access.dyad_for(session, who, dyad_id, allow=("coordinator",))
    return supervision.health_now(session, dyad)


@router.get("/{dyad_id}/feedback", response_model=list[FeedbackPublic], operation_id="list_dyad_feedback",
            summary="The dyad's feedback forms the caller may read (her own; her counterpart's if the program allows; coordinators all)",
            responses=problem_responses(401, 404, 422))
def list_dyad_feedback(dyad_id: DyadId, who: CurrentPrincipal, session: SessionDep) -> Any:
    dyad, capacity = access.dyad_for(session, who, dyad_id)
    now = clock.now()
    return [feedback.public(f, now) for f in feedback.dyad_forms(session, who, dyad, capacity)]


@router.get("/{dyad_id}/objectives", response_model=list[ObjectivePublic], operation_id="list_dyad_objectives",
            summary="The dyad's SMART objectives with their milestones and verified, self-reported and perceived achievement",
            responses=problem_responses(401, 404, 422))
def list_dyad_objectives(dyad_id: DyadId, who: CurrentPrincipal, session: SessionDep) -> Any:
    dyad, _ = access.dyad_for(session, who, dyad_id)
    return [objectives.public(session, o) for o in objectives.dyad_objectives(session, dyad)]


@router.get("/{dyad_id}/diary-counts", response_model=DiaryCounts, operation_id="get_dyad_diary_counts",
            summary="How many diary entries the mentee wrote and shared (never the text)", responses=problem_responses(401, 404, 422))
def get_dyad_diary_counts(dyad_id: DyadId, who: CurrentPrincipal, session: SessionDep) -> Any:
    dyad, _ = access.dyad_for(session, who, dyad_id)
    return diary.counts(session, dyad)
