"""Field types and model bases shared by every schema module of the service.

Each resource has a family:

- ``<Name>Create``: the POST body. ``extra="forbid"``, every field constrained.
- ``<Name>Update``: the PATCH body. Every field optional, at least one given;
  ``null`` is accepted only where the field itself is nullable.
- ``<Name>Public``: what the API returns, read from the table object.

Field types shared by several families are defined once here; each
sub-domain's shapes live in its own module of this package, and
``services.participants.schemas`` re-exports them all.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from servicekit.inputs import InputModel
from servicekit.types import EARLIEST, LATEST, Day, Instant, TimeZoneName, Vocabulary, iana_time_zones  # noqa: F401 - re-exported

# ---------------------------------------------------------------------------
# Field types
#
# The JSON schema published for each field says exactly what the validator
# accepts (contract tests generate data from it), so vocabularies are published
# as named enums (servicekit.types.Vocabulary; the time zones are servicekit's
# TimeZoneName) and free text carries its pattern.


# ISO 3166-1 alpha-2: the 249 officially assigned codes.
ISO_3166_ALPHA2 = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO
    FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE
    JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO
    MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM
    TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)


# Free text: no control characters, and no whitespace at either end. The same
# pattern validates and is published, so both always agree.
# Lone UTF-16 surrogates (\ud800-\udfff) are refused everywhere: they cannot be
# stored as UTF-8.
_EDGE = "[^\\x00-\\x20\\x7f-\\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\\ud800-\\udfff]"
TEXT_PATTERN = f"^{_EDGE}(?:[^\\x00-\\x1f\\x7f-\\x9f\\ud800-\\udfff]*{_EDGE})?$"
_TEXT = re.compile(TEXT_PATTERN)


def _text(value: str) -> str:
    # fullmatch: ``$`` alone would also accept a trailing newline.
    if not _TEXT.fullmatch(value):
        raise ValueError("Must not start or end with whitespace, nor contain control characters")
    return value


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("Languages must not repeat")
    return values


_TEXT_SCHEMA = {"pattern": TEXT_PATTERN}
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_text),
    Field(json_schema_extra=_TEXT_SCHEMA, examples=["Universidad Autónoma del Estado de Hidalgo"]),
]
City = Annotated[
    str,
    StringConstraints(min_length=1, max_length=120),
    AfterValidator(_text),
    Field(json_schema_extra=_TEXT_SCHEMA, examples=["Pachuca de Soto"]),
]
Slug = Annotated[
    str,
    StringConstraints(min_length=2, max_length=63, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$"),
    Field(description="Lowercase letters, digits and single hyphens; unique across the platform.", examples=["uaeh"]),
]
CountryCode = Annotated[
    str,
    Vocabulary(
        "CountryCode",
        lambda: ISO_3166_ALPHA2,
        message="Not an ISO 3166-1 alpha-2 country code",
        description="ISO 3166-1 alpha-2 country code, uppercase.",
        example="MX",
    ),
]
LanguageCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2}$"),
    Field(description="ISO 639-1 language code, lowercase.", examples=["es"]),
]
Languages = Annotated[
    list[LanguageCode],
    Field(min_length=1, max_length=10),
    AfterValidator(_distinct),
    Field(
        description="Languages programs run in by default, in order of preference.",
        examples=[["es", "en"]],
        json_schema_extra={"uniqueItems": True},
    ),
]


# Multi-line free text (descriptions, bios, answers): like TEXT_PATTERN, but
# line breaks and tabs are allowed inside.
MULTILINE_PATTERN = f"^{_EDGE}(?:[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ud800-\\udfff]*{_EDGE})?$"
_MULTILINE = re.compile(MULTILINE_PATTERN)


def _multiline(value: str) -> str:
    if not _MULTILINE.fullmatch(value):
        raise ValueError("Must not start or end with whitespace, nor contain control characters other than line breaks")
    return value


def short_text(max_length: int, example: str, description: str | None = None) -> Any:
    """One line of free text, at most ``max_length`` characters."""
    return Annotated[
        str,
        StringConstraints(min_length=1, max_length=max_length),
        AfterValidator(_text),
        Field(json_schema_extra=_TEXT_SCHEMA, examples=[example], description=description),
    ]


def long_text(max_length: int, example: str, description: str | None = None) -> Any:
    """Free text that may span several lines, at most ``max_length`` characters."""
    return Annotated[
        str,
        StringConstraints(min_length=1, max_length=max_length),
        AfterValidator(_multiline),
        Field(json_schema_extra={"pattern": MULTILINE_PATTERN}, examples=[example], description=description),
    ]


EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+$"
Email = Annotated[
    str,
    StringConstraints(max_length=254, pattern=EMAIL_PATTERN),
    Field(description="An e-mail address.", examples=["ana.lopez@uaeh.edu.mx"]),
]
LINK_PATTERN = r"^https://[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?(?:/[!#-;=?-~]*)?$"
Link = Annotated[
    str,
    StringConstraints(max_length=500, pattern=LINK_PATTERN),
    Field(description="An https link (printable ASCII, no spaces).", examples=["https://orcid.org/0000-0002-1825-0097"]),
]
ExternalId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$"),
    Field(description="An identifier from another system (LMS, HR, SIS).", examples=["moodle-4711"]),
]


def distinct(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("Values must not repeat")
    return values


# ---------------------------------------------------------------------------
# Bases


class CreateModel(InputModel):
    """Base of POST bodies: unknown fields are refused, every text storable
    (servicekit's one input rule)."""

    model_config = ConfigDict(extra="forbid")


def _patch_schema(schema: dict[str, Any]) -> None:
    # An absent field means "unchanged": no default to document.
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)
    schema["minProperties"] = 1


def update_config(*examples: dict[str, Any]) -> ConfigDict:
    """``model_config`` of an ``UpdateModel`` subclass that documents examples."""

    def extra(schema: dict[str, Any]) -> None:
        _patch_schema(schema)
        schema["examples"] = list(examples)

    return ConfigDict(extra="forbid", json_schema_extra=extra)


class UpdateModel(InputModel):
    """Base of PATCH bodies: partial, unknown fields refused, at least one field,
    every text storable (servicekit's one input rule).

    Non-nullable fields are typed without ``| None`` and default to ``None``
    only to mean "absent": an explicit ``null`` fails validation for them.
    Apply with ``model_dump(exclude_unset=True)``.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_patch_schema)

    @model_validator(mode="after")
    def _at_least_one_field(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("Give at least one field to change")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class PublicModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


