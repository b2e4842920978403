"""What the schemas share: input/output bases and small types."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from servicekit.inputs import InputModel


class Input(InputModel):
    """Every request body refuses unknown fields, and every text in it is
    storable (servicekit's one input rule)."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def distinct(values: list) -> list:  # type: ignore[type-arg]
    if len(set(values)) != len(values):
        raise ValueError("Values must not repeat")
    return values


Code = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$"),
    Field(examples=["funding"], description="A lowercase code (letters, digits, _ or -)."),
]
Codes = Annotated[list[Code], Field(max_length=50), AfterValidator(distinct)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$"), Field(examples=["es"])]


class PairRef(Input):
    """A (mentee, mentor) pair, by participant ids."""

    mentee_participant_id: uuid.UUID
    mentor_participant_id: uuid.UUID

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "mentee_participant_id": "0190f1c2-0000-7000-8000-000000000101",
                    "mentor_participant_id": "0190f1c2-0000-7000-8000-000000000201",
                }
            ]
        },
    )


class PairOut(Output):
    mentee_participant_id: uuid.UUID
    mentor_participant_id: uuid.UUID
