"""Annotated types that several apps' request schemas share.

A value a service parses (a time-zone name, a date, a URL, a locale) is
parsed once, at the schema, so a value that does not parse is a 422 naming
the field, never an exception deep in domain code (a region without a city,
``America``, once reached ``ZoneInfo`` and became a 500; so did a 300-character
name). Each type is also bounded, and its JSON schema says exactly what it
accepts, so contract tests generate valid data from it.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema


@dataclass(frozen=True)
class Vocabulary:
    """``Annotated`` marker: a string from a fixed set. The set is published once,
    as the enum of ``components/schemas/<name>``; a refusal says ``message``
    instead of listing hundreds of values. Membership in a set bounds the
    length as well."""

    name: str
    values: Callable[[], frozenset[str]]
    message: str
    description: str
    example: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        allowed = self.values()
        message = self.message
        longest = max(map(len, allowed), default=0)

        def check(value: str) -> str:
            if value not in allowed:
                raise ValueError(message)
            return value

        return core_schema.no_info_after_validator_function(
            check, core_schema.str_schema(max_length=longest), ref=self.name
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        ref = handler(schema)
        target = handler.resolve_ref_schema(ref)
        target.pop("maxLength", None)  # the enum says it all
        target.update(enum=sorted(self.values()), description=self.description, examples=[self.example])
        return ref


@cache
def iana_time_zones() -> frozenset[str]:
    """The IANA zones this interpreter can load (the system tz database, or the
    tzdata package): names only, never a directory such as ``America``."""
    return frozenset(zoneinfo.available_timezones())


TimeZoneName = Annotated[
    str,
    Vocabulary(
        "TimeZoneName",
        iana_time_zones,
        message="Not an IANA time zone name (a region and a city, e.g. America/Mexico_City)",
        description="IANA time zone name.",
        example="America/Mexico_City",
    ),
]


# Dates and instants a request may carry: far enough either way for any
# program, near enough that time-zone arithmetic never leaves the calendar
# (an instant of 9999-12-31 at -14:00 is year 10000 in UTC: PostgreSQL stores
# it, and no Python datetime can read it back).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 12, 31, tzinfo=UTC)
Day = Annotated[date, Field(ge=EARLIEST.date(), le=LATEST.date(), description="A date between 2000 and 2100.")]
Instant = Annotated[
    AwareDatetime,
    Field(ge=EARLIEST, le=LATEST, description="A timezone-aware instant between 2000 and 2100."),
]
