"""What supervision reads about a program's dyads, in set queries.

One query per table, keyed by the program (or by ``dyad_id IN (...)``, in
chunks, for a few dyads), whatever the number of dyads: dyads, meetings,
meeting changes, feedback forms, objectives, progress entries, diary entries.
Only the columns supervision needs are read (no ORM objects), and everything is
assembled in one pass into ``domain.DyadActivity`` per dyad, plus what the
program views need beside it (the objectives with their progress entries).

Touches (signs of life that are neither meetings nor forms): a diary entry by
its author's role (today the mentee writes the diary), a progress entry, an
objective set and a milestone reported met (the mentee), and a milestone
confirmed by the mentor. Milestones also feed the stalled-objective sign
(overdue and not reported) and the verified achievement of the program views.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlmodel import Session

from services.sessions import domain
from services.sessions.enums import MeetingStatus, Modality
from services.sessions.models import (
    DiaryEntry,
    Dyad,
    FeedbackForm,
    Meeting,
    MeetingChange,
    Milestone,
    Objective,
    ProgramSettings,
    ProgressEntry,
)

CHUNK = 500
"""ids per ``IN (...)`` list"""


@dataclass(frozen=True)
class DyadRow:
    id: uuid.UUID
    institution_id: uuid.UUID
    program_id: uuid.UUID
    status: str
    health_status: str | None
    health_assessed_at: datetime | None
    activated_at: datetime
    ended_at: datetime | None
    mentee_account_id: str
    mentor_account_id: str


@dataclass(frozen=True)
class ObjectiveRow:
    id: uuid.UUID
    dyad_id: uuid.UUID
    baseline: float
    target: float
    created_at: datetime
    mentee_perceived: float | None
    mentor_perceived: float | None


@dataclass(frozen=True)
class EntryRow:
    objective_id: uuid.UUID
    recorded_at: datetime
    value: float


@dataclass
class ProgramData:
    """A program's dyads (by id order) and everything supervision reads about them."""

    dyads: list[DyadRow]
    meetings: dict[uuid.UUID, list[domain.Meeting]] = field(default_factory=dict)
    forms: dict[uuid.UUID, list[domain.FeedbackForm]] = field(default_factory=dict)
    objectives: dict[uuid.UUID, list[ObjectiveRow]] = field(default_factory=dict)
    entries: dict[uuid.UUID, list[EntryRow]] = field(default_factory=dict)
    """progress entries by objective, in time order"""
    touches: dict[uuid.UUID, list[domain.Touch]] = field(default_factory=dict)
    milestones: dict[uuid.UUID, list[domain.Milestone]] = field(default_factory=dict)
    """milestones by objective, by target date"""

    def series(self, objective: ObjectiveRow) -> tuple[tuple[datetime, float], ...]:
        """The objective's measured achievement from its creation (0 %), after each entry."""
        points = domain.achievement_series(objective.baseline, objective.target,
                                           [domain.ProgressEntry(e.recorded_at, e.value) for e in self.entries.get(objective.id, [])])
        if points and objective.created_at < points[0][0]:
            return ((objective.created_at, 0.0), *points)
        return points or ((objective.created_at, 0.0),)

    def comparison(self, objective: ObjectiveRow, now: datetime) -> domain.AchievementComparison:
        """At ``now``: verified (its confirmed milestones), self-reported (its progress entries) and perceived."""
        return domain.assess_objective(objective.baseline, objective.target,
                                       [domain.ProgressEntry(e.recorded_at, e.value) for e in self.entries.get(objective.id, [])],
                                       milestones=self.milestones.get(objective.id, ()), now=now,
                                       mentee=objective.mentee_perceived, mentor=objective.mentor_perceived)

    def dyad_milestones(self, dyad_id: uuid.UUID) -> list[domain.Milestone]:
        return [m for o in self.objectives.get(dyad_id, ()) for m in self.milestones.get(o.id, ())]

    def activity(self, dyad: DyadRow) -> domain.DyadActivity:
        return domain.DyadActivity(
            dyad_id=str(dyad.id), started_at=dyad.activated_at, ended_at=dyad.ended_at,
            meetings=tuple(self.meetings.get(dyad.id, ())), forms=tuple(self.forms.get(dyad.id, ())),
            milestones=tuple(self.dyad_milestones(dyad.id)),
            progress=tuple(self.series(o) for o in self.objectives.get(dyad.id, ())),
            touches=tuple(sorted(self.touches.get(dyad.id, ()), key=lambda t: t.at)),
        )

    def activities(self) -> list[domain.DyadActivity]:
        return [self.activity(d) for d in self.dyads]


def _chunks(ids: Sequence[uuid.UUID]) -> Iterator[Sequence[uuid.UUID]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def _rows(session: Session, stmt: Select[Any], column: Any, ids: Sequence[uuid.UUID] | None) -> Iterable[Any]:
    """The statement's rows (plain tuples, no ORM loading): once for the program, or once per chunk of ids."""
    conn = session.connection()
    if ids is None:
        yield from conn.execute(stmt)
        return
    for chunk in _chunks(ids):
        yield from conn.execute(stmt.where(column.in_(chunk)))


def load(session: Session, program: ProgramSettings, dyad_ids: Sequence[uuid.UUID] | None = None, *,
         health: bool = True) -> ProgramData:
    """Read the program's dyads (or only ``dyad_ids``) and their records, one
    query per table (per chunk of ids). Without ``health`` (statistics), the
    meeting changes and the diary are not read."""
    iid, pid = program.institution_id, program.program_id
    in_program = (Dyad.institution_id == iid, Dyad.program_id == pid)
    dyad_stmt = select(Dyad.id, Dyad.institution_id, Dyad.program_id, Dyad.status, Dyad.health_status, Dyad.health_assessed_at,
                       Dyad.activated_at,
                       Dyad.ended_at, Dyad.mentee_account_id, Dyad.mentor_account_id).where(*in_program).order_by(Dyad.id)
    data = ProgramData(dyads=[DyadRow(*r) for r in _rows(session, dyad_stmt, Dyad.id, dyad_ids)])
    if not data.dyads:
        return data
    roles = {d.id: {d.mentee_account_id: "mentee", d.mentor_account_id: "mentor"} for d in data.dyads}

    changes: dict[uuid.UUID, list[domain.MeetingChange]] = defaultdict(list)
    change_stmt = (select(MeetingChange.meeting_id, MeetingChange.at, MeetingChange.kind, MeetingChange.from_start,
                          MeetingChange.to_start, MeetingChange.by)
                   .join(Meeting, Meeting.id == MeetingChange.meeting_id).join(Dyad, Dyad.id == Meeting.dyad_id)
                   .where(*in_program, MeetingChange.institution_id == iid).order_by(MeetingChange.at, MeetingChange.id))
    for meeting_id, at, kind, from_start, to_start, by in _rows(session, change_stmt, Meeting.dyad_id, dyad_ids) if health else ():
        changes[meeting_id].append(domain.MeetingChange(at, kind, from_start, to_start, by))

    meeting_stmt = (select(Meeting.id, Meeting.dyad_id, Meeting.planned_start, Meeting.start, Meeting.duration_minutes,
                           Meeting.status, Meeting.modality, Meeting.reschedules, Meeting.mentee_confirmed_at,
                           Meeting.mentor_confirmed_at)
                    .join(Dyad, Dyad.id == Meeting.dyad_id).where(*in_program, Meeting.institution_id == iid)
                    .order_by(Meeting.dyad_id, Meeting.number))
    meetings: dict[uuid.UUID, list[domain.Meeting]] = defaultdict(list)
    for mid, dyad_id, planned, start, minutes, status, modality, moves, mentee_at, mentor_at in _rows(
            session, meeting_stmt, Meeting.dyad_id, dyad_ids):
        meetings[dyad_id].append(domain.Meeting(
            id=str(mid), dyad_id=str(dyad_id), planned_start=planned, start=start, duration_minutes=minutes,
            status=MeetingStatus(status), modality=Modality(modality), reschedules=moves,
            mentee_confirmed_at=mentee_at, mentor_confirmed_at=mentor_at, changes=tuple(changes.get(mid, ())),
        ))
    data.meetings = dict(meetings)

    form_stmt = (select(FeedbackForm.meeting_id, FeedbackForm.dyad_id, FeedbackForm.respondent_role, FeedbackForm.due_at,
                        FeedbackForm.submitted_at, FeedbackForm.rating)
                 .where(FeedbackForm.institution_id == iid, FeedbackForm.program_id == pid)
                 .order_by(FeedbackForm.due_at, FeedbackForm.id))
    forms: dict[uuid.UUID, list[domain.FeedbackForm]] = defaultdict(list)
    for meeting_id, dyad_id, role, due, submitted, rating in _rows(session, form_stmt, FeedbackForm.dyad_id, dyad_ids):
        forms[dyad_id].append(domain.FeedbackForm(meeting_id=str(meeting_id), dyad_id=str(dyad_id), respondent_id=role,
                                                  respondent_role=role, due=due, submitted_at=submitted, rating=rating))
    data.forms = dict(forms)

    touches: dict[uuid.UUID, list[domain.Touch]] = defaultdict(list)
    diary_stmt = (select(DiaryEntry.dyad_id, DiaryEntry.author_account_id, DiaryEntry.created_at)
                  .join(Dyad, Dyad.id == DiaryEntry.dyad_id).where(*in_program, DiaryEntry.institution_id == iid))
    for dyad_id, author, created in _rows(session, diary_stmt, DiaryEntry.dyad_id, dyad_ids) if health else ():
        role = roles.get(dyad_id, {}).get(author)
        if role is not None:
            touches[dyad_id].append(domain.Touch(created, role, "diary"))

    objectives: dict[uuid.UUID, list[ObjectiveRow]] = defaultdict(list)
    dyad_of: dict[uuid.UUID, uuid.UUID] = {}
    objective_stmt = (select(Objective.id, Objective.dyad_id, Objective.baseline, Objective.target, Objective.created_at,
                             Objective.mentee_perceived, Objective.mentor_perceived)
                      .where(Objective.institution_id == iid, Objective.program_id == pid)
                      .order_by(Objective.created_at, Objective.id))
    for row in _rows(session, objective_stmt, Objective.dyad_id, dyad_ids):
        o = ObjectiveRow(*row)
        objectives[o.dyad_id].append(o)
        dyad_of[o.id] = o.dyad_id
        touches[o.dyad_id].append(domain.Touch(o.created_at, "mentee", "objective"))
    entry_stmt = (select(ProgressEntry.objective_id, ProgressEntry.recorded_at, ProgressEntry.value)
                  .join(Objective, Objective.id == ProgressEntry.objective_id)
                  .where(Objective.institution_id == iid, Objective.program_id == pid, ProgressEntry.institution_id == iid)
                  .order_by(ProgressEntry.recorded_at, ProgressEntry.id))
    entries: dict[uuid.UUID, list[EntryRow]] = defaultdict(list)
    for row in _rows(session, entry_stmt, Objective.dyad_id, dyad_ids):
        e = EntryRow(*row)
        entries[e.objective_id].append(e)
        touches[dyad_of[e.objective_id]].append(domain.Touch(e.recorded_at, "mentee", "progress"))
    milestone_stmt = (select(Milestone.id, Milestone.objective_id, Milestone.dyad_id, Milestone.due_on, Milestone.created_at,
                             Milestone.reported_at, Milestone.confirmed_at, Milestone.confirmed_by)
                      .join(Dyad, Dyad.id == Milestone.dyad_id).where(*in_program, Milestone.institution_id == iid)
                      .order_by(Milestone.due_on, Milestone.id))
    milestones: dict[uuid.UUID, list[domain.Milestone]] = defaultdict(list)
    for mid, objective_id, dyad_id, due_on, created, reported, confirmed, confirmed_by in _rows(
            session, milestone_stmt, Milestone.dyad_id, dyad_ids):
        milestones[objective_id].append(domain.Milestone(id=str(mid), objective_id=str(objective_id), due_on=due_on,
                                                         created_at=created, reported_at=reported, confirmed_at=confirmed))
        if reported is not None:
            touches[dyad_id].append(domain.Touch(reported, "mentee", "milestone_reported"))
        if confirmed is not None and confirmed_by == "mentor":
            touches[dyad_id].append(domain.Touch(confirmed, "mentor", "milestone_confirmed"))
    data.objectives, data.entries, data.milestones = dict(objectives), dict(entries), dict(milestones)
    data.touches = dict(touches)
    return data
