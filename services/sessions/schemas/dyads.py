"""Dyads, health, thresholds and program statistics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

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
    signal: str = Field(examples=["missed_streak"])
    level: str = Field(examples=["red"])
    value: float
    threshold: float
    comparison: str = Field(examples=[">="])
    message: str = Field(examples=["2 consecutive meetings not held (threshold >= 2)"])


class SignalsOut(Output):
    planned_to_date: int
    held: int
    held_ratio: float | None
    missed_streak: int
    feedback_due: int
    feedback_on_time: int
    on_time_rate: float | None
    rating_slope: float | None
    rating_slope_respondent: str | None = Field(description="mentee or mentor: whose ratings fall fastest.")
    progress_slope: float | None
    days_since_last_meeting: float | None


class HealthOut(Output):
    dyad_id: uuid.UUID
    program_id: uuid.UUID
    status: str = Field(examples=["amber"])
    reasons: list[ReasonOut]
    signals: SignalsOut
    thresholds: dict[str, Any] = Field(description="The program's thresholds that were applied.")
    computed_at: datetime


class Thresholds(Input):
    """Per-program health thresholds; ``null`` switches that level of that signal off. Omitted fields keep the defaults."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"missed_streak_red": 2, "days_without_meeting_amber": 10, "progress_slope_amber": None}]},
    )

    missed_streak_red: int | None = Field(default=2, ge=1)
    missed_streak_amber: int | None = Field(default=1, ge=1)
    days_without_meeting_red: float | None = Field(default=21, gt=0)
    days_without_meeting_amber: float | None = Field(default=14, gt=0)
    rating_slope_red: float | None = Field(default=-0.5, le=0)
    rating_slope_amber: float | None = Field(default=-0.25, le=0)
    rating_window: int = Field(default=6, ge=2, le=50)
    min_ratings: int = Field(default=3, ge=2, le=50)
    held_ratio_red: float | None = Field(default=0.5, ge=0, le=1)
    held_ratio_amber: float | None = Field(default=0.75, ge=0, le=1)
    on_time_rate_red: float | None = Field(default=0.25, ge=0, le=1)
    on_time_rate_amber: float | None = Field(default=0.5, ge=0, le=1)
    progress_slope_red: float | None = None
    progress_slope_amber: float | None = 0.0
    progress_window: int = Field(default=6, ge=2, le=50)
    min_progress_points: int = Field(default=3, ge=2, le=50)
    min_due_for_rates: int = Field(default=3, ge=1, le=50)
    unconfirmed_after_hours: float = Field(default=48, ge=0, le=24 * 60)


class ThresholdsOut(Output):
    program_id: uuid.UUID
    thresholds: dict[str, Any]
    documentation: str = Field(description="How each threshold is compared.")


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
