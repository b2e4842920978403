"""Feedback forms, SMART objectives, progress and the diary."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from servicekit.types import Day

from services.sessions.schemas.common import Input, Output
from services.sessions.schemas.meetings import AwareDatetime

Text = Annotated[str, StringConstraints(max_length=5000)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,39}$")]


# --- feedback ---------------------------------------------------------------------------


class FeedbackItem(Input):
    code: Code = Field(examples=["listening"])
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)]


class FeedbackTemplate(Input):
    """The program's form: rating items (1-5), comments and "the meeting took place"; who reads; the deadline."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "items": [{"code": "listening", "label": "Mi contraparte escuchó activamente"}],
            "counterpart_reads_feedback": False, "feedback_deadline_hours": 48,
        }]},
    )

    items: Annotated[list[FeedbackItem], Field(min_length=1, max_length=20)]
    counterpart_reads_feedback: bool = False
    feedback_deadline_hours: float = Field(default=48, ge=0, le=24 * 60)


class FeedbackTemplateOut(Output):
    program_id: uuid.UUID
    items: list[dict[str, str]]
    counterpart_reads_feedback: bool
    feedback_deadline_hours: float


class FeedbackSubmit(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "meeting_id": "0190f1c2-0000-7000-8000-000000000301",
            "ratings": {"preparation": 5, "listening": 4, "usefulness": 5, "rapport": 4},
            "comments": "Muy buena sesión.", "meeting_took_place": True,
        }]},
    )

    meeting_id: uuid.UUID
    ratings: dict[Code, Annotated[int, Field(ge=1, le=5)]]
    comments: Text | None = None
    meeting_took_place: bool


class FeedbackPublic(Output):
    id: uuid.UUID
    meeting_id: uuid.UUID
    dyad_id: uuid.UUID
    respondent_role: str = Field(description="mentee or mentor; the form is about her counterpart.")
    due_at: datetime
    submitted_at: datetime | None
    status: str = Field(description="pending, overdue, on_time or late.")
    on_time: bool | None
    delay_days: int | None = Field(description="Whole days late, rounded up (0 when on time).")
    ratings: dict[str, int]
    rating: float | None = Field(description="Mean of the rating items.")
    comments: str | None
    meeting_took_place: bool | None


class OverdueOut(Output):
    form_id: uuid.UUID
    meeting_id: uuid.UUID
    dyad_id: uuid.UUID
    respondent_role: str
    due_at: datetime
    days_overdue: int


class SweepOut(Output):
    announced: int = Field(description="feedback.overdue events written by this sweep (each form is announced once).")


# --- objectives ---------------------------------------------------------------------------


class ObjectiveCreate(Input):
    """A SMART objective. Fields are checked together and each problem is named with its SMART component."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "dyad_id": "0190f1c2-0000-7000-8000-000000000401",
            "statement": "Submit two research grant applications to national calls",
            "metric": "applications submitted", "baseline": 0, "target": 2, "unit": "applications",
            "direction": "increase", "plan": "Draft one proposal per month with my mentor's review",
            "resources": ["mentor review", "research office"], "career_goal": "Lead my own research group",
            "due_date": "2027-01-15",
        }]},
    )

    dyad_id: uuid.UUID
    statement: Annotated[str, StringConstraints(max_length=2000)] = ""
    metric: Annotated[str, StringConstraints(max_length=300)] | None = None
    baseline: float | None = None
    target: float | None = None
    unit: Annotated[str, StringConstraints(max_length=100)] | None = None
    direction: str | None = Field(default=None, pattern="^(increase|decrease)$")
    plan: Text | None = None
    resources: Annotated[list[Annotated[str, StringConstraints(max_length=200)]], Field(max_length=20)] = []
    career_goal: Text | None = None
    due_date: Day | None = None
    set_on: Day | None = Field(default=None, description="The day she set it (a past date when recorded afterwards); today by default.")


class ProgressCreate(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"value": 1, "note": "Primera solicitud enviada"}]})

    value: float = Field(allow_inf_nan=False)
    note: Text | None = None
    meeting_id: uuid.UUID | None = None
    recorded_at: AwareDatetime | None = Field(default=None, description="When it was measured (not in the future); now by default.")


class ProgressPublic(Output):
    id: uuid.UUID
    objective_id: uuid.UUID
    value: float
    note: str | None
    meeting_id: uuid.UUID | None
    recorded_at: datetime
    achievement: float = Field(description="Measured achievement after this entry, 0-100 %.")


class Assessment(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"achievement": 80}]})

    achievement: float = Field(ge=0, le=100, allow_inf_nan=False, description="The achievement she perceives, 0-100 %.")


class ComparisonOut(Output):
    measured: float | None
    mentee: float | None
    mentor: float | None
    mentee_vs_measured: float | None
    mentor_vs_measured: float | None
    mentee_vs_mentor: float | None


class ObjectivePublic(Output):
    id: uuid.UUID
    dyad_id: uuid.UUID
    program_id: uuid.UUID
    statement: str
    metric: str
    baseline: float
    target: float
    unit: str
    direction: str | None
    plan: str
    resources: list[str]
    career_goal: str
    due_date: date
    set_on: date
    created_at: datetime
    achievement: ComparisonOut = Field(description="Measured, mentee- and mentor-perceived achievement and the gaps.")


# --- diary ---------------------------------------------------------------------------


class DiaryCreate(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"dyad_id": "0190f1c2-0000-7000-8000-000000000401", "text": "Terminé el borrador.", "entry_date": "2026-09-02"}]},
    )

    dyad_id: uuid.UUID
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
    entry_date: Day
    objective_id: uuid.UUID | None = None
    meeting_id: uuid.UUID | None = None
    shared: bool = False


class Sharing(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"shared": True}]})

    shared: bool


class DiaryPublic(Output):
    id: uuid.UUID
    dyad_id: uuid.UUID
    text: str
    entry_date: date
    objective_id: uuid.UUID | None
    meeting_id: uuid.UUID | None
    shared: bool
    shared_at: datetime | None
    created_at: datetime


class DiaryCounts(Output):
    dyad_id: uuid.UUID
    entries: int
    shared: int
    last_entry_on: date | None
