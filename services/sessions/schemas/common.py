"""What the schemas share."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from servicekit.inputs import InputModel


class Input(InputModel):
    """Every request body refuses unknown fields, and every text in it is
    storable (servicekit's one input rule)."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Modality(StrEnum):
    virtual = "virtual"
    in_person = "in_person"


class MeetingStatus(StrEnum):
    scheduled = "scheduled"
    held = "held"
    rescheduled = "rescheduled"
    cancelled = "cancelled"
    no_show = "no_show"
