"""The participants service, as the matching service sees it.

Models here are the caller's: only the fields matching reads, extra fields
ignored, so participants may grow without breaking this service. Calls made
for a person forward her token (participants decides what she may read);
identity data is read with this service's own token (scope ``identity:read``).

Failures: a connection error, a timeout or a 5xx is a 503 (504) problem; the
upstream's 401/403/404 are passed on as this service's own problems, so the
caller learns the same as if she had asked participants herself.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from servicekit.http import make_async_client, upstream_problem
from servicekit.problems import ProblemError, conflict, forbidden, not_found

SERVICE = "participants"
PAGE = 200


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Phase(_Model):
    kind: str
    starts_on: date
    ends_on: date


class Program(_Model):
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


class Membership(_Model):
    id: uuid.UUID
    institution_id: uuid.UUID
    program_id: uuid.UUID
    participant_id: uuid.UUID
    role: str
    status: str
    trained: bool = False


class Participant(_Model):
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


class Place(_Model):
    """A campus or an academic unit: only its name is used (explanations)."""

    id: uuid.UUID
    name: str


class IdentityRecord(_Model):
    participant_id: uuid.UUID
    role: str
    gender_identity: str | None = None
    ethnicity: str | None = None
    first_generation: bool | None = None


class ParticipantsClient:
    def __init__(self, base_url: str, *, timeout: float = 5.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.http = make_async_client(base_url, timeout=timeout, inner_transport=transport)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, path: str, token: str, what: str, **kwargs: Any) -> Any:
        try:
            resp = await self.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        except httpx.HTTPError as exc:
            raise upstream_problem(SERVICE, exc) from None
        if resp.status_code < 300:
            return resp.json()
        if resp.status_code == 404:
            raise not_found(what)
        if resp.status_code == 403:
            raise forbidden(_detail(resp, f"Not allowed to read this {what.lower()}"))
        if resp.status_code == 401:
            raise ProblemError(401, "The access token was refused", slug="unauthorized")
        if resp.status_code == 409:
            raise conflict(_detail(resp, f"The {what.lower()} changed meanwhile"))
        raise upstream_problem(SERVICE, httpx.HTTPStatusError(str(resp.status_code), request=resp.request, response=resp))

    async def _all(self, path: str, token: str, what: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {**(params or {}), "limit": PAGE, **({"cursor": cursor} if cursor else {})}
            page = await self._call("GET", path, token, what, params=query)
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    async def program(self, program_id: uuid.UUID, token: str) -> Program:
        return Program.model_validate(await self._call("GET", f"/v1/programs/{program_id}", token, "Program"))

    async def memberships(self, program_id: uuid.UUID, token: str) -> list[Membership]:
        rows = await self._all(f"/v1/programs/{program_id}/memberships", token, "Program")
        return [Membership.model_validate(r) for r in rows]

    async def me(self, token: str) -> Participant:
        return Participant.model_validate(await self._call("GET", "/v1/participants/me", token, "Participant"))

    async def participant(self, participant_id: uuid.UUID, token: str) -> Participant:
        return Participant.model_validate(await self._call("GET", f"/v1/participants/{participant_id}", token, "Participant"))

    async def participants(self, institution_id: uuid.UUID, token: str) -> list[Participant]:
        rows = await self._all(f"/v1/institutions/{institution_id}/participants", token, "Institution")
        return [Participant.model_validate(r) for r in rows]

    async def places(self, institution_id: uuid.UUID, token: str) -> dict[str, str]:
        """Names of the institution's campuses and academic units, by id."""
        names: dict[str, str] = {}
        for kind in ("campuses", "academic-units"):
            for row in await self._all(f"/v1/institutions/{institution_id}/{kind}", token, "Institution"):
                place = Place.model_validate(row)
                names[str(place.id)] = place.name
        return names

    async def set_membership_status(
        self, program_id: uuid.UUID, membership_id: uuid.UUID, status: str, reason: str, token: str
    ) -> Membership:
        body = {"status": status, "reason": reason}
        row = await self._call("PATCH", f"/v1/programs/{program_id}/memberships/{membership_id}", token, "Membership", json=body)
        return Membership.model_validate(row)

    async def matching_identity(self, program_id: uuid.UUID, service_token: str) -> list[IdentityRecord]:
        rows = await self._all(f"/v1/programs/{program_id}/matching-identity", service_token, "Program")
        return [IdentityRecord.model_validate(r) for r in rows]


def _detail(resp: httpx.Response, default: str) -> str:
    try:
        detail = resp.json().get("detail")
    except ValueError:
        return default
    return detail if isinstance(detail, str) and detail else default
