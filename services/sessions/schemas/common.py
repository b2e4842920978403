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


class MilestoneStatus(StrEnum):
    """planned: not met yet (or returned by the confirmer); reported: the mentee
    gave evidence; confirmed: her counterpart or a coordinator confirmed it."""

    planned = "planned"
    reported = "reported"
    confirmed = "confirmed"


class MilestoneChangeKind(StrEnum):
    reported = "reported"
    confirmed = "confirmed"
    returned = "returned"
