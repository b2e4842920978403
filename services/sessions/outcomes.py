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

Read in six set queries whatever the program's size (dyads, meetings, forms,
objectives, progress entries, milestones); read-only (the stored health colour
is not touched).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from datetime import datetime
from statistics import fmean
from typing import Any

from sqlmodel import Session, select

from services.sessions import clock, domain
from services.sessions.feedback import to_domain as form_to_domain
from services.sessions.meetings import to_domain as meeting_to_domain
from services.sessions.milestones import to_domain as milestone_to_domain
from services.sessions.models import Dyad, FeedbackForm, Meeting, Milestone, Objective, ProgramSettings, ProgressEntry
from services.sessions.objectives import assessed, series_of
from services.sessions.schemas import ProgramOutcomesOut
from services.sessions.supervision import program_dyads, thresholds

ACHIEVED = 100.0


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def _objectives(objectives: list[Objective], recorded: dict[uuid.UUID, list[ProgressEntry]],
                steps: dict[uuid.UUID, list[Milestone]], now: datetime) -> dict[str, Any]:
    compared = [assessed(o, recorded.get(o.id, []), steps.get(o.id, []), now) for o in objectives]
    tally = domain.tally_milestones([milestone_to_domain(m) for o in objectives for m in steps.get(o.id, [])], now)
    return {
        "objectives": len(objectives),
        "with_progress": sum(1 for o in objectives if recorded.get(o.id)),
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


def _rapport(forms: list[FeedbackForm]) -> dict[str, Any]:
    r = domain.dyad_rapport(dataclasses.replace(form_to_domain(f), respondent_role=f.respondent_role) for f in forms)
    return dataclasses.asdict(r)


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
    iid, pid = program.institution_id, program.program_id
    dyads = program_dyads(session, program)
    ids = {d.id for d in dyads}
    meetings: dict[uuid.UUID, list[Meeting]] = defaultdict(list)
    for m in session.exec(select(Meeting).join(Dyad, Dyad.id == Meeting.dyad_id)  # type: ignore[arg-type]
                          .where(Dyad.institution_id == iid, Dyad.program_id == pid, Meeting.institution_id == iid)
                          .order_by(Meeting.dyad_id, Meeting.number)).all():  # type: ignore[arg-type]
        meetings[m.dyad_id].append(m)
    forms: dict[uuid.UUID, list[FeedbackForm]] = defaultdict(list)
    for f in session.exec(select(FeedbackForm).where(FeedbackForm.institution_id == iid, FeedbackForm.program_id == pid)).all():
        if f.dyad_id in ids:
            forms[f.dyad_id].append(f)
    objectives: dict[uuid.UUID, list[Objective]] = defaultdict(list)
    for o in session.exec(select(Objective).where(Objective.institution_id == iid, Objective.program_id == pid)
                          .order_by(Objective.created_at, Objective.id)).all():  # type: ignore[arg-type]
        objectives[o.dyad_id].append(o)
    recorded: dict[uuid.UUID, list[ProgressEntry]] = defaultdict(list)
    for e in session.exec(select(ProgressEntry).join(Objective, Objective.id == ProgressEntry.objective_id)  # type: ignore[arg-type]
                          .where(Objective.institution_id == iid, Objective.program_id == pid, ProgressEntry.institution_id == iid)
                          .order_by(ProgressEntry.recorded_at, ProgressEntry.id)).all():  # type: ignore[arg-type]
        recorded[e.objective_id].append(e)
    steps: dict[uuid.UUID, list[Milestone]] = defaultdict(list)
    for step in session.exec(select(Milestone).join(Objective, Objective.id == Milestone.objective_id)  # type: ignore[arg-type]
                             .where(Objective.institution_id == iid, Objective.program_id == pid, Milestone.institution_id == iid)
                             .order_by(Milestone.due_on, Milestone.id)).all():  # type: ignore[arg-type]
        steps[step.objective_id].append(step)

    limits = thresholds(program)
    all_meetings: list[domain.Meeting] = []
    all_forms: list[domain.FeedbackForm] = []
    items = []
    for d in dyads:
        ms = [meeting_to_domain(m) for m in meetings[d.id]]
        fs = [form_to_domain(f) for f in forms[d.id]]
        all_meetings += ms
        all_forms += fs
        health = None
        if d.status == "active":
            series = [series_of(o, recorded.get(o.id, [])) for o in objectives[d.id]]
            health = domain.dyad_health(str(d.id), ms, fs, series, now, limits).status.value
        items.append({
            "dyad_id": d.id, "status": d.status, "health": health, "at_risk": health in ("amber", "red"),
            "meetings": _meetings(ms, now), "feedback": _feedback(fs, now),
            "objectives": _objectives(objectives[d.id], recorded, steps, now), "rapport": _rapport(forms[d.id]),
        })
    feedback = domain.feedback_stats(all_forms, now)
    return ProgramOutcomesOut.model_validate({
        "program_id": pid, "meetings_per_dyad": program.meetings_count, "feedback_deadline_hours": program.feedback_deadline_hours,
        "dyads": len(dyads), "meetings": dataclasses.asdict(domain.meeting_stats(all_meetings, now)),
        "feedback": {**dataclasses.asdict(feedback), "delays": [dataclasses.asdict(b) for b in feedback.delays]},
        "items": items, "computed_at": now,
    })
