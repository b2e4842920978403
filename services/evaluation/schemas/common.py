"""Shared schema pieces: input config, bilingual text."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from servicekit.inputs import InputModel


class Input(InputModel):
    """Every request body refuses unknown fields, and every text in it is
    storable (servicekit's one input rule)."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TextIn(Input):
    es: str = Field(min_length=1, max_length=4000, examples=["Me comunico con claridad."])
    en: str = Field(min_length=1, max_length=4000, examples=["I communicate clearly."])


class TextOut(Output):
    es: str
    en: str
