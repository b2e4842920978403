"""The participants service, as the matching service sees it.

Models here are the caller's: only the fields matching reads, extra fields
ignored, so participants may grow without breaking this service. Calls made
for a person forward her token (participants decides what she may read);
identity data is read with this service's own token (scope ``identity:read``).

Failures become this service's problems by servicekit's one rule
(``servicekit.service_client``).
"""

from __future__ import annotations

import uuid
from datetime import date

import httpx

from servicekit.service_client import ServiceClient, UpstreamModel


class Phase(UpstreamModel):
    kind: str
    starts_on: date
    ends_on: date


class Program(UpstreamModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    name: str
    status: str
    mode: str
    delivery: str
    languages: list[str] = []
    max_mentees_per_mentor: int = 1
    meetings_count: int = 12
    meeting_cadence: str = "weekly"
    feedback_deadline_hours: int = 48
    phases: list[Phase] = []

    def phase(self, kind: str) -> Phase | None:
        return next((p for p in self.phases if p.kind == kind), None)


class Membership(UpstreamModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    program_id: uuid.UUID
    participant_id: uuid.UUID
    role: str
    status: str
    trained: bool = False


class Participant(UpstreamModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    account_id: str
    display_name: str = ""
    languages: list[str] = []
    timezone: str | None = None
    campus_id: uuid.UUID | None = None
    academic_unit_id: uuid.UUID | None = None
    career_stage: str | None = None
    memberships: list[Membership] = []


class Place(UpstreamModel):
    """A campus or an academic unit: only its name is used (explanations)."""

    id: uuid.UUID
    name: str


class IdentityRecord(UpstreamModel):
    participant_id: uuid.UUID
    role: str
    gender_identity: str | None = None
    ethnicity: str | None = None
    first_generation: bool | None = None


class ParticipantsClient(ServiceClient):
    def __init__(self, base_url: str, *, timeout: float = 5.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__("participants", base_url, timeout=timeout, transport=transport)

    async def program(self, program_id: uuid.UUID, token: str) -> Program:
        return await self.get(f"/v1/programs/{program_id}", Program, token=token, what="Program")

    async def memberships(self, program_id: uuid.UUID, token: str) -> list[Membership]:
        return await self.page(f"/v1/programs/{program_id}/memberships", Membership, token=token, what="Program")

    async def me(self, token: str) -> Participant:
        return await self.get("/v1/participants/me", Participant, token=token, what="Participant")

    async def participant(self, participant_id: uuid.UUID, token: str) -> Participant:
        return await self.get(f"/v1/participants/{participant_id}", Participant, token=token, what="Participant")

    async def participants(self, institution_id: uuid.UUID, token: str) -> list[Participant]:
        return await self.page(f"/v1/institutions/{institution_id}/participants", Participant, token=token, what="Institution")

    async def places(self, institution_id: uuid.UUID, token: str) -> dict[str, str]:
        """Names of the institution's campuses and academic units, by id."""
        names: dict[str, str] = {}
        for kind in ("campuses", "academic-units"):
            for place in await self.page(f"/v1/institutions/{institution_id}/{kind}", Place, token=token, what="Institution"):
                names[str(place.id)] = place.name
        return names

    async def set_membership_status(
        self, program_id: uuid.UUID, membership_id: uuid.UUID, status: str, reason: str, token: str
    ) -> Membership:
        return await self.patch(f"/v1/programs/{program_id}/memberships/{membership_id}", Membership, token=token,
                                what="Membership", json={"status": status, "reason": reason})

    async def matching_identity(self, program_id: uuid.UUID, service_token: str) -> list[IdentityRecord]:
        path = f"/v1/programs/{program_id}/matching-identity"
        return await self.page(path, IdentityRecord, token=service_token, what="Program")
