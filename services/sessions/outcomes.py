"""A program's per-dyad outcomes, the input of the evaluation service's program report.

For every dyad (by its id, the match id; its members are never named): status
and, while active, its health now; its meetings (scheduled, held, rescheduled,
cancelled, in person); its feedback forms' timeliness (on time, late with each
delay in whole days, not submitted); and the measured achievement of its SMART
objectives (the share of each target reached by the latest progress measure,
averaged over the dyad's objectives). Nothing anyone answered is given here:
no rating, no comment, no perceived achievement, no diary.

Read in one query per table whatever the program's size (``activity.load``);
health is the same assessment as the at-risk list (the program's norms now);
read-only (the stored health colour is not touched).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from statistics import fmean
from typing import Any

from sqlmodel import Session

from services.sessions import activity, clock, domain
from services.sessions.models import ProgramSettings
from services.sessions.schemas import ProgramOutcomesOut
from services.sessions.supervision import policy

ACHIEVED = 100.0


def _objectives(data: activity.ProgramData, dyad: activity.DyadRow) -> dict[str, Any]:
    objectives = data.objectives.get(dyad.id, [])
    measured = [data.comparison(o).measured for o in objectives]
    values = [m for m in measured if m is not None]
    return {
        "objectives": len(objectives),
        "with_progress": sum(1 for o in objectives if data.entries.get(o.id)),
        "achieved": sum(1 for m in values if m >= ACHIEVED),
        "measured_mean": fmean(values) if values else None,
    }


def _meetings(meetings: list[domain.Meeting], now: datetime) -> dict[str, Any]:
    to_date = domain.meeting_stats(meetings, now)
    return {
        "scheduled": len(meetings), "planned_to_date": to_date.planned,
        "held": sum(1 for m in meetings if m.status is domain.MeetingStatus.HELD),
        "rescheduled": sum(1 for m in meetings if m.was_rescheduled),
        "cancelled": sum(1 for m in meetings if m.status is domain.MeetingStatus.CANCELLED),
        "no_show": sum(1 for m in meetings if m.status is domain.MeetingStatus.NO_SHOW),
        "in_person": sum(1 for m in meetings if m.status is domain.MeetingStatus.HELD and m.modality is domain.Modality.IN_PERSON),
    }


def _feedback(forms: list[domain.FeedbackForm], now: datetime) -> dict[str, Any]:
    s = domain.feedback_stats(forms, now)
    late = sorted(d for d in (domain.delay_days(f.due, f.submitted_at) for f in forms if f.submitted_at is not None) if d > 0)
    return {"due": s.due, "submitted": s.submitted, "on_time": s.on_time, "late": s.late, "unsubmitted": s.unsubmitted,
            "late_days": late}


def program_outcomes(session: Session, program: ProgramSettings) -> ProgramOutcomesOut:
    now = clock.now()
    data = activity.load(session, program)
    _, results = domain.assess_cohort(data.activities(), now, policy(program))
    health = {h.dyad_id: h.status.value for h in results}
    all_meetings: list[domain.Meeting] = []
    all_forms: list[domain.FeedbackForm] = []
    items = []
    for d in data.dyads:
        ms = data.meetings.get(d.id, [])
        fs = data.forms.get(d.id, [])
        all_meetings += ms
        all_forms += fs
        colour = health.get(str(d.id)) if d.status == "active" else None
        items.append({
            "dyad_id": d.id, "status": d.status, "health": colour, "at_risk": colour in ("amber", "red"),
            "meetings": _meetings(ms, now), "feedback": _feedback(fs, now), "objectives": _objectives(data, d),
        })
    feedback = domain.feedback_stats(all_forms, now)
    return ProgramOutcomesOut.model_validate({
        "program_id": program.program_id, "meetings_per_dyad": program.meetings_count,
        "feedback_deadline_hours": program.feedback_deadline_hours, "dyads": len(data.dyads),
        "meetings": dataclasses.asdict(domain.meeting_stats(all_meetings, now)),
        "feedback": {**dataclasses.asdict(feedback), "delays": [dataclasses.asdict(b) for b in feedback.delays]},
        "items": items, "computed_at": now,
    })
