"""Runs: snapshot the cohort, solve it, keep the run and its report; adjust, explain.

Each use-case first reads what it needs from participants, then runs the domain
on a worker thread, then writes in the request's one transaction: a dependency
that is down gives a 503 before anything is written.
"""

from __future__ import annotations

import uuid
from time import perf_counter

from sqlalchemy import desc
from sqlmodel import Session, select

from servicekit.pagination import Page, paginate
from servicekit.problems import conflict, not_found
from servicekit.references import Given, Ref, References

from services.matching import domain, profiles, settings, snapshot
from services.matching.access import problem_from_cohort_error
from services.matching.clients.participants import IdentityRecord, Program
from services.matching.dependencies import Context, in_thread
from services.matching.enums import Role
from services.matching.models import MatchingProfile, MatchingRun
from services.matching.schemas.common import PairRef
from services.matching.schemas.runs import (
    Adjustments,
    Bound,
    PairExplanation,
    ReportPair,
    RunCreate,
    RunPublic,
    RunReport,
    SubstituteCandidate,
    UnmatchedMentee,
)
from services.matching.schemas.settings import SettingsUpdate
from services.matching.snapshot import Snapshot

# ---------------------------------------------------------------------------
# Reading


def get(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, run_id: uuid.UUID, lock: bool = False) -> MatchingRun:
    stmt = select(MatchingRun).where(
        MatchingRun.institution_id == institution_id, MatchingRun.program_id == program_id, MatchingRun.id == run_id
    )
    run = session.exec(stmt.with_for_update() if lock else stmt).first()
    if run is None:
        raise not_found("Run")
    return run


def latest(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, *, published: bool = False) -> MatchingRun | None:
    stmt = select(MatchingRun).where(MatchingRun.institution_id == institution_id, MatchingRun.program_id == program_id)
    if published:
        stmt = stmt.where(MatchingRun.published_at.is_not(None))  # type: ignore[union-attr]
    return session.exec(stmt.order_by(desc(MatchingRun.id)).limit(1)).first()  # type: ignore[arg-type]


def page(session: Session, program: Program, *, limit: int, cursor: str | None) -> Page[RunPublic]:
    stmt = select(MatchingRun).where(MatchingRun.institution_id == program.institution_id, MatchingRun.program_id == program.id)
    rows, next_cursor = paginate(session, stmt, MatchingRun.id, limit=limit, cursor=cursor)
    return Page[RunPublic](items=[RunPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


# ---------------------------------------------------------------------------
# The cohort now


async def _identity(ctx: Context, program: Program, wanted: bool) -> dict[str, IdentityRecord] | None:
    """Consented identity data by participant id, or None when unavailable."""
    provider = ctx.identity_tokens
    if not wanted or provider is None:
        return None
    token = await provider.token()
    return {str(r.participant_id): r for r in await ctx.participants.matching_identity(program.id, token)}


def _local_inputs(session: Session, program: Program) -> tuple[list[MatchingProfile], SettingsUpdate]:
    return (
        profiles.all_of(session, program.institution_id, program.id),
        settings.effective(session, program.institution_id, program.id),
    )


async def take_snapshot(ctx: Context, session: Session, program: Program) -> Snapshot:
    """The program's cohort and settings now (see ``snapshot.take``)."""
    token = ctx.who.token
    memberships = await ctx.participants.memberships(program.id, token)
    people = {p.id: p for p in await ctx.participants.participants(program.institution_id, token)}
    labels = await ctx.participants.places(program.institution_id, token)
    questionnaires, current = await in_thread(_local_inputs, session, program)
    wanted = any((p.requests or {}).get("identity_match") for p in questionnaires if p.role == Role.mentee)
    identity = await _identity(ctx, program, wanted)
    return snapshot.take(program, memberships, people, questionnaires, labels, current, identity)


# ---------------------------------------------------------------------------
# Running


def _round(x: float) -> float:
    return round(x, 6)


def report(snap: Snapshot, result: domain.MatchResult) -> RunReport:
    willing = {p.id: p.willing_to_substitute for p in snap.mentors}
    bound = result.bound
    return RunReport(
        mentors=len(snap.mentors),
        mentees=result.mentees,
        matched=result.matched,
        total_score=_round(result.total_score),
        mean_score=_round(result.mean_score),
        min_score=_round(result.min_score),
        blocking_pairs=result.blocking_pairs,
        pairs=[
            ReportPair(mentee_participant_id=uuid.UUID(p.mentee_id), mentor_participant_id=uuid.UUID(p.mentor_id),
                       score=_round(p.score), pinned=p.pinned)
            for p in result.pairs
        ],  # fmt: skip
        unmatched_mentees=[
            UnmatchedMentee(mentee_participant_id=uuid.UUID(u.mentee_id), feasible_mentors=u.feasible_mentors,
                            reasons=list(u.reasons), excluded_by=dict(u.excluded_by), only_rule=dict(u.only_rule),
                            message=u.message)
            for u in result.unmatched_mentees
        ],  # fmt: skip
        substitutes=[
            SubstituteCandidate(rank=s.rank, mentor_participant_id=uuid.UUID(s.mentor_id), feasible_mentees=s.feasible_mentees,
                                mean_feasible_score=_round(s.mean_feasible_score), willing=willing.get(s.mentor_id, False))
            for s in result.substitutes
        ],  # fmt: skip
        missing_profiles=[uuid.UUID(p) for p in snap.missing_profiles],
        identity_matching=snap.identity_matching,
        bound=Bound(exact=bound.exact, matched_upper=bound.matched_upper, score_upper=_round(bound.score_upper),
                    gap=_round(bound.gap), relative_gap=_round(bound.relative_gap)),
    )  # fmt: skip


def _solve(snap: Snapshot) -> tuple[domain.MatchResult, float]:
    started = perf_counter()
    try:
        result = domain.match(snap.cohort(), snap.rules())
    except domain.CohortError as exc:
        raise problem_from_cohort_error(exc) from None
    return result, (perf_counter() - started) * 1000


async def _run(ctx: Context, session: Session, program: Program, snap: Snapshot, parent: uuid.UUID | None) -> MatchingRun:
    result, elapsed = await in_thread(_solve, snap)
    record = MatchingRun(
        institution_id=program.institution_id,
        program_id=program.id,
        parent_run_id=parent,
        algorithm=snap.settings.algorithm,
        objective=snap.settings.objective,
        solver=result.solver,
        parameters=dict(result.parameters),
        timings={k: float(v) for k, v in result.timings.items()},
        inputs=snap.stored(),
        report=report(snap, result).model_dump(mode="json"),
        duration_ms=round(elapsed, 3),
        created_by=ctx.who.subject,
    )

    def add() -> MatchingRun:
        session.add(record)
        session.flush()
        return record

    return await in_thread(add)


async def create(ctx: Context, session: Session, program: Program, body: RunCreate) -> MatchingRun:
    """A run on the cohort now, with the program's settings and the run's own overrides."""
    snap = await take_snapshot(ctx, session, program)
    chosen = snap.settings.model_copy(update=body.model_dump(exclude_none=True))
    return await _run(ctx, session, program, snap.model_copy(update={"settings": chosen}), None)


# ---------------------------------------------------------------------------
# Adjusting

ADJUSTMENTS = References(
    Ref("pin[].mentee_participant_id", Given("mentees", "a mentee of this run")),
    Ref("pin[].mentor_participant_id", Given("mentors", "a mentor of this run")),
    Ref("forbid[].mentee_participant_id", Given("mentees", "a mentee of this run")),
    Ref("forbid[].mentor_participant_id", Given("mentors", "a mentor of this run")),
    Ref("swap[].mentee_a", Given("assigned", "a mentee with a mentor in this run")),
    Ref("swap[].mentee_b", Given("assigned", "a mentee with a mentor in this run")),
    operations=("adjust_matching_run",),
)


def adjusted_settings(run: MatchingRun, snap: Snapshot, current: SettingsUpdate, body: Adjustments) -> SettingsUpdate:
    """The program's settings with the coordinator's pins, forbids and swaps added."""
    assigned = {str(p.mentee_participant_id): str(p.mentor_participant_id) for p in RunReport.model_validate(run.report).pairs}
    ADJUSTMENTS.check(body, tenant=run.institution_id, parent=run.program_id, given={
        "mentees": [p.id for p in snap.mentees], "mentors": [p.id for p in snap.mentors], "assigned": assigned,
    })  # fmt: skip
    pinned = {(str(p.mentee_participant_id), str(p.mentor_participant_id)) for p in current.pinned_pairs}
    forbidden = {(str(p.mentee_participant_id), str(p.mentor_participant_id)) for p in current.forbidden_pairs}
    for ref in body.pin:
        pair = (str(ref.mentee_participant_id), str(ref.mentor_participant_id))
        pinned = {p for p in pinned if p[0] != pair[0]} | {pair}
        forbidden.discard(pair)
    for ref in body.forbid:
        pair = (str(ref.mentee_participant_id), str(ref.mentor_participant_id))
        forbidden.add(pair)
        pinned.discard(pair)
    for swap in body.swap:
        a, b = str(swap.mentee_a), str(swap.mentee_b)
        pinned = {p for p in pinned if p[0] not in (a, b)}
        pinned |= {(a, assigned[b]), (b, assigned[a])}
        forbidden -= {(a, assigned[b]), (b, assigned[a])}

    def refs(pairs: set[tuple[str, str]]) -> list[PairRef]:
        return [PairRef(mentee_participant_id=uuid.UUID(a), mentor_participant_id=uuid.UUID(b)) for a, b in sorted(pairs)]

    return current.model_copy(update={"pinned_pairs": refs(pinned), "forbidden_pairs": refs(forbidden)})


async def adjust(ctx: Context, session: Session, program: Program, run_id: uuid.UUID, body: Adjustments) -> MatchingRun:
    """The run repeated on its own snapshot with the adjusted settings, which the program keeps."""
    parent = await in_thread(get, session, program.institution_id, program.id, run_id)
    if parent.published_at is not None:
        raise conflict("A published run cannot be adjusted; re-match single mentees instead")
    current = await in_thread(settings.effective, session, program.institution_id, program.id)
    snap = Snapshot.model_validate(parent.inputs)
    adjusted = adjusted_settings(parent, snap, current, body)
    run = await _run(ctx, session, program, snap.model_copy(update={"settings": adjusted}), parent.id)
    await in_thread(settings.save, session, program.institution_id, program.id, adjusted)
    return run


# ---------------------------------------------------------------------------
# Explaining


async def explain(ctx: Context, session: Session, program: Program, mentee_id: uuid.UUID, mentor_id: uuid.UUID, run_id: uuid.UUID | None) -> PairExplanation:
    """One pair on the given run's snapshot, by default the latest run's; with no run yet, the cohort now."""
    if run_id is not None:
        run = await in_thread(get, session, program.institution_id, program.id, run_id)
    else:
        run = await in_thread(latest, session, program.institution_id, program.id)
    snap = Snapshot.model_validate(run.inputs) if run else await take_snapshot(ctx, session, program)
    mentee, mentor = str(mentee_id), str(mentor_id)
    if not any(p.id == mentee for p in snap.mentees):
        raise not_found("Mentee (with a matching profile) in this program")
    if not any(p.id == mentor for p in snap.mentors):
        raise not_found("Mentor (with a matching profile) in this program")
    found = await in_thread(domain.explain_pair, snap.cohort(), snap.rules(), mentee, mentor)
    return PairExplanation(
        run_id=run.id if run else None,
        mentee_participant_id=mentee_id,
        mentor_participant_id=mentor_id,
        score=_round(found.score),
        components=[{"name": c.name, "value": c.value, "weight": c.weight, "contribution": c.contribution} for c in found.components],
        violations=[{"rule": v.rule, "reason": v.reason} for v in found.violations],
        forbidding_rule=None if found.feasible else (found.violations[0].rule if found.violations else None),
        pinned=found.pinned,
        feasible=found.feasible,
    )
