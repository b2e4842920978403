"""The participants, matching and sessions services, as the evaluation service sees them.

Models are the caller's: only the fields read here, extra fields ignored. Each call
takes the token to send: a respondent's own (her memberships, her dyads), or, for
the program report's inputs, this service's own ``reports:read`` token once it has
authorized its caller (analysis.program_report), or, for interviews, its own
``research:read`` token (who consents to research and to quotes, and the strata a
sample is drawn on). Failures become this service's problems by servicekit's one
rule (``servicekit.service_client``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import httpx

from servicekit.service_client import ServiceClient, UpstreamModel


# ---------------------------------------------------------------- participants


class Membership(UpstreamModel):
    program_id: uuid.UUID
    participant_id: uuid.UUID
    role: str
    status: str


class Me(UpstreamModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    memberships: list[Membership] = []


class Phase(UpstreamModel):
    kind: str
    starts_on: date
    ends_on: date


class Program(UpstreamModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    name: str
    meetings_count: int = 12
    feedback_deadline_hours: int = 48
    phases: list[Phase] = []

    @property
    def period(self) -> tuple[date, date] | None:
        """From the first phase's start to the last phase's end (None without phases)."""
        if not self.phases:
            return None
        return min(p.starts_on for p in self.phases), max(p.ends_on for p in self.phases)


class Institution(UpstreamModel):
    id: uuid.UUID
    name: str


class StageCounts(UpstreamModel):
    applied: int = 0
    accepted: int = 0
    invited: int = 0
    confirmed: int = 0
    trained: int = 0
    completed: int = 0
    withdrawn: int = 0


class RoleFunnel(UpstreamModel):
    role: str
    stages: StageCounts


class Funnel(UpstreamModel):
    program_id: uuid.UUID
    total: StageCounts
    by_role: list[RoleFunnel]


class ModuleStats(UpstreamModel):
    module_id: uuid.UUID
    title: str
    completed: int


class TrainingStats(UpstreamModel):
    program_id: uuid.UUID
    members: int
    trained: int
    modules: list[ModuleStats]


class ResearchMember(UpstreamModel):
    """A current member who consents to research (participants' research roster, scope ``research:read``)."""

    participant_id: uuid.UUID
    membership_id: uuid.UUID
    application_id: uuid.UUID
    role: str
    status: str
    career_stage: str | None = None
    stem_fields: list[str] = []
    quotes: bool = False


# ---------------------------------------------------------------- matching


class RunOutcome(UpstreamModel):
    id: uuid.UUID
    status: str
    algorithm: str
    published_at: Any = None
    mentors: int
    mentees: int
    matched: int
    blocking_pairs: int | None = None
    substitutes: int = 0
    pair_scores: list[float] = []


class MatchingOutcomes(UpstreamModel):
    program_id: uuid.UUID
    run: RunOutcome | None = None
    matches: dict[str, int] = {}
    matched_mentors: int = 0
    matched_mentees: int = 0


# ---------------------------------------------------------------- sessions


class MeetingStats(UpstreamModel):
    """The program's meetings as the sessions statistics count them: ``planned`` = meetings whose
    planned start has passed, ``held`` etc. among those."""

    planned: int
    held: int
    rescheduled: int
    cancelled: int
    no_show: int = 0


class FeedbackStats(UpstreamModel):
    due: int
    submitted: int
    on_time: int
    late: int


class DyadMeetings(UpstreamModel):
    """Per dyad. ``planned_to_date``: meetings whose planned start has passed (the sessions
    statistics' definition of planned); ``held`` of all its meetings."""

    scheduled: int
    planned_to_date: int | None = None
    held: int
    cancelled: int = 0
    no_show: int = 0
    in_person: int


class DyadFeedback(UpstreamModel):
    due: int
    on_time: int
    late: int
    late_days: list[int] = []


class DyadObjectives(UpstreamModel):
    """Per dyad, 0-100. ``measured_mean`` is the verified measure: confirmed milestones over
    milestones, averaged over the objectives that have milestones; ``self_reported_mean`` the
    mentee's own progress toward the target; the perceived means are each member's assessment
    of the objectives (``PUT /v1/objectives/{id}/assessment``)."""

    objectives: int
    with_progress: int = 0
    achieved: int = 0
    milestones: int = 0
    milestones_reported: int = 0
    milestones_confirmed: int = 0
    milestones_overdue: int = 0
    measured_mean: float | None = None
    self_reported_mean: float | None = None
    perceived_mentee_mean: float | None = None
    perceived_mentor_mean: float | None = None
    assessed_by_mentee: int = 0
    assessed_by_mentor: int = 0


class DyadRapport(UpstreamModel):
    """The members' ratings of each other in their feedback forms (1-5)."""

    mentee_rates_mentor: float | None = None
    mentor_rates_mentee: float | None = None
    mean: float | None = None
    forms_rated: int = 0


class DyadOutcome(UpstreamModel):
    dyad_id: uuid.UUID
    status: str
    at_risk: bool = False
    meetings: DyadMeetings
    feedback: DyadFeedback
    objectives: DyadObjectives
    rapport: DyadRapport = DyadRapport()


class ProgramOutcomes(UpstreamModel):
    program_id: uuid.UUID
    meetings_per_dyad: int
    feedback_deadline_hours: float
    dyads: int
    meetings: MeetingStats
    feedback: FeedbackStats
    items: list[DyadOutcome] = []
    computed_at: datetime | None = None


class MyDyad(UpstreamModel):
    id: uuid.UUID
    program_id: uuid.UUID
    status: str
    activated_at: Any = None


class Upstreams:
    """The three services, each behind its own client (a transport may be injected in tests)."""

    def __init__(
        self,
        *,
        participants_url: str,
        matching_url: str,
        sessions_url: str,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.participants = ServiceClient("participants", participants_url, timeout=timeout, retries=1, transport=transport)
        self.matching = ServiceClient("matching", matching_url, timeout=timeout, retries=1, transport=transport)
        self.sessions = ServiceClient("sessions", sessions_url, timeout=timeout, retries=1, transport=transport)

    async def aclose(self) -> None:
        for service in (self.participants, self.matching, self.sessions):
            await service.aclose()

    async def me(self, token: str) -> Me:
        return await self.participants.get("/v1/participants/me", Me, token=token, what="Participant")

    async def program(self, program_id: uuid.UUID, token: str) -> Program:
        return await self.participants.get(f"/v1/programs/{program_id}", Program, token=token, what="Program")

    async def institution(self, institution_id: uuid.UUID, token: str) -> Institution:
        return await self.participants.get(f"/v1/institutions/{institution_id}", Institution, token=token, what="Institution")

    async def funnel(self, program_id: uuid.UUID, token: str) -> Funnel:
        return await self.participants.get(f"/v1/programs/{program_id}/funnel", Funnel, token=token, what="Program")

    async def training(self, program_id: uuid.UUID, token: str) -> TrainingStats:
        path = f"/v1/programs/{program_id}/training-stats"
        return await self.participants.get(path, TrainingStats, token=token, what="Program")

    async def research_roster(self, program_id: uuid.UUID, token: str) -> list[ResearchMember]:
        """Members who consent to research, with their strata and quote consent (this service's research:read token)."""
        path = f"/v1/programs/{program_id}/research-roster"
        return await self.participants.page(path, ResearchMember, token=token, what="Program")

    async def matching_outcomes(self, program_id: uuid.UUID, token: str) -> MatchingOutcomes:
        path = f"/v1/matching/programs/{program_id}/outcomes"
        return await self.matching.get(path, MatchingOutcomes, token=token, what="Program")

    async def outcomes(self, program_id: uuid.UUID, token: str) -> ProgramOutcomes:
        path = f"/v1/dyads/programs/{program_id}/outcomes"
        return await self.sessions.get(path, ProgramOutcomes, token=token, what="Program")

    async def my_dyads(self, token: str) -> list[MyDyad]:
        """The caller's own dyads (her token: she is acting for herself)."""
        return await self.sessions.page("/v1/dyads/mine", MyDyad, token=token, what="Dyad")
