"""Tables of the SCIM endpoints, on the gateway's own metadata (migration
``scim0001``). What SCIM says about an account that the account itself does
not hold lives here; the account (email = userName, status = active, roles)
stays in ``accounts``.

- ``scim_users``: one row per account SCIM has written to (accounts created
  by an admin, a coordinator or sign-up have none until the identity provider
  first changes them): externalId, names, the participant external ids last
  sent to the participants service, the roles that SCIM groups granted
  (so that removing her from a group takes away only what a group gave), and
  ``version``, bumped by every SCIM write (the compare-and-set that keeps two
  concurrent writes from losing one another).
- ``scim_user_emails``: her ``emails`` values, in order.
- ``scim_groups`` and ``scim_group_members``: groups of one institution, the
  Aliada role a group grants (nullable), and its member accounts.

Rows go with the account (``ON DELETE CASCADE``), whoever deletes it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, UniqueConstraint, Uuid
from sqlmodel import Field
from uuid6 import uuid7

from servicekit.outbox import utcnow

from gateway.models import Base


class ScimUserRecord(Base, table=True):
    __tablename__ = "scim_users"

    account_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    )
    external_id: str | None = Field(default=None, max_length=255, index=True)
    display_name: str | None = Field(default=None, max_length=200)
    name_formatted: str | None = Field(default=None, max_length=200)
    given_name: str | None = Field(default=None, max_length=200)
    family_name: str | None = Field(default=None, max_length=200)
    hr_id: str | None = Field(default=None, max_length=100)
    sis_id: str | None = Field(default=None, max_length=100)
    lms_id: str | None = Field(default=None, max_length=100)
    # False when the identity provider left ``active`` unassigned (the
    # account is then active, and ``active`` is not shown).
    active_set: bool = Field(default=True)
    # Her userName when an account outside this institution holds it as its
    # email (e-mails are unique on the whole platform): the account then has
    # a placeholder email and the userName lives here, unique per institution
    # (checked in gateway.scim.users). None: the userName is the account's email.
    user_name: str | None = Field(default=None, max_length=254, index=True)
    granted_roles: list[str] = Field(default_factory=list, sa_type=JSON)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ScimEmailRecord(Base, table=True):
    __tablename__ = "scim_user_emails"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    account_id: uuid.UUID = Field(sa_column=Column(Uuid(), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True))
    position: int
    value: str = Field(max_length=254, index=True)
    type: str | None = Field(default=None, max_length=32)
    primary: bool | None = Field(default=None)


class ScimGroupRecord(Base, table=True):
    __tablename__ = "scim_groups"
    __table_args__ = (UniqueConstraint("institution_id", "display_name"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    institution_id: str = Field(max_length=64, index=True)
    display_name: str = Field(max_length=200)
    external_id: str | None = Field(default=None, max_length=255)
    role: str | None = Field(default=None, max_length=32)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ScimMemberRecord(Base, table=True):
    __tablename__ = "scim_group_members"

    group_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("scim_groups.id", ondelete="CASCADE"), primary_key=True)
    )
    account_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True)
    )
    added_at: datetime = Field(default_factory=utcnow)
