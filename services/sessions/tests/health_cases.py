"""Dyads written down meeting by meeting, for the supervision tests.

``Dyad`` records what happened with its real timestamps (confirmations, forms,
moves, cancellations, touches), the way the service stores it, so the domain
can look at any past moment. ``pilot_cohort`` is the Mexico pilot's noise with
nothing wrong: every meeting held and confirmed, half of the forms 1 to 14 days
late (a third of the members nearly always), ratings wobbling around each
member's own level, a few meetings moved as the semester ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.sessions.domain import (
    DyadActivity,
    FeedbackForm,
    Meeting,
    MeetingChange,
    MeetingStatus,
    Milestone,
    Touch,
)

T0 = datetime(2026, 8, 3, 16, tzinfo=UTC)
"""the first meeting of the first dyad (a Monday)"""
HOUR, DAY, WEEK = timedelta(hours=1), timedelta(days=1), timedelta(days=7)


@dataclass
class Dyad:
    id: str
    first: datetime = T0
    interval: timedelta = WEEK
    count: int = 12
    started: datetime | None = None
    meetings: dict[int, Meeting] = field(default_factory=dict)
    forms: list[FeedbackForm] = field(default_factory=list)
    touches: list[Touch] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    progress: list[tuple[tuple[datetime, float], ...]] = field(default_factory=list)

    def planned(self, k: int) -> datetime:
        return self.first + k * self.interval

    def held(self, k: int, *, ratings: tuple[float | None, float | None] = (4.5, 4.5), late: tuple[int, int] = (0, 0),
             confirm: tuple[str, ...] = ("mentee", "mentor"), forms: tuple[str, ...] = ("mentee", "mentor"),
             confirm_after: timedelta = HOUR, moved: timedelta | None = None) -> Dyad:
        """Meeting ``k`` held: confirmed by ``confirm`` an hour after its end, each form of ``forms`` sent on time or
        ``late`` days late (mentee, mentor) with its rating; ``moved`` by that much two days before."""
        planned = self.planned(k)
        start = planned + moved if moved else planned
        changes = (MeetingChange(planned - 2 * DAY, "rescheduled", planned, start, by="mentee"),) if moved else ()
        end = start + HOUR
        stamps = {role: end + confirm_after if role in confirm else None for role in ("mentee", "mentor")}
        self.meetings[k] = Meeting(
            id=f"{self.id}-m{k:02d}", dyad_id=self.id, planned_start=planned, start=start, status=MeetingStatus.HELD,
            reschedules=len(changes), mentee_confirmed_at=stamps["mentee"], mentor_confirmed_at=stamps["mentor"], changes=changes,
        )
        due = end + timedelta(hours=48)
        for n, role in enumerate(("mentee", "mentor")):
            sent = None
            if role in forms:
                sent = due - 2 * HOUR if late[n] == 0 else due + timedelta(days=late[n] - 1, hours=3)
            self.forms.append(FeedbackForm(meeting_id=f"{self.id}-m{k:02d}", dyad_id=self.id, respondent_id=role, respondent_role=role,
                                           due=due, submitted_at=sent, rating=ratings[n] if sent else None))
        return self

    def pending(self, k: int) -> Dyad:
        """Meeting ``k`` on the schedule, never confirmed."""
        planned = self.planned(k)
        self.meetings[k] = Meeting(id=f"{self.id}-m{k:02d}", dyad_id=self.id, planned_start=planned, start=planned)
        return self

    def ended_as(self, k: int, kind: str, by: str = "mentee", at: timedelta = -DAY) -> Dyad:
        """Meeting ``k`` cancelled (recorded ``at`` from its start) or a no-show (recorded 2 hours after it)."""
        planned = self.planned(k)
        when = planned + (at if kind == "cancelled" else 2 * HOUR)
        self.meetings[k] = Meeting(id=f"{self.id}-m{k:02d}", dyad_id=self.id, planned_start=planned, start=planned,
                                   status=MeetingStatus(kind), changes=(MeetingChange(when, kind, planned, by=by),))
        return self

    def moved(self, k: int, times: int, *, by: str = "mentor", step: timedelta = 3 * DAY) -> Dyad:
        """Meeting ``k`` moved ``times`` times by ``by``, still pending."""
        planned = self.planned(k)
        start, changes = planned, []
        for n in range(times):
            changes.append(MeetingChange(start - DAY, "rescheduled", start, start + step, by=by))
            start += step
        self.meetings[k] = Meeting(id=f"{self.id}-m{k:02d}", dyad_id=self.id, planned_start=planned, start=start,
                                   status=MeetingStatus.RESCHEDULED, reschedules=times, changes=tuple(changes))
        return self

    def touch(self, at: datetime, role: str = "mentee", kind: str = "diary") -> Dyad:
        self.touches.append(Touch(at, role, kind))
        return self

    def objective(self, *points: tuple[datetime, float]) -> Dyad:
        self.progress.append(tuple(points))
        return self

    def milestone(self, due_on: datetime, reported: datetime | None = None, created: datetime = T0) -> Dyad:
        n = len(self.milestones)
        self.milestones.append(Milestone(id=f"{self.id}-s{n}", objective_id=f"{self.id}-o0", due_on=due_on.date(), created_at=created,
                                         reported_at=reported, confirmed_at=None))
        return self

    def activity(self, ended: datetime | None = None) -> DyadActivity:
        for k in range(self.count):
            if k not in self.meetings:
                self.pending(k)
        return DyadActivity(dyad_id=self.id, started_at=self.started or self.first - 4 * DAY, ended_at=ended,
                            meetings=tuple(self.meetings[k] for k in sorted(self.meetings)), forms=tuple(self.forms),
                            milestones=tuple(self.milestones), progress=tuple(self.progress), touches=tuple(self.touches))


WOBBLE = (0.0, -0.25, 0.0, 0.25, -0.25, 0.0, 0.25, 0.0, -0.25, 0.0, 0.25, 0.0)


def pilot_dyad(n: int, weeks: int = 12) -> Dyad:
    """Dyad ``n`` of the pilot's noise over its first ``weeks`` meetings: nothing is wrong."""
    d = Dyad(f"d{n:02d}", first=T0 + timedelta(days=n % 5, hours=n % 3))
    level = (4.25 + 0.25 * (n % 3), 4.75 - 0.25 * (n % 2))
    for k in range(weeks):
        # The mentor of every third dyad and the mentee of every fourth are late with nearly every form, the others
        # with every third: about half of all forms are 1 to 14 days late.
        late = []
        for role in (0, 1):
            chronic = (role == 1 and n % 3 == 0) or (role == 0 and n % 4 == 0)
            form_no = (n * weeks + k) * 2 + role
            if chronic:
                late.append((k * 5 + n) % 14 + 1 if k % 7 else 0)
            else:
                late.append((form_no // 3) % 14 + 1 if form_no % 3 == 0 else 0)
        ratings = (min(5.0, level[0] + WOBBLE[(k + n) % 12]), min(5.0, level[1] + WOBBLE[(k + 2 * n) % 12]))
        moved = 2 * DAY if k >= 9 and (n + k) % 4 == 0 else None
        d.held(k, ratings=ratings, late=(late[0], late[1]), moved=moved)
        if n % 5:  # every fifth mentee writes no diary
            d.touch(d.planned(k) + 3 * DAY)
    d.objective((T0 + 2 * HOUR, 0.0), *((T0 + (3 * j + n % 3) * WEEK, 20.0 * j) for j in range(1, 5)))
    return d


def pilot_cohort(dyads: int = 14, weeks: int = 12) -> list[Dyad]:
    return [pilot_dyad(n, weeks) for n in range(dyads)]
