"""Program statistics reproduce the Mexico pilot: 14 dyads, 12 weekly meetings,
one dyad stopped after its third meeting, rescheduling at the end of the
semester, and feedback half on time, the rest 1 to 14 days late."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.sessions.domain import (
    FeedbackForm,
    Meeting,
    MeetingStatus,
    Modality,
    DomainError,
    compare_achievement,
    delay_histogram,
    dyad_rapport,
    feedback_due,
    program_stats,
)

T0 = datetime(2026, 9, 1, 17, tzinfo=UTC)


def pilot() -> tuple[list[Meeting], list[FeedbackForm], Counter[int]]:
    rng = random.Random(5)
    meetings: list[Meeting] = []
    for d in range(14):
        in_person = d % 5  # 0..4 in-person meetings per dyad
        for n in range(12):
            planned = T0 + timedelta(weeks=n, hours=d)
            stopped = d == 13 and n >= 3
            moved = not stopped and n >= 10 and d % 2 == 0  # rescheduled as the semester ended
            meetings.append(
                Meeting(
                    id=f"d{d:02d}-m{n:02d}",
                    dyad_id=f"d{d:02d}",
                    planned_start=planned,
                    start=planned + timedelta(days=2) if moved else planned,
                    status=MeetingStatus.CANCELLED if stopped else MeetingStatus.HELD,
                    modality=Modality.IN_PERSON if n < in_person else Modality.VIRTUAL,
                    reschedules=1 if moved else 0,
                )
            )
    held = [m for m in meetings if m.status is MeetingStatus.HELD]
    slots = [(m, who) for m in held for who in ("mentee", "mentor")]
    late_positions = set(rng.sample(range(len(slots)), len(slots) // 2))
    delays: Counter[int] = Counter()
    forms = []
    k = 0
    for i, (m, who) in enumerate(slots):
        due = feedback_due(m.start + timedelta(minutes=m.duration_minutes))
        if i in late_positions:
            days = k % 14 + 1
            k += 1
            delays[days] += 1
            submitted = due + timedelta(days=days - 1, seconds=rng.randint(1, 86400))
        else:
            submitted = due - timedelta(seconds=rng.randint(0, 48 * 3600))
        forms.append(FeedbackForm(meeting_id=m.id, dyad_id=m.dyad_id, respondent_id=f"{m.dyad_id}-{who}", due=due, submitted_at=submitted))
    return meetings, forms, delays


def test_the_pilot_mix_is_reproduced() -> None:
    meetings, forms, delays = pilot()
    # Verified for the twelve objectives with milestones (the thirteenth has none); self-reported for ten.
    achievements = [compare_achievement(verified=50.0 + d if d < 12 else None, mentee=90.0, mentor=70.0 if d % 3 else 95.0,
                                        self_reported=100.0 if d < 10 else None) for d in range(13)]
    s = program_stats(meetings, forms, achievements)

    m = s.meetings
    assert (m.planned, m.held, m.cancelled, m.no_show) == (168, 159, 9, 0)
    assert m.held_rate == pytest.approx(159 / 168) and m.cancellation_rate == pytest.approx(9 / 168)
    assert m.rescheduled == 7 * 2 and m.reschedule_rate == pytest.approx(14 / 168)

    f = s.feedback
    assert (f.due, f.submitted, f.on_time, f.late, f.unsubmitted) == (318, 318, 159, 159, 0)
    assert f.on_time_rate == 0.5
    assert [b.label for b in f.delays] == [str(d) for d in range(1, 14)] + ["14+"]
    assert {b.days: b.count for b in f.delays} == {d: delays[d] for d in range(1, 15)}
    assert all(b.count in (11, 12) for b in f.delays) and sum(b.count for b in f.delays) == 159
    assert f.max_delay_days == 14 and f.mean_delay_days == pytest.approx(sum(d * c for d, c in delays.items()) / 159)

    p = s.in_person
    assert p.per_dyad["d00"] == 0 and p.per_dyad["d04"] == 4 and p.per_dyad["d13"] == 3
    assert p.dyads_over_threshold == sum(1 for d in range(14) if d % 5 > 2) and p.threshold == 2

    a = s.achievement
    assert a.objectives == 13 and a.compared == 13 and a.mentee_mean == 90.0 and a.with_milestones == 12
    assert a.verified_mean == pytest.approx(55.5) and a.mentee_vs_verified_mean == pytest.approx(34.5)
    assert a.self_reported_mean == 100.0  # over the ten with progress only
    assert a.mentee_more_optimistic == 8  # the mentees were more optimistic than their mentors
    assert a.mentee_vs_mentor_mean == pytest.approx((8 * 20 - 5 * 5) / 13)


def test_statistics_at_a_moment_count_only_what_is_due() -> None:
    meetings, forms, _ = pilot()
    now = T0 + timedelta(weeks=2, hours=20)  # three meetings per dyad planned so far
    pending = [FeedbackForm(meeting_id="x", dyad_id="d00", respondent_id="a", due=now - timedelta(hours=1))]
    future = [FeedbackForm(meeting_id="y", dyad_id="d00", respondent_id="a", due=now + timedelta(hours=1))]
    s = program_stats(meetings, [*forms, *pending, *future], now=now)
    assert s.meetings.planned == 42 and s.meetings.held == 42
    assert s.feedback.unsubmitted == 1
    assert s.feedback.due == 318 + 1  # submitted forms always count, unsubmitted ones once due
    assert sum(s.in_person.per_dyad.values()) == sum(min(d % 5, 3) for d in range(14))


def test_empty_program_and_delays_beyond_two_weeks() -> None:
    s = program_stats([], [])
    assert s.meetings.held_rate is None and s.feedback.on_time_rate is None and s.in_person.mean_per_dyad is None
    assert s.achievement.verified_mean is None and s.achievement.self_reported_mean is None and s.achievement.with_milestones == 0
    bins = delay_histogram([1, 14, 15, 40, 0])
    assert (bins[0].count, bins[-1].label, bins[-1].count) == (1, "14+", 3)


def form(role: str | None, rating: float | None, *, submitted: bool = True, n: int = 0) -> FeedbackForm:
    due = T0 + timedelta(weeks=n, days=2)
    return FeedbackForm(meeting_id=f"m{n}", dyad_id="d1", respondent_id=f"d1-{role}", due=due,
                        submitted_at=due - timedelta(hours=1) if submitted else None, rating=rating, respondent_role=role)


def test_rapport_is_what_each_member_gave_her_counterpart() -> None:
    forms = [form("mentee", 5.0, n=0), form("mentee", 4.0, n=1), form("mentor", 3.5, n=0), form("mentor", 4.5, n=1),
             form("mentor", None, submitted=False, n=2), form("mentee", None, n=2)]  # unsubmitted, and submitted without ratings
    r = dyad_rapport(forms)
    assert (r.mentee_rates_mentor, r.mentor_rates_mentee, r.forms_rated) == (4.5, 4.0, 4)
    assert r.mean == 4.25  # the mean of the two members, not of the forms
    lopsided = dyad_rapport([form("mentee", 5.0), form("mentee", 5.0, n=1), form("mentee", 5.0, n=2), form("mentor", 2.0)])
    assert lopsided.mean == 3.5 and lopsided.forms_rated == 4
    one_side = dyad_rapport([form("mentor", 3.0)])
    assert (one_side.mentee_rates_mentor, one_side.mentor_rates_mentee, one_side.mean) == (None, 3.0, 3.0)
    none = dyad_rapport([form("mentee", 4.0, submitted=False)])
    assert (none.mean, none.forms_rated) == (None, 0)
    with pytest.raises(DomainError):
        dyad_rapport([form(None, 4.0)])
