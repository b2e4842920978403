"""Instruments: the built-in library, institutions' copies and their versions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from services.evaluation.schemas.common import Input, Output, TextIn, TextOut

ITEM_ID = r"^[A-Za-z0-9._-]{1,80}$"


class AudienceIn(StrEnum):
    mentors = "mentors"
    mentees = "mentees"
    everyone = "everyone"


class ItemTypeIn(StrEnum):
    likert = "likert"
    numeric = "numeric"
    single_choice = "single_choice"
    multiple_choice = "multiple_choice"
    open_text = "open_text"


class OptionIn(Input):
    value: str = Field(min_length=1, max_length=80)
    label: TextIn


class ItemIn(Input):
    id: str = Field(pattern=ITEM_ID)
    type: ItemTypeIn
    text: TextIn
    audience: AudienceIn | None = None
    required: bool | None = None
    scale: list[TextIn] | None = Field(default=None, description="Likert only: 4, 5 or 7 labelled points.")
    reverse: bool | None = None
    minimum: float | None = None
    maximum: float | None = None
    integer: bool | None = None
    options: list[OptionIn] | None = None
    max_choices: int | None = Field(default=None, ge=1)
    max_length: int | None = Field(default=None, ge=1, le=20000)


class SectionIn(Input):
    id: str = Field(pattern=ITEM_ID)
    title: TextIn
    audience: AudienceIn = AudienceIn.everyone
    items: list[ItemIn] = Field(min_length=1, max_length=200)


class SubscaleIn(Input):
    id: str = Field(pattern=ITEM_ID)
    label: TextIn
    items: list[Annotated[str, StringConstraints(pattern=ITEM_ID)]] = Field(min_length=1, max_length=200, description="Ids of its items.")
    min_answered: int | None = Field(default=None, ge=1)


_EXAMPLE = {
    "title": {"es": "Autoevaluación breve", "en": "Short self-assessment"},
    "description": {"es": "Antes y después.", "en": "Before and after."},
    "sections": [
        {
            "id": "skills",
            "title": {"es": "Habilidades", "en": "Skills"},
            "items": [
                {
                    "id": "assertiveness.1",
                    "type": "likert",
                    "text": {"es": "Digo lo que pienso con respeto.", "en": "I say what I think, respectfully."},
                    "scale": [{"es": s, "en": s} for s in ("1", "2", "3", "4", "5")],
                }
            ],
        }
    ],
    "subscales": [{"id": "assertiveness", "label": {"es": "Asertividad", "en": "Assertiveness"}, "items": ["assertiveness.1"]}],
}


class InstrumentRevision(Input):
    """The whole content of the next version (PUT)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    title: TextIn
    description: TextIn
    sections: list[SectionIn] = Field(min_length=1, max_length=50)
    subscales: list[SubscaleIn] = []


class InstrumentPatch(Input):
    """Parts of the next version (PATCH); what is left out is kept."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"title": {"es": "Nuevo título", "en": "New title"}}]})

    title: TextIn | None = None
    description: TextIn | None = None
    sections: list[SectionIn] | None = Field(default=None, min_length=1, max_length=50)
    subscales: list[SubscaleIn] | None = None


# Keys of the built-in library and of copies: lowercase words joined by hyphens.
InstrumentKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,79}$"), Field(examples=["soft-skills"])]


class InstrumentCopy(Input):
    """Copy an instrument into the caller's institution (version 1 of a new key)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"key": "soft-skills-2026", "title": {"es": "Habilidades 2026", "en": "Skills 2026"}}]})

    key: InstrumentKey | None = Field(default=None, description="Default: the source's key.")
    title: TextIn | None = None


class InstrumentPublic(Output):
    id: uuid.UUID
    key: str = Field(examples=["soft-skills"])
    version: int
    builtin: bool
    institution_id: uuid.UUID | None = Field(description="Null for the built-in library.")
    copied_from: str | None = Field(description="key@version of the source, for copies.", examples=["soft-skills@1"])
    title: TextOut
    in_use: bool = Field(description="An administration uses this version (it can never change; edits make new versions).")
    latest: bool = Field(description="This is the newest version of its key.")
    created_at: datetime | None
    definition: dict[str, Any] = Field(description="The full template: sections, typed items (es/en), subscales.")
