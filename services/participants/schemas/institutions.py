"""Institutions, their campuses and academic units."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from services.participants.schemas.common import (
    City,
    CountryCode,
    CreateModel,
    Languages,
    Name,
    PublicModel,
    Slug,
    TimeZoneName,
    UpdateModel,
    update_config,
)


class UnitKind(StrEnum):
    """What an academic unit is."""

    faculty = "faculty"
    school = "school"
    department = "department"
    program = "program"


UnitCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"),
    Field(description="The institution's own code for the unit; unique within the institution.", examples=["ICBI"]),
]




# ---------------------------------------------------------------------------
# Institutions


class InstitutionCreate(CreateModel):
    name: Name
    slug: Slug
    country: CountryCode
    timezone: TimeZoneName
    default_languages: Languages = ["es", "en"]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Universidad Autónoma del Estado de Hidalgo",
                    "slug": "uaeh",
                    "country": "MX",
                    "timezone": "America/Mexico_City",
                    "default_languages": ["es", "en"],
                }
            ]
        }
    )


class InstitutionUpdate(UpdateModel):
    name: Name = None  # type: ignore[assignment]
    slug: Slug = None  # type: ignore[assignment]
    country: CountryCode = None  # type: ignore[assignment]
    timezone: TimeZoneName = None  # type: ignore[assignment]
    default_languages: Languages = None  # type: ignore[assignment]

    model_config = update_config({"name": "Universidad Autónoma del Estado de Hidalgo", "default_languages": ["es"]})


class InstitutionPublic(PublicModel):
    id: uuid.UUID
    name: str
    slug: str
    country: str
    timezone: str
    default_languages: list[str]
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------------------
# Campuses


class CampusCreate(CreateModel):
    name: Annotated[Name, Field(description="Unique within the institution.", examples=["Ciudad Universitaria"])]
    city: City
    timezone: TimeZoneName | None = Field(default=None, description="Only when it differs from the institution's.")

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Ciudad Universitaria", "city": "Pachuca de Soto"}]})


class CampusUpdate(UpdateModel):
    name: Name = None  # type: ignore[assignment]
    city: City = None  # type: ignore[assignment]
    timezone: TimeZoneName | None = None

    model_config = update_config({"city": "Mineral de la Reforma"})


class CampusPublic(PublicModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    name: str
    city: str
    timezone: str | None
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------------------
# Academic units


class AcademicUnitCreate(CreateModel):
    name: Annotated[Name, Field(examples=["Instituto de Ciencias Básicas e Ingeniería"])]
    kind: UnitKind
    campus_id: uuid.UUID | None = Field(default=None, description="A campus of the same institution.")
    code: UnitCode | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Instituto de Ciencias Básicas e Ingeniería", "kind": "faculty", "code": "ICBI"}]
        }
    )


class AcademicUnitUpdate(UpdateModel):
    name: Name = None  # type: ignore[assignment]
    kind: UnitKind = None  # type: ignore[assignment]
    campus_id: uuid.UUID | None = None
    code: UnitCode | None = None

    model_config = update_config({"code": "ICBI-2"})


class AcademicUnitPublic(PublicModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    campus_id: uuid.UUID | None
    name: str
    kind: UnitKind
    code: str | None
    created_at: datetime
    updated_at: datetime
