"""Tables of single sign-on, on the gateway's metadata.

- ``identity_providers``: one registration of an institution's IdP. It binds
  the issuer (and, when several registrations share an issuer, a tenant
  claim's value) to exactly one institution.
- ``external_identities``: which account a person of a registration signs in
  to, by the IdP's stable subject (``sub``, or e.g. Entra's ``oid``), so later
  exchanges find the account even when her email changes. One subject per
  account per registration: a second IdP user with the same email never takes
  over an account that is already linked.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field
from uuid6 import uuid7

from servicekit.outbox import utcnow

from gateway.models import Base


class IdentityProvider(Base, table=True):
    __tablename__ = "identity_providers"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: str = Field(max_length=64, index=True)
    name: str = Field(max_length=200)
    issuer: str = Field(max_length=512, index=True)
    jwks_url: str = Field(max_length=2048)
    audience: str = Field(max_length=512)
    algorithms: list[str] = Field(default_factory=lambda: ["RS256"], sa_type=JSON)
    subject_claim: str = Field(default="sub", max_length=128)
    email_claim: str = Field(default="email", max_length=128)
    tenant_claim: str | None = Field(default=None, max_length=128)
    tenant_value: str | None = Field(default=None, max_length=256)
    # True: the registration states that the IdP only issues verified emails,
    # so an email_verified claim is not required (one saying false still refuses).
    emails_verified: bool = Field(default=False)
    account_policy: str = Field(default="create", max_length=16)
    default_roles: list[str] = Field(default_factory=lambda: ["applicant"], sa_type=JSON)
    enabled: bool = Field(default=True)
    # A platform admin's approval for signing in to privileged accounts
    # (admin, coordinator, evaluator, any staff role) through this
    # registration; None: only participant accounts. Cleared when a
    # coordinator changes what the registration trusts.
    privileged_approved_at: datetime | None = Field(default=None)
    privileged_approved_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ExternalIdentity(Base, table=True):
    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("provider_id", "subject"), UniqueConstraint("provider_id", "account_id"))

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    provider_id: uuid.UUID = Field(foreign_key="identity_providers.id", ondelete="CASCADE")
    subject: str = Field(max_length=255)
    account_id: uuid.UUID = Field(foreign_key="accounts.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime = Field(default_factory=utcnow)
