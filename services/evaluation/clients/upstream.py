"""The participants, matching and sessions services, as the evaluation service sees them.

Models are the caller's: only the fields read here, extra fields ignored. Each call
takes the token to send: a respondent's own (her memberships, her dyads), or, for
the program report's inputs, this service's own ``reports:read`` token once it has
authorized its caller (analysis.program_report), or, for interviews, its own
``research:read`` token (who consents to research and to quotes, and the strata a
sample is drawn on). A connection error, a timeout or
a 5xx is a 503 (504) problem naming the service; the upstream's 401/403/404 are
passed on as this service's own problems.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from servicekit.http import make_async_client, upstream_problem
from servicekit.problems import ProblemError, forbidden, not_found

PAGE = 200


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# ---------------------------------------------------------------- participants


class Membership(_Model):
    program_id: uuid.UUID
    participant_id: uuid.UUID
    role: str
    status: str


class Me(_Model):
    id: uuid.UUID
    institution_id: uuid.UUID
    memberships: list[Membership] = []


class Phase(_Model):
    kind: str
    starts_on: date
    ends_on: date


class Program(_Model):
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


class Institution(_Model):
    id: uuid.UUID
    name: str


class StageCounts(_Model):
    applied: int = 0
    accepted: int = 0
    invited: int = 0
    confirmed: int = 0
    trained: int = 0
    completed: int = 0
    withdrawn: int = 0


class RoleFunnel(_Model):
    role: str
    stages: StageCounts


class Funnel(_Model):
    program_id: uuid.UUID
    total: StageCounts
    by_role: list[RoleFunnel]


class ModuleStats(_Model):
    module_id: uuid.UUID
    title: str
    completed: int


class TrainingStats(_Model):
    program_id: uuid.UUID
    members: int
    trained: int
    modules: list[ModuleStats]


class ResearchMember(_Model):
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


class RunOutcome(_Model):
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


class MatchingOutcomes(_Model):
    program_id: uuid.UUID
    run: RunOutcome | None = None
    matches: dict[str, int] = {}
    matched_mentors: int = 0
    matched_mentees: int = 0


# ---------------------------------------------------------------- sessions


class MeetingStats(_Model):
    """The program's meetings as the sessions statistics count them: ``planned`` = meetings whose
    planned start has passed, ``held`` etc. among those."""

    planned: int
    held: int
    rescheduled: int
    cancelled: int
    no_show: int = 0


class FeedbackStats(_Model):
    due: int
    submitted: int
    on_time: int
    late: int


class DyadMeetings(_Model):
    """Per dyad. ``planned_to_date``: meetings whose planned start has passed (the sessions
    statistics' definition of planned); ``held`` of all its meetings."""

    scheduled: int
    planned_to_date: int | None = None
    held: int
    cancelled: int = 0
    no_show: int = 0
    in_person: int


class DyadFeedback(_Model):
    due: int
    on_time: int
    late: int
    late_days: list[int] = []


class DyadObjectives(_Model):
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


class DyadRapport(_Model):
    """The members' ratings of each other in their feedback forms (1-5)."""

    mentee_rates_mentor: float | None = None
    mentor_rates_mentee: float | None = None
    mean: float | None = None
    forms_rated: int = 0


class DyadOutcome(_Model):
    dyad_id: uuid.UUID
    status: str
    at_risk: bool = False
    meetings: DyadMeetings
    feedback: DyadFeedback
    objectives: DyadObjectives
    rapport: DyadRapport = DyadRapport()


class ProgramOutcomes(_Model):
    program_id: uuid.UUID
    meetings_per_dyad: int
    feedback_deadline_hours: float
    dyads: int
    meetings: MeetingStats
    feedback: FeedbackStats
    items: list[DyadOutcome] = []
    computed_at: datetime | None = None


class MyDyad(_Model):
    id: uuid.UUID
    program_id: uuid.UUID
    status: str
    activated_at: Any = None


class _Service:
    def __init__(self, name: str, base_url: str, timeout: float, transport: httpx.AsyncBaseTransport | None) -> None:
        self.name = name
        self.http = make_async_client(base_url, timeout=timeout, retries=1, inner_transport=transport)

    async def get(self, path: str, token: str, what: str, params: dict[str, Any] | None = None) -> Any:
        try:
            resp = await self.http.get(path, headers={"Authorization": f"Bearer {token}"}, params=params)
        except httpx.HTTPError as exc:
            raise upstream_problem(self.name, exc) from None
        if resp.status_code < 300:
            try:
                return resp.json()
            except ValueError:
                raise ProblemError(502, f"The {self.name} service gave an unreadable answer", slug="bad-upstream") from None
        if resp.status_code == 404:
            raise not_found(what)
        if resp.status_code == 403:
            raise forbidden(f"The {self.name} service does not let you read this {what.lower()}")
        if resp.status_code == 401:
            raise ProblemError(401, "The access token was refused", slug="unauthorized")
        raise upstream_problem(self.name, httpx.HTTPStatusError(str(resp.status_code), request=resp.request, response=resp))

    async def all(self, path: str, token: str, what: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await self.get(path, token, what, params={"limit": PAGE, **({"cursor": cursor} if cursor else {})})
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items


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
        self.participants = _Service("participants", participants_url, timeout, transport)
        self.matching = _Service("matching", matching_url, timeout, transport)
        self.sessions = _Service("sessions", sessions_url, timeout, transport)

    async def aclose(self) -> None:
        for s in (self.participants, self.matching, self.sessions):
            await s.http.aclose()

    async def me(self, token: str) -> Me:
        return Me.model_validate(await self.participants.get("/v1/participants/me", token, "Participant"))

    async def program(self, program_id: uuid.UUID, token: str) -> Program:
        return Program.model_validate(await self.participants.get(f"/v1/programs/{program_id}", token, "Program"))

    async def institution(self, institution_id: uuid.UUID, token: str) -> Institution:
        raw = await self.participants.get(f"/v1/institutions/{institution_id}", token, "Institution")
        return Institution.model_validate(raw)

    async def funnel(self, program_id: uuid.UUID, token: str) -> Funnel:
        return Funnel.model_validate(await self.participants.get(f"/v1/programs/{program_id}/funnel", token, "Program"))

    async def training(self, program_id: uuid.UUID, token: str) -> TrainingStats:
        raw = await self.participants.get(f"/v1/programs/{program_id}/training-stats", token, "Program")
        return TrainingStats.model_validate(raw)

    async def research_roster(self, program_id: uuid.UUID, token: str) -> list[ResearchMember]:
        """Members who consent to research, with their strata and quote consent (this service's research:read token)."""
        rows = await self.participants.all(f"/v1/programs/{program_id}/research-roster", token, "Program")
        return [ResearchMember.model_validate(r) for r in rows]

    async def matching_outcomes(self, program_id: uuid.UUID, token: str) -> MatchingOutcomes:
        raw = await self.matching.get(f"/v1/matching/programs/{program_id}/outcomes", token, "Program")
        return MatchingOutcomes.model_validate(raw)

    async def outcomes(self, program_id: uuid.UUID, token: str) -> ProgramOutcomes:
        return ProgramOutcomes.model_validate(await self.sessions.get(f"/v1/dyads/programs/{program_id}/outcomes", token, "Program"))

    async def my_dyads(self, token: str) -> list[MyDyad]:
        """The caller's own dyads (her token: she is acting for herself)."""
        return [MyDyad.model_validate(r) for r in await self.sessions.all("/v1/dyads/mine", token, "Dyad")]
