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


class Program(_Model):
    id: uuid.UUID
    institution_id: uuid.UUID
    name: str
    meetings_count: int = 12
    feedback_deadline_hours: int = 48


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
    planned: int
    held: int
    rescheduled: int
    cancelled: int


class FeedbackStats(_Model):
    due: int
    submitted: int
    on_time: int
    late: int


class DyadMeetings(_Model):
    scheduled: int
    held: int
    in_person: int


class DyadFeedback(_Model):
    due: int
    on_time: int
    late: int
    late_days: list[int] = []


class DyadObjectives(_Model):
    objectives: int
    with_progress: int
    achieved: int
    measured_mean: float | None = None


class DyadOutcome(_Model):
    dyad_id: uuid.UUID
    status: str
    at_risk: bool = False
    meetings: DyadMeetings
    feedback: DyadFeedback
    objectives: DyadObjectives


class ProgramOutcomes(_Model):
    program_id: uuid.UUID
    meetings_per_dyad: int
    feedback_deadline_hours: float
    dyads: int
    meetings: MeetingStats
    feedback: FeedbackStats
    items: list[DyadOutcome] = []


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
