"""The proposed schedule: both availabilities, time zones and daylight-saving
changes (Mexico City has had no DST since 2022; Madrid changes on the last
Sunday of October, 2026-10-25; New York on the first Sunday of November,
2026-11-01), blackouts, cadence, and the no-common-slot reasons."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.sessions.domain import (
    Availability,
    Cadence,
    DomainError,
    Schedule,
    ScheduleRequest,
    ScheduleStatus,
    WeeklyWindow,
    describe,
    propose_schedule,
)

CDMX, MADRID, NEW_YORK = "America/Mexico_City", "Europe/Madrid", "America/New_York"
TUE, WED, THU, SUN = 1, 2, 3, 6
PHASE = {"phase_start": date(2026, 9, 1), "phase_end": date(2027, 1, 31)}


def avail(tz: str, *windows: tuple[int, time, time]) -> Availability:
    return Availability(timezone=tz, windows=tuple(WeeklyWindow(*w) for w in windows))


def covered(availability: Availability, instant: datetime) -> bool:
    """Oracle: the instant's wall time in her zone is inside one of her windows."""
    local = instant.astimezone(ZoneInfo(availability.timezone))
    minute = local.hour * 60 + local.minute
    return any(w.weekday == local.weekday() and w.start_minute <= minute < w.end_minute for w in availability.windows)


def inside(availability: Availability, start: datetime, end: datetime) -> bool:
    t = start
    while t < end:
        if not covered(availability, t):
            return False
        t += timedelta(minutes=1)
    return True


def assert_well_formed(req: ScheduleRequest, s: Schedule) -> None:
    ref = ZoneInfo(req.reference)
    assert len(s.occurrences) + s.shortfall == req.count
    for o in s.occurrences:
        assert o.start_utc.tzinfo is UTC and o.end_utc - o.start_utc == timedelta(minutes=req.duration_minutes)
        assert o.mentee_start == o.start_utc and o.mentor_start == o.start_utc
        assert str(o.mentee_start.tzinfo) == req.mentee.timezone and str(o.mentor_start.tzinfo) == req.mentor.timezone
        local = o.start_utc.astimezone(ref)
        assert local.date() not in req.blackout_dates
        assert req.phase_start <= local.date() <= req.phase_end
        if o.fits:
            assert inside(req.mentee, o.start_utc, o.end_utc) and inside(req.mentor, o.start_utc, o.end_utc)
            assert s.slot is not None and (local.weekday(), local.time()) == (s.slot.weekday, s.slot.start)
    assert {b.number for b in s.breaks} == {o.number for o in s.occurrences if not o.fits}
    assert (s.status is ScheduleStatus.OK) == (s.slot is not None and not s.breaks and s.shortfall == 0)


def test_cdmx_and_madrid_slot_valid_across_the_october_change() -> None:
    req = ScheduleRequest(
        mentee=avail(CDMX, (TUE, time(10), time(12))),
        mentor=avail(MADRID, (TUE, time(18), time(20))),
        **PHASE,
    )
    s = propose_schedule(req)
    assert_well_formed(req, s)
    assert s.status is ScheduleStatus.OK and s.reasons == () and s.breaks == ()
    # 10:00 Mexico City is 18:00 Madrid in summer but 17:00 after 25 Oct: only 11:00 fits every week.
    assert s.slot is not None and (s.slot.weekday, s.slot.start, s.slot.timezone) == (TUE, time(11), CDMX)
    assert len(s.occurrences) == 12
    assert all(o.mentee_start.time() == time(11) for o in s.occurrences)
    before = [o for o in s.occurrences if o.start_utc < datetime(2026, 10, 25, 1, tzinfo=UTC)]
    after = [o for o in s.occurrences if o.start_utc > datetime(2026, 10, 25, 1, tzinfo=UTC)]
    assert len(before) == 8 and len(after) == 4
    assert {o.mentor_start.time() for o in before} == {time(19)} and {o.mentor_start.time() for o in after} == {time(18)}
    assert {o.start_utc.time() for o in s.occurrences} == {time(17)}
    assert s.occurrences[0].start_utc == datetime(2026, 9, 1, 17, tzinfo=UTC)
    assert [o.start_utc - p.start_utc for p, o in zip(s.occurrences, s.occurrences[1:])] == [timedelta(days=7)] * 11


def test_slot_that_leaves_madrid_after_the_change_is_reported_week_by_week() -> None:
    req = ScheduleRequest(
        mentee=avail(CDMX, (TUE, time(10), time(11))),
        mentor=avail(MADRID, (TUE, time(18), time(20))),
        **PHASE,
    )
    s = propose_schedule(req)
    assert_well_formed(req, s)
    assert s.status is ScheduleStatus.PARTIAL and s.slot is not None and s.slot.start == time(10)
    assert [b.date for b in s.breaks] == [date(2026, 10, 27), date(2026, 11, 3), date(2026, 11, 10), date(2026, 11, 17)]
    assert all(b.members == ("mentor",) and b.suggested_start_utc is None for b in s.breaks)
    assert "17:00-18:00 Europe/Madrid" in s.breaks[0].problem
    assert "now 7 h ahead of America/Mexico_City, it was 8 h ahead" in s.breaks[0].problem
    assert "4 of 12 meetings" in s.reasons[0]
    assert [o.fits for o in s.occurrences] == [True] * 8 + [False] * 4


def test_new_york_and_madrid_break_only_in_the_week_between_their_changes() -> None:
    req = ScheduleRequest(
        mentee=avail(NEW_YORK, (WED, time(12), time(13))),
        mentor=avail(MADRID, (WED, time(18), time(19))),
        **PHASE,
    )
    s = propose_schedule(req)
    assert_well_formed(req, s)
    assert s.status is ScheduleStatus.PARTIAL
    assert [(b.number, b.date, b.members) for b in s.breaks] == [(9, date(2026, 10, 28), ("mentor",))]
    assert "now 5 h ahead of America/New_York, it was 6 h ahead" in s.breaks[0].problem
    # After both changes the gap is 6 h again: 12:00 EST is 17:00 UTC, 18:00 CET.
    last = s.occurrences[-1]
    assert last.start_utc.time() == time(17) and last.mentee_start.time() == time(12) and last.mentor_start.time() == time(18)


def test_cdmx_and_new_york_choose_the_slot_with_fewest_breaks_and_suggest_the_fix() -> None:
    req = ScheduleRequest(
        mentee=avail(CDMX, (THU, time(9), time(11))),
        mentor=avail(NEW_YORK, (THU, time(11), time(12))),
        phase_start=date(2026, 9, 3),
        phase_end=date(2027, 1, 31),
    )
    s = propose_schedule(req)
    assert_well_formed(req, s)
    # 09:00 CDMX = 11:00 EDT for 9 Thursdays; 10:00 CDMX = 11:00 EST only after 1 Nov (3 Thursdays).
    assert s.status is ScheduleStatus.PARTIAL and s.slot is not None and s.slot.start == time(9)
    assert [b.date for b in s.breaks] == [date(2026, 11, 5), date(2026, 11, 12), date(2026, 11, 19)]
    for b in s.breaks:
        assert b.members == ("mentor",)
        assert b.suggested_start_utc is not None
        assert b.suggested_start_utc.astimezone(ZoneInfo(CDMX)).time() == time(10)
        assert b.suggested_start_utc.astimezone(ZoneInfo(NEW_YORK)).time() == time(11)


def test_reference_timezone_can_be_the_mentors() -> None:
    req = ScheduleRequest(
        mentee=avail(CDMX, (TUE, time(10), time(12))),
        mentor=avail(MADRID, (TUE, time(18), time(20))),
        reference_timezone=MADRID,
        **PHASE,
    )
    s = propose_schedule(req)
    assert_well_formed(req, s)
    # In Madrid wall time, 18:00 is 10:00 CDMX in summer and 11:00 after the change: it fits every week.
    assert s.status is ScheduleStatus.OK and s.slot is not None and (s.slot.start, s.slot.timezone) == (time(18), MADRID)
    assert {o.mentee_start.time() for o in s.occurrences} == {time(10), time(11)}


def test_earliest_date_then_most_robust_then_earliest_time() -> None:
    office = ((0, time(9), time(17)), (WED, time(9), time(17)))
    req = ScheduleRequest(mentee=avail(MADRID, *office), mentor=avail(MADRID, *office), **PHASE)
    s = propose_schedule(req)
    assert_well_formed(req, s)
    # The phase starts on a Tuesday: Wednesday comes first; 10:00 leaves an hour free on both sides.
    assert s.slot is not None and (s.slot.weekday, s.slot.start) == (WED, time(10)) and s.margin_minutes == 60
    tight = propose_schedule(ScheduleRequest(mentee=req.mentee, mentor=req.mentor, robust_margin_minutes=0, **PHASE))
    assert tight.slot is not None and tight.slot.start == time(9) and tight.margin_minutes == 0
    preferred = propose_schedule(
        ScheduleRequest(mentee=req.mentee, mentor=req.mentor, preferred_first_date=date(2026, 9, 3), **PHASE)
    )
    assert preferred.occurrences[0].start_utc.date() == date(2026, 9, 7)  # the next Monday


def test_blackout_dates_are_skipped_and_the_series_extends() -> None:
    holidays = frozenset({date(2026, 9, 15), date(2026, 11, 17), date(2026, 12, 22), date(2026, 12, 29)})
    req = ScheduleRequest(
        mentee=avail(CDMX, (TUE, time(11), time(12))),
        mentor=avail(MADRID, (TUE, time(18), time(20))),
        blackout_dates=holidays,
        **PHASE,
    )
    s = propose_schedule(req)
    assert_well_formed(req, s)
    assert s.status is ScheduleStatus.OK and len(s.occurrences) == 12
    assert s.skipped_dates == (date(2026, 9, 15), date(2026, 11, 17))
    assert s.occurrences[-1].mentee_start.date() == date(2026, 12, 1)  # 1 Sep + 11 weeks + 2 skipped


def test_biweekly_cadence_and_a_phase_too_short() -> None:
    base = {"mentee": avail(CDMX, (TUE, time(11), time(12))), "mentor": avail(MADRID, (TUE, time(18), time(20)))}
    s = propose_schedule(ScheduleRequest(cadence=Cadence.BIWEEKLY, count=6, **base, **PHASE))
    assert s.status is ScheduleStatus.OK
    dates = [o.mentee_start.date() for o in s.occurrences]
    assert all((b - a).days == 14 for a, b in zip(dates, dates[1:]))
    short = ScheduleRequest(phase_start=date(2026, 9, 1), phase_end=date(2026, 10, 31), **base)
    s = propose_schedule(short)
    assert_well_formed(short, s)
    assert s.status is ScheduleStatus.PARTIAL and s.shortfall == 3 and len(s.occurrences) == 9
    assert "only 9 of 12 weekly meetings fit" in s.reasons[0]


def test_no_common_slot_explains_why() -> None:
    apart = propose_schedule(
        ScheduleRequest(mentee=avail(NEW_YORK, (WED, time(12), time(13))), mentor=avail(MADRID, (THU, time(18), time(19))), **PHASE)
    )
    assert apart.status is ScheduleStatus.NO_COMMON_SLOT and apart.slot is None and apart.occurrences == ()
    assert "never overlap" in apart.reasons[0] and "Thu 18:00-19:00" in apart.reasons[0]
    short = propose_schedule(
        ScheduleRequest(mentee=avail(CDMX, (TUE, time(11), time(11, 45))), mentor=avail(MADRID, (TUE, time(18), time(20))), **PHASE)
    )
    assert short.status is ScheduleStatus.NO_COMMON_SLOT and "at most 45 minutes" in short.reasons[0]
    nobody = propose_schedule(ScheduleRequest(mentee=avail(CDMX), mentor=avail(MADRID, (TUE, time(18), time(20))), **PHASE))
    assert nobody.reasons == ("the mentee gave no weekly availability",)
    holidays = propose_schedule(
        ScheduleRequest(
            mentee=avail(MADRID, (TUE, time(9), time(17))),
            mentor=avail(MADRID, (TUE, time(9), time(17))),
            phase_start=date(2026, 12, 21),
            phase_end=date(2026, 12, 31),
            blackout_dates=frozenset(date(2026, 12, d) for d in range(21, 32)),
        )
    )
    assert holidays.status is ScheduleStatus.NO_COMMON_SLOT and "blackout" in holidays.reasons[0]
    assert list(describe(apart)) == list(apart.reasons)


def test_a_start_time_skipped_by_the_spring_change_is_a_break() -> None:
    req = ScheduleRequest(
        mentee=avail(MADRID, (SUN, time(2, 30), time(3, 30))),
        mentor=avail("UTC", (SUN, time(0), time(0))),
        phase_start=date(2027, 3, 14),
        phase_end=date(2027, 4, 30),
        count=3,
    )
    s = propose_schedule(req)
    assert_well_formed(req, s)
    assert s.status is ScheduleStatus.PARTIAL and s.slot is not None and s.slot.start == time(2, 30)
    (b,) = s.breaks
    assert b.date == date(2027, 3, 28) and "reference" in b.members and "does not exist" in b.problem


def test_windows_that_meet_at_midnight_hold_a_meeting_across_it() -> None:
    late = avail(MADRID, (0, time(22), time(0)), (TUE, time(0), time(1)))
    req = ScheduleRequest(mentee=late, mentor=late, duration_minutes=120, count=2, **PHASE)
    s = propose_schedule(req)
    assert_well_formed(req, s)
    assert s.status is ScheduleStatus.OK and s.slot is not None and (s.slot.weekday, s.slot.start) == (0, time(22, 30))
    assert s.margin_minutes == 30


def test_same_inputs_same_schedule_whatever_the_window_order() -> None:
    a = avail(CDMX, (TUE, time(10), time(12)), (THU, time(8), time(13)))
    b = avail(CDMX, (THU, time(8), time(13)), (TUE, time(10), time(12)))
    mentor = avail(MADRID, (THU, time(15), time(20)), (TUE, time(18), time(20)))
    s1 = propose_schedule(ScheduleRequest(mentee=a, mentor=mentor, **PHASE))
    s2 = propose_schedule(ScheduleRequest(mentee=b, mentor=mentor, **PHASE))
    assert s1.occurrences == s2.occurrences and s1.slot == s2.slot


@pytest.mark.parametrize(
    "build",
    [
        lambda: WeeklyWindow(7, time(9), time(10)),
        lambda: WeeklyWindow(0, time(10), time(9)),
        lambda: WeeklyWindow(0, time(9, 0, 30), time(10)),
        lambda: Availability(timezone="Mars/Olympus_Mons", windows=()),
        lambda: ScheduleRequest(mentee=avail(CDMX), mentor=avail(CDMX), phase_start=date(2026, 9, 2), phase_end=date(2026, 9, 1)),
        lambda: ScheduleRequest(mentee=avail(CDMX), mentor=avail(CDMX), preferred_first_date=date(2027, 3, 1), **PHASE),
        lambda: ScheduleRequest(mentee=avail(CDMX), mentor=avail(CDMX), count=0, **PHASE),
        lambda: ScheduleRequest(mentee=avail(CDMX), mentor=avail(CDMX), step_minutes=7, **PHASE),
    ],
)
def test_contradictory_inputs_raise(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError):
        build()


ZONES = [CDMX, MADRID, NEW_YORK, "America/Lima", "America/Sao_Paulo", "Asia/Kolkata", "Australia/Sydney", "Pacific/Auckland", "UTC"]


@st.composite
def windows(draw: st.DrawFn) -> tuple[WeeklyWindow, ...]:
    out = []
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, 95)) * 15
        end = min(start + draw(st.integers(2, 40)) * 15, 1440)
        out.append(WeeklyWindow(draw(st.integers(0, 6)), time(start // 60, start % 60), time(0) if end == 1440 else time(end // 60, end % 60)))
    return tuple(out)


@st.composite
def requests(draw: st.DrawFn) -> ScheduleRequest:
    start = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 700)))
    end = start + timedelta(days=draw(st.integers(0, 200)))
    blackouts = frozenset(start + timedelta(days=d) for d in draw(st.lists(st.integers(0, 120), max_size=4)))
    return ScheduleRequest(
        mentee=Availability(timezone=draw(st.sampled_from(ZONES)), windows=draw(windows())),
        mentor=Availability(timezone=draw(st.sampled_from(ZONES)), windows=draw(windows())),
        phase_start=start,
        phase_end=end,
        count=draw(st.integers(1, 12)),
        cadence=draw(st.sampled_from(list(Cadence))),
        duration_minutes=draw(st.sampled_from([30, 45, 60, 90])),
        blackout_dates=blackouts,
        reference_timezone=draw(st.sampled_from([None, *ZONES])),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_property_every_fitting_occurrence_lies_in_both_local_availabilities(req: ScheduleRequest) -> None:
    s = propose_schedule(req)
    assert_well_formed(req, s)
    if s.status is ScheduleStatus.NO_COMMON_SLOT:
        assert s.reasons and s.occurrences == ()
    else:
        assert any(o.fits for o in s.occurrences)
