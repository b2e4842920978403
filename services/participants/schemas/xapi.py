"""The subset of xAPI statements the service accepts, its LMS settings, and the
plain completion webhook.

Statement properties follow xAPI 1.0.3 / IEEE 9274.1.1 (xAPI 2.0) names
(``homePage``, ``objectType``...). Every property the standard defines for a
statement is accepted; only those named in ``xapi`` are read, the others are
ignored. Properties the standard does not define are refused.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag

from servicekit.inputs import InputModel

from services.participants.schemas.common import CreateModel, ExternalId, Instant, PublicModel
from services.participants.enums import TrainingVerb, XapiActorId
from services.participants.schemas.training import ActivityIri, parsable_iri

ADL_VERBS = "http://adlnet.gov/expapi/verbs/"
VERB_IRIS = {f"{ADL_VERBS}{verb.value}": verb for verb in TrainingVerb}
MAX_STATEMENTS = 500
# An RFC 5646 language tag, as the keys of a language map.
LanguageTag = Annotated[str, StringConstraints(min_length=1, max_length=35)]

HomePage = Annotated[
    str,
    Field(
        min_length=8,
        max_length=500,
        pattern=r"^https?://[!#-~]+$",
        description="The LMS's home page (xAPI `account.homePage`): an http(s) URL, compared without a trailing slash.",
        examples=["https://moodle.uaeh.edu.mx"],
    ),
    AfterValidator(parsable_iri),  # after the pattern, which stays in the published schema
]


class _Xapi(InputModel):
    """xAPI's own property names; unknown properties refused, every text
    storable (servicekit's input rule)."""

    model_config = ConfigDict(extra="forbid")


class XapiAccount(_Xapi):
    homePage: HomePage  # noqa: N815 (xAPI's name)
    name: ExternalId = Field(description="Her external id in the LMS: her lms_id or sis_id (the institution's xAPI settings say which).")


class XapiActor(_Xapi):
    """An Agent identified by ``account`` (mbox, mbox_sha1sum and openid are not accepted)."""

    objectType: Literal["Agent"] | None = None  # noqa: N815
    name: str | None = Field(default=None, max_length=200, description="Display name; not read.")
    account: XapiAccount


class XapiVerb(_Xapi):
    id: Literal[
        "http://adlnet.gov/expapi/verbs/completed",
        "http://adlnet.gov/expapi/verbs/passed",
        "http://adlnet.gov/expapi/verbs/attended",
    ] = Field(description="One of the ADL verbs completed, passed, attended.")
    display: dict[LanguageTag, Annotated[str, StringConstraints(max_length=200)]] | None = Field(default=None, max_length=50)


class XapiActivity(_Xapi):
    objectType: Literal["Activity"] | None = None  # noqa: N815
    id: ActivityIri
    definition: dict[str, Any] | None = None


class XapiResult(_Xapi):
    score: dict[str, Any] | None = None
    success: bool | None = None
    completion: bool | None = None
    response: str | None = Field(default=None, max_length=4000, description="Not read.")
    duration: str | None = Field(default=None, max_length=64, description="An ISO 8601 duration; not read.")
    extensions: dict[str, Any] | None = None


class Statement(_Xapi):
    """One xAPI statement: ``id`` (required here, for idempotency), an account
    actor, one of three verbs, an activity, and optionally ``result`` and
    ``timestamp`` (when it happened; default: when it is stored)."""

    id: uuid.UUID = Field(description="The statement id; a repeat of a stored statement changes nothing.")
    actor: XapiActor
    verb: XapiVerb
    object: XapiActivity
    result: XapiResult | None = None
    context: dict[str, Any] | None = None
    timestamp: Instant | None = None
    stored: Instant | None = Field(default=None, description="Set by an LRS; not read.")
    authority: dict[str, Any] | None = Field(default=None, description="Not read: the caller's token is the authority.")
    version: str | None = Field(default=None, max_length=20)
    attachments: list[dict[str, Any]] | None = Field(default=None, max_length=0, description="Not supported: must be absent or empty.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "6f0c2a6e-0a52-4d77-9d0e-6b8b8f0b1c11",
                    "actor": {"objectType": "Agent", "account": {"homePage": "https://moodle.uaeh.edu.mx", "name": "moodle-4711"}},
                    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
                    "object": {"objectType": "Activity", "id": "https://moodle.uaeh.edu.mx/mod/scorm/view.php?id=42"},
                    "timestamp": "2026-04-20T17:30:00Z",
                }
            ]
        },
    )


def _one_or_many(value: Any) -> str:
    return "statements" if isinstance(value, list) else "statement"


Statements = Annotated[list[Statement], Field(min_length=1, max_length=MAX_STATEMENTS)]
StatementsBody = Annotated[
    Annotated[Statement, Tag("statement")] | Annotated[Statements, Tag("statements")],
    Discriminator(_one_or_many),
]
UNION_TAGS = ("statement", "statements")


class XapiSettingsPut(CreateModel):
    """How the institution's LMS names people: the ``homePage`` its statements'
    actors carry, and which external id their ``account.name`` is."""

    home_page: HomePage
    actor_id: XapiActorId = Field(default=XapiActorId.lms_id, description="lms_id (default) or sis_id.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"home_page": "https://moodle.uaeh.edu.mx", "actor_id": "lms_id"}]},
    )


class XapiSettingsPublic(PublicModel):
    institution_id: uuid.UUID
    home_page: str
    actor_id: XapiActorId
    updated_by: str
    updated_at: datetime


class CompletionWebhook(CreateModel):
    """A plain completion from an LMS that does not speak xAPI."""

    external_id: ExternalId = Field(description="Her lms_id (or sis_id, as the institution's xAPI settings say).")
    module: ActivityIri = Field(description="The module's `lms_activity_id`.")
    completed_at: Instant
    verb: TrainingVerb = TrainingVerb.completed
    institution_id: uuid.UUID | None = Field(
        default=None, description="Only for callers not bound to one institution (admins, platform clients)."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "external_id": "moodle-4711",
                    "module": "https://moodle.uaeh.edu.mx/mod/scorm/view.php?id=42",
                    "completed_at": "2026-04-20T17:30:00Z",
                    "verb": "completed",
                }
            ]
        },
    )


class XapiAbout(BaseModel):
    version: list[str] = Field(examples=[["1.0.3", "2.0.0"]])
