"""Meetings, their history, group events, attendance and calendar tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, model_validator

from servicekit.types import Instant

from services.sessions.enums import GroupEventKind, MeetingStatus, Modality
from services.sessions.schemas.common import Input, Output

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]
Link = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https://\S+$", max_length=500)]
Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=300)]


# Instants a request carries: with a time zone, between 2000 and 2100 (servicekit.types).
AwareDatetime = Instant


class MeetingPublic(Output):
    id: uuid.UUID
    dyad_id: uuid.UUID
    number: int
    planned_start: datetime = Field(description="The schedule's time; never changes.")
    start: datetime = Field(description="The current time (UTC).")
    end: datetime
    duration_minutes: int
    modality: Modality
    link: str | None
    place: str | None
    status: MeetingStatus
    reschedules: int
    sequence: int = Field(description="iCalendar SEQUENCE: bumped by every reschedule or cancellation.")
    mentee_confirmed_at: datetime | None
    mentor_confirmed_at: datetime | None
    confirmed_by_both: bool = Field(description="Both members confirmed it was held: the pilots' evidence.")
    notes: str | None
    updated_at: datetime


class MeetingChangePublic(Output):
    id: uuid.UUID
    kind: str = Field(examples=["rescheduled"])
    by: str = Field(description="mentee, mentor, coordinator or system.")
    from_start: datetime
    to_start: datetime | None
    reason: str
    at: datetime


class Confirmation(Input):
    """The caller confirms the meeting took place (it becomes held)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"notes": "Revisamos el plan de la solicitud."}]})

    notes: Annotated[str, StringConstraints(max_length=5000)] | None = None


class _Where(Input):
    modality: Modality | None = None
    link: Link | None = None
    place: Place | None = None

    @model_validator(mode="after")
    def _where(self) -> Self:
        if self.modality is Modality.VIRTUAL and not self.link:
            raise ValueError("a virtual meeting needs its link (field link)")
        if self.modality is Modality.IN_PERSON and not self.place:
            raise ValueError("an in-person meeting needs its place (field place)")
        return self


class Reschedule(_Where):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"start": "2026-12-08T16:00:00Z", "reason": "Cierre del semestre"}]},
    )

    start: AwareDatetime
    reason: Reason


class MeetingUpdate(_Where):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"modality": "in_person", "place": "Biblioteca central, sala 3"}]},
    )

    notes: Annotated[str, StringConstraints(max_length=5000)] | None = None


class Cancellation(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "Congreso de la mentora"}]})

    reason: Reason


class GroupEventCreate(_Where):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "title": "Sesión de acompañamiento 1", "kind": "accompaniment", "starts_at": "2026-08-05T17:00:00Z",
            "duration_minutes": 90, "modality": "virtual", "link": "https://meet.example.org/acomp-1",
        }]},
    )

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)]
    kind: GroupEventKind
    starts_at: AwareDatetime
    duration_minutes: int = Field(ge=5, le=24 * 60)
    modality: Modality  # type: ignore[assignment]


class GroupEventPublic(Output):
    id: uuid.UUID
    program_id: uuid.UUID
    title: str
    kind: GroupEventKind
    starts_at: datetime
    duration_minutes: int
    modality: Modality
    link: str | None
    place: str | None
    created_at: datetime


class AttendanceRecord(Input):
    participant_id: uuid.UUID
    attended: bool


def _distinct(records: list[AttendanceRecord]) -> list[AttendanceRecord]:
    if len({r.participant_id for r in records}) != len(records):
        raise ValueError("each participant may appear once")
    return records


class AttendanceUpdate(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"records": [{"participant_id": "0190f1c2-0000-7000-8000-000000000101", "attended": True}]}]},
    )

    records: Annotated[list[AttendanceRecord], Field(min_length=1, max_length=500), AfterValidator(_distinct)]


class AttendanceOut(Output):
    participant_id: uuid.UUID
    attended: bool
    recorded_at: datetime


class AttendanceList(Output):
    event_id: uuid.UUID
    attended: int
    absent: int
    records: list[AttendanceOut]


class CalendarTokenCreated(Output):
    id: uuid.UUID
    token: str = Field(description="Shown once; only its hash is stored.")
    url: str = Field(description="The private iCalendar URL (no bearer token needed).")
    created_at: datetime


class CalendarTokenPublic(Output):
    id: uuid.UUID
    created_at: datetime
    revoked_at: datetime | None
