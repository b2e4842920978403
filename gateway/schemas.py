"""Request and response models of the gateway's own endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from servicekit.auth import ROLES
from servicekit.inputs import InputModel

Role = Literal["admin", "coordinator", "mentor", "mentee", "peer_mentor", "evaluator", "applicant"]
assert set(get_args(Role)) == ROLES, "gateway roles must match servicekit.auth.ROLES"

AccountStatus = Literal["active", "suspended"]

Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    Field(description="E-mail address; unique, compared case-insensitively (stored lower-case).", examples=["ana@uni.example"]),
]
Password = Annotated[
    str,
    Field(min_length=12, max_length=256, description="At least 12 characters.", examples=["correct-horse-battery"]),
]
InstitutionId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
    Field(description="Id (a lowercase UUID) of an institution of the participants service.", examples=["0190f1c2-7a51-7d3c-9b1e-3f2a1c0d9e8f"]),
]
Scope = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_.:-]{0,63}$"),
    Field(examples=["participants:write"]),
]


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("values must be unique")
    return values


Roles = Annotated[list[Role], Field(min_length=1, max_length=7, json_schema_extra={"uniqueItems": True}), AfterValidator(_unique)]
Scopes = Annotated[list[Scope], Field(max_length=50, json_schema_extra={"uniqueItems": True}), AfterValidator(_unique)]


# -- accounts -----------------------------------------------------------------


class AccountCreate(InputModel):
    """A new account. Every account except a platform admin belongs to one institution."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "coordinadora@uni.example",
                    "password": "a-long-passphrase-1",
                    "roles": ["coordinator"],
                    "institution_id": "0190f1c2-7a51-7d3c-9b1e-3f2a1c0d9e8f",
                }
            ]
        },
    )

    email: Email
    password: Password
    roles: Roles
    institution_id: InstitutionId | None = None


class SignUp(InputModel):
    """Self-service sign-up of an applicant to an institution's open calls."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"email": "ana@uni.example", "password": "a-long-passphrase-1", "institution_id": "0190f1c2-7a51-7d3c-9b1e-3f2a1c0d9e8f"}
            ]
        },
    )

    email: Email
    password: Password
    institution_id: InstitutionId


class AccountUpdate(InputModel):
    """Fields to change; absent fields are kept. Setting a password, roles, status
    or institution ends the account's current sessions."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "suspended"}, {"roles": ["mentor"]}, {"password": "a-new-passphrase-2"}]},
    )

    roles: Roles | None = None
    status: AccountStatus | None = None
    institution_id: InstitutionId | None = None
    password: Password | None = None


class AccountPublic(BaseModel):
    """An account as admins and coordinators see it (never its password hash)."""

    id: uuid.UUID
    email: str
    roles: list[Role]
    institution_id: str | None
    status: AccountStatus
    created_at: datetime
    updated_at: datetime


# -- API clients ----------------------------------------------------------------


class ClientCreate(InputModel):
    """A new integration client; its secret is shown once, in the answer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Campus LMS",
                    "scopes": ["training:write"],
                    "institution_id": "0190f1c2-7a51-7d3c-9b1e-3f2a1c0d9e8f",
                }
            ]
        },
    )

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    scopes: Scopes = Field(default_factory=list)
    institution_id: InstitutionId | None = None


class ClientUpdate(InputModel):
    """Fields to change; absent fields are kept. Deactivating ends the client's tokens."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"active": False}, {"scopes": ["events:read"]}]})

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    scopes: Scopes | None = None
    institution_id: InstitutionId | None = None
    active: bool | None = None


class ClientPublic(BaseModel):
    id: uuid.UUID
    client_id: str = Field(examples=["cli_Zk3q9Xw1b2aR7tYp"])
    name: str
    scopes: list[str]
    institution_id: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    secret_rotated_at: datetime


class ClientWithSecret(ClientPublic):
    """A client with its secret: the only time the secret is ever shown."""

    client_secret: str | None = Field(
        description="Store it now: it is never shown again. Null on an Idempotency-Key replay (rotate it if lost).",
    )


# -- tokens ---------------------------------------------------------------------


class TokenResponse(BaseModel):
    """RFC 6749 §5.1 access token response (RFC 8693 §2.2.1 for a token exchange)."""

    access_token: str
    issued_token_type: str | None = Field(
        default=None,
        description="Token exchange only: `urn:ietf:params:oauth:token-type:access_token`.",
        examples=["urn:ietf:params:oauth:token-type:access_token"],
    )
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Lifetime of the access token in seconds.", examples=[900])
    refresh_token: str | None = Field(default=None, description="Opaque; single use (rotated on every refresh).")
    scope: str = Field(default="", description="Space-separated scopes granted.")


SIGN_UP_ACCEPTED = (
    "If no account has this email, an applicant account of the institution now exists and she may log in. "
    "The answer is the same whether or not the email already had an account."
)


class SignUpAccepted(BaseModel):
    """The same answer whether or not the email already had an account (so the
    endpoint never tells who has one); nothing is created or changed for an
    email that has one."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["accepted"] = "accepted"
    detail: str = Field(default=SIGN_UP_ACCEPTED)


class Revoked(BaseModel):
    """RFC 7009: the answer is the same whether or not the token was known."""

    model_config = ConfigDict(extra="forbid")


class Me(BaseModel):
    """The caller, as her access token and the gateway's records say."""

    subject: str
    kind: Literal["account", "client"]
    email: str | None = None
    name: str | None = Field(default=None, description="The client's name (clients only).")
    client_id: str | None = None
    roles: list[str]
    institution_id: str | None
    scopes: list[str]
    expires_at: datetime = Field(description="When the presented access token expires.")


# -- keys -----------------------------------------------------------------------


class Jwk(BaseModel):
    kty: Literal["RSA"]
    use: Literal["sig"]
    alg: str = Field(examples=["RS256"])
    kid: str
    n: str
    e: str


class Jwks(BaseModel):
    """The public keys verifying the gateway's access tokens (RFC 7517)."""

    keys: list[Jwk]


class SigningKeyPublic(BaseModel):
    kid: str
    status: Literal["active", "retiring", "retired"]
    created_at: datetime
    retire_after: datetime | None = Field(description="A retiring key leaves the JWKS after this instant.")


class SigningKeys(BaseModel):
    active_kid: str
    keys: list[SigningKeyPublic]


# -- data-subject requests ------------------------------------------------------


class DataSubjectRequestCreate(InputModel):
    """What to do, and for whom (her account; yours when absent)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "export"}, {"kind": "erasure", "account_id": "0190f1c2-7a51-7d3c-9b1e-3f2a1c0d9e8f"}]},
    )

    kind: Literal["export", "erasure"]
    account_id: uuid.UUID | None = Field(default=None, description="Her account id; the caller's own when absent.")


class StepPublic(BaseModel):
    service: str = Field(examples=["participants"], description="gateway, participants, matching, sessions or evaluation.")
    status: Literal["pending", "done", "failed"]
    attempts: int
    last_error: str | None = Field(description="The class of the last error (e.g. `http_503`, `ConnectError`), never its text.")
    rows: dict[str, int] = Field(description="Table -> rows exported, or erased/pseudonymised.")
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When a failed erasure step is retried; null once done.")


class DataSubjectRequestPublic(BaseModel):
    """The completion record of a request: one step per service."""

    id: uuid.UUID
    kind: Literal["export", "erasure"]
    institution_id: str
    account_id: str | None = Field(description="Her account id; null once an erasure has finished.")
    status: Literal["pending", "done", "failed", "incomplete"] = Field(
        description="done: every step done. failed/pending: an erasure with steps still to retry. "
        "incomplete: an export some service could not answer (ask again)."
    )
    requested_by_role: str = Field(examples=["data_subject"], description="data_subject, coordinator or admin.")
    requested_by: str | None = Field(description="The coordinator's or admin's account id; null when she asked herself.")
    created_at: datetime
    finished_at: datetime | None
    steps: list[StepPublic]


class DataSubjectRequestResult(DataSubjectRequestPublic):
    bundle: dict[str, dict[str, list[dict[str, Any]]]] | None = Field(
        description="Export only: service -> table -> her rows (never stored). Null for an erasure."
    )
