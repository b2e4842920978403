"""Supervision: dyad health judged against the program's norms, the at-risk
list, the weekly digest, program statistics and the per-program policy.

Assessing a program (``assess_program``) reads it in set queries
(``activity.load``: one query per table whatever the number of dyads),
assesses every active dyad in one pass (``domain.assess_cohort``: the norms
first, then each dyad against them) and stores the norms
(``program_settings.health_norms``) and each dyad's assessment (its colour, and
while it is flagged its summary, reasons and signals). Stored results serve
for ``ASSESSMENT_TTL``:

* one dyad's health (its endpoint, and the refresh after every change to its
  meetings, forms or progress) is assessed against the stored norms and
  stored: one change reads one dyad;
* the at-risk list reads the flagged dyads' stored assessments: its cost is
  that of the list, not of the program. Every change shows at once; the
  passing of time (a silence growing, a meeting left unconfirmed) within the
  hour. Once the stored norms are older, or a dyad was never assessed, the
  program is assessed again first.

A background sweep (``programs_to_sweep``, ``sweep_program``; see main.py)
assesses again every program whose stored assessment is 45 minutes old, so no
request meets an expired one while it runs.

The statistics, the per-dyad outcomes and the weekly digest are computed from
the set queries on each request.

The stored colour (``dyads.health_status``) changes by conditional
``UPDATE ... RETURNING`` (one statement per pair of old and new colours), and
``dyad.health_changed`` is written for the dyads that statement claimed, so
two replicas assessing at once announce a change once. Its payload names the
signals, never a value or an answer.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from servicekit.outbox import emit_many
from servicekit.problems import FieldError, ProblemError
from servicekit import clock

from services.sessions import activity, domain
from services.sessions.enums import DyadStatus
from services.sessions.models import Dyad, OutboxEvent, ProgramSettings
from services.sessions.schemas import (
    DigestChangeOut, DigestCountsOut, DigestEndedOut, DigestOut, DigestUnmetOut, HealthOut, PerMember, ReasonOut, SignalsOut,
    StatisticsOut, Thresholds, ThresholdsOut,
)

ASSESSMENT_TTL = timedelta(hours=1)
"""how long a program's stored norms and assessments serve"""

POLICY_DOC = (
    "Nine signals are measured for every dyad: rating_drop (rapport); missed_streak, meeting_gap, reschedules (meetings); "
    "one_sided, silence, form_overdue (engagement); progress_stalled, milestone_overdue (progress). Each is judged against "
    "the program's own norm at that moment: its usual level is q3 + norm_fence x (q3 - q1) of the program's values "
    "(form and milestone delays by Kaplan-Meier, a missing one counting as at least that late). A level warns when the "
    "signal reaches its floor and is beyond the usual level, and always from its ceiling; without a norm (fewer than "
    "min_norm_sample values) only the ceiling applies. Time signals are in meeting intervals (the dyad's median gap between "
    "planned meetings). A dyad is red when a signal is red or when signs of red_when_kinds kinds come together; amber when a "
    "signal is amber (a rule with alone=false counts only together with another kind); else green. Lateness alone never "
    "warns: a form warns only once missing beyond what is usual in the program."
)


# -- the policy ---------------------------------------------------------------------------------------------------


def policy(program: ProgramSettings) -> domain.HealthPolicy:
    return domain.HealthPolicy.from_dict(program.health_thresholds or {})


def thresholds_out(program: ProgramSettings) -> ThresholdsOut:
    return ThresholdsOut(program_id=program.program_id, thresholds=Thresholds.model_validate(policy(program).to_dict()),
                         documentation=POLICY_DOC)


def set_policy(session: Session, program: ProgramSettings, values: dict[str, Any]) -> domain.HealthPolicy:
    """Replace the program's policy; its stored norms are dropped (they depend on it).
    Inconsistent values are a 422 naming each field."""
    try:
        new = domain.HealthPolicy.from_dict(values)
    except domain.PolicyError as exc:
        errors = [FieldError(field=f"body.{name}", message=message, code="inconsistent") for name, message in exc.problems]
        raise ProblemError(422, f"{len(errors)} field(s) are inconsistent: {', '.join(e.field for e in errors)}",
                           slug="validation-error", title="Request validation failed", errors=errors) from None
    program.health_thresholds = new.to_dict()
    program.health_norms, program.health_norms_at, program.updated_at = None, None, clock.now()
    session.add(program)
    session.flush()
    return new


# -- norms --------------------------------------------------------------------------------------------------------


def stored_norms(program: ProgramSettings, now: datetime) -> domain.ProgramNorms | None:
    at = program.health_norms_at
    if program.health_norms is None or at is None or abs(now - at) > ASSESSMENT_TTL:
        return None
    return domain.ProgramNorms.from_dict(program.health_norms)


def store_norms(session: Session, program: ProgramSettings, norms: domain.ProgramNorms) -> None:
    program.health_norms, program.health_norms_at = norms.to_dict(), norms.at
    session.add(program)


def norms_for(session: Session, program: ProgramSettings, now: datetime) -> domain.ProgramNorms:
    """The program's norms at ``now``: the stored ones while fresh, else the program is assessed again."""
    norms = stored_norms(program, now)
    if norms is None:
        norms, _ = assess_program(session, program, now)
    return norms


# -- assessments and what is stored -------------------------------------------------------------------------------


def assess_program(session: Session, program: ProgramSettings,
                   now: datetime) -> tuple[domain.ProgramNorms, list[tuple[activity.DyadRow, domain.DyadHealth]]]:
    """Every active dyad at ``now``, in set queries; the norms and the assessments are stored."""
    data = activity.load(session, program)
    rows = {str(d.id): d for d in data.dyads}
    norms, results = domain.assess_cohort(data.activities(), now, policy(program))
    pairs = [(rows[h.dyad_id], h) for h in results if rows[h.dyad_id].status == DyadStatus.ACTIVE]
    store_norms(session, program, norms)
    store(session, program, pairs, norms)
    return norms, pairs


def health(session: Session, dyad: Dyad, program: ProgramSettings, now: datetime) -> tuple[domain.DyadHealth, domain.ProgramNorms]:
    """One dyad at ``now``, against the program's norms (returned beside it)."""
    norms = norms_for(session, program, now)
    data = activity.load(session, program, [dyad.id])
    return domain.assess(data.activity(data.dyads[0]), now, policy(program), norms), norms


_STORE = (
    update(Dyad.__table__)  # type: ignore[attr-defined]
    .where(Dyad.__table__.c.id == bindparam("dyad"))  # type: ignore[attr-defined]
    .values(health_summary=bindparam("summary"), health_reasons=bindparam("reasons"), health_signals=bindparam("signals"),
            health_assessed_at=bindparam("assessed_at"), health_norms_at=bindparam("norms_at"))
)


def store(session: Session, program: ProgramSettings, results: Sequence[tuple[Any, domain.DyadHealth]],
          norms: domain.ProgramNorms) -> None:
    """Store assessments of the present: the colours (``record``), and the summary,
    reasons and signals of the dyads flagged now (cleared for those no longer
    flagged), in one statement whatever their number. Green dyads that were
    green already are not written again, once assessed."""
    params = []
    for dyad, h in results:
        flagged = h.status is not domain.Health.GREEN
        if flagged or dyad.health_status in (domain.Health.AMBER, domain.Health.RED) or dyad.health_assessed_at is None:
            params.append({
                "dyad": dyad.id, "summary": h.summary if flagged else None,
                "reasons": [reason_out(r).model_dump(mode="json") for r in h.reasons] if flagged else None,
                "signals": signals_out(h.signals).model_dump(mode="json") if flagged else None,
                "assessed_at": h.at, "norms_at": norms.at,
            })
    record(session, program, results)
    if params:
        session.connection().execute(_STORE, params)
    assessed = {p["dyad"]: p["assessed_at"] for p in params}
    for dyad, _ in results:
        if isinstance(dyad, Dyad) and dyad.id in assessed:  # the ORM object is told, without a second UPDATE at flush
            set_committed_value(dyad, "health_assessed_at", assessed[dyad.id])


def record(session: Session, program: ProgramSettings, results: Sequence[tuple[Any, domain.DyadHealth]]) -> None:
    """Store each dyad's colour and announce the changes, exactly once, in a
    bounded number of statements. ``results`` pairs a dyad (an ORM ``Dyad`` or
    an ``activity.DyadRow``) with its assessment of the present."""
    changes: dict[tuple[str | None, str], list[Any]] = defaultdict(list)
    for dyad, h in results:
        if dyad.health_status != h.status.value:
            changes[(dyad.health_status, h.status.value)].append(dyad)
    if not changes:
        return
    by_id = {str(h.dyad_id): h for _, h in results}
    announced: list[tuple[Any, Any, dict[str, Any]]] = []
    for (old, new), dyads in changes.items():
        claimed: set[uuid.UUID] = set()
        ids = [d.id for d in dyads]
        for i in range(0, len(ids), activity.CHUNK):
            stmt = update(Dyad).where(Dyad.id.in_(ids[i : i + activity.CHUNK]))  # type: ignore[attr-defined]
            stmt = stmt.where(Dyad.health_status.is_(None) if old is None else Dyad.health_status == old)  # type: ignore[union-attr]
            stmt = stmt.values(health_status=new).returning(Dyad.id).execution_options(synchronize_session=False)
            claimed.update(session.execute(stmt).scalars())
        for d in dyads:
            if isinstance(d, Dyad):
                set_committed_value(d, "health_status", new)
            if d.id in claimed:
                h = by_id[str(d.id)]
                announced.append((d.id, d.institution_id, {
                    "dyad_id": str(d.id), "program_id": str(program.program_id), "previous": old, "status": new,
                    "reasons": [{"signal": r.signal, "kind": r.kind, "level": r.level.value, "member": r.member}
                                for r in h.reasons],
                }))
    emit_many(session, OutboxEvent, "dyad.health_changed", sorted(announced, key=lambda e: str(e[0])))


def refresh(session: Session, dyad: Dyad) -> domain.DyadHealth | None:
    """After a change to the dyad: assess it now and store the assessment."""
    if dyad.status != DyadStatus.ACTIVE:
        return None
    program = session.get(ProgramSettings, dyad.program_id)
    assert program is not None
    result, norms = health(session, dyad, program, clock.now())
    store(session, program, [(dyad, result)], norms)
    return result


def health_now(session: Session, dyad: Dyad) -> HealthOut:
    """The dyad's health now, stored while the dyad is active."""
    program = session.get(ProgramSettings, dyad.program_id)
    assert program is not None
    result, norms = health(session, dyad, program, clock.now())
    if dyad.status == DyadStatus.ACTIVE:
        store(session, program, [(dyad, result)], norms)
    return health_out(dyad.program_id, result, norms)


def refresh_dyad(session: Session, dyad_id: uuid.UUID) -> domain.DyadHealth | None:
    dyad = session.get(Dyad, dyad_id)
    assert dyad is not None
    return refresh(session, dyad)


SWEEP_AFTER = ASSESSMENT_TTL * 3 / 4
"""the background sweep assesses again a program whose stored assessment is this old"""


def programs_to_sweep(session: Session, now: datetime) -> list[uuid.UUID]:
    """Programs with active dyads whose stored assessment is missing or older than ``SWEEP_AFTER``."""
    return list(session.connection().execute(sweep_statement(now)).scalars())


def sweep_statement(now: datetime) -> Any:
    """The programs with a stale assessment, then whether each has an active dyad (through the dyads' program
    index): one row per program is read, never every institution's dyads."""
    t, d = ProgramSettings.__table__, Dyad.__table__  # type: ignore[attr-defined]
    active = select(d.c.id).where(d.c.program_id == t.c.program_id, d.c.status == DyadStatus.ACTIVE.value).exists()
    return (select(t.c.program_id)
            .where(or_(t.c.health_norms_at.is_(None), t.c.health_norms_at < now - SWEEP_AFTER), active)
            .order_by(t.c.program_id))


def sweep_program(session: Session, program_id: uuid.UUID, now: datetime) -> bool:
    """Assess the program again if its stored assessment is still old; claimed by a conditional UPDATE in the same
    transaction, so replicas sweeping at once do it once. The caller commits."""
    t = ProgramSettings.__table__  # type: ignore[attr-defined]
    claimed = session.connection().execute(
        update(t).where(t.c.program_id == program_id, or_(t.c.health_norms_at.is_(None), t.c.health_norms_at < now - SWEEP_AFTER))
        .values(health_norms_at=now)
    )
    if claimed.rowcount != 1:
        return False
    program = session.get(ProgramSettings, program_id)
    assert program is not None
    session.refresh(program)
    assess_program(session, program, now)
    return True


# -- shaping ------------------------------------------------------------------------------------------------------


def _per(values: dict[str, Any]) -> PerMember:
    return PerMember(mentee=values.get("mentee"), mentor=values.get("mentor"))


def reason_out(r: domain.Reason) -> ReasonOut:
    return ReasonOut(signal=r.signal, kind=r.kind, level=r.level.value, member=r.member, value=round(r.value, 3),
                     threshold=round(r.threshold, 3), comparison=r.comparison,
                     norm=None if r.norm is None else round(r.norm, 3), unit=r.unit, message=r.message)


def signals_out(s: domain.Signals) -> SignalsOut:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 3)

    return SignalsOut(
        interval_days=r(s.interval_days), planned_to_date=s.planned_to_date, held=s.held, missed_streak=s.missed_streak,
        meeting_gap_days=r(s.meeting_gap_days), reschedules=s.reschedules,
        rating_drop=_per({k: r(v) for k, v in s.rating_drop.items()}),
        rating_slope=_per({k: r(v) for k, v in s.rating_slope.items()}), one_sided=_per(dict(s.one_sided)),
        silence_days=_per({k: r(v) for k, v in s.silence_days.items()}),
        form_overdue_days=_per({k: r(v) for k, v in s.form_overdue_days.items()}),
        progress_stalled_days=r(s.progress_stalled_days), milestone_overdue_days=r(s.milestone_overdue_days),
    )


def health_out(program_id: uuid.UUID, h: domain.DyadHealth, norms: domain.ProgramNorms) -> HealthOut:
    return HealthOut(dyad_id=uuid.UUID(h.dyad_id), program_id=program_id, status=h.status.value, summary=h.summary,
                     reasons=[reason_out(r) for r in h.reasons], signals=signals_out(h.signals), norms_at=norms.at,
                     computed_at=h.at)


# -- program views ------------------------------------------------------------------------------------------------


def at_risk(session: Session, program: ProgramSettings) -> list[HealthOut]:
    """The amber and red dyads, worst first: their stored assessments while the
    program's are fresh, else the program assessed again now."""
    now = clock.now()
    if stored_norms(program, now) is not None:
        t = Dyad.__table__  # type: ignore[attr-defined]
        rows = session.connection().execute(
            select(t.c.id, t.c.health_status, t.c.health_summary, t.c.health_reasons, t.c.health_signals,
                   t.c.health_assessed_at, t.c.health_norms_at)
            .where(t.c.institution_id == program.institution_id, t.c.program_id == program.program_id, t.c.status == DyadStatus.ACTIVE.value,
                   or_(t.c.health_status.in_((domain.Health.AMBER.value, domain.Health.RED.value)), t.c.health_assessed_at.is_(None)))
        ).all()
        if all(r.health_assessed_at is not None and r.health_reasons is not None for r in rows):
            return _stored(program, rows)
    norms, pairs = assess_program(session, program, now)
    return [health_out(program.program_id, h, norms) for h in domain.at_risk([h for _, h in pairs])]


def _stored(program: ProgramSettings, rows: Sequence[Any]) -> list[HealthOut]:
    """The at-risk list from stored assessments, ranked as the domain ranks."""
    def key(row: Any) -> tuple[Any, ...]:
        reasons = [domain.Reason(**{**r, "level": domain.Health(r["level"])}) for r in row.health_reasons]
        return domain.rank_key_of(domain.Health(row.health_status), reasons, str(row.id))

    return [HealthOut(dyad_id=row.id, program_id=program.program_id, status=row.health_status, summary=row.health_summary,
                      reasons=[ReasonOut(**r) for r in row.health_reasons], signals=SignalsOut(**row.health_signals),
                      norms_at=row.health_norms_at, computed_at=row.health_assessed_at)
            for row in sorted(rows, key=key)]


def digest(session: Session, program: ProgramSettings, as_of: datetime | None) -> DigestOut:
    """What changed in the week before ``as_of`` (default now), assessed at both moments on the same data."""
    now = clock.now()
    moment = as_of or now
    data = activity.load(session, program)
    d = domain.weekly_digest(data.activities(), moment, policy(program))

    def change(c: domain.Change) -> DigestChangeOut:
        return DigestChangeOut(dyad_id=uuid.UUID(c.dyad_id), before=c.before.value if c.before else None, now=c.now.value,
                               summary=c.health.summary, reasons=[reason_out(r) for r in c.health.reasons])

    rows = {str(r.id): r for r in data.dyads}
    counts = DigestCountsOut(active=d.active, flagged=d.flagged, red=d.red, new_flags=len(d.new_flags),
                             escalations=len(d.escalations), recoveries=len(d.recoveries), eased=len(d.eased),
                             ended=len(d.ended), without_meeting=len(d.without_meeting))
    return DigestOut(
        program_id=program.program_id, as_of=moment, since=d.since, window_days=(d.as_of - d.since).days, counts=counts,
        new_flags=[change(c) for c in d.new_flags], escalations=[change(c) for c in d.escalations],
        recoveries=[change(c) for c in d.recoveries], eased=[change(c) for c in d.eased],
        ended=[DigestEndedOut(dyad_id=uuid.UUID(h.dyad_id), status=rows[h.dyad_id].status, ended_at=rows[h.dyad_id].ended_at,
                              last_health=h.status.value) for h in d.ended],
        without_meeting=[DigestUnmetOut(dyad_id=uuid.UUID(u.dyad_id), planned=u.planned, last_held_meeting_at=u.last_held)
                         for u in d.without_meeting],
        norms_at=d.norms.at, computed_at=now,
    )


def statistics(session: Session, program: ProgramSettings) -> StatisticsOut:
    now = clock.now()
    data = activity.load(session, program, health=False)
    meetings = [m for d in data.dyads for m in data.meetings.get(d.id, ())]
    forms = [f for d in data.dyads for f in data.forms.get(d.id, ())]
    comparisons = [data.comparison(o, now) for d in data.dyads for o in data.objectives.get(d.id, ())]
    s = domain.program_stats(meetings, forms, comparisons, now)
    return StatisticsOut.model_validate({
        "program_id": program.program_id, "dyads": len(data.dyads),
        "active_dyads": sum(1 for d in data.dyads if d.status == DyadStatus.ACTIVE),
        "meetings": dataclasses.asdict(s.meetings),
        "feedback": {**dataclasses.asdict(s.feedback), "delays": [dataclasses.asdict(b) for b in s.feedback.delays]},
        "in_person": {**dataclasses.asdict(s.in_person), "per_dyad": dict(s.in_person.per_dyad)},
        "achievement": dataclasses.asdict(s.achievement), "computed_at": now,
    })
