"""Tables of the gateway, on its own metadata.

- ``accounts``: people (email unique, stored lower-case; argon2id hash).
- ``api_clients``: integration clients (sha256 of a 256-bit random secret).
- ``token_families``: one per login session (and one per client generation);
  its id is the ``sid`` claim. Revoking a family is what the edge denylist
  reads; rows are kept after the account is deleted so the revocation holds.
- ``refresh_tokens``: sha256 of each opaque refresh token, in its family.
- ``signing_keys``: the RS256 keys (private PEM, Fernet-encrypted at rest when
  ``GATEWAY_KEY_ENCRYPTION_KEY`` is set).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Text
from sqlmodel import Field, SQLModel
from uuid6 import uuid7

from servicekit.db import new_registry
from servicekit.idempotency import IdempotencyRecordBase
from servicekit.outbox import utcnow


class Base(SQLModel, registry=new_registry()):
    pass


class Account(Base, table=True):
    __tablename__ = "accounts"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str = Field(max_length=255)
    roles: list[str] = Field(default_factory=list, sa_type=JSON)
    # Denormalised from roles so "is there an admin" is one indexed query.
    is_admin: bool = Field(default=False, index=True)
    institution_id: str | None = Field(default=None, max_length=64, index=True)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ApiClient(Base, table=True):
    __tablename__ = "api_clients"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    client_id: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    institution_id: str | None = Field(default=None, max_length=64, index=True)
    active: bool = Field(default=True)
    # The token family its access tokens carry as ``sid``.
    family_id: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    secret_rotated_at: datetime = Field(default_factory=utcnow)


class TokenFamily(Base, table=True):
    __tablename__ = "token_families"

    id: str = Field(primary_key=True, max_length=32)
    account_id: uuid.UUID | None = Field(default=None, foreign_key="accounts.id", ondelete="SET NULL", index=True)
    client_id: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = Field(default=None, index=True)
    revoked_reason: str | None = Field(default=None, max_length=32)


class RefreshToken(Base, table=True):
    __tablename__ = "refresh_tokens"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    family_id: str = Field(foreign_key="token_families.id", ondelete="CASCADE", index=True, max_length=32)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class SigningKeyRecord(Base, table=True):
    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, max_length=64)
    private_key: str = Field(sa_type=Text)
    encrypted: bool = Field(default=False)
    status: str = Field(max_length=16, index=True)
    # True on the one active key, NULL otherwise: the unique constraint makes
    # two concurrent "create the first key" or "rotate" transactions collide.
    active_marker: bool | None = Field(default=None, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    retire_after: datetime | None = None


class IdempotencyRecord(IdempotencyRecordBase, Base, table=True):
    pass


class DataSubjectRequest(Base, table=True):
    """An export or erasure of one person's data across every service
    (gateway.subject_requests). It names her by her account id only while
    steps are pending: a finished erasure clears ``account_id`` and
    ``participant_ids``. Never any personal text."""

    __tablename__ = "data_subject_requests"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    kind: str = Field(max_length=16)
    institution_id: str = Field(max_length=64, index=True)
    account_id: str | None = Field(default=None, max_length=100, index=True)
    # Her participant ids in the institution; NULL until resolved.
    participant_ids: list[str] | None = Field(default=None, sa_type=JSON)
    requested_by_role: str = Field(max_length=20)
    requested_by: str | None = Field(default=None, max_length=100)
    status: str = Field(default="pending", max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class DataSubjectRequestStep(Base, table=True):
    """One service's part of a request: its outcome, attempts and times.
    ``next_attempt_at`` is also the lease: a runner claims a step by moving it
    forward, so two replicas never run one step at once."""

    __tablename__ = "data_subject_request_steps"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    request_id: uuid.UUID = Field(foreign_key="data_subject_requests.id", ondelete="CASCADE", index=True)
    position: int
    service: str = Field(max_length=32)
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=64)
    rows: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
