"""What the program report is built from: plain dataclasses the service fills
from its tables and from the other services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .instruments import Instrument, Text
from .stats import DyadAchievement, Response
from .themes import Quote, Theme, ThemeCoding

ROLES: tuple[str, str] = ("mentor", "mentee")

@dataclass(frozen=True, kw_only=True)
class ProgramInfo:
    """``institution`` is the institution's name; ``period`` runs from the first
    phase's start to the last phase's end."""

    program_id: str
    name: str
    institution: str
    period: tuple[date, date] | None = None
    institution_id: str = ""
    generated_on: date | None = None


@dataclass(frozen=True)
class FunnelStage:
    """People at one stage of the call (participants service). The usual keys
    are those of ``STAGE_LABELS``; another key needs a ``label``."""

    key: str
    mentors: int
    mentees: int
    label: Text | None = None


@dataclass(frozen=True)
class TrainingModule:
    module_id: str
    title: Text
    participants: int
    completed: int


@dataclass(frozen=True, kw_only=True)
class MatchingSummary:
    """The published run of the matching service."""

    mentors: int
    mentees: int
    matched_mentees: int
    substitutes: int
    pair_scores: tuple[float, ...]
    blocking_pairs: int | None = None
    algorithm: str = "optimal"


@dataclass(frozen=True, kw_only=True)
class MeetingPlan:
    """The program's meetings as the sessions service counts them. ``planned_to_date``:
    meetings whose planned start has passed (the sessions statistics' "planned");
    ``held``, ``cancelled``... among those. Without them (an older input), planned
    is ``planned_per_dyad`` x dyads."""

    planned_per_dyad: int
    planned_to_date: int | None = None
    held: int | None = None
    rescheduled: int = 0
    cancelled: int = 0
    no_show: int = 0
    as_of: date | None = None


@dataclass(frozen=True, kw_only=True)
class FeedbackForms:
    """Feedback forms (sessions service): ``days_late`` has one entry per
    submitted form, days after the deadline (0 or less: on time)."""

    deadline_days: int
    expected: int
    days_late: tuple[int, ...]


class DyadStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    DISSOLVED = "dissolved"


@dataclass(frozen=True)
class DyadRecord:
    """One dyad as the sessions service sees it. ``rapport`` is the mean of the
    two members' feedback ratings of each other (1-5); ``at_risk`` is the
    service's early warning for an active dyad; ``planned_to_date`` its meetings
    whose planned start has passed."""

    dyad_id: str
    status: DyadStatus
    meetings_held: int
    in_person_meetings: int
    rapport: float | None = None
    at_risk: bool = False
    planned_to_date: int | None = None


@dataclass(frozen=True)
class Administration:
    """One instrument given to a group at one moment, with its submitted responses."""

    instrument: Instrument
    moment: str
    responses: tuple[Response, ...]


class PerceivedSource(StrEnum):
    """Where perceived achievement came from: each member's assessment of her
    dyad's objectives in the sessions service, or the perceived-achievement
    questionnaires."""

    ASSESSMENTS = "assessments"
    SURVEY = "survey"


@dataclass(frozen=True, kw_only=True)
class ReportInput:
    program: ProgramInfo
    funnel: tuple[FunnelStage, ...] = ()
    training: tuple[TrainingModule, ...] = ()
    matching: MatchingSummary | None = None
    meetings: MeetingPlan | None = None
    feedback: FeedbackForms | None = None
    dyads: tuple[DyadRecord, ...] = ()
    skills_pre: Administration | None = None
    skills_post: Administration | None = None
    closing: Administration | None = None
    achievement: tuple[DyadAchievement, ...] = ()
    perceived_source: PerceivedSource = PerceivedSource.ASSESSMENTS
    themes: tuple[Theme, ...] = ()
    codings: tuple[ThemeCoding, ...] = ()
    quotes: tuple[Quote, ...] = ()
    open_text_items: tuple[str, ...] = ("benefits.mentee", "benefits.improve")
    benefits_item: str = "benefits.mentor"
