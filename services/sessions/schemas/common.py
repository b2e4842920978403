"""What the schemas share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from servicekit.inputs import InputModel


class Input(InputModel):
    """Every request body refuses unknown fields, and every text in it is
    storable (servicekit's one input rule)."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)
