"""The SCIM resources Aliada serves, as scim2-models classes.

The discovery endpoints publish exactly what these classes declare (their
``to_schema()``), and every request and response goes through them, so what
``/Schemas`` says is what the endpoints read and write:

- ``User`` (core schema ``urn:ietf:params:scim:schemas:core:2.0:User``) with
  the attributes Aliada keeps: ``userName`` (her sign-in name: the account's
  email, unique over the whole platform, compared without case), ``name``
  (``formatted``, ``givenName``, ``familyName``), ``displayName``,
  ``active``, ``emails`` (``value``, ``type``, ``primary``), the read-only
  ``groups``, and ``externalId``. The extension ``AliadaUser``
  (``urn:aliada:params:scim:schemas:extension:aliada:2.0:User``) carries the
  ids of her participant profile in the institution's other systems
  (``hrId``, ``sisId``, ``lmsId``) and, read-only, her Aliada ``roles``.
- ``Group`` (core ``Group``): ``displayName`` (unique in the institution),
  ``members`` (users of the institution only: ``value``, ``$ref``,
  ``type`` = ``User``) and ``externalId``; the extension ``AliadaGroup``
  (``urn:aliada:params:scim:schemas:extension:aliada:2.0:Group``) has
  ``role``: the Aliada role its members hold while they are members.

No ``password`` attribute: accounts created through SCIM have no password and
sign in through single sign-on (token exchange) or a later password reset.
Attributes not listed here are refused (``invalidSyntax``), as the SCIM
interoperability profile asks, rather than silently dropped.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Extension,
    Filter,
    Meta,
    Mutability,
    Pagination,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    Schema,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
    URN,
)

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ALIADA_USER_SCHEMA = "urn:aliada:params:scim:schemas:extension:aliada:2.0:User"
ALIADA_GROUP_SCHEMA = "urn:aliada:params:scim:schemas:extension:aliada:2.0:Group"

# The Aliada roles a SCIM group may grant: every role but admin, which SCIM
# never grants (the platform's admins are people of no institution).
GRANTABLE_ROLES = ("applicant", "coordinator", "evaluator", "mentee", "mentor", "peer_mentor")

MAX_RESULTS = 200
DEFAULT_COUNT = 100


class Name(ComplexAttribute):
    formatted: str | None = Field(None, description="Her full name, formatted for display.")
    family_name: str | None = Field(None, description="Her family name(s).")
    given_name: str | None = Field(None, description="Her given name(s).")


class Email(ComplexAttribute):
    value: str | None = Field(None, description="An email address.")
    type: str | None = Field(None, description="What the address is for.", examples=["work", "home", "other"])
    primary: bool | None = Field(None, description="Her preferred address (at most one).")


class GroupMembership(ComplexAttribute):
    value: Annotated[str | None, Mutability.read_only, CaseExact.true] = Field(None, description="The group's id.")
    ref: Annotated[Reference["Group"] | None, Mutability.read_only] = Field(  # type: ignore[type-arg]  # noqa: UP037 (a SCIM resource type name)
        None, serialization_alias="$ref", validation_alias="$ref", description="The group's URI."
    )
    display: Annotated[str | None, Mutability.read_only] = Field(None, description="The group's displayName.")


class AliadaUser(Extension):
    """Aliada: the ids of her participant profile in the institution's systems, and her roles."""

    __schema__ = URN(ALIADA_USER_SCHEMA)

    hr_id: Annotated[str | None, CaseExact.true] = Field(None, description="Her id in the institution's HR system.")
    sis_id: Annotated[str | None, CaseExact.true] = Field(
        None, description="Her id in the institution's student information system."
    )
    lms_id: Annotated[str | None, CaseExact.true] = Field(None, description="Her id in the institution's LMS.")
    roles: Annotated[list[str] | None, Mutability.read_only, CaseExact.true] = Field(
        None, description="Her Aliada roles (granted by the groups she is in, or by a coordinator)."
    )


class User(Resource[Any]):
    """An Aliada account of the institution and her participant profile."""

    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = Field(
        None, description="Her sign-in name, the account's email; unique on the platform, compared without case."
    )
    name: Name | None = Field(None, description="The components of her name.")
    Name: ClassVar[type[ComplexAttribute]] = Name
    display_name: str | None = Field(None, description="Her name as shown to others (her profile's display name).")
    active: bool | None = Field(None, description="false suspends the account: her sessions end and she cannot sign in.")
    emails: list[Email] | None = Field(None, description="Her email addresses.")
    Emails: ClassVar[type[ComplexAttribute]] = Email
    groups: Annotated[list[GroupMembership] | None, Mutability.read_only] = Field(
        None, description="The groups she is a member of."
    )
    Groups: ClassVar[type[ComplexAttribute]] = GroupMembership


class GroupMember(ComplexAttribute):
    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = Field(None, description="The member's user id.")
    ref: Annotated[Reference["User"] | None, Mutability.immutable] = Field(  # type: ignore[type-arg]  # noqa: UP037 (a SCIM resource type name)
        None, serialization_alias="$ref", validation_alias="$ref", description="The member's URI."
    )
    type: Annotated[str | None, Mutability.immutable] = Field(None, description="Always User.", examples=["User"])


class AliadaGroup(Extension):
    """Aliada: the role a group grants its members."""

    __schema__ = URN(ALIADA_GROUP_SCHEMA)

    role: str | None = Field(
        None,
        description="The Aliada role its members hold while they are members (never admin).",
        examples=list(GRANTABLE_ROLES),
    )


class Group(Resource[Any]):
    """A group of the institution's users; it may grant them an Aliada role."""

    __schema__ = URN(GROUP_SCHEMA)

    display_name: Annotated[str | None, Required.true, Uniqueness.server] = Field(
        None, description="The group's name, unique in the institution."
    )
    members: list[GroupMember] | None = Field(None, description="Its members (users only).")
    Members: ClassVar[type[ComplexAttribute]] = GroupMember


ScimUser = User[AliadaUser]
ScimGroup = Group[AliadaGroup]

USER_TYPE = ResourceType.from_resource(ScimUser)
USER_TYPE.description = "Accounts of the institution (Aliada accounts and their participant profiles)"
GROUP_TYPE = ResourceType.from_resource(ScimGroup)
GROUP_TYPE.description = "Groups of the institution's users; a group may grant an Aliada role"

# Lenient only where a widely used client departs from the RFC in a way that
# cannot be mistaken for anything else (Microsoft Entra's PATCH habits).
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.forbid,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

PROVIDER = ScimProvider(models=[User, AliadaUser, Group, AliadaGroup], resource_types=[USER_TYPE, GROUP_TYPE], policy=POLICY)


def service_provider_config(base_url: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        pagination=Pagination(cursor=False, index=True, default_page_size=DEFAULT_COUNT, max_page_size=MAX_RESULTS),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description="An access token of an integration client of the institution with scope scim "
                "(client_credentials grant at /v1/auth/token).",
                spec_uri="https://www.rfc-editor.org/rfc/rfc6750",
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base_url}/ServiceProviderConfig"),
    )


def resource_types(base_url: str) -> list[ResourceType]:
    out = []
    for resource_type in PROVIDER.resource_types:
        copy = resource_type.model_copy(deep=True)
        copy.meta = Meta(resource_type="ResourceType", location=f"{base_url}/ResourceTypes/{copy.id}")
        out.append(copy)
    return out


def schemas(base_url: str) -> list[Schema]:
    out = []
    for published in PROVIDER.schemas:
        schema = published.model_copy(deep=True)
        schema.meta = Meta(resource_type="Schema", location=f"{base_url}/Schemas/{schema.id}")
        out.append(schema)
    return out
