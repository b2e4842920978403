"""The steps that combine participants (over HTTP), the database and the engine.

Each workflow first reads everything it needs from participants, then runs the
engine on a worker thread, then writes in the request's one transaction: a
dependency that is down gives a 503 before anything is written.
"""

from __future__ import annotations

import uuid
from time import perf_counter
from typing import Any

from sqlmodel import Session

from servicekit.outbox import utcnow
from servicekit.problems import conflict
from servicekit.references import Given, Ref, References
from servicekit import scopes

from services.matching import cohort, domain, service
from services.matching.access import problem_from_cohort_error
from services.matching.clients.participants import Program
from services.matching.dependencies import Context, in_thread
from services.matching.enums import CURRENT, LIVE, MatchStatus, MembershipStatus, Role
from services.matching.models import Match, MatchingRun, SubstituteOffer
from services.matching.schemas.settings import SettingsUpdate

IDENTITY_SCOPE = scopes.IDENTITY_READ


async def identity_data(ctx: Context, program: Program, wanted: bool) -> dict[str, dict[str, Any]] | None:
    """Consented identity data by participant id, or None when unavailable."""
    provider = ctx.identity_tokens
    if not wanted or provider is None:
        return None
    token = await provider.token()
    records = await ctx.participants.matching_identity(program.id, token)
    return {str(r.participant_id): r.model_dump(mode="json") for r in records}


async def gather(ctx: Context, session: Session, program: Program) -> dict[str, Any]:
    """The snapshot of a new run (see ``cohort.snapshot``)."""
    token = ctx.who.token
    memberships = await ctx.participants.memberships(program.id, token)
    people = {p.id: p for p in await ctx.participants.participants(program.institution_id, token)}
    labels = await ctx.participants.places(program.institution_id, token)
    profiles, settings = await in_thread(_local_inputs, session, program)
    wanted = any((p.requests or {}).get("identity_match") for p in profiles if p.role == Role.mentee)
    identity = await identity_data(ctx, program, wanted)
    return cohort.snapshot(program, memberships, people, profiles, labels, settings, identity)


def _local_inputs(session: Session, program: Program) -> tuple[list[Any], SettingsUpdate]:
    return (
        service.all_profiles(session, program.institution_id, program.id),
        service.effective_settings(session, program.institution_id, program.id),
    )


def solve(snap: dict[str, Any], overrides: dict[str, Any] | None = None) -> tuple[domain.MatchResult, float]:
    settings = dict(snap["settings"], **{k: v for k, v in (overrides or {}).items() if v is not None})
    started = perf_counter()
    try:
        result = domain.match(cohort.engine_cohort(snap), cohort.engine_settings(snap, settings))
    except domain.CohortError as exc:
        raise problem_from_cohort_error(exc) from None
    return result, (perf_counter() - started) * 1000


async def run(ctx: Context, session: Session, program: Program, snap: dict[str, Any], overrides: dict[str, Any], parent: uuid.UUID | None) -> MatchingRun:
    result, elapsed = await in_thread(solve, snap, overrides)
    record = MatchingRun(
        institution_id=program.institution_id,
        program_id=program.id,
        parent_run_id=parent,
        algorithm=str(result.parameters.get("algorithm")),
        objective=str(result.parameters.get("objective")),
        solver=result.solver,
        parameters=dict(result.parameters),
        timings={k: float(v) for k, v in result.timings.items()},
        inputs={**snap, "settings": dict(snap["settings"], **{k: v for k, v in overrides.items() if v is not None})},
        report=cohort.report(snap, result),
        duration_ms=round(elapsed, 3),
        created_by=ctx.who.subject,
    )
    return await in_thread(service.add_run, session, record)


ADJUSTMENTS = References(
    Ref("pin[].mentee_participant_id", Given("mentees", "a mentee of this run")),
    Ref("pin[].mentor_participant_id", Given("mentors", "a mentor of this run")),
    Ref("forbid[].mentee_participant_id", Given("mentees", "a mentee of this run")),
    Ref("forbid[].mentor_participant_id", Given("mentors", "a mentor of this run")),
    Ref("swap[].mentee_a", Given("assigned", "a mentee with a mentor in this run")),
    Ref("swap[].mentee_b", Given("assigned", "a mentee with a mentor in this run")),
    operations=("adjust_matching_run",),
)


def adjusted_settings(run: MatchingRun, current: SettingsUpdate, body: Any) -> SettingsUpdate:
    """The program's settings with the coordinator's pins, forbids and swaps added."""
    assigned = {p["mentee_participant_id"]: p["mentor_participant_id"] for p in run.report["pairs"]}
    ADJUSTMENTS.check(body, tenant=run.institution_id, parent=run.program_id, given={
        "mentees": [p["id"] for p in run.inputs["mentees"]], "mentors": [p["id"] for p in run.inputs["mentors"]], "assigned": assigned,
    })  # fmt: skip
    pinned = {(str(p.mentee_participant_id), str(p.mentor_participant_id)) for p in current.pinned_pairs}
    forbidden = {(str(p.mentee_participant_id), str(p.mentor_participant_id)) for p in current.forbidden_pairs}
    for kind, refs in (("pin", body.pin), ("forbid", body.forbid)):
        for ref in refs:
            pair = (str(ref.mentee_participant_id), str(ref.mentor_participant_id))
            if kind == "pin":
                pinned = {p for p in pinned if p[0] != pair[0]} | {pair}
                forbidden.discard(pair)
            else:
                forbidden.add(pair)
                pinned.discard(pair)
    for swap in body.swap:
        a, b = str(swap.mentee_a), str(swap.mentee_b)
        pinned = {p for p in pinned if p[0] not in (a, b)}
        pinned |= {(a, assigned[b]), (b, assigned[a])}
        forbidden -= {(a, assigned[b]), (b, assigned[a])}
    refs = lambda pairs: [{"mentee_participant_id": a, "mentor_participant_id": b} for a, b in sorted(pairs)]  # noqa: E731
    return SettingsUpdate.model_validate(
        {**current.model_dump(mode="json"), "pinned_pairs": refs(pinned), "forbidden_pairs": refs(forbidden)}
    )


def new_match(run: MatchingRun, program: dict[str, Any], mentee_id: str, mentor_id: str, score: float, replaces: uuid.UUID | None = None) -> Match:
    snap = run.inputs
    mentee, mentor = cohort.member(snap, mentee_id), cohort.member(snap, mentor_id)
    assert mentee is not None and mentor is not None
    return Match(
        institution_id=run.institution_id,
        program_id=run.program_id,
        run_id=run.id,
        mentee_participant_id=uuid.UUID(mentee_id),
        mentor_participant_id=uuid.UUID(mentor_id),
        mentee_account_id=mentee["account_id"],
        mentor_account_id=mentor["account_id"],
        score=score,
        context=cohort.activation_context(snap, program, mentee_id, mentor_id),
        replaces_match_id=replaces,
    )


async def publish(ctx: Context, session: Session, program: Program, run_id: uuid.UUID) -> tuple[MatchingRun, list[Match], list[SubstituteOffer]]:
    run = await in_thread(service.get_run, session, program.institution_id, program.id, run_id, True)
    if run.published_at is not None:
        raise conflict("This run is already published")
    if await in_thread(service.latest_run, session, program.institution_id, program.id, published=True):
        raise conflict("Another run of this program is already published; re-match single mentees instead")
    settings = SettingsUpdate.model_validate(run.inputs["settings"])
    memberships = {str(m.participant_id): m for m in await ctx.participants.memberships(program.id, ctx.who.token)}
    program_now = cohort.program_info(program)
    # Willing unmatched mentors become substitutes in participants first: if that
    # fails, nothing is written here.
    marked: list[tuple[dict[str, Any], Any]] = []
    for candidate in run.report["substitutes"]:
        if not candidate["willing"]:
            continue
        membership = memberships.get(candidate["mentor_participant_id"])
        if membership is None or membership.status not in CURRENT:
            continue
        if membership.status == MembershipStatus.active:
            await ctx.participants.set_membership_status(
                program.id, membership.id, MembershipStatus.substitute, "Unmatched in the matching run; willing to step in", ctx.who.token
            )
        marked.append((candidate, membership))
    return await in_thread(_write_publication, session, run, program_now, settings, marked)


def _write_publication(session: Session, run: MatchingRun, program: dict[str, Any], settings: SettingsUpdate, marked: list[tuple[dict[str, Any], Any]]) -> tuple[MatchingRun, list[Match], list[SubstituteOffer]]:
    matches = [
        service.create_match(
            session,
            new_match(run, program, p["mentee_participant_id"], p["mentor_participant_id"], p["score"]),
            auto_accept=settings.auto_accept,
        )
        for p in run.report["pairs"]
    ]
    offers = []
    for candidate, membership in marked:
        mentor = cohort.member(run.inputs, candidate["mentor_participant_id"])
        assert mentor is not None
        offer = SubstituteOffer(
            institution_id=run.institution_id,
            program_id=run.program_id,
            run_id=run.id,
            mentor_participant_id=membership.participant_id,
            mentor_account_id=mentor["account_id"],
            membership_id=membership.id,
            rank=candidate["rank"],
        )
        session.add(offer)
        offers.append(offer)
    run.published_at = utcnow()
    session.add(run)
    session.flush()
    return run, matches, offers


def rematch_context(session: Session, match_or_program: tuple[uuid.UUID, uuid.UUID], mentee_id: str) -> tuple[MatchingRun, list[tuple[str, str]], list[tuple[str, str]]]:
    """The published run, the current pairs (proposed or active) and the dissolved pairs of ``mentee_id``."""
    institution_id, program_id = match_or_program
    run = service.latest_run(session, institution_id, program_id, published=True)
    if run is None:
        raise conflict("No run of this program is published yet")
    matches = service.program_matches(session, institution_id, program_id)
    current = [(str(m.mentee_participant_id), str(m.mentor_participant_id)) for m in matches if m.status in LIVE]
    if any(pair[0] == mentee_id for pair in current):
        raise conflict("This mentee already has a proposed or active match")
    dissolved = [
        (str(m.mentee_participant_id), str(m.mentor_participant_id))
        for m in matches
        if m.status == MatchStatus.dissolved and str(m.mentee_participant_id) == mentee_id
    ]
    return run, current, dissolved


def rematch_inputs(run: MatchingRun, settings: SettingsUpdate, dissolved: list[tuple[str, str]]) -> tuple[domain.Cohort, domain.Settings]:
    snap = run.inputs
    return cohort.engine_cohort(snap), cohort.engine_settings(snap, settings.model_dump(mode="json"), dissolved)
