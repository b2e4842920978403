"""The questionnaire (matching profiles) and the per-program settings."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter

from servicekit.db import SessionDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import field_problem, not_found, problem_responses
from servicekit.references import Given, Ref, References, Rows

from services.matching import access, cohort, service
from services.matching.dependencies import Ctx, ProgramId, in_thread
from services.matching.enums import CURRENT, MENTOR_ROLES
from services.matching.models import MatchingProfile
from services.matching.schemas import MissingProfile, ProfilePublic, ProfileUpsert, SettingsPublic, SettingsUpdate

router = APIRouter(tags=["profiles"])
settings_router = APIRouter(tags=["settings"])
BASE = "/programs/{program_id}"

# A mentee's requests name mentors of her program whose questionnaire is in: matching's own copy of who can be
# matched (a mentor without one is never in a run). The coordinator's pairs name current members of the program,
# as participants lists them to her (the same list a run reads).
PROGRAM_MENTOR = Rows("a mentor of this program with a matching questionnaire", (MatchingProfile.participant_id,),
                      tenant=MatchingProfile.institution_id, parent=MatchingProfile.program_id,
                      where=(MatchingProfile.role.in_(MENTOR_ROLES),))  # type: ignore[attr-defined]
REQUESTS = References(
    Ref("requests.requested_mentor_participant_id", PROGRAM_MENTOR),
    Ref("requests.avoid_participant_ids[]", PROGRAM_MENTOR),
    operations=("put_my_matching_profile",),
)
MENTEE, MENTOR = Given("mentees", "a current mentee of this program"), Given("mentors", "a current mentor of this program")
PAIRS = References(
    Ref("pinned_pairs[].mentee_participant_id", MENTEE),
    Ref("pinned_pairs[].mentor_participant_id", MENTOR),
    Ref("forbidden_pairs[].mentee_participant_id", MENTEE),
    Ref("forbidden_pairs[].mentor_participant_id", MENTOR),
    operations=("put_matching_settings",),
)


def public(profile: MatchingProfile, anchor: date) -> ProfilePublic:
    utc = [{"weekday": w, "start_minute": s, "end_minute": e} for w, s, e in cohort.to_utc(profile.availability, profile.timezone, anchor)]
    return ProfilePublic.model_validate({**profile.model_dump(), "availability_utc": utc})


@router.get(
    BASE + "/profiles/me",
    response_model=ProfilePublic,
    operation_id="get_my_matching_profile",
    summary="My matching questionnaire in this program (a confirmed member)",
    responses=problem_responses(401, 404, 422, 503),
)
async def get_my_matching_profile(program_id: ProgramId, ctx: Ctx, session: SessionDep) -> Any:
    program, me, _membership = await access.membership_in(ctx, program_id)
    profile = await in_thread(service.get_profile, session, program.institution_id, program.id, me.id)
    if profile is None:
        raise not_found("Matching profile")
    return public(profile, cohort.anchor_date(program))


@router.put(
    BASE + "/profiles/me",
    response_model=ProfilePublic,
    operation_id="put_my_matching_profile",
    summary="Fill or replace my matching questionnaire (a confirmed member)",
    description=(
        "Objectives and expertise are codes of the program's taxonomy; availability is weekly slots in her own "
        "time zone (default: her profile's). Mentors set a capacity within the program's maximum; only mentees "
        "may add requests (identity match, a requested mentor, people to avoid), used only because she asks. The "
        "mentors she requests or avoids must be mentors of this program whose questionnaire is in (else 422 "
        "unknown-reference naming the field)."
    ),
    responses=problem_responses(401, 404, 422, 503),
)
async def put_my_matching_profile(program_id: ProgramId, body: ProfileUpsert, ctx: Ctx, session: SessionDep) -> Any:
    program, me, membership = await access.membership_in(ctx, program_id)
    settings = await in_thread(service.effective_settings, session, program.institution_id, program.id)
    taxonomy = set(settings.objectives_taxonomy)
    for field in ("objectives", "expertise"):
        for n, code in enumerate(getattr(body, field)):
            if code not in taxonomy:
                raise field_problem(f"body.{field}.{n}", f"{code!r} is not in the program's objectives taxonomy")
    mentor = membership.role in MENTOR_ROLES
    if mentor and body.capacity > program.max_mentees_per_mentor:
        raise field_problem("body.capacity", f"At most the program's maximum of {program.max_mentees_per_mentor} mentees")
    if mentor and body.requests is not None:
        raise field_problem("body.requests", "Only mentees may make matching requests")
    timezone = body.timezone or me.timezone
    if timezone is None:
        raise field_problem("body.timezone", "Give the time zone of your availability (your profile has none)")
    await in_thread(REQUESTS.check, body, session=session, tenant=program.institution_id, parent=program.id)
    values = body.model_dump(mode="json", exclude={"timezone"})
    values.update(
        timezone=timezone,
        institution_id=program.institution_id,
        program_id=program.id,
        participant_id=me.id,
        account_id=ctx.who.subject,
        role=membership.role,
        capacity=body.capacity if mentor else 0,
        willing_to_substitute=body.willing_to_substitute if mentor else False,
    )
    existing = await in_thread(service.get_profile, session, program.institution_id, program.id, me.id)
    profile = await in_thread(service.save_profile, session, existing, values)
    return public(profile, cohort.anchor_date(program))


@router.get(
    BASE + "/profiles",
    response_model=Page[ProfilePublic],
    operation_id="list_matching_profiles",
    summary="Every matching questionnaire of the program (coordinators, admin)",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def list_matching_profiles(program_id: ProgramId, ctx: Ctx, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    rows, next_cursor = await in_thread(service.list_profiles, session, program.institution_id, program.id, limit=limit, cursor=cursor)
    anchor = cohort.anchor_date(program)
    return Page[ProfilePublic](items=[public(r, anchor) for r in rows], next_cursor=next_cursor)


@router.get(
    BASE + "/profiles/missing",
    response_model=Page[MissingProfile],
    operation_id="list_missing_matching_profiles",
    summary="Members (active or substitute) who have not filled the questionnaire yet (coordinators, admin)",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_missing_matching_profiles(program_id: ProgramId, ctx: Ctx, session: SessionDep) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    memberships = await ctx.participants.memberships(program.id, ctx.who.token)
    filled = {p.participant_id for p in await in_thread(service.all_profiles, session, program.institution_id, program.id)}
    missing = [
        MissingProfile(participant_id=m.participant_id, membership_id=m.id, role=m.role)
        for m in sorted(memberships, key=lambda m: str(m.participant_id))
        if m.status in CURRENT and m.participant_id not in filled
    ]
    return Page[MissingProfile](items=missing, next_cursor=None)


def settings_public(program_id: Any, row: Any) -> SettingsPublic:
    body = SettingsUpdate.model_validate(row.body) if row else SettingsUpdate()
    return SettingsPublic.model_validate(
        {**body.model_dump(mode="json"), "program_id": program_id, "is_default": row is None, "updated_at": row.updated_at if row else None}
    )


@settings_router.get(
    BASE + "/settings",
    response_model=SettingsPublic,
    operation_id="get_matching_settings",
    summary="The program's matching settings: weights, hard rules, objective, algorithm, taxonomy (coordinators)",
    description="Until saved, the defaults: the pilots' rule (different campus and different academic unit).",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_matching_settings(program_id: ProgramId, ctx: Ctx, session: SessionDep) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    row = await in_thread(service.get_settings, session, program.institution_id, program.id)
    return settings_public(program.id, row)


@settings_router.put(
    BASE + "/settings",
    response_model=SettingsPublic,
    operation_id="put_matching_settings",
    summary="Replace the program's matching settings (coordinators)",
    description="Pinned and forbidden pairs name current members of the program, a mentee and a mentor (else 422 "
    "unknown-reference naming the field; nothing is saved).",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def put_matching_settings(program_id: ProgramId, body: SettingsUpdate, ctx: Ctx, session: SessionDep) -> Any:
    program = await access.coordinated_program(ctx, program_id)
    forbidden = {(p.mentee_participant_id, p.mentor_participant_id) for p in body.forbidden_pairs}
    pinned_mentees: set[Any] = set()
    for n, pair in enumerate(body.pinned_pairs):
        if (pair.mentee_participant_id, pair.mentor_participant_id) in forbidden:
            raise field_problem(f"body.pinned_pairs.{n}", "This pair is also forbidden")
        if pair.mentee_participant_id in pinned_mentees:
            raise field_problem(f"body.pinned_pairs.{n}.mentee_participant_id", "A mentee may be pinned to one mentor only")
        pinned_mentees.add(pair.mentee_participant_id)
    if body.pinned_pairs or body.forbidden_pairs:
        current = [m for m in await ctx.participants.memberships(program.id, ctx.who.token) if m.status in CURRENT]
        PAIRS.check(body, tenant=program.institution_id, parent=program.id, given={
            "mentees": [m.participant_id for m in current if m.role not in MENTOR_ROLES],
            "mentors": [m.participant_id for m in current if m.role in MENTOR_ROLES],
        })  # fmt: skip
    row = await in_thread(service.save_settings, session, program.institution_id, program.id, body)
    return settings_public(program.id, row)
