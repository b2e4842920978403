"""Seeded cohorts with the pilots' noise and planted breakdowns.

A program is a set of dyads with a meeting plan (12 weekly meetings like the
Mexico pilot, or 5 monthly ones like Peru). Each member has habits: how late she
sends her forms (some members are chronically late), whether she confirms
meetings and how soon, whether she writes a diary, how she rates her
counterpart (her own level and noise). Healthy dyads reschedule now and then
(more as the semester ends), miss or cancel the odd meeting, take a two-week
break once in a while, and progress unevenly on their objectives and milestones.

A share of the dyads breaks down, ending in a dissolution on a known day:

* ``rapport``: ratings fall over the last one to three meetings, then the
  meetings stop (cancelled, missed or never confirmed) and the dyad is dissolved
  two to three weeks after its last meeting (the Mexico pilot's dyad);
* ``ghosting``: one member stops confirming, sending forms and writing, then
  stops coming; her counterpart keeps trying until the dyad is dissolved;
* ``fade``: both drift apart slowly: more meetings missed and moved, later
  forms, ratings sliding, progress stopping, until the meetings stop;
* ``overload``: one member (mostly a mentor with two mentees) postpones meeting
  after meeting, cancels some, and the dyad is dissolved.

Everything is recorded with its real timestamps (confirmations, moves,
cancellations, submissions, touches), so the real domain code can look at any
past moment (``DyadActivity.as_of``). Deterministic for a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from services.sessions.domain import (
    DyadActivity,
    FeedbackForm,
    Meeting,
    MeetingChange,
    MeetingStatus,
    Milestone,
    Touch,
    feedback_due,
)

KINDS = ("rapport", "ghosting", "fade", "overload")
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
ROLES = ("mentee", "mentor")
OTHER = {"mentee": "mentor", "mentor": "mentee"}


@dataclass(frozen=True)
class ProgramShape:
    """How a program runs and how noisy its people are."""

    name: str
    dyads: tuple[int, int] = (15, 40)
    """how many dyads, drawn between these bounds"""
    meetings: int = 12
    interval_days: float = 7.0
    late_share: float = 0.5
    """the share of forms that come late (1-14 days), through chronically late members"""
    broken_share: float = 0.15
    mentor_capacity: int = 1
    deadline_hours: float = 48.0


PILOT = ProgramShape("pilot")
PERU = ProgramShape("peru", dyads=(40, 40), meetings=5, interval_days=30.0, mentor_capacity=2)
LATE70 = ProgramShape("late70", late_share=0.7)
MEXICO = ProgramShape("mexico", dyads=(14, 14), broken_share=0.0)


@dataclass
class Member:
    late: float
    """chance a form is late"""
    chronic: bool
    confirms: float
    """chance she confirms a held meeting"""
    confirm_with_form: bool
    """she confirms when she sends her form (else soon after the meeting)"""
    diary_per_week: float
    level: float
    """her usual rating of her counterpart"""
    noise: float


@dataclass
class Truth:
    dyad_id: str
    kind: str | None
    """None for a healthy dyad"""
    onset: datetime | None = None
    """when the breakdown starts to show"""
    dissolved: datetime | None = None
    who: str | None = None
    """the member who withdraws or postpones (ghosting, overload, rapport from one side)"""


@dataclass
class Cohort:
    shape: ProgramShape
    start: datetime
    end: datetime
    activities: list[DyadActivity]
    truth: dict[str, Truth]
    checkpoints: list[datetime] = field(default_factory=list)


def _member(rng: random.Random, shape: ProgramShape) -> Member:
    # A third of members are chronically late; the rest are late now and then, so that
    # late_share of all forms come late.
    chronic = rng.random() < 0.33
    other = max(0.0, (shape.late_share - 0.33 * 0.85) / 0.67)
    late = min(0.97, 0.85 + rng.uniform(-0.1, 0.1)) if chronic else min(0.95, max(0.0, other + rng.uniform(-0.15, 0.15)))
    confirms = rng.uniform(0.55, 0.8) if rng.random() < 0.1 else rng.uniform(0.93, 1.0)
    return Member(
        late=late, chronic=chronic, confirms=confirms, confirm_with_form=rng.random() < 0.25,
        diary_per_week=0.0 if rng.random() < 0.25 else rng.uniform(0.3, 1.2),
        level=min(5.0, max(3.2, rng.gauss(4.4, 0.35))), noise=rng.uniform(0.3, 0.6),
    )


def _rating(rng: random.Random, level: float, noise: float) -> float:
    items = [min(5, max(1, round(rng.gauss(level, noise)))) for _ in range(4)]
    return sum(items) / 4


def _delay(rng: random.Random, m: Member, late_bonus: float = 0.0, extra_days: int = 0) -> int:
    """Days late (0 = on time), 1-14 like the pilots."""
    if rng.random() >= min(0.98, m.late + late_bonus):
        return 0
    d = rng.randint(1, 14) if not m.chronic else max(rng.randint(1, 14), rng.randint(1, 14))
    return min(21, d + extra_days)


class _Dyad:
    """One dyad being written down, meeting by meeting."""

    def __init__(self, rng: random.Random, shape: ProgramShape, dyad_id: str, first: datetime, started: datetime,
                 mentee: Member, mentor: Member) -> None:
        self.rng, self.shape, self.id = rng, shape, dyad_id
        self.members = {"mentee": mentee, "mentor": mentor}
        self.levels = {"mentee": mentee.level, "mentor": mentor.level}
        self.planned = [first + timedelta(days=shape.interval_days * k) for k in range(shape.meetings)]
        self.started = started
        self.meetings: list[Meeting] = []
        self.forms: list[FeedbackForm] = []
        self.touches: list[Touch] = []
        self.milestones: list[Milestone] = []
        self.progress: list[list[tuple[datetime, float]]] = []

    # -- one meeting ------------------------------------------------------------------------------------------
    def meeting(self, k: int, *, outcome: str = "held", moves: int = 0, move_days: tuple[int, int] = (1, 5),
                mover: str | None = None, silent: frozenset[str] = frozenset(), late_bonus: float = 0.0,
                extra_delay: int = 0, cancel_by: str | None = None, no_show_by: str | None = None,
                rating_drop: dict[str, float] | None = None, forms_from: frozenset[str] = frozenset(ROLES)) -> Meeting:
        """Record meeting ``k``. ``outcome``: held, cancelled, no_show or unconfirmed. ``silent``: members who do
        not confirm it and send no form."""
        rng = self.rng
        planned = self.planned[k]
        start = planned
        changes: list[MeetingChange] = []
        for n in range(moves):
            at = start - timedelta(hours=rng.uniform(12, 96))
            if changes and at <= changes[-1].at:
                at = changes[-1].at + HOUR
            to = start + timedelta(days=rng.randint(*move_days))
            changes.append(MeetingChange(at, "rescheduled", start, to, by=mover or rng.choice(ROLES)))
            start = to
        end = start + HOUR
        mentee_at = mentor_at = None
        status = MeetingStatus.SCHEDULED if not changes else MeetingStatus.RESCHEDULED
        if outcome == "cancelled":
            at = start - timedelta(hours=rng.uniform(2, 72))
            if changes and at <= changes[-1].at:
                at = changes[-1].at + HOUR
            changes.append(MeetingChange(at, "cancelled", start, by=cancel_by or rng.choice(ROLES)))
            status = MeetingStatus.CANCELLED
        elif outcome == "no_show":
            by = no_show_by or rng.choice(ROLES)
            changes.append(MeetingChange(start + timedelta(hours=rng.uniform(1, 30)), "no_show", start, by=by))
            status = MeetingStatus.NO_SHOW
        elif outcome == "held":
            if rating_drop:
                for role, d in rating_drop.items():
                    self.levels[role] = max(1.0, self.levels[role] - d)
            stamps: dict[str, datetime | None] = {}
            sends: dict[str, datetime | None] = {}
            due = feedback_due(end, self.shape.deadline_hours)
            for role, m in self.members.items():
                if role in silent or role not in forms_from:
                    sends[role] = None
                else:
                    d = _delay(rng, m, late_bonus, extra_delay)
                    sends[role] = (end + timedelta(hours=rng.uniform(0.5, 46)) if d == 0
                                   else due + timedelta(days=d - 1, hours=rng.uniform(1, 23)))
                if role in silent or rng.random() >= m.confirms:
                    stamps[role] = None
                elif m.confirm_with_form and sends[role] is not None:
                    stamps[role] = sends[role]
                else:
                    stamps[role] = end + timedelta(hours=rng.expovariate(1 / 5))
            given = [s for s in stamps.values() if s is not None]
            if not given:  # nobody confirmed: the meeting looks missed
                status = MeetingStatus.SCHEDULED if not changes else MeetingStatus.RESCHEDULED
            else:
                first = min(given)
                status = MeetingStatus.HELD
                mentee_at, mentor_at = stamps["mentee"], stamps["mentor"]
                mid = f"{self.id}-m{k:02d}"
                for role in ROLES:
                    sent = sends[role]
                    if sent is not None and sent < first:
                        sent = first + timedelta(minutes=rng.uniform(1, 30))
                    never = sent is None or rng.random() < 0.005
                    rating = None if never else _rating(rng, self.levels[role], self.members[role].noise)
                    self.forms.append(FeedbackForm(meeting_id=mid, dyad_id=self.id, respondent_id=role, respondent_role=role,
                                                   due=due, submitted_at=None if never else sent, rating=rating))
                self.levels = {r: min(5.0, max(1.0, v + rng.gauss(0, 0.04))) for r, v in self.levels.items()}
        # unconfirmed: nothing recorded
        meeting = Meeting(id=f"{self.id}-m{k:02d}", dyad_id=self.id, planned_start=planned, start=start, status=status,
                          reschedules=sum(1 for c in changes if c.kind == "rescheduled"), mentee_confirmed_at=mentee_at,
                          mentor_confirmed_at=mentor_at, changes=tuple(changes))
        self.meetings.append(meeting)
        return meeting

    # -- between meetings -------------------------------------------------------------------------------------
    def diary(self, since: datetime, until: datetime, quiet: frozenset[str] = frozenset(), rate: float = 1.0) -> None:
        m = self.members["mentee"]
        if "mentee" in quiet or m.diary_per_week <= 0:
            return
        weeks = (until - since) / timedelta(days=7)
        n = sum(1 for _ in range(max(1, round(weeks * 3))) if self.rng.random() < m.diary_per_week * rate / 3)
        for _ in range(n):
            self.touches.append(Touch(since + (until - since) * self.rng.random(), "mentee", "diary"))

    def objectives(self, first: datetime, until: datetime, stop: datetime | None = None) -> None:
        """One to three objectives set after the first meeting; uneven progress until ``stop``; milestones."""
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            created = first + timedelta(hours=rng.uniform(2, 72))
            self.touches.append(Touch(created, "mentee", "objective"))
            series = [(created, 0.0)]
            value = 0.0
            t = created
            stall_until = created + timedelta(days=rng.uniform(20, 40)) if rng.random() < 0.2 else created
            step = timedelta(days=self.shape.interval_days)
            while t < until:
                t += step * rng.uniform(0.6, 1.4)
                if t >= until or (stop is not None and t >= stop):
                    break
                if t < stall_until or rng.random() > 0.45:
                    if rng.random() < 0.15:  # an entry that records no change
                        series.append((t, value))
                        self.touches.append(Touch(t, "mentee", "progress"))
                    continue
                value = min(100.0, value + rng.uniform(8, 30))
                series.append((t, value))
                self.touches.append(Touch(t, "mentee", "progress"))
                if value >= 100.0:
                    break
            self.progress.append(series)
            span = (until - created).days
            for n in range(rng.randint(1, 3)):
                due_on = (created + timedelta(days=span * (n + 1) / 4)).date()
                lateness = 0 if rng.random() < 0.5 else rng.randint(1, 14)
                reported = datetime.combine(due_on, datetime.min.time(), UTC) + timedelta(days=lateness - rng.randint(0, 3),
                                                                                          hours=rng.uniform(8, 20))
                if reported < created:
                    reported = created + HOUR
                if stop is not None and reported >= stop:
                    reported_at = confirmed_at = None
                else:
                    reported_at = reported
                    confirmed_at = reported + timedelta(days=rng.uniform(0.2, 10))
                    self.touches.append(Touch(reported_at, "mentee", "milestone_reported"))
                    self.touches.append(Touch(confirmed_at, "mentor", "milestone_confirmed"))
                self.milestones.append(Milestone(id=f"{self.id}-o{len(self.progress)}-s{n}", objective_id=f"{self.id}-o{len(self.progress)}",
                                                 due_on=due_on, created_at=created, reported_at=reported_at, confirmed_at=confirmed_at))

    def activity(self, ended: datetime | None) -> DyadActivity:
        # At the end (dissolution or completion) every pending meeting still ahead is cancelled by the system.
        meetings = []
        for m in self.meetings:
            if ended is not None and m.status in (MeetingStatus.SCHEDULED, MeetingStatus.RESCHEDULED) and m.start > ended:
                m = Meeting(id=m.id, dyad_id=m.dyad_id, planned_start=m.planned_start, start=m.start, status=MeetingStatus.CANCELLED,
                            reschedules=m.reschedules, changes=(*m.changes, MeetingChange(ended, "cancelled", m.start, by="system")))
            meetings.append(m)
        return DyadActivity(dyad_id=self.id, started_at=self.started, ended_at=ended, meetings=tuple(meetings),
                            forms=tuple(self.forms),
                            milestones=tuple(self.milestones), progress=tuple(tuple(s) for s in self.progress),
                            touches=tuple(sorted(self.touches, key=lambda t: t.at)))


def _healthy(d: _Dyad, shape: ProgramShape, until: int) -> None:
    """Meetings 0..until-1 with the pilots' noise."""
    rng = d.rng
    # A two-meeting break (travel, exams) now and then, in programs with many meetings.
    brk = rng.randrange(2, shape.meetings - 2) if shape.meetings >= 8 and rng.random() < 0.04 else None
    for k in range(until):
        late_semester = k >= shape.meetings * 0.7
        moves = 0
        if rng.random() < (0.3 if late_semester else 0.06):
            moves = 2 if rng.random() < 0.15 else 1
        roll = rng.random()
        if (brk is not None and k in (brk, brk + 1)) or roll < 0.025:
            outcome = "cancelled"
        elif roll < 0.04:
            outcome = "no_show"
        else:
            outcome = "held"
        d.meeting(k, outcome=outcome, moves=moves)


def _extra(shape: ProgramShape) -> float:
    """Days a longer meeting interval adds before anyone notices: the next meeting has to be missed first."""
    return max(0.0, shape.interval_days - 7.0)


def _plant(d: _Dyad, shape: ProgramShape, kind: str, truth: Truth, mexico: bool = False) -> datetime:
    """Write a breakdown; return the last moment anything happens (its dissolution)."""
    rng = d.rng
    n = shape.meetings
    if kind == "rapport":
        k0 = 2 if mexico else rng.randint(1, n - 4 if n > 6 else n - 2)
        span = 1 if mexico else min(rng.choice((1, 1, 2, 3)), n - k0 - 1)
        who = rng.choice(("mentee", "mentor", "both", "both"))
        decliners = ROLES if who == "both" else (who,)
        truth.who = None if who == "both" else who
        _healthy(d, shape, k0)
        for j in range(span):
            drop = {r: rng.uniform(0.5, 1.0) * (1.4 if span == 1 else 1.0) for r in decliners}
            d.meeting(k0 + j, rating_drop=drop)
        last = k0 + span - 1
        truth.onset = d.planned[k0]
        for k in range(last + 1, n):
            roll = rng.random()
            if roll < 0.35:
                d.meeting(k, outcome="cancelled", cancel_by=rng.choice(decliners))
            elif roll < 0.5:
                d.meeting(k, outcome="no_show")
            else:
                d.meeting(k, outcome="unconfirmed")
        return d.meetings[last].start + timedelta(days=rng.uniform(14, 22) + _extra(shape))
    if kind == "ghosting":
        g = "mentee" if rng.random() < 0.6 else "mentor"
        truth.who = g
        k0 = rng.randint(1, max(1, n - 3))
        _healthy(d, shape, k0)
        truth.onset = d.planned[k0]
        attending = rng.choice((0, 1, 1, 2))
        for k in range(k0, n):
            if k < k0 + attending:
                d.meeting(k, silent=frozenset({g}))
            else:
                roll = rng.random()
                if roll < 0.5:
                    d.meeting(k, outcome="no_show", no_show_by=OTHER[g])
                elif roll < 0.8:
                    d.meeting(k, outcome="unconfirmed")
                else:
                    d.meeting(k, outcome="cancelled", cancel_by=OTHER[g])
        return truth.onset + timedelta(days=rng.uniform(21, 35) + 2 * _extra(shape))
    if kind == "fade":
        k0 = rng.randint(1, max(1, n - 4))
        _healthy(d, shape, k0)
        truth.onset = d.planned[k0]
        fade = rng.randint(3, 5) if n > 6 else 2
        last_held = k0 - 1
        for j, k in enumerate(range(k0, n)):
            if j < fade:
                p_miss = 0.15 + 0.55 * j / max(1, fade - 1)
                moves = 1 if rng.random() < 0.4 else 0
                roll = rng.random()
                if roll < p_miss * 0.4:
                    d.meeting(k, outcome="cancelled", moves=moves)
                elif roll < p_miss:
                    d.meeting(k, outcome="unconfirmed", moves=moves)
                else:
                    drop = {r: rng.uniform(0.05, 0.3) for r in ROLES}
                    d.meeting(k, moves=moves, late_bonus=0.25, extra_delay=rng.randint(2, 6), rating_drop=drop)
                    last_held = k
            else:
                d.meeting(k, outcome=rng.choice(("cancelled", "unconfirmed", "unconfirmed")))
        anchor = d.meetings[last_held].start if last_held >= 0 else truth.onset
        return max(anchor + timedelta(days=rng.uniform(14, 28) + _extra(shape)), truth.onset + timedelta(days=shape.interval_days * 2))
    # overload: one member postpones, again and again, then the dyad stops.
    o = "mentor" if rng.random() < 0.65 else "mentee"
    truth.who = o
    k0 = rng.randint(1, max(1, n - 3))
    _healthy(d, shape, k0)
    truth.onset = d.planned[k0] - timedelta(days=3)
    spiral = rng.randint(2, 4) if n > 6 else 2
    last = d.meetings[-1].start if d.meetings else d.planned[0]
    for j, k in enumerate(range(k0, n)):
        if j < spiral:
            moves = rng.randint(1, 3)
            outcome = "cancelled" if rng.random() < 0.45 else "held"
            m = d.meeting(k, outcome=outcome, moves=moves, move_days=(2, 6), mover=o, cancel_by=o, late_bonus=0.3,
                          extra_delay=rng.randint(0, 4))
            if m.status is MeetingStatus.HELD:
                last = m.start
        else:
            d.meeting(k, outcome=rng.choice(("cancelled", "unconfirmed")), cancel_by=o)
    return max(last, truth.onset) + timedelta(days=rng.uniform(10, 21) + _extra(shape))


def cohort(seed: int, shape: ProgramShape = PILOT, *, mexico: bool = False) -> Cohort:
    """One program. ``mexico``: the Mexico pilot's 14 dyads, one of which loses rapport after its third meeting."""
    rng = random.Random(seed)
    mexico = mexico or shape.name == "mexico"
    start = datetime.combine(date(2026, 8, 3), datetime.min.time(), UTC) + timedelta(hours=15)
    size = 14 if mexico else rng.randint(*shape.dyads)
    mentors = [_member(rng, shape) for _ in range(-(-size // shape.mentor_capacity))]
    activities: list[DyadActivity] = []
    truth: dict[str, Truth] = {}
    end = start + timedelta(days=shape.interval_days * shape.meetings + 14)
    for i in range(size):
        dyad_id = f"s{seed}-d{i:02d}"
        first = start + timedelta(days=rng.randrange(0, 5), hours=rng.randrange(0, 6))
        d = _Dyad(rng, shape, dyad_id, first, start - timedelta(days=4), _member(rng, shape), mentors[i // shape.mentor_capacity])
        kind: str | None
        if mexico:
            kind = "rapport" if i == 0 else None
        else:
            kind = rng.choice(KINDS) if rng.random() < shape.broken_share else None
        t = Truth(dyad_id, kind)
        last_meeting_end = d.planned[-1] + timedelta(days=7)
        if kind is None:
            _healthy(d, shape, shape.meetings)
            ended = max(m.start for m in d.meetings) + timedelta(days=7)
            quiet: frozenset[str] = frozenset()
            stop = None
        else:
            ended = _plant(d, shape, kind, t, mexico=mexico)
            t.dissolved = ended
            quiet = frozenset({t.who}) if kind == "ghosting" and t.who else frozenset(ROLES) if kind == "fade" else frozenset()
            stop = t.onset if kind in ("fade", "ghosting") else None
        # Diaries and objectives: until the end, or until the breakdown silences them.
        d.diary(first, min(ended, last_meeting_end) if stop is None or "mentee" not in quiet else stop)
        d.objectives(first, min(ended, last_meeting_end), stop=stop)
        if kind == "ghosting" and t.who == "mentor":
            d.touches = [x for x in d.touches if not (x.role == "mentor" and x.at >= (t.onset or x.at))]
        activities.append(d.activity(ended))
        truth[dyad_id] = t
    cp, n = [], 1
    first_day = start.replace(hour=9) + timedelta(days=7)
    while first_day + timedelta(days=7 * (n - 1)) < end:
        cp.append(first_day + timedelta(days=7 * (n - 1)))
        n += 1
    return Cohort(shape, start, end, activities, truth, cp)
