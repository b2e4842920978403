"""A program's per-dyad outcomes, the input of the evaluation service's program report.

For every dyad (by its id, the match id; its members are never named): status
and, while active, its health now; its meetings (scheduled, held, rescheduled,
cancelled, in person); its feedback forms' timeliness (on time, late with each
delay in whole days, not submitted); its SMART objectives' achievement, each
figure named for what it is:

- measured (``measured_mean``): the verified measure, confirmed milestones /
  milestones x 100, averaged over the dyad's objectives that have milestones;
- self-reported (``self_reported_mean``): the mentee's progress toward each
  target, averaged over the objectives with progress;
- perceived: what the mentee and the mentor each rated at the last meeting,
  averaged over the objectives she assessed;

its milestones (reported, confirmed, overdue); and its rapport, the mean
rating each member gave her counterpart over her submitted forms.

Ratings and perceived achievement are personal answers, so they are given here
only to those who need them for the program report: the evaluation service's
own client (scope ``reports:read``), and the program's coordinators and admins
(``access.program_for_report``). Mentors, mentees and evaluators never read this
view: the report publishes these figures only in groups of at least k. No
comment, no evidence, no diary text and no name is ever given.

Read in one query per table whatever the program's size (``activity.load``);
health is the same assessment as the at-risk list (against the program's norms
now); read-only (the stored health colour is not touched).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from statistics import fmean
from typing import Any

from sqlmodel import Session

from servicekit import clock
from services.sessions import activity, domain
from services.sessions.enums import DyadStatus, MeetingStatus, Modality
from services.sessions.models import ProgramSettings
from services.sessions.schemas import ProgramOutcomesOut
from services.sessions.supervision import policy

ACHIEVED = 100.0


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def _objectives(data: activity.ProgramData, dyad: activity.DyadRow, now: datetime) -> dict[str, Any]:
    objectives = data.objectives.get(dyad.id, [])
    compared = [data.comparison(o, now) for o in objectives]
    tally = domain.tally_milestones(data.dyad_milestones(dyad.id), now)
    return {
        "objectives": len(objectives),
        "with_progress": sum(1 for o in objectives if data.entries.get(o.id)),
        "achieved": sum(1 for c in compared if c.self_reported is not None and c.self_reported >= ACHIEVED),
        "milestones": tally.total, "milestones_reported": tally.reported, "milestones_confirmed": tally.confirmed,
        "milestones_overdue": tally.overdue,
        "measured_mean": _mean([c.verified for c in compared]),
        "self_reported_mean": _mean([c.self_reported for c in compared]),
        "perceived_mentee_mean": _mean([c.mentee for c in compared]),
        "perceived_mentor_mean": _mean([c.mentor for c in compared]),
        "assessed_by_mentee": sum(1 for c in compared if c.mentee is not None),
        "assessed_by_mentor": sum(1 for c in compared if c.mentor is not None),
    }


def _meetings(meetings: list[domain.Meeting], now: datetime) -> dict[str, Any]:
    to_date = domain.meeting_stats(meetings, now)
    return {
        "scheduled": len(meetings), "planned_to_date": to_date.planned,
        "held": sum(1 for m in meetings if m.status is MeetingStatus.HELD),
        "rescheduled": sum(1 for m in meetings if m.was_rescheduled),
        "cancelled": sum(1 for m in meetings if m.status is MeetingStatus.CANCELLED),
        "no_show": sum(1 for m in meetings if m.status is MeetingStatus.NO_SHOW),
        "in_person": sum(1 for m in meetings if m.status is MeetingStatus.HELD and m.modality is Modality.IN_PERSON),
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
        colour = health.get(str(d.id)) if d.status == DyadStatus.ACTIVE else None
        items.append({
            "dyad_id": d.id, "status": d.status, "health": colour, "at_risk": colour in (domain.Health.AMBER, domain.Health.RED),
            "meetings": _meetings(ms, now), "feedback": _feedback(fs, now), "objectives": _objectives(data, d, now),
            "rapport": dataclasses.asdict(domain.dyad_rapport(fs)),
        })
    feedback = domain.feedback_stats(all_forms, now)
    return ProgramOutcomesOut.model_validate({
        "program_id": program.program_id, "meetings_per_dyad": program.meetings_count,
        "feedback_deadline_hours": program.feedback_deadline_hours, "dyads": len(data.dyads),
        "meetings": dataclasses.asdict(domain.meeting_stats(all_meetings, now)),
        "feedback": {**dataclasses.asdict(feedback), "delays": [dataclasses.asdict(b) for b in feedback.delays]},
        "items": items, "computed_at": now,
    })
