"""Dyad health (domain.health with the program's thresholds), at-risk lists, program statistics.

Health is computed on demand and after every change to a dyad's meetings, forms
or progress; when the colour differs from the stored one, the stored colour is
swapped by a conditional UPDATE and ``dyad.health_changed`` is written, so two
replicas computing at once announce a change once.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from servicekit.outbox import emit

from services.sessions import clock, domain
from services.sessions.feedback import to_domain as form_to_domain
from services.sessions.meetings import dyad_meetings, to_domain as meeting_to_domain
from services.sessions.models import Dyad, FeedbackForm, Objective, OutboxEvent, ProgramSettings
from services.sessions.objectives import comparison, dyad_objectives, progress_series
from services.sessions.schemas import HealthOut, ReasonOut, SignalsOut, StatisticsOut

THRESHOLD_DOC = (
    "missed_streak and days_without_meeting: triggered when value >= threshold; rating_slope and progress_slope: "
    "when value <= threshold; held_ratio and on_time_rate: when value < threshold (judged once min_due_for_rates "
    "meetings or forms are due). Red is checked before amber; null switches a level off."
)


def thresholds(program: ProgramSettings) -> domain.HealthThresholds:
    return domain.HealthThresholds(**(program.health_thresholds or {}))


def thresholds_dict(program: ProgramSettings) -> dict[str, Any]:
    return dataclasses.asdict(thresholds(program))


def _forms(session: Session, dyad: Dyad) -> list[FeedbackForm]:
    return list(session.exec(select(FeedbackForm).where(FeedbackForm.dyad_id == dyad.id, FeedbackForm.institution_id == dyad.institution_id)).all())


def health(session: Session, dyad: Dyad, program: ProgramSettings, now: datetime | None = None) -> domain.DyadHealth:
    now = now or clock.now()
    return domain.dyad_health(
        str(dyad.id), [meeting_to_domain(m) for m in dyad_meetings(session, dyad)], [form_to_domain(f) for f in _forms(session, dyad)],
        [progress_series(session, o) for o in dyad_objectives(session, dyad)], now, thresholds(program),
    )


def record(session: Session, dyad: Dyad, result: domain.DyadHealth) -> None:
    """Store the colour; announce a change exactly once."""
    new = result.status.value
    if dyad.health_status == new:
        return
    old = dyad.health_status
    stmt = update(Dyad).where(Dyad.id == dyad.id)  # type: ignore[arg-type]
    stmt = stmt.where(Dyad.health_status.is_(None) if old is None else Dyad.health_status == old)  # type: ignore[union-attr]
    claimed = session.execute(stmt.values(health_status=new).execution_options(synchronize_session=False))
    dyad.health_status = new
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return
    emit(session, OutboxEvent, "dyad.health_changed", subject=dyad.id, tenant_id=dyad.institution_id, payload={
        "dyad_id": str(dyad.id), "program_id": str(dyad.program_id), "previous": old, "status": new,
        "reasons": [r.message for r in result.reasons],
    })


def refresh(session: Session, dyad: Dyad) -> domain.DyadHealth | None:
    if dyad.status != "active":
        return None
    program = session.get(ProgramSettings, dyad.program_id)
    assert program is not None
    result = health(session, dyad, program)
    record(session, dyad, result)
    return result


def health_out(dyad: Dyad, program: ProgramSettings, h: domain.DyadHealth, now: datetime) -> HealthOut:
    return HealthOut(
        dyad_id=dyad.id, program_id=dyad.program_id, status=h.status.value,
        reasons=[ReasonOut(signal=r.signal, level=r.level.value, value=r.value, threshold=r.threshold, comparison=r.comparison, message=r.message)
                 for r in h.reasons],
        signals=SignalsOut(**dataclasses.asdict(h.signals)), thresholds=thresholds_dict(program), computed_at=now,
    )


def program_dyads(session: Session, program: ProgramSettings) -> list[Dyad]:
    return list(session.exec(select(Dyad).where(Dyad.institution_id == program.institution_id, Dyad.program_id == program.program_id)
                             .order_by(Dyad.id)).all())  # type: ignore[arg-type]


def at_risk(session: Session, program: ProgramSettings) -> list[HealthOut]:
    now = clock.now()
    dyads = {str(d.id): d for d in program_dyads(session, program) if d.status == "active"}
    results = []
    for d in dyads.values():
        h = health(session, d, program, now)
        record(session, d, h)
        results.append(h)
    return [health_out(dyads[h.dyad_id], program, h, now) for h in domain.at_risk(results)]


def statistics(session: Session, program: ProgramSettings) -> StatisticsOut:
    now = clock.now()
    dyads = program_dyads(session, program)
    meetings, forms, comparisons = [], [], []
    for d in dyads:
        meetings += [meeting_to_domain(m) for m in dyad_meetings(session, d)]
        forms += [form_to_domain(f) for f in _forms(session, d)]
    for o in session.exec(select(Objective).where(Objective.institution_id == program.institution_id, Objective.program_id == program.program_id)).all():
        comparisons.append(comparison(session, o))
    s = domain.program_stats(meetings, forms, comparisons, now)
    return StatisticsOut.model_validate({
        "program_id": program.program_id, "dyads": len(dyads), "active_dyads": sum(1 for d in dyads if d.status == "active"),
        "meetings": dataclasses.asdict(s.meetings),
        "feedback": {**dataclasses.asdict(s.feedback), "delays": [dataclasses.asdict(b) for b in s.feedback.delays]},
        "in_person": {**dataclasses.asdict(s.in_person), "per_dyad": dict(s.in_person.per_dyad)},
        "achievement": dataclasses.asdict(s.achievement), "computed_at": now,
    })
