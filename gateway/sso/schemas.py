"""Request and response models of the identity-provider registrations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from servicekit.inputs import InputModel

from gateway.schemas import InstitutionId

Algorithm = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
AccountPolicy = Literal["create", "link_by_email"]
# Roles a created account may get: never admin, coordinator or evaluator.
SsoRole = Literal["applicant", "mentee", "mentor"]

# Claims that identify the token, not the person: never a subject.
NOT_A_SUBJECT = frozenset({"iss", "aud", "exp", "iat", "nbf", "jti", "nonce", "azp", "auth_time", "at_hash", "c_hash"})


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("values must be unique")
    return values


def _subject_claim(value: str) -> str:
    if value in NOT_A_SUBJECT:
        raise ValueError(f"{value!r} identifies the token, not the person")
    return value


ClaimName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[^\s\x00-\x1f\x7f]+$"),
    Field(description="A top-level claim of the IdP's token.", examples=["email"]),
]
Algorithms = Annotated[
    list[Algorithm],
    Field(min_length=1, max_length=9, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique),
]
DefaultRoles = Annotated[
    list[SsoRole],
    Field(min_length=1, max_length=3, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
Issuer = Annotated[
    str,
    StringConstraints(min_length=1, max_length=512),
    Field(description="The exact `iss` of the IdP's tokens (an https URL).", examples=["https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"]),
]
Audience = Annotated[
    str,
    StringConstraints(min_length=1, max_length=512),
    Field(description="The `aud` the IdP's tokens must carry (for ID tokens: our client id at the IdP).", examples=["3f1c0e2a-8d5b-4c1e-9a7f-2b6d4e8c0a11"]),
]


class TenantClaim(InputModel):
    """A claim every accepted token must carry with exactly this value (e.g.
    Entra's ``tid``, Google's ``hd``). Required when an issuer is shared."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"claim": "tid", "value": "9188040d-6c67-4c5b-b112-36a304b66dad"}]})

    claim: ClaimName
    value: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class ClaimMapping(InputModel):
    """How the IdP's claims map to an account."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"subject": "oid", "email": "email", "tenant": {"claim": "tid", "value": "9188040d-6c67-4c5b-b112-36a304b66dad"}}]})

    subject: Annotated[ClaimName, AfterValidator(_subject_claim)] = Field(
        default="sub", description="The person's stable id at the IdP (`sub`; for Entra `oid` with a `tid` tenant claim)."
    )
    email: ClaimName = Field(default="email", description="The claim holding her email.")
    tenant: TenantClaim | None = Field(default=None, description="Optional: a claim and the value it must have.")


EMAILS_VERIFIED = (
    "false (default): an email is used, to create or to link an account, only when the token says "
    "`email_verified: true`. true: this registration states that the IdP only issues verified emails "
    "(e.g. the institution's own Entra tenant), so the claim is not required; a token saying "
    "`email_verified: false` is still refused."
)
ACCOUNT_POLICY = (
    "What a person's first exchange does. `create`: a new account of the institution with "
    "`default_roles` (refused if her email already has an account). `link_by_email`: the existing "
    "account of the institution with her email (refused if there is none). Later exchanges find "
    "the account by the IdP subject, whatever her email is then."
)

PRIVILEGED_APPROVAL = (
    "When a platform admin approved signing in to privileged accounts (admin, coordinator, evaluator or any "
    "other staff role) through this registration; null: only participant accounts (applicant, mentee, mentor, "
    "peer mentor) may be linked and signed in to. A registration an admin creates is approved by her; one a "
    "coordinator creates is not, and a coordinator's change of what it trusts (issuer, keys, audience, "
    "algorithms, claim mapping, emails_verified, account policy) withdraws the approval."
)


class IdentityProviderCreate(InputModel):
    """A new registration of an institution's OpenID Connect identity provider."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "institution_id": "0190f1c2-7a51-7d3c-9b1e-3f2a1c0d9e8f",
                    "name": "Universidad (Entra ID)",
                    "issuer": "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
                    "jwks_url": "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/discovery/v2.0/keys",
                    "audience": "3f1c0e2a-8d5b-4c1e-9a7f-2b6d4e8c0a11",
                    "algorithms": ["RS256"],
                    "claim_mapping": {"subject": "oid", "email": "email", "tenant": {"claim": "tid", "value": "9188040d-6c67-4c5b-b112-36a304b66dad"}},
                    "emails_verified": True,
                    "account_policy": "link_by_email",
                    "default_roles": ["applicant"],
                    "enabled": True,
                }
            ]
        },
    )

    institution_id: InstitutionId | None = Field(default=None, description="Required for admins; a coordinator's own by default.")
    name: Name
    issuer: Issuer
    jwks_url: Url = Field(description="Where the IdP publishes its public keys (https).")
    audience: Audience
    algorithms: Algorithms = Field(default_factory=lambda: ["RS256"], description="Asymmetric algorithms the IdP signs with.")
    claim_mapping: ClaimMapping = Field(default_factory=ClaimMapping)
    emails_verified: bool = Field(default=False, description=EMAILS_VERIFIED)
    account_policy: AccountPolicy = Field(default="create", description=ACCOUNT_POLICY)
    default_roles: DefaultRoles = Field(default_factory=lambda: ["applicant"], description="Roles of accounts created by an exchange.")
    enabled: bool = True


class IdentityProviderUpdate(InputModel):
    """Fields to change; absent fields are kept. The institution never changes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"enabled": False}, {"jwks_url": "https://idp.uni.example/keys"}, {"account_policy": "create"}]},
    )

    name: Name | None = None
    issuer: Issuer | None = None
    jwks_url: Url | None = None
    audience: Audience | None = None
    algorithms: Algorithms | None = None
    claim_mapping: ClaimMapping | None = None
    emails_verified: bool | None = Field(default=None, description=EMAILS_VERIFIED)
    account_policy: AccountPolicy | None = Field(default=None, description=ACCOUNT_POLICY)
    default_roles: DefaultRoles | None = None
    enabled: bool | None = None


class IdentityProviderPublic(BaseModel):
    """A registration as admins and the institution's coordinators see it."""

    id: uuid.UUID
    institution_id: str
    name: str
    issuer: str
    jwks_url: str
    audience: str
    algorithms: list[Algorithm]
    claim_mapping: ClaimMapping
    emails_verified: bool = Field(description=EMAILS_VERIFIED)
    account_policy: AccountPolicy = Field(description=ACCOUNT_POLICY)
    default_roles: list[SsoRole]
    enabled: bool
    privileged_approved_at: datetime | None = Field(
        description=PRIVILEGED_APPROVAL,
    )
    created_at: datetime
    updated_at: datetime
