"""Dyad health: each signal, the program's norms (floors, usual levels,
ceilings), the as-of view, explanations, the colour and the ranking, a cohort
with the pilot's noise where nobody is flagged, and the breakdowns flagged
before the dyad is dissolved."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from services.sessions.domain import (
    DomainError,
    Health,
    HealthPolicy,
    Level,
    Meeting,
    MeetingChange,
    MeetingStatus,
    PolicyError,
    ProgramNorms,
    Rule,
    assess,
    assess_cohort,
    at_risk,
    program_norms,
    rank_dyads,
)
from services.sessions.tests.health_cases import DAY, HOUR, T0, WEEK, Dyad, pilot_cohort, pilot_dyad

POLICY = HealthPolicy()


def cohort_with(*special: Dyad, weeks: int = 12, calm: int = 13) -> list:  # type: ignore[type-arg]
    """``special`` dyads among ``calm`` pilot-noise dyads, over ``weeks`` meetings."""
    return [*(d.activity() for d in special), *(pilot_dyad(n, weeks).activity() for n in range(calm))]


def judged(activities: list, now: datetime, dyad_id: str, policy: HealthPolicy = POLICY):  # type: ignore[no-untyped-def,type-arg]
    norms, healths = assess_cohort(activities, now, policy)
    return next(h for h in healths if h.dyad_id == dyad_id), norms, healths


def signals(h) -> set[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    return {(r.signal, r.level.value, r.member) for r in h.reasons}


# -- the policy ---------------------------------------------------------------------------------------------------


def test_the_default_policy_is_consistent_and_round_trips() -> None:
    assert POLICY.problems() == []
    assert HealthPolicy.from_dict(POLICY.to_dict()) == POLICY
    assert POLICY.missed_streak.alone is False and POLICY.missed_streak.red == Level(2, 2)
    changed = HealthPolicy.from_dict({"rating_drop": {"amber": {"floor": 0.5, "ceiling": 1.0}, "red": None, "alone": True}})
    assert changed.rating_drop == Rule(Level(0.5, 1.0), None) and changed.silence == POLICY.silence


def test_an_inconsistent_policy_names_each_field() -> None:
    with pytest.raises(PolicyError) as caught:
        HealthPolicy(rating_drop=Rule(Level(1.0, 0.5), Level(0.5, 2.0)), silence=Rule(Level(2, 3), Level(3, 2.5)),
                     norm_fence=2.0, norm_far_fence=1.0, red_when_kinds=7)
    assert [name for name, _ in caught.value.problems] == [
        "rating_drop.amber.ceiling", "silence.red.ceiling", "norm_far_fence", "red_when_kinds"]
    with pytest.raises(PolicyError) as caught:
        HealthPolicy.from_dict({"on_time_rate_red": 0.25})
    assert caught.value.problems == [("on_time_rate_red", "not a field of the policy")]
    assert isinstance(caught.value, DomainError)


# -- each signal --------------------------------------------------------------------------------------------------


def test_a_dyad_that_meets_rates_and_progresses_is_green() -> None:
    d = Dyad("d")
    for k in range(6):
        d.held(k).touch(d.planned(k) + 3 * DAY)
    d.objective((T0, 0.0), (T0 + 2 * WEEK, 30.0), (T0 + 4 * WEEK, 60.0))
    h = assess(d.activity(), d.planned(5) + 2 * DAY)
    assert (h.status, h.reasons, h.summary) == (Health.GREEN, (), "Nothing unusual.")
    s = h.signals
    assert (s.interval_days, s.planned_to_date, s.held, s.missed_streak, s.reschedules) == (7, 6, 6, 0, 0)
    assert s.rating_drop == {"mentee": 0.0, "mentor": 0.0} and s.one_sided == {"mentee": 0, "mentor": 0}
    # their last forms were sent an hour ago (47 hours after the meeting started); progress last rose a week and 2 days ago
    assert s.silence_days == {"mentee": pytest.approx(1 / 24), "mentor": pytest.approx(1 / 24)}
    assert s.form_overdue_days == {} and s.progress_stalled_days == pytest.approx(9.0)


@pytest.mark.parametrize(("ratings", "level"), [
    ((4.5, 4.75, 4.5, 4.25), None),  # her own wobble
    ((4.5, 4.75, 4.5, 3.5), Health.AMBER),  # a point below her level
    ((4.5, 4.75, 4.5, 2.75), Health.RED),
])
def test_ratings_falling_from_her_own_earlier_level(ratings: tuple[float, ...], level: Health | None) -> None:
    d = Dyad("falling")
    for k, r in enumerate(ratings):
        d.held(k, ratings=(r, 4.5))
    h, _, _ = judged(cohort_with(d, weeks=4), d.planned(3) + 3 * DAY, "falling")
    drop = 4.5 - ratings[-1]
    assert h.signals.rating_drop["mentee"] == pytest.approx(drop) and h.signals.rating_drop["mentor"] == 0
    if level is None:
        assert h.status is Health.GREEN
        return
    assert h.status is level and signals(h) == {("rating_drop", level.value, "mentee")}
    r = h.reasons[0]
    assert (r.kind, r.value, r.unit) == ("rapport", pytest.approx(drop), "points") and r.comparison in (">=", ">")
    assert r.message.startswith(f"The mentee's ratings of her mentor fell by {drop:.2f} points from her own earlier level")
    assert h.signals.rating_slope["mentee"] < 0


def test_a_member_who_always_rates_low_is_not_falling() -> None:
    d = Dyad("stern")
    for k in range(5):
        d.held(k, ratings=(3.0, 3.25))
    h, _, _ = judged(cohort_with(d, weeks=5), d.planned(4) + 3 * DAY, "stern")
    assert h.status is Health.GREEN and h.signals.rating_drop == {"mentee": 0.0, "mentor": 0.0}


def test_one_meeting_not_held_counts_only_with_another_sign_and_two_are_red() -> None:
    d = Dyad("missed")
    for k in range(4):
        d.held(k)
    d.ended_as(4, "no_show", by="mentor")
    activities = cohort_with(d, weeks=6)
    h, _, _ = judged(activities, d.planned(4) + 3 * DAY, "missed")
    assert h.signals.missed_streak == 1 and h.status is Health.GREEN and h.reasons == ()
    d.ended_as(5, "cancelled", by="mentee")
    h, _, _ = judged(cohort_with(d, weeks=6), d.planned(5) + 3 * DAY, "missed")
    assert h.status is Health.RED and ("missed_streak", "red", None) in signals(h)
    assert h.reasons[0].message.startswith("The last 2 meetings were not held")


def test_a_meeting_nobody_confirmed_is_missed_once_the_program_grace_has_passed() -> None:
    d = Dyad("quiet")
    for k in range(4):
        d.held(k)
    d.pending(4).pending(5)
    activities = cohort_with(d, weeks=6)
    end = d.planned(5) + HOUR
    grace = program_norms(activities, end + 3 * DAY, POLICY).confirmation_grace_hours
    assert grace == 48  # the cohort confirms within hours: the floor applies
    assert judged(activities, end + timedelta(hours=47), "quiet")[0].signals.missed_streak == 1
    assert judged(activities, end + timedelta(hours=48), "quiet")[0].signals.missed_streak == 2


def test_a_rating_drop_and_a_missed_meeting_together_are_red() -> None:
    d = Dyad("both")
    for k, r in enumerate((4.5, 4.5, 4.5, 3.5)):
        d.held(k, ratings=(r, 4.5))
    d.ended_as(4, "cancelled", by="mentee")
    h, _, _ = judged(cohort_with(d, weeks=5), d.planned(4) + DAY, "both")
    assert h.status is Health.RED and signals(h) == {("rating_drop", "amber", "mentee"), ("missed_streak", "amber", None)}
    assert h.summary == "Act now: warning signs of 2 kinds at once (rapport, meetings)."


def test_weeks_without_a_held_meeting() -> None:
    d = Dyad("gap")
    for k in range(3):
        d.held(k)
    for k in range(3, 12):  # the rest of the schedule was moved to the end of the term; both keep writing
        d.moved(k, 1, step=9 * WEEK, by="mentee").touch(d.planned(k), "mentee").touch(d.planned(k), "mentor")
    activities = cohort_with(d, weeks=6)
    assert judged(activities, d.planned(2) + 17 * DAY, "gap")[0].status is Health.GREEN
    h, _, _ = judged(activities, d.planned(2) + 18 * DAY, "gap")
    assert h.status is Health.AMBER and signals(h) >= {("meeting_gap", "amber", None)}
    assert h.reasons[0].message.startswith("No meeting held for 18 days (the dyad meets every 7 days)")
    h, _, _ = judged(activities, d.planned(2) + 25 * DAY, "gap")
    assert ("meeting_gap", "red", None) in signals(h)


def test_meetings_moved_again_and_again() -> None:
    d = Dyad("moving")
    for k in range(5):
        d.held(k)
    d.moved(5, 2).moved(6, 1)
    h, _, _ = judged(cohort_with(d, weeks=6), d.planned(6), "moving")
    assert h.signals.reschedules == 3 and h.status is Health.AMBER and signals(h) == {("reschedules", "amber", None)}


def test_a_whole_schedule_moved_at_once_is_one_move() -> None:
    """A closure (the Peru pilot's strike) moves every remaining session on one day: one
    decision, not a pair that keeps moving its meetings; three days of moves still are."""
    closed = Dyad("closure")
    for k in range(5):
        closed.held(k)
    decided = closed.planned(4) + 2 * DAY
    for k in range(5, 12):
        planned = closed.planned(k)
        closed.meetings[k] = Meeting(
            id=f"closure-m{k:02d}", dyad_id="closure", planned_start=planned, start=planned + 5 * WEEK,
            status=MeetingStatus.RESCHEDULED, reschedules=1,
            changes=(MeetingChange(decided, "rescheduled", planned, planned + 5 * WEEK, by="mentor"),),
        )
    h, _, _ = judged(cohort_with(closed, weeks=6), decided + DAY, "closure")
    assert h.signals.reschedules == 1 and h.status is Health.GREEN
    for day, k in enumerate((5, 6), start=1):  # and then two more moves on two other days
        m = closed.meetings[k]
        again = MeetingChange(decided + day * DAY, "rescheduled", m.start, m.start + DAY, by="mentee")
        closed.meetings[k] = replace(m, start=m.start + DAY, reschedules=2, changes=(*m.changes, again))
    h, _, _ = judged(cohort_with(closed, weeks=6), decided + 3 * DAY, "closure")
    assert h.signals.reschedules == 3 and ("reschedules", "amber", None) in signals(h)


def test_a_member_who_stops_confirming_and_sending_forms_while_the_other_does() -> None:
    d = Dyad("onesided")
    for k in range(4):
        d.held(k)
    for k in (4, 5):
        d.held(k, confirm=("mentee",), forms=("mentee",))
    h, _, _ = judged(cohort_with(d, weeks=6), d.planned(5) + 3 * DAY, "onesided")
    assert h.signals.one_sided == {"mentee": 0, "mentor": 2}
    assert h.status is Health.AMBER and ("one_sided", "amber", "mentor") in signals(h)
    reason = next(r for r in h.reasons if r.signal == "one_sided")
    assert reason.message.startswith("The mentor has neither confirmed nor sent a form for the last 2 held meetings; her mentee confirmed them")


def test_a_member_who_never_confirms_but_sends_her_forms_is_not_one_sided() -> None:
    d = Dyad("habit")
    for k in range(6):
        d.held(k, confirm=("mentee",))
    h, _, _ = judged(cohort_with(d, weeks=6), d.planned(5) + 3 * DAY, "habit")
    assert h.signals.one_sided == {"mentee": 0, "mentor": 0} and h.status is Health.GREEN


def test_one_member_silent_while_the_other_is_active_and_both_silent() -> None:
    ghost = Dyad("ghost")
    for k in range(4):
        ghost.held(k)
    for k in (4, 5, 6):
        ghost.ended_as(k, "no_show", by="mentor")  # the mentor comes and says so; the mentee does not come
    activities = cohort_with(ghost, weeks=7)
    h, _, _ = judged(activities, ghost.planned(5) + 3 * DAY, "ghost")
    reason = next(r for r in h.reasons if r.signal == "silence")
    assert (reason.member, reason.level) == ("mentee", Health.AMBER) and h.status is Health.RED
    assert "The mentee has not been active for" in reason.message and "while her mentor was active 2.9 days ago" in reason.message
    both = Dyad("both")
    for k in range(4):
        both.held(k)
    both.pending(4).pending(5).pending(6)
    h, _, _ = judged(cohort_with(both, weeks=7), both.planned(5) + 6 * DAY, "both")
    silent = [r for r in h.reasons if r.signal == "silence"]
    assert len(silent) == 1 and silent[0].member is None and silent[0].message.startswith("Neither member has been active")


def test_a_form_missing_well_beyond_the_program_usual_delay() -> None:
    d = Dyad("missing")
    for k in range(8):
        d.held(k, forms=("mentee", "mentor") if k < 4 else ("mentee",))
    activities = cohort_with(d, weeks=8)
    now = d.planned(7) + 3 * DAY
    h, norms, _ = judged(activities, now, "missing")
    overdue = (now - (d.planned(4) + 49 * HOUR)).total_seconds() / 86400
    assert h.signals.form_overdue_days == {"mentor": pytest.approx(overdue)}
    usual = norms.signals["form_overdue"]
    assert 10 < usual.usual < overdue  # the pilot's lateness is usual; 24 days is not
    reason = next(r for r in h.reasons if r.signal == "form_overdue")
    assert (reason.member, reason.comparison, reason.norm) == ("mentor", ">", pytest.approx(usual.usual))
    assert "beyond this program's usual level" in reason.message


def test_a_forgotten_old_form_is_not_a_warning_once_she_sends_later_ones() -> None:
    d = Dyad("forgot")
    d.held(0, forms=("mentee",))
    for k in range(1, 8):
        d.held(k)
    h, _, _ = judged(cohort_with(d, weeks=8), d.planned(7) + 3 * DAY, "forgot")
    assert h.signals.form_overdue_days == {} and h.status is Health.GREEN


def test_stalled_objectives_and_overdue_milestones() -> None:
    d = Dyad("stalled")
    for k in range(8):
        d.held(k).touch(d.planned(k) + 3 * DAY)
    d.objective((T0, 0.0), (T0 + WEEK, 25.0), (T0 + 3 * WEEK, 25.0), (T0 + 5 * WEEK, 20.0))
    now = d.planned(7) + 3 * DAY
    h, _, _ = judged(cohort_with(d, weeks=8), now, "stalled")
    assert h.signals.progress_stalled_days == pytest.approx((now - (T0 + WEEK)).total_seconds() / 86400)
    assert h.status is Health.GREEN  # objectives move unevenly: stalled alone counts only with another sign
    d.ended_as(8, "no_show", by="mentor")  # ...such as a meeting not held: two common signs of two kinds
    h, _, _ = judged(cohort_with(d, weeks=9), d.planned(8) + 3 * DAY, "stalled")
    assert h.status is Health.AMBER and signals(h) == {("progress_stalled", "amber", None), ("missed_streak", "amber", None)}
    late = Dyad("milestone")
    for k in range(8):
        late.held(k)
    # Due two days after meeting 2: her lateness counts from meeting 3, five days later.
    late.milestone(T0 + 2 * WEEK, reported=T0 + 2 * WEEK + DAY).milestone(late.planned(2) + 2 * DAY)
    h = assess(late.activity(), now)  # no program norm: the ceiling (28 days) applies
    assert h.signals.milestone_overdue_days == (now.date() - late.planned(3).date()).days == 31
    assert signals(h) == {("milestone_overdue", "amber", None)}
    assert "no program norm yet" in h.reasons[0].message


@pytest.mark.parametrize("interval_days", [14, 30])
def test_a_milestone_waiting_for_the_next_session_is_not_late(interval_days: int) -> None:
    """A pair reports its milestones at its meetings: in a program that meets every
    two weeks or every month, the wait for the next session is not lateness; a pair
    that stops meeting is excused one interval at most."""
    every = timedelta(days=interval_days)
    d = Dyad("monthly", interval=every, count=6)
    for k in range(3):
        d.held(k)
    due = d.planned(1) + 5 * DAY  # a few days after meeting 1, reported at meeting 2 or later
    d.milestone(due)
    before_next = assess(d.activity(), d.planned(2) - HOUR)
    assert before_next.signals.milestone_overdue_days is None and before_next.status is Health.GREEN
    h = assess(d.activity(), d.planned(2) + 20 * DAY)
    assert h.signals.milestone_overdue_days == 20 and h.status is Health.GREEN
    h = assess(d.activity(), d.planned(2) + 29 * DAY)
    assert signals(h) >= {("milestone_overdue", "amber", None)}
    # Its next sessions moved far away: lateness counts one interval after its date at the latest.
    stalling = Dyad("stalling", interval=every, count=6)
    stalling.held(0).held(1).milestone(stalling.planned(1) + 5 * DAY)
    for k in range(2, 6):
        stalling.moved(k, 1, step=3 * every)
    at = stalling.planned(1) + 5 * DAY + every + 10 * DAY
    assert assess(stalling.activity(), at).signals.milestone_overdue_days == 10


def test_after_the_last_planned_meeting_the_end_of_the_schedule_is_not_a_warning() -> None:
    """Past its last planned meeting, a pair's quiet, its stalled objective and a milestone it
    never reported say that the schedule ended; a last meeting not held still counts."""
    done = Dyad("done", count=4)
    for k in range(4):
        done.held(k)
    done.milestone(done.planned(3) + 2 * DAY).objective((T0, 0.0), (T0 + WEEK, 40.0))
    later = done.planned(3) + 8 * WEEK
    s = assess(done.activity(), later).signals
    assert (s.meeting_gap_days, s.silence_days, s.progress_stalled_days, s.milestone_overdue_days) == (None, {}, None, None)
    assert assess(done.activity(), later).status is Health.GREEN
    missed = Dyad("missed-last", count=4)
    for k in range(3):
        missed.held(k)
    missed.ended_as(3, "no_show", by="mentor")
    assert assess(missed.activity(), missed.planned(3) + 3 * DAY).signals.missed_streak == 1
    # Cancelling the rest of the schedule early is not an end: the planned dates still lie ahead.
    quitting = Dyad("quitting", count=6)
    for k in range(2):
        quitting.held(k)
    for k in range(2, 6):
        quitting.ended_as(k, "cancelled", by="mentee", at=-(k - 1) * WEEK)  # all cancelled right after meeting 1
    s = assess(quitting.activity(), quitting.planned(2) + 2 * DAY).signals
    assert s.silence_days != {} and s.meeting_gap_days is not None


# -- norms: usual levels, floors and ceilings ---------------------------------------------------------------------


def test_lateness_alone_never_warns_in_a_cohort_with_the_pilot_noise() -> None:
    activities = [d.activity() for d in pilot_cohort()]
    late = sum(1 for a in activities for f in a.forms if f.submitted_at > f.due)
    assert late / sum(len(a.forms) for a in activities) == pytest.approx(0.5, abs=0.05)
    for week in range(1, 13):
        for hours in (9, 60):
            _, healths = assess_cohort(activities, T0 + week * WEEK + timedelta(hours=hours), POLICY)
            assert [(h.dyad_id, h.summary) for h in healths if h.status is not Health.GREEN] == []
    delays = program_norms(activities, T0 + 12 * WEEK, POLICY).signals["form_overdue"]
    assert delays.q1 == 0 and 5 < delays.q3 < 9 and 14 < delays.usual < 25


def test_the_norm_raises_a_floor_in_a_program_where_ratings_swing() -> None:
    def program(swing: float, n_dyads: int = 12) -> list:  # type: ignore[type-arg]
        """Every member rates one meeting in four ``swing`` lower; half of them the latest one."""
        out = []
        for n in range(n_dyads):
            d = Dyad(f"s{n:02d}", first=T0 + timedelta(hours=n))
            for k in range(5):
                low = swing if (k == 4 and n % 2 == 1) or (k < 4 and k == n % 4) else 0.0
                d.held(k, ratings=(4.5 - low, 4.5 - low))
            out.append(d.activity())
        return out

    now = T0 + 4 * WEEK + 3 * DAY
    swinging = program(0.875)
    h, norms, _ = judged(swinging, now, "s01")  # its last rating is a swing: 0.875 below its level
    assert h.signals.rating_drop == {"mentee": 0.875, "mentor": 0.875}
    assert norms.signals["rating_drop"].usual >= 0.875 and h.status is Health.GREEN  # usual in this program
    assert assess(swinging[1], now).status is Health.GREEN  # no norm at all: only the ceiling (1.25) warns
    calm = program(0.0)
    assert program_norms(calm, now, POLICY).signals["rating_drop"].usual == 0.0
    h, _, _ = judged([calm[0], *calm[2:], swinging[1]], now, "s01")  # the same drop in a calm program is unusual
    assert h.status is Health.AMBER and {r.member for r in h.reasons} == {"mentee", "mentor"}


def test_a_whole_cohort_in_trouble_is_still_seen() -> None:
    falling, missing = [], []
    for n in range(12):
        d = Dyad(f"f{n:02d}", first=T0 + timedelta(hours=n))
        for k, r in enumerate((4.5, 4.5, 4.5, 3.0)):
            d.held(k, ratings=(r, 4.5))
        falling.append(d.activity())
        m = Dyad(f"m{n:02d}", first=T0 + timedelta(hours=n))
        for k in range(3):
            m.held(k)
        m.ended_as(3, "cancelled").ended_as(4, "no_show")
        missing.append(m.activity())
    norms, healths = assess_cohort(falling, T0 + 3 * WEEK + 3 * DAY, POLICY)
    assert norms.signals["rating_drop"].q3 == 1.5  # every mentee's ratings fell: falling is the norm here...
    assert {h.status for h in healths} == {Health.AMBER}  # ...and still seen, from the ceiling
    reason = healths[0].reasons[0]
    assert (reason.threshold, reason.comparison, reason.norm) == (1.25, ">=", pytest.approx(1.5 + 1.5 * 1.5))
    assert "whatever is usual in this program" in reason.message
    _, healths = assess_cohort(missing, T0 + 4 * WEEK + 3 * DAY, POLICY)
    assert {h.status for h in healths} == {Health.RED}


def test_norms_need_enough_values_and_round_trip() -> None:
    few = [pilot_dyad(n, 6).activity() for n in range(3)]
    norms = program_norms(few, T0 + 6 * WEEK, POLICY)
    assert "rating_drop" not in norms.signals and norms.dyads == 3  # 6 members: below min_norm_sample
    assert norms.confirmation_grace_hours == 48  # 36 confirmations: enough
    assert ProgramNorms.from_dict(norms.to_dict()) == norms


# -- as of a moment -----------------------------------------------------------------------------------------------


def test_an_assessment_sees_only_what_existed_at_its_moment() -> None:
    d = Dyad("later")
    for k in range(3):
        d.held(k)
    d.held(3, ratings=(1.5, 4.5), late=(10, 0))  # a very low rating, sent ten days late
    d.ended_as(4, "cancelled", at=3 * DAY)  # cancelled after the fact
    activity = d.activity(ended=d.planned(6))
    before = assess(activity, d.planned(3) + 3 * DAY)
    assert before.signals.rating_drop == {"mentee": 0.0, "mentor": 0.0} and before.signals.held == 4
    assert before.signals.form_overdue_days == {"mentee": pytest.approx(23 / 24)}  # due 49 hours after the start
    after = assess(activity, d.planned(4) + 6 * DAY)
    assert after.signals.rating_drop["mentee"] == pytest.approx(3.0) and after.status is Health.RED
    assert activity.as_of(d.planned(4)).meetings[4].status.value == "scheduled"
    assert activity.active_at(d.planned(5)) and not activity.active_at(d.planned(6))
    norms, healths = assess_cohort([activity], d.planned(6), POLICY)
    assert healths == [] and norms.dyads == 0


# -- explanations and ranking -------------------------------------------------------------------------------------


def test_reasons_explain_in_plain_words_and_never_name_anyone() -> None:
    d = Dyad("explained")
    for k, r in enumerate((4.75, 4.75, 4.5, 2.5)):
        d.held(k, ratings=(4.5, r))
    d.ended_as(4, "no_show", by="mentee").ended_as(5, "no_show", by="mentee")
    h, _, _ = judged(cohort_with(d, weeks=6), d.planned(5) + DAY, "explained")
    assert h.status is Health.RED and h.summary == "Act now: ratings falling; meetings not held."
    for r in h.reasons:
        assert r.message.endswith(").") and r.threshold > 0 and r.unit in ("points", "meetings", "days", "moves")
        assert "explained" not in r.message and "d0" not in r.message
    assert [r.signal for r in h.reasons][:2] == ["rating_drop", "missed_streak"]
    assert h.reasons[0].member == "mentor" and h.kinds[:2] == ("rapport", "meetings")


def test_the_at_risk_list_is_worst_first() -> None:
    lost = Dyad("a-lost")
    for k, r in enumerate((4.5, 4.5, 3.0)):
        lost.held(k, ratings=(r, r))
    lost.pending(3).pending(4)
    missed = Dyad("b-missed")
    for k in range(3):
        missed.held(k)
    missed.ended_as(3, "cancelled").ended_as(4, "cancelled")
    moving = Dyad("c-moving")
    for k in range(4):
        moving.held(k)
    moving.moved(4, 3)
    now = lost.planned(4) + 6 * DAY
    _, healths = assess_cohort(cohort_with(lost, missed, moving, weeks=5), now, POLICY)
    ranked = rank_dyads(healths)
    assert [h.dyad_id for h in at_risk(healths)] == ["a-lost", "b-missed", "c-moving"]
    assert [h.status for h in ranked[:3]] == [Health.RED, Health.RED, Health.AMBER]
    assert all(h.status is Health.GREEN for h in ranked[3:])


# -- breakdowns flagged before they dissolve ----------------------------------------------------------------------


def first_flag(activities: list, dyad_id: str, start: datetime, end: datetime, level: Health = Health.AMBER):  # type: ignore[no-untyped-def,type-arg]
    t = start
    while t < end:
        _, healths = assess_cohort(activities, t, POLICY)
        h = next(h for h in healths if h.dyad_id == dyad_id)
        if h.status.severity >= level.severity:
            return t, rank_dyads(healths).index(h) + 1
        t += DAY
    return None, None


def test_the_dyad_that_loses_rapport_after_its_third_meeting_is_red_and_first_before_it_is_dissolved() -> None:
    lost = Dyad("lost")
    lost.held(0, ratings=(4.5, 4.5)).held(1, ratings=(4.5, 4.25)).held(2, ratings=(3.0, 3.25), late=(4, 6))
    lost.pending(3).pending(4).pending(5)
    dissolved = lost.planned(2) + 17 * DAY
    activities = cohort_with(lost, weeks=6)
    red_at, rank = first_flag(activities, "lost", lost.planned(2), dissolved, Health.RED)
    assert red_at is not None and rank == 1 and (dissolved - red_at).days >= 7


def test_a_member_ghosting_her_counterpart_is_flagged_before_the_dyad_is_dissolved() -> None:
    ghost = Dyad("ghost")
    for k in range(4):
        ghost.held(k).touch(ghost.planned(k) + 3 * DAY)
    ghost.held(4, confirm=("mentee",), forms=("mentee",)).touch(ghost.planned(4) + 3 * DAY)
    ghost.ended_as(5, "no_show", by="mentee").touch(ghost.planned(5) + 3 * DAY)
    ghost.ended_as(6, "no_show", by="mentee")
    dissolved = ghost.planned(4) + 24 * DAY
    flagged, _ = first_flag(cohort_with(ghost, weeks=7), "ghost", ghost.planned(4), dissolved)
    red, _ = first_flag(cohort_with(ghost, weeks=7), "ghost", ghost.planned(4), dissolved, Health.RED)
    assert flagged is not None and red is not None and (dissolved - flagged).days >= 7


def test_a_slow_fade_is_flagged_before_the_dyad_is_dissolved() -> None:
    fade = Dyad("fade")
    for k in range(4):
        fade.held(k, ratings=(4.5, 4.5)).touch(fade.planned(k) + 3 * DAY)
    fade.held(4, ratings=(4.25, 4.25), late=(8, 9), moved=2 * DAY)
    fade.ended_as(5, "cancelled", by="mentor")
    fade.held(6, ratings=(4.0, 4.0), late=(12, 13), moved=3 * DAY)
    fade.pending(7).pending(8)
    fade.objective((T0, 0.0), (T0 + WEEK, 30.0))
    dissolved = fade.planned(6) + 20 * DAY
    flagged, _ = first_flag(cohort_with(fade, weeks=9), "fade", fade.planned(4), dissolved)
    assert flagged is not None and (dissolved - flagged).days >= 7
