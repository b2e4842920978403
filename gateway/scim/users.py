"""SCIM Users: the gateway's accounts of one institution (domain logic on a
session; never commits, the caller's unit of work does).

Mapping (see ``gateway.scim.resources`` for the schema):

- ``id`` = the account id; ``userName`` = ``accounts.email`` (stored
  lower-case), unique per institution. E-mails are unique on the whole
  platform, so when an account outside the caller's institution holds the
  name, the account gets a placeholder email (``PLACEHOLDER_DOMAIN``) and the
  name is kept in ``scim_users.user_name``: the answer is then the same as for
  a free name, and never reveals that another institution holds it (the
  account cannot sign in with that e-mail: password or linking by e-mail); ``active`` = status ``active``
  (``false`` = ``suspended``: her sessions are revoked, as an admin's
  suspension does, and the password and refresh grants refuse her);
- names, ``externalId``, ``emails`` and the participant external ids are kept
  in ``scim_users``/``scim_user_emails``; the display name and external ids
  are also sent to the participants service (her participant profile);
- ``groups`` and the extension's ``roles`` are read-only: SCIM groups grant
  roles (``gateway.scim.groups``).

Visible: the accounts of the caller's institution, platform admins never.
Every other account is a 404, as if it did not exist.

A user created through SCIM has no password: her ``password_hash`` is the
argon2 hash of a random secret nobody knows (made once per process), so the
password grant refuses her after the same work as any wrong password.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scim2_models import (
    InvalidValueException,
    Meta,
    NotFoundException,
    SearchRequest,
    UniquenessException,
)
from sqlalchemy import case, false, func, null, true, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from servicekit.outbox import utcnow

from gateway.models import Account
from gateway.scim.common import Stale, text, version_tag
from gateway.scim.filters import AttributeMap, Column, Multi, SqlFilter, sort_expression
from gateway.scim.models import ScimEmailRecord, ScimGroupRecord, ScimMemberRecord, ScimUserRecord
from gateway.scim.resources import (
    ALIADA_USER_SCHEMA,
    DEFAULT_COUNT,
    MAX_RESULTS,
    USER_SCHEMA,
    AliadaUser,
    Email,
    GroupMembership,
    Name,
    ScimUser,
)
from gateway.service import delete_account, revoke_account_sessions

MAX_EMAILS = 20
_USER_NAME = re.compile(r"^[^\s\x00-\x1f\x7f]{1,254}$")
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,99}$")


# The domain of placeholder emails (RFC 2606 ``.invalid``: never delivered).
PLACEHOLDER_DOMAIN = "scim.invalid"
# What ``userName`` shows: her own name when it lives in scim_users, else the email.
USER_NAME = func.coalesce(ScimUserRecord.user_name, Account.email)


def placeholder_email(account_id: uuid.UUID) -> str:
    return f"user-{account_id.hex}@{PLACEHOLDER_DOMAIN}"


# -- where each attribute lives -------------------------------------------------

# What ``active`` shows: false when suspended; unassigned when the identity
# provider left it so (the account is then active); true otherwise.
ACTIVE = case(
    (Account.status != "active", false()),
    (col(ScimUserRecord.active_set).is_(False), null()),
    else_=true(),
)

USER_ATTRIBUTES = AttributeMap(
    scalars={
        (USER_SCHEMA, "id", None): Column(Account.id, kind="uuid", case_exact=True, nullable=False),
        (USER_SCHEMA, "external_id", None): Column(ScimUserRecord.external_id, case_exact=True),
        (USER_SCHEMA, "user_name", None): Column(USER_NAME, nullable=False),
        (USER_SCHEMA, "display_name", None): Column(ScimUserRecord.display_name),
        (USER_SCHEMA, "name", "formatted"): Column(ScimUserRecord.name_formatted),
        (USER_SCHEMA, "name", "given_name"): Column(ScimUserRecord.given_name),
        (USER_SCHEMA, "name", "family_name"): Column(ScimUserRecord.family_name),
        (USER_SCHEMA, "active", None): Column(ACTIVE, kind="bool", sortable=False),
        (USER_SCHEMA, "meta", "created"): Column(Account.created_at, kind="datetime", nullable=False),
        (USER_SCHEMA, "meta", "last_modified"): Column(Account.updated_at, kind="datetime", nullable=False),
        (ALIADA_USER_SCHEMA, "hr_id", None): Column(ScimUserRecord.hr_id, case_exact=True),
        (ALIADA_USER_SCHEMA, "sis_id", None): Column(ScimUserRecord.sis_id, case_exact=True),
        (ALIADA_USER_SCHEMA, "lms_id", None): Column(ScimUserRecord.lms_id, case_exact=True),
    },
    multis={
        (USER_SCHEMA, "emails"): Multi(
            table=ScimEmailRecord,
            link=lambda: ScimEmailRecord.account_id == Account.id,
            columns={
                "value": Column(ScimEmailRecord.value),
                "type": Column(ScimEmailRecord.type),
                "primary": Column(ScimEmailRecord.primary, kind="bool"),
            },
            order=(ScimEmailRecord.position,),
        ),
        (USER_SCHEMA, "groups"): Multi(
            table=ScimMemberRecord,
            link=lambda: ScimMemberRecord.account_id == Account.id,
            columns={"value": Column(ScimMemberRecord.group_id, kind="uuid", case_exact=True, sortable=False)},
        ),
    },
)


# -- reading --------------------------------------------------------------------


@dataclass
class UserRow:
    account: Account
    record: ScimUserRecord | None
    emails: list[ScimEmailRecord] = field(default_factory=list)
    groups: list[tuple[uuid.UUID, str]] = field(default_factory=list)

    @property
    def version(self) -> int:
        return self.record.version if self.record is not None else 0

    def tag(self) -> str:
        r = self.record
        a = self.account
        return version_tag(
            [
                a.email, shown_user_name(self), a.status, sorted(a.roles), r and [r.active_set, r.external_id, r.display_name, r.name_formatted, r.given_name,
                r.family_name, r.hr_id, r.sis_id, r.lms_id],
                [[e.value, e.type, e.primary] for e in self.emails],
                sorted([str(g), n] for g, n in self.groups),
            ]
        )  # fmt: skip


def _base_query(institution_id: str) -> Any:
    return (
        select(Account, ScimUserRecord)
        .outerjoin(ScimUserRecord, col(ScimUserRecord.account_id) == col(Account.id))
        .where(Account.institution_id == institution_id, col(Account.is_admin).is_(False))
    )


def _complete(session: Session, institution_id: str, pairs: list[tuple[Account, ScimUserRecord | None]]) -> list[UserRow]:
    rows = [UserRow(account, record) for account, record in pairs]
    if not rows:
        return rows
    by_id = {row.account.id: row for row in rows}
    ids = list(by_id)
    emails = session.exec(
        select(ScimEmailRecord).where(col(ScimEmailRecord.account_id).in_(ids)).order_by(ScimEmailRecord.position)
    ).all()
    for email in emails:
        by_id[email.account_id].emails.append(email)
    memberships = session.exec(
        select(ScimMemberRecord.account_id, ScimGroupRecord.id, ScimGroupRecord.display_name)
        .join(ScimGroupRecord, col(ScimGroupRecord.id) == col(ScimMemberRecord.group_id))
        .where(col(ScimMemberRecord.account_id).in_(ids), ScimGroupRecord.institution_id == institution_id)
        .order_by(ScimGroupRecord.id)
    ).all()
    for account_id, group_id, name in memberships:
        by_id[account_id].groups.append((group_id, name))
    return rows


def parse_id(user_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(user_id)
    except ValueError:
        return None


def get_user(session: Session, institution_id: str, user_id: str | uuid.UUID) -> UserRow:
    account_id = user_id if isinstance(user_id, uuid.UUID) else parse_id(user_id)
    pair = None
    if account_id is not None:
        pair = session.exec(_base_query(institution_id).where(Account.id == account_id)).first()
    if pair is None:
        raise NotFoundException(detail=f"User {user_id} not found")
    return _complete(session, institution_id, [tuple(pair)])[0]


def search_users(session: Session, institution_id: str, search: SearchRequest[Any]) -> tuple[int, list[UserRow]]:
    stmt = _base_query(institution_id)
    if search.filter is not None:
        stmt = stmt.where(SqlFilter(search.filter, USER_ATTRIBUTES).condition())
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    count = min(search.count if search.count is not None else DEFAULT_COUNT, MAX_RESULTS)
    if count == 0:
        return total, []
    order: list[Any] = []
    if search.sort_by is not None:
        key = sort_expression(search.sort_binding(ScimUser), USER_ATTRIBUTES, str(search.sort_by))
        descending = search.sort_order == SearchRequest.SortOrder.descending
        order.append(key.desc().nulls_first() if descending else key.asc().nulls_last())
    order.append(Account.id)
    start = (search.start_index or 1) - 1
    pairs = session.exec(stmt.order_by(*order).offset(start).limit(count)).all()
    return total, _complete(session, institution_id, [tuple(p) for p in pairs])


# -- representation ---------------------------------------------------------------


def shown_user_name(row: UserRow) -> str:
    record = row.record
    return record.user_name if record is not None and record.user_name else row.account.email


def shown_active(row: UserRow) -> bool | None:
    if row.account.status != "active":
        return False
    return None if row.record is not None and not row.record.active_set else True


def to_resource(row: UserRow, base: str) -> ScimUser:
    account, record = row.account, row.record
    name = None
    if record is not None and (record.name_formatted or record.given_name or record.family_name):
        name = Name(formatted=record.name_formatted, given_name=record.given_name, family_name=record.family_name)
    extension = None
    roles = sorted(account.roles)
    ids = (record.hr_id, record.sis_id, record.lms_id) if record is not None else (None, None, None)
    if any(ids) or roles:
        extension = AliadaUser(hr_id=ids[0], sis_id=ids[1], lms_id=ids[2], roles=roles or None)
    user = ScimUser(
        id=str(account.id),
        external_id=record.external_id if record is not None else None,
        user_name=shown_user_name(row),
        name=name,
        display_name=record.display_name if record is not None else None,
        active=shown_active(row),
        emails=[Email(value=e.value, type=e.type, primary=e.primary) for e in row.emails] or None,
        groups=[GroupMembership(value=str(g), ref=f"{base}/Groups/{g}", display=n) for g, n in row.groups] or None,
        meta=Meta(
            resource_type="User",
            created=account.created_at,
            last_modified=account.updated_at,
            location=f"{base}/Users/{account.id}",
            version=row.tag(),
        ),
    )
    user.AliadaUser = extension  # type: ignore[attr-defined]
    return user


# -- writing -----------------------------------------------------------------------


@dataclass(frozen=True)
class UserData:
    """A user as SCIM wants it stored, checked and normalised."""

    user_name: str
    active: bool | None  # None: unassigned (the account is active)
    external_id: str | None
    display_name: str | None
    name_formatted: str | None
    given_name: str | None
    family_name: str | None
    emails: tuple[tuple[str, str | None, bool | None], ...]
    hr_id: str | None
    sis_id: str | None
    lms_id: str | None

    @classmethod
    def from_resource(cls, user: ScimUser) -> UserData:
        if user.user_name is None or not _USER_NAME.fullmatch(user.user_name):
            raise InvalidValueException(detail="userName is required: 1 to 254 characters, no spaces or control characters")
        name = user.name
        emails = []
        for entry in user.emails or []:
            value = (entry.value or "").strip()
            if not _EMAIL.fullmatch(value) or len(value) > 254:
                raise InvalidValueException(detail=f"emails.value must be an email address (got {value!r})")
            emails.append((value, text(entry.type, "emails.type", max_length=32), entry.primary))
        if len(emails) > MAX_EMAILS:
            raise InvalidValueException(detail=f"At most {MAX_EMAILS} emails")
        if sum(bool(primary) for _, _, primary in emails) > 1:
            raise InvalidValueException(detail="At most one of emails is primary")
        extension: AliadaUser | None = getattr(user, "AliadaUser", None)
        ids = {}
        for attr, scim_name in (("hr_id", "hrId"), ("sis_id", "sisId"), ("lms_id", "lmsId")):
            value = getattr(extension, attr, None) if extension is not None else None
            if value is not None and not _EXTERNAL_ID.fullmatch(value):
                raise InvalidValueException(
                    detail=f"{ALIADA_USER_SCHEMA}:{scim_name}: 1 to 100 letters, digits or . _ : @ / - (starting with a letter or digit)"
                )
            ids[attr] = value
        return cls(
            user_name=user.user_name.lower(),
            active=user.active,
            external_id=text(user.external_id, "externalId", max_length=255),
            display_name=text(user.display_name, "displayName", max_length=200),
            name_formatted=text(name.formatted if name else None, "name.formatted", max_length=200),
            given_name=text(name.given_name if name else None, "name.givenName", max_length=200),
            family_name=text(name.family_name if name else None, "name.familyName", max_length=200),
            emails=tuple(emails),
            **ids,
        )

    def profile(self) -> dict[str, Any]:
        """Her participant profile as the participants service stores it."""
        joined = " ".join(p for p in (self.given_name, self.family_name) if p)
        display = self.display_name or self.name_formatted or joined or self.user_name.split("@", 1)[0]
        return {"display_name": display[:200].strip(), "hr_id": self.hr_id, "sis_id": self.sis_id, "lms_id": self.lms_id}


def user_name_taken(session: Session, institution_id: str, user_name: str, account_id: uuid.UUID | None) -> bool:
    """Whether another user of this institution has this userName (an account
    of another institution holding it as its email does not count)."""
    stmt = (
        select(Account.id)
        .outerjoin(ScimUserRecord, col(ScimUserRecord.account_id) == col(Account.id))
        .where(Account.institution_id == institution_id, USER_NAME == user_name)
    )
    if account_id is not None:
        stmt = stmt.where(Account.id != account_id)
    return session.exec(stmt).first() is not None


def check_user_name(session: Session, institution_id: str, user_name: str, account_id: uuid.UUID | None) -> None:
    if user_name_taken(session, institution_id, user_name, account_id):
        raise UniquenessException(detail="userName is already taken")


def _place_user_name(session: Session, account: Account, record: ScimUserRecord, user_name: str) -> None:
    """The account's email is the userName unless an account elsewhere holds
    it (then a placeholder email, and the name in her SCIM record)."""
    other = aliased(Account)
    held_elsewhere = session.exec(select(other.id).where(other.email == user_name, other.id != account.id)).first() is not None
    if held_elsewhere:
        account.email, record.user_name = placeholder_email(account.id), user_name
    else:
        account.email, record.user_name = user_name, None


def _apply(session: Session, account: Account, record: ScimUserRecord, data: UserData, now: datetime) -> list[str]:
    """Write ``data`` on the account and her SCIM record; returns revoked sids."""
    revoked: list[str] = []
    shown = record.user_name or account.email
    if data.user_name != shown:
        assert account.institution_id is not None  # a SCIM user belongs to the caller's institution
        check_user_name(session, account.institution_id, data.user_name, account.id)
        _place_user_name(session, account, record, data.user_name)
    status = "suspended" if data.active is False else "active"
    record.active_set = data.active is not None
    if status != account.status:
        account.status = status
        # Suspension (and reactivation) ends her sessions, as an admin's does.
        revoked = revoke_account_sessions(session, account.id, "account-changed")
    account.updated_at = now
    for name in ("external_id", "display_name", "name_formatted", "given_name", "family_name", "hr_id", "sis_id", "lms_id"):
        setattr(record, name, getattr(data, name))
    record.updated_at = now
    session.execute(ScimEmailRecord.__table__.delete().where(ScimEmailRecord.account_id == account.id))  # type: ignore[attr-defined]
    for position, (value, kind, primary) in enumerate(data.emails):
        session.add(ScimEmailRecord(account_id=account.id, position=position, value=value, type=kind, primary=primary))
    session.add_all([account, record])
    session.flush()
    return revoked


def create_user(
    session: Session, institution_id: str, account_id: uuid.UUID, data: UserData, password_hash: str
) -> tuple[UserRow, list[str]]:
    check_user_name(session, institution_id, data.user_name, None)
    now = utcnow()
    account = Account(
        id=account_id,
        email=placeholder_email(account_id),  # the userName is placed by _apply
        password_hash=password_hash,
        roles=[],
        is_admin=False,
        institution_id=institution_id,
        status="active",
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    session.flush()
    record = ScimUserRecord(account_id=account_id, version=1, created_at=now, updated_at=now)
    session.add(record)
    session.flush()
    revoked = _apply(session, account, record, data, now)
    return get_user(session, institution_id, account_id), revoked


def claim(session: Session, account_id: uuid.UUID, expected_version: int) -> ScimUserRecord:
    """Compare-and-set her version first, so that this transaction holds the
    write lock before it reads anything (``Stale`` if someone wrote since)."""
    if expected_version == 0:
        now = utcnow()
        record = ScimUserRecord(account_id=account_id, version=1, created_at=now, updated_at=now)
        session.add(record)
        session.flush()  # IntegrityError if it exists now (or the account is gone)
        return record
    done = session.execute(
        update(ScimUserRecord)
        .where(col(ScimUserRecord.account_id) == account_id, col(ScimUserRecord.version) == expected_version)
        .values(version=expected_version + 1)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Stale()
    record = session.get(ScimUserRecord, account_id, populate_existing=True)
    assert record is not None
    return record


def update_user(
    session: Session, institution_id: str, account_id: uuid.UUID, expected_version: int, data: UserData
) -> tuple[UserRow, list[str]]:
    record = claim(session, account_id, expected_version)
    account = get_user(session, institution_id, account_id).account
    revoked = _apply(session, account, record, data, utcnow())
    return get_user(session, institution_id, account_id), revoked


def delete_user(session: Session, institution_id: str, account_id: uuid.UUID, expected_version: int) -> list[str]:
    """Delete the account (her sessions end; her SCIM rows and memberships go with it)."""
    claim(session, account_id, expected_version)
    account = get_user(session, institution_id, account_id).account
    touched = session.exec(select(ScimMemberRecord.group_id).where(ScimMemberRecord.account_id == account_id)).all()
    if touched:
        session.execute(
            update(ScimGroupRecord)
            .where(col(ScimGroupRecord.id).in_(list(touched)))
            .values(version=ScimGroupRecord.version + 1, updated_at=utcnow())
        )
    return delete_account(session, account)
