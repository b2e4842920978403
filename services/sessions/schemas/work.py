"""Feedback forms, SMART objectives, progress and the diary."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Self

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, HttpUrl, StringConstraints, model_validator

from servicekit.types import Day

from services.sessions.enums import MilestoneChangeKind, MilestoneStatus
from services.sessions.schemas.common import Input, Output
from services.sessions.schemas.meetings import AwareDatetime

# Free text refuses control characters (C0, DEL, C1) and lone surrogates: NUL
# cannot be stored in PostgreSQL text (a 500 otherwise), and none of them belongs
# in what people write. Multi-line text keeps line breaks and tabs. Where the
# text is taken as given, the pattern that validates is also published
# (``OneLine``, ``Lines``); where surrounding whitespace is stripped first, only
# the check applies (a published pattern would refuse what the strip accepts).
ONE_LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\ud800-\udfff]*$"
LINES_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]*$"
_ONE_LINE, _LINES = re.compile(ONE_LINE_PATTERN), re.compile(LINES_PATTERN)


def _one_line(value: str) -> str:
    # fullmatch: ``$`` alone would also accept a trailing newline.
    if not _ONE_LINE.fullmatch(value):
        raise ValueError("must not contain control characters (NUL, line breaks, tabs...)")
    return value


def _lines(value: str) -> str:
    if not _LINES.fullmatch(value):
        raise ValueError("must not contain control characters other than line breaks and tabs")
    return value


OneLine = (AfterValidator(_one_line), Field(json_schema_extra={"pattern": ONE_LINE_PATTERN}))
Lines = (AfterValidator(_lines), Field(json_schema_extra={"pattern": LINES_PATTERN}))

Text = Annotated[str, StringConstraints(max_length=5000), *Lines]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,39}$")]


# --- feedback ---------------------------------------------------------------------------


class FeedbackItem(Input):
    code: Code = Field(examples=["listening"])
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200), AfterValidator(_one_line)]


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


# --- milestones ---------------------------------------------------------------------------

MAX_MILESTONES = 20
"""Milestones one objective may hold."""

def _raw_link(value: object) -> object:
    # Checked before parsing: the URL parser would silently drop a line break or tab.
    if isinstance(value, str) and not _ONE_LINE.fullmatch(value):
        raise ValueError("must not contain control characters")
    return value


def _stored_link(value: HttpUrl) -> HttpUrl:
    if len(str(value)) > 2083:
        raise ValueError("at most 2083 characters once normalised (percent-encoded)")
    return value


MilestoneTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200), AfterValidator(_one_line),
    Field(description="A verifiable step, one line.", examples=["Enviar el primer borrador a la revisión de la mentora"]),
]
EvidenceLink = Annotated[
    HttpUrl, BeforeValidator(_raw_link), AfterValidator(_stored_link),
    Field(description="Where the evidence is (http or https).", examples=["https://repositorio.example.edu/solicitud-1.pdf"]),
]
EvidenceNote = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(_lines),
    Field(description="What was done, in her words (at most 2000 characters).", examples=["Solicitud enviada; acuse de recibo del 12 de septiembre."]),
]
ReturnReason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000), AfterValidator(_lines),
    Field(description="Why the evidence does not show the milestone met yet.", examples=["El enlace no abre; súbelo al repositorio."]),
]


class MilestoneCreate(Input):
    """A milestone: a verifiable step, due within the objective's life (from the day it was set to its due date)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"title": "Enviar la primera solicitud", "due_on": "2026-09-30"}]})

    title: MilestoneTitle
    due_on: Day = Field(description="Its target date: not before the objective was set, not after the objective's due date.")


class MilestoneUpdate(Input):
    """Change the title or the target date (the mentee; refused once confirmed)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"due_on": "2026-10-15"}]})

    title: MilestoneTitle | None = None
    due_on: Day | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.title is None and self.due_on is None:
            raise ValueError("give a new title or a new due_on")
        return self


class EvidenceSubmit(Input):
    """The mentee reports the milestone met: a link, a note or both, and the day it was met."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"link": "https://repositorio.example.edu/solicitud-1.pdf",
                                         "note": "Enviada a la convocatoria nacional.", "met_on": "2026-09-12"}]},
    )

    link: EvidenceLink | None = None
    note: EvidenceNote | None = None
    met_on: Day | None = Field(default=None, description="The day it was met (not in the future, not before the objective was set); today by default.")

    @model_validator(mode="after")
    def _evidence(self) -> Self:
        if self.link is None and self.note is None:
            raise ValueError("evidence needs a link or a note (fields link, note)")
        return self


class MilestoneReturn(Input):
    """Give the milestone back to the mentee, with the reason: it is planned again."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "El enlace no abre; súbelo al repositorio."}]})

    reason: ReturnReason


class MilestonePublic(Output):
    id: uuid.UUID
    objective_id: uuid.UUID
    dyad_id: uuid.UUID
    title: str
    due_on: date
    status: MilestoneStatus
    overdue: bool = Field(description="Not confirmed, and its due date has passed (from the next day, UTC calendar).")
    met_on: date | None = Field(description="The day it was met, as reported.")
    evidence_link: str | None
    evidence_note: str | None
    reported_at: datetime | None
    confirmed_at: datetime | None
    confirmed_by: str | None = Field(description="mentor or coordinator.")
    returned_at: datetime | None = Field(description="The last return, while she has not reported it again.")
    return_reason: str | None
    created_at: datetime
    updated_at: datetime


class MilestoneChangePublic(Output):
    id: uuid.UUID
    kind: MilestoneChangeKind
    by: str = Field(description="mentee, mentor or coordinator.")
    at: datetime
    met_on: date | None = Field(description="For a report: the day it was met.")
    evidence_link: str | None = Field(description="For a report: the evidence it carried.")
    evidence_note: str | None
    reason: str | None = Field(description="For a return: why.")


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
            "milestones": [{"title": "Submit the first application", "due_on": "2026-10-30"},
                           {"title": "Submit the second application", "due_on": "2027-01-10"}],
        }]},
    )

    dyad_id: uuid.UUID
    statement: Annotated[str, StringConstraints(max_length=2000), *Lines] = ""
    metric: Annotated[str, StringConstraints(max_length=300), *OneLine] | None = None
    baseline: float | None = None
    target: float | None = None
    unit: Annotated[str, StringConstraints(max_length=100), *OneLine] | None = None
    direction: str | None = Field(default=None, pattern="^(increase|decrease)$")
    plan: Text | None = None
    resources: Annotated[list[Annotated[str, StringConstraints(max_length=200), *OneLine]], Field(max_length=20)] = []
    career_goal: Text | None = None
    due_date: Day | None = None
    set_on: Day | None = Field(default=None, description="The day she set it (a past date when recorded afterwards); today by default.")
    milestones: Annotated[list[MilestoneCreate], Field(max_length=MAX_MILESTONES)] = Field(
        default_factory=list, description="Its verifiable steps (more may be added later); confirmed ones are its measured achievement.")


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
    achievement: float = Field(description="Self-reported achievement after this entry (progress toward the target), 0-100 %.")


class Assessment(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"achievement": 80}]})

    achievement: float = Field(ge=0, le=100, allow_inf_nan=False, description="The achievement she perceives, 0-100 %.")


class ComparisonOut(Output):
    """The objective's achievement, each figure named for what it is (0-100 %; gaps in percentage points)."""

    verified: float | None = Field(
        description="The measured achievement: confirmed milestones / milestones x 100. Null when the objective has no "
                    "milestone: nothing can be verified.", examples=[50.0])
    milestones: int = Field(description="Milestones of the objective.")
    milestones_confirmed: int = Field(description="Milestones her counterpart or a coordinator confirmed.")
    self_reported: float | None = Field(
        description="The mentee's own progress toward the target, from her latest progress entry "
                    "(clip((latest - baseline) / (target - baseline), 0, 1) x 100). Null before her first entry.", examples=[75.0])
    mentee: float | None = Field(description="Achievement the mentee perceives (rated at the last meeting).")
    mentor: float | None = Field(description="Achievement the mentor perceives (rated at the last meeting).")
    mentee_vs_verified: float | None = Field(description="mentee - verified; positive: she is more optimistic than what was verified.")
    mentor_vs_verified: float | None = Field(description="mentor - verified.")
    mentee_vs_mentor: float | None = Field(description="mentee - mentor.")


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
    milestones: list[MilestonePublic] = Field(description="Its milestones, by due date.")
    achievement: ComparisonOut = Field(description="Verified (confirmed milestones), self-reported and perceived achievement, and the gaps.")


# --- diary ---------------------------------------------------------------------------


class DiaryCreate(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"dyad_id": "0190f1c2-0000-7000-8000-000000000401", "text": "Terminé el borrador.", "entry_date": "2026-09-02"}]},
    )

    dyad_id: uuid.UUID
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000), AfterValidator(_lines)]
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
