"""The matching questionnaire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, model_validator

from servicekit.types import TimeZoneName

from services.matching.enums import Delivery, IdentityTrait
from services.matching.schemas.common import Codes, Input, LanguageCode, Output, distinct

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
HHMM_END = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"


def minutes(hhmm: str) -> int:
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


class Slot(Input):
    """A weekly slot in her own time zone. weekday 0 is Monday."""

    weekday: int = Field(ge=0, le=6, examples=[1])
    start: Annotated[str, StringConstraints(pattern=HHMM)] = Field(examples=["17:00"])
    end: Annotated[str, StringConstraints(pattern=HHMM_END)] = Field(examples=["19:00"])

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if minutes(self.end) <= minutes(self.start):
            raise ValueError("end must be after start")
        return self


class UtcSlot(Output):
    weekday: int
    start_minute: int
    end_minute: int


class Requests(Input):
    """Optional requests of a mentee who opts in; never used otherwise."""

    identity_match: Annotated[list[IdentityTrait], Field(max_length=3), AfterValidator(distinct)] = Field(
        default_factory=list,
        description="Traits of her own identity data (held by participants, with her consent) her mentor should share.",
    )
    requested_mentor_participant_id: uuid.UUID | None = Field(default=None, description="A mentor she asks for.")
    avoid_participant_ids: Annotated[list[uuid.UUID], Field(max_length=20), AfterValidator(distinct)] = Field(
        default_factory=list, description="Mentors she asks never to be paired with."
    )


EXAMPLE = {
    "objectives": ["funding", "publishing"],
    "objectives_text": "Ganar mi primera convocatoria de financiamiento.",
    "expertise": ["teaching"],
    "availability": [{"weekday": 1, "start": "17:00", "end": "19:00"}, {"weekday": 3, "start": "09:00", "end": "11:00"}],
    "timezone": "America/Mexico_City",
    "interests": ["running", "music"],
    "languages": ["es", "en"],
    "delivery": "hybrid",
    "requests": {"identity_match": ["first_generation"]},
}


class ProfileUpsert(Input):
    """Her answers. Mentors set ``capacity`` (within the program's maximum) and
    ``willing_to_substitute``; mentees may add ``requests``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    objectives: Codes = Field(default_factory=list, description="Codes from the program's objectives taxonomy.")
    objectives_text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    expertise: Codes = Field(default_factory=list, description="Areas she can help with (taxonomy codes).")
    experience: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    availability: Annotated[list[Slot], Field(max_length=42)] = Field(default_factory=list)
    timezone: TimeZoneName | None = Field(default=None, description="IANA time zone of the slots; default: her profile's.")
    capacity: int = Field(default=1, ge=0, le=20, description="Mentors: mentees she can take.")
    willing_to_substitute: bool = Field(default=False, description="Mentors: willing to stay on as a substitute.")
    interests: Codes = Field(default_factory=list)
    languages: Annotated[list[LanguageCode], Field(min_length=1, max_length=10), AfterValidator(distinct)]
    delivery: Delivery = Delivery.hybrid
    requests: Requests | None = None


class ProfilePublic(Output):
    id: uuid.UUID
    program_id: uuid.UUID
    participant_id: uuid.UUID
    role: str
    objectives: list[str]
    objectives_text: str | None
    expertise: list[str]
    experience: str | None
    availability: list[Slot]
    timezone: str
    availability_utc: list[UtcSlot] = Field(description="The slots in UTC for the program's mentoring start (DST-aware).")
    capacity: int
    willing_to_substitute: bool
    interests: list[str]
    languages: list[str]
    delivery: Delivery
    requests: Requests | None
    created_at: datetime
    updated_at: datetime


class MissingProfile(Output):
    participant_id: uuid.UUID
    membership_id: uuid.UUID
    role: str
