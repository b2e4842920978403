"""Dyads, health, thresholds and program statistics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from services.sessions import domain
from services.sessions.schemas.common import Input, Output


class DyadPublic(Output):
    id: uuid.UUID = Field(description="The match id.")
    program_id: uuid.UUID
    mentee_participant_id: uuid.UUID
    mentor_participant_id: uuid.UUID
    mentee_timezone: str
    mentor_timezone: str
    preferred_delivery: str
    status: str = Field(description="active, dissolved or completed.")
    schedule_status: str = Field(description="ok, partial or no_common_slot (domain.propose_schedule).")
    schedule_slot: str | None = Field(examples=["Tue 10:00 America/Mexico_City"])
    schedule_reasons: list[str]
    health_status: str | None = Field(description="The last computed health: green, amber or red.")
    activated_at: datetime
    ended_at: datetime | None


class ReasonOut(Output):
    """One sign that flagged the dyad."""

    signal: str = Field(description="rating_drop, missed_streak, meeting_gap, reschedules, one_sided, silence, form_overdue, "
                                    "progress_stalled or milestone_overdue.", examples=["rating_drop"])
    kind: str = Field(description="The kind of evidence: rapport, meetings, engagement or progress.", examples=["rapport"])
    level: str = Field(description="amber or red.", examples=["red"])
    member: str | None = Field(description="mentee or mentor when the sign is hers alone; null for the dyad.", examples=["mentee"])
    value: float = Field(description="The measured value, in `unit`.", examples=[1.75])
    threshold: float = Field(description="The value the signal had to reach (`comparison`), in `unit`.", examples=[1.5])
    comparison: str = Field(description="`>=` (from the floor or the ceiling) or `>` (beyond the program's usual level).",
                            examples=[">="])
    norm: float | None = Field(description="The program's usual upper level of this signal now, in `unit`; null while the "
                                           "program has too few values for a norm.", examples=[0.5])
    unit: str = Field(description="points, meetings, moves or days.", examples=["points"])
    message: str = Field(examples=[("The mentee's ratings of her mentor fell by 1.75 points from her own earlier level "
                                    "(red from 1.5; usual in this program up to 0.5).")])


class PerMember(Output):
    mentee: float | None = Field(default=None, description="The mentee's value; null when not measurable yet.")
    mentor: float | None = Field(default=None, description="The mentor's value; null when not measurable yet.")


class SignalsOut(Output):
    """Everything measured for the dyad at that moment (null: not measurable yet)."""

    interval_days: float = Field(description="The dyad's meeting interval: the median gap between its planned meetings.")
    planned_to_date: int = Field(description="Meetings due so far: held, cancelled, missed, or unconfirmed past the grace.")
    held: int
    missed_streak: int | None = Field(description="Meetings not held in a row, counted back from the latest due one.")
    meeting_gap_days: float | None = Field(description="Days since the last held meeting started (or the first due one).")
    reschedules: int = Field(description="Days on which meetings were moved in the last four meeting intervals (moving the whole schedule at once is one move).")
    rating_drop: PerMember = Field(description="Points her ratings of her counterpart fell from her own earlier level.")
    rating_slope: PerMember = Field(description="Points per meeting: the trend of her last ratings.")
    one_sided: PerMember = Field(description="Held meetings in a row she neither confirmed nor sent a form for, while her "
                                             "counterpart confirmed them.")
    silence_days: PerMember = Field(description="Days since her own last sign of life.")
    form_overdue_days: PerMember = Field(description="Days her oldest form since her last submitted one is overdue.")
    progress_stalled_days: float | None = Field(description="Days since progress last rose on an objective not yet achieved.")
    milestone_overdue_days: float | None = Field(description="Days the most overdue unreported milestone is late, counted from the first meeting on or after its date (at most one meeting interval after it).")


class HealthOut(Output):
    dyad_id: uuid.UUID
    program_id: uuid.UUID
    status: str = Field(description="green, amber (watch) or red (act now).", examples=["red"])
    summary: str = Field(examples=["Act now: warning signs of 2 kinds at once (rapport, meetings)."])
    reasons: list[ReasonOut] = Field(description="Every sign that flagged the dyad, red first; empty when green.")
    signals: SignalsOut
    norms_at: datetime = Field(description="When the program norms that were applied were computed.")
    computed_at: datetime


_POLICY = domain.HealthPolicy()


class LevelIn(Input):
    """One level of one signal."""

    floor: float = Field(ge=0, le=1000, description="The signal may warn from this value, when it is also beyond the "
                                                    "program's usual level.")
    ceiling: float = Field(ge=0, le=1000, description="The signal always warns from this value, whatever is usual in the "
                                                      "program (so a whole cohort in trouble is still seen). Not below the floor.")


class RuleIn(Input):
    """A signal's amber and red levels."""

    amber: LevelIn | None = Field(description="null switches amber off for this signal.")
    red: LevelIn | None = Field(description="null switches red off for this signal. Its floor and ceiling are not below amber's.")
    alone: bool = Field(description="Whether its amber flags a dyad by itself; when false, only together with a sign of "
                                    "another kind.")

    @classmethod
    def of(cls, rule: domain.Rule) -> RuleIn:
        def level(lv: domain.Level | None) -> LevelIn | None:
            return None if lv is None else LevelIn(floor=lv.floor, ceiling=lv.ceiling)

        return cls(amber=level(rule.amber), red=level(rule.red), alone=rule.alone)


def _rule(signal: str, doc: str) -> Any:
    return Field(default=RuleIn.of(_POLICY.rule(signal)), description=doc)


class Thresholds(Input):
    """A program's supervision policy. Every signal is judged against the program's own norm: it warns when it
    reaches its floor and is beyond the program's usual level (q3 + norm_fence x (q3 - q1) of the program's values now;
    norm_far_fence for red), and always from its ceiling. Without a norm (too few values) the ceiling applies. Time
    signals are in meeting intervals (the dyad's median gap between planned meetings: 7 days when weekly). Red when a
    signal is red or when signs of `red_when_kinds` kinds (rapport, meetings, engagement, progress) come together.
    A PUT replaces the whole policy: omitted fields take the defaults shown here."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "rating_drop": {"amber": {"floor": 0.5, "ceiling": 1.0}, "red": {"floor": 1.25, "ceiling": 2.0}, "alone": True},
            "reschedules": {"amber": None, "red": None, "alone": True}, "red_when_kinds": 3,
        }]},
    )

    rating_drop: RuleIn = _rule("rating_drop", "Rapport, per member: points her ratings of her counterpart fell from her own "
                                               "earlier level (median of her earlier ratings minus the mean of her last ones).")
    missed_streak: RuleIn = _rule("missed_streak", "Meetings: meetings not held in a row (cancelled, no-show, or unconfirmed "
                                                   "past the confirmation grace), counted back from the latest due one.")
    meeting_gap: RuleIn = _rule("meeting_gap", "Meetings: meeting intervals since the last held meeting started.")
    reschedules: RuleIn = _rule("reschedules", "Meetings: days on which meetings were moved in the last `recent_intervals` meeting intervals.")
    one_sided: RuleIn = _rule("one_sided", "Engagement, per member: held meetings in a row her counterpart confirmed and she "
                                           "neither confirmed nor sent a form for, each older than her own usual delay.")
    silence: RuleIn = _rule("silence", "Engagement, per member: meeting intervals since her own last sign of life (a "
                                       "confirmation, a form, a move she made, a diary or progress entry; a held meeting).")
    form_overdue: RuleIn = _rule("form_overdue", "Engagement, per member: days her oldest form since her last submitted one is "
                                                 "overdue, against the program's usual form delays. Lateness alone never "
                                                 "warns below the program's usual delay.")
    progress_stalled: RuleIn = _rule("progress_stalled", "Progress: meeting intervals since progress last rose on an "
                                                         "objective not yet achieved.")
    milestone_overdue: RuleIn = _rule("milestone_overdue", "Progress: days the most overdue unreported milestone is past its "
                                                           "date, against the program's usual reporting delays.")
    confirmation_grace_hours: LevelIn = Field(
        default=LevelIn(floor=_POLICY.confirmation_grace_hours.floor, ceiling=_POLICY.confirmation_grace_hours.ceiling),
        description="After a meeting's end, how long an unconfirmed meeting waits before it counts as not held: the "
                    "program's usual confirmation delay, between floor and ceiling (hours).")
    rating_window: int = Field(default=_POLICY.rating_window, ge=2, le=50, description="Her last N ratings are looked at.")
    min_ratings: int = Field(default=_POLICY.min_ratings, ge=2, le=50, description="rating_drop needs this many of her ratings.")
    recent_ratings: int = Field(default=_POLICY.recent_ratings, ge=1, le=49,
                                description="Her recent level is the mean of her last N ratings (below min_ratings).")
    one_sided_habit: float = Field(default=_POLICY.one_sided_habit, ge=0, le=1,
                                   description="one_sided is measured for a member who acknowledged at least this share of "
                                               "the earlier held meetings.")
    recent_intervals: float = Field(default=_POLICY.recent_intervals, gt=0, le=52,
                                    description="The window of `reschedules`, in meeting intervals.")
    norm_fence: float = Field(default=_POLICY.norm_fence, ge=0, le=20,
                              description="The program's usual level is q3 + norm_fence x (q3 - q1).")
    norm_far_fence: float = Field(default=_POLICY.norm_far_fence, ge=0, le=20,
                                  description="The usual level for red: q3 + norm_far_fence x (q3 - q1); not below norm_fence.")
    min_norm_sample: int = Field(default=_POLICY.min_norm_sample, ge=4, le=10000,
                                 description="A norm needs this many values (dyads, members, forms or milestones).")
    red_when_kinds: int | None = Field(default=_POLICY.red_when_kinds, ge=2, le=4,
                                       description="Red when signs of this many kinds come together; null: never.")
    default_interval_days: float = Field(default=_POLICY.default_interval_days, gt=0, le=366,
                                         description="The meeting interval of a dyad with fewer than two planned meetings.")


class ThresholdsOut(Output):
    program_id: uuid.UUID
    thresholds: Thresholds = Field(description="The policy in force.")
    documentation: str = Field(description="How the policy is applied, in plain words.")


class DigestCountsOut(Output):
    active: int = Field(description="Active dyads at `as_of`.")
    flagged: int = Field(description="Of them, amber or red.")
    red: int
    new_flags: int
    escalations: int
    recoveries: int
    eased: int
    ended: int
    without_meeting: int


class DigestChangeOut(Output):
    dyad_id: uuid.UUID
    before: str | None = Field(description="Its colour a week before (null: not active then).", examples=["green"])
    now: str = Field(examples=["red"])
    summary: str
    reasons: list[ReasonOut] = Field(description="Why it is flagged now; for a recovery, why it was flagged a week before.")


class DigestEndedOut(Output):
    dyad_id: uuid.UUID
    status: str = Field(description="completed or dissolved.")
    ended_at: datetime | None
    last_health: str = Field(description="Its colour a week before.")


class DigestUnmetOut(Output):
    dyad_id: uuid.UUID
    planned: int = Field(description="Meetings planned in the window (at their planned or current time).")
    last_held_meeting_at: datetime | None = Field(description="The start of its last held meeting, if any.")


class DigestOut(Output):
    """What changed in a program in the week before `as_of`, both moments assessed on the same data."""

    program_id: uuid.UUID
    as_of: datetime
    since: datetime
    window_days: int
    counts: DigestCountsOut
    new_flags: list[DigestChangeOut] = Field(description="Green (or not yet active) a week before, amber or red now; worst first.")
    escalations: list[DigestChangeOut] = Field(description="Amber a week before, red now.")
    recoveries: list[DigestChangeOut] = Field(description="Amber or red a week before, green now.")
    eased: list[DigestChangeOut] = Field(description="Red a week before, amber now.")
    ended: list[DigestEndedOut] = Field(description="Active a week before, completed or dissolved since.")
    without_meeting: list[DigestUnmetOut] = Field(description="Active dyads that held no meeting in the window although "
                                                              "one was planned in it; the longest without first.")
    norms_at: datetime
    computed_at: datetime


class MeetingStatsOut(Output):
    planned: int
    held: int
    rescheduled: int
    cancelled: int
    no_show: int
    held_rate: float | None
    reschedule_rate: float | None
    cancellation_rate: float | None
    no_show_rate: float | None


class DelayBinOut(Output):
    days: int
    label: str
    count: int


class FeedbackStatsOut(Output):
    due: int
    submitted: int
    on_time: int
    late: int
    unsubmitted: int
    on_time_rate: float | None
    delays: list[DelayBinOut]
    mean_delay_days: float | None
    median_delay_days: float | None
    max_delay_days: int | None


class InPersonOut(Output):
    per_dyad: dict[str, int]
    mean_per_dyad: float | None
    dyads_over_threshold: int
    threshold: int


class AchievementOut(Output):
    """Means over the program's objectives, each over the objectives where that figure exists (%; gaps in points)."""

    objectives: int
    with_milestones: int = Field(description="Objectives with at least one milestone: those that can be verified.")
    verified_mean: float | None = Field(description="The measured achievement: mean of confirmed milestones / milestones x 100.")
    self_reported_mean: float | None = Field(description="Mean of the mentee's self-reported progress toward the target.")
    mentee_mean: float | None
    mentor_mean: float | None
    mentee_vs_verified_mean: float | None
    mentor_vs_verified_mean: float | None
    mentee_vs_mentor_mean: float | None
    compared: int = Field(description="Objectives both members assessed.")
    mentee_more_optimistic: int


class StatisticsOut(Output):
    program_id: uuid.UUID
    dyads: int
    active_dyads: int
    meetings: MeetingStatsOut
    feedback: FeedbackStatsOut
    in_person: InPersonOut
    achievement: AchievementOut
    computed_at: datetime


class DyadMeetingsOut(Output):
    scheduled: int = Field(description="Meetings on the dyad's schedule (cancelled ones included).")
    planned_to_date: int = Field(description="Meetings whose planned start has passed.")
    held: int
    rescheduled: int
    cancelled: int
    no_show: int
    in_person: int = Field(description="Held meetings in person.")


class DyadFeedbackOut(Output):
    due: int = Field(description="Forms due by now, or already submitted.")
    submitted: int
    on_time: int
    late: int
    unsubmitted: int
    late_days: list[int] = Field(description="Each late form's delay in whole days, ascending (the lateness distribution).")


class DyadObjectivesOut(Output):
    objectives: int = Field(description="SMART objectives the mentee set.")
    with_progress: int = Field(description="Objectives with at least one self-reported progress entry.")
    achieved: int = Field(description="Objectives whose latest self-reported progress reached the target (100 %).")
    milestones: int = Field(description="Milestones of the dyad's objectives.")
    milestones_reported: int = Field(description="Milestones with evidence given, not yet confirmed.")
    milestones_confirmed: int = Field(description="Milestones her counterpart or a coordinator confirmed.")
    milestones_overdue: int = Field(description="Milestones past their due date and not confirmed.")
    measured_mean: float | None = Field(
        description="The verified measure: mean over the dyad's objectives that have milestones of confirmed milestones / "
                    "milestones x 100, in %. Self-reported progress never enters it. Null when no objective has milestones.",
        examples=[62.5])
    self_reported_mean: float | None = Field(
        description="The mentee's self-reported progress toward the target (clip((latest - baseline) / (target - baseline), "
                    "0, 1) x 100), mean over the objectives with progress, in %. Null when none has progress.", examples=[75.0])
    perceived_mentee_mean: float | None = Field(
        description="Mean over the dyad's objectives of the achievement the mentee perceived (0-100), null when she assessed none.")
    perceived_mentor_mean: float | None = Field(
        description="Mean over the dyad's objectives of the achievement the mentor perceived (0-100), null when she assessed none.")
    assessed_by_mentee: int = Field(description="Objectives the mentee assessed.")
    assessed_by_mentor: int = Field(description="Objectives the mentor assessed.")


class DyadRapportOut(Output):
    mentee_rates_mentor: float | None = Field(
        description="Mean of the ratings (1-5) the mentee gave her mentor over her submitted forms; null without one.", examples=[4.5])
    mentor_rates_mentee: float | None = Field(
        description="Mean of the ratings (1-5) the mentor gave her mentee over her submitted forms; null without one.", examples=[4.25])
    mean: float | None = Field(description="Mean of the two when both exist, else the one that exists.", examples=[4.375])
    forms_rated: int = Field(description="Submitted forms with ratings behind these means (both members).")


class DyadOutcomeOut(Output):
    dyad_id: uuid.UUID = Field(description="The dyad (match) id; its members are never named here.")
    status: str = Field(description="active, completed or dissolved.")
    health: str | None = Field(description="green, amber or red, computed now for an active dyad; null once it ended.")
    at_risk: bool = Field(description="Active and amber or red.")
    meetings: DyadMeetingsOut
    feedback: DyadFeedbackOut
    objectives: DyadObjectivesOut
    rapport: DyadRapportOut = Field(description="How the members rate each other in their feedback forms.")


class ProgramOutcomesOut(Output):
    """Per-dyad outcomes of a program, for the program report: no person is named. Ratings and perceived achievement
    are personal answers: this view is for the evaluation service's reports:read client and the program's coordinators."""

    program_id: uuid.UUID
    meetings_per_dyad: int = Field(description="Meetings the program plans per dyad.")
    feedback_deadline_hours: float
    dyads: int
    meetings: MeetingStatsOut = Field(description="Over every dyad (planned = planned start has passed).")
    feedback: FeedbackStatsOut = Field(description="Over every dyad.")
    items: list[DyadOutcomeOut] = Field(description="One row per dyad, by dyad id.")
    computed_at: datetime
