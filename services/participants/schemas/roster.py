"""Roster imports: the row format of a roster file, the import job, its report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.participants.schemas.common import CreateModel, Email, ExternalId, Name, PublicModel, short_text
from services.participants.enums import (
    Affiliation,
    CareerStage,
    RosterIdKind,
    RosterMode,
    RosterPass,
    RosterStage,
    RosterStatus,
)

PersonName = short_text(100, "Ana")
PlaceName = short_text(200, "Campus Norte")
UnitCode = short_text(32, "ING")

# The columns a roster file may have, in the order the documentation lists them.
ROSTER_COLUMNS = (
    "external_id",
    "email",
    "display_name",
    "given_name",
    "family_name",
    "campus",
    "academic_unit",
    "affiliation",
    "career_stage",
    "lms_id",
)
REQUIRED_COLUMNS = ("external_id", "email")


class RosterRow(BaseModel):
    """One row of a roster file (one person), after empty cells are dropped.

    - ``external_id``: her SIS or HR id (the import's ``id_kind`` says which);
      the key of the upsert, so importing the same file twice changes nothing;
    - ``email``: required, stored lower-case; links the profile to her account
      when she confirms a place with an application carrying this e-mail;
    - ``display_name``, or ``given_name`` (and ``family_name``), joined by a space;
    - ``campus``: a campus *name* of the institution (case-insensitive);
    - ``academic_unit``: an academic unit *code* of the institution (case-insensitive);
    - ``affiliation``, ``career_stage``: values of those vocabularies;
    - ``lms_id``: her LMS id (what xAPI statements name her by), unique in the institution.
    """

    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId
    email: Email
    display_name: Name | None = None
    given_name: PersonName | None = None  # type: ignore[valid-type]
    family_name: PersonName | None = None  # type: ignore[valid-type]
    campus: PlaceName | None = None  # type: ignore[valid-type]
    academic_unit: UnitCode | None = None  # type: ignore[valid-type]
    affiliation: Affiliation | None = None
    career_stage: CareerStage | None = None
    lms_id: ExternalId | None = None

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @model_validator(mode="after")
    def _a_name(self) -> Self:
        if self.display_name is None and self.given_name is None:
            raise ValueError("Give display_name, or given_name (and family_name)")
        return self

    @property
    def name(self) -> str:
        if self.display_name is not None:
            return self.display_name
        return " ".join(part for part in (self.given_name, self.family_name) if part)[:200]


class RosterCommit(CreateModel):
    """How to commit: ``skip_invalid`` writes every valid row and reports the
    others; ``all_or_nothing`` writes nothing unless every row is valid."""

    mode: RosterMode

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"mode": "skip_invalid"}]})


class RosterProgress(BaseModel):
    percent: int = Field(ge=0, le=100, description="Rows done of the current pass; 100 only once it finished.")
    rows_done: int
    rows_total: int = Field(description="Data rows in the file (the header not counted).")
    errors_so_far: int = Field(description="Problems found so far in this pass (a row may have several).")


class RosterCounts(BaseModel):
    """What the latest pass did (commit) or would do (dry run), in rows."""

    created: int
    updated: int
    unchanged: int
    invalid: int


class RosterImportPublic(PublicModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    status: RosterStatus = Field(
        description=(
            "uploaded → (dry-run) validating → validated → (commit) committing → committed; a commit ends "
            "`rejected` when mode all_or_nothing finds an invalid row (nothing written); `failed` on an "
            "unexpected error (`failure` says which). validating and committing are running."
        )
    )
    id_kind: RosterIdKind
    mode: RosterMode | None = Field(description="The mode of the latest commit; null before one.")
    last_pass: RosterPass | None = Field(description="Which pass the progress and counts describe; null before one.")
    stage: RosterStage | None = Field(description="While running: checking rows or writing them.")
    filename: str | None
    size_bytes: int
    delimiter: str
    columns: list[str] = Field(description="The roster columns the header names, in file order.")
    ignored_columns: list[str] = Field(description="Header columns that are not roster columns: never read.")
    progress: RosterProgress
    counts: RosterCounts
    failure: str | None
    file_available: bool = Field(description="False once the upload was deleted (committed, retention or erasure).")
    created_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RosterRowError(PublicModel):
    """One problem of one row: ``row`` counts the header as row 1 (as a spreadsheet shows it)."""

    row: int = Field(examples=[7])
    field: str = Field(description="The column, or `row` for the row as a whole.", examples=["email"])
    problem: str = Field(examples=["value is not a valid e-mail address"])
    code: str = Field(examples=["invalid"])

