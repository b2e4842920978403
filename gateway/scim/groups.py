"""SCIM Groups of one institution, and the Aliada roles they grant (domain
logic on a session; never commits).

Convention: a group's ``urn:aliada:params:scim:schemas:extension:aliada:2.0:Group``
``role`` (one of applicant, coordinator, evaluator, mentee, mentor,
peer_mentor; never admin) is held by each of its members while she is a
member. Her roles are then the roles SCIM groups grant her plus the roles
given to her another way (an admin or coordinator through
``/v1/admin/accounts``, sign-up): ``scim_users.granted_roles`` remembers what
the groups gave, so leaving a group takes away only that. A change of her
roles ends her current sessions (her next token carries the new roles), as an
admin's change does.

Members are users of the same institution (never another group, never an
admin); an unknown or foreign member id is ``invalidValue``.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from scim2_models import InvalidValueException, Meta, NotFoundException, SearchRequest, UniquenessException
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from servicekit.outbox import utcnow

from gateway.models import Account
from gateway.scim.common import Stale, text, version_tag
from gateway.scim.filters import AttributeMap, Column, Multi, SqlFilter, sort_expression
from gateway.scim.models import ScimGroupRecord, ScimMemberRecord, ScimUserRecord
from gateway.scim.resources import (
    ALIADA_GROUP_SCHEMA,
    DEFAULT_COUNT,
    GRANTABLE_ROLES,
    GROUP_SCHEMA,
    MAX_RESULTS,
    AliadaGroup,
    GroupMember,
    ScimGroup,
)
from gateway.scim.users import parse_id
from gateway.service import revoke_account_sessions

MAX_MEMBERS = 50_000

GROUP_ATTRIBUTES = AttributeMap(
    scalars={
        (GROUP_SCHEMA, "id", None): Column(ScimGroupRecord.id, kind="uuid", case_exact=True, nullable=False),
        (GROUP_SCHEMA, "external_id", None): Column(ScimGroupRecord.external_id, case_exact=True),
        (GROUP_SCHEMA, "display_name", None): Column(ScimGroupRecord.display_name, nullable=False),
        (GROUP_SCHEMA, "meta", "created"): Column(ScimGroupRecord.created_at, kind="datetime", nullable=False),
        (GROUP_SCHEMA, "meta", "last_modified"): Column(ScimGroupRecord.updated_at, kind="datetime", nullable=False),
        (ALIADA_GROUP_SCHEMA, "role", None): Column(ScimGroupRecord.role),
    },
    multis={
        (GROUP_SCHEMA, "members"): Multi(
            table=ScimMemberRecord,
            link=lambda: ScimMemberRecord.group_id == ScimGroupRecord.id,
            columns={"value": Column(ScimMemberRecord.account_id, kind="uuid", case_exact=True, sortable=False)},
        ),
    },
)


@dataclass
class GroupRow:
    record: ScimGroupRecord
    members: list[uuid.UUID] = field(default_factory=list)

    def tag(self) -> str:
        r = self.record
        return version_tag([r.display_name, r.external_id, r.role, sorted(str(m) for m in self.members)])


def _visible_members(institution_id: str, group_ids: list[uuid.UUID]) -> Any:
    return (
        select(ScimMemberRecord.group_id, ScimMemberRecord.account_id)
        .join(Account, col(Account.id) == col(ScimMemberRecord.account_id))
        .where(
            col(ScimMemberRecord.group_id).in_(group_ids),
            Account.institution_id == institution_id,
            col(Account.is_admin).is_(False),
        )
        .order_by(ScimMemberRecord.added_at, ScimMemberRecord.account_id)
    )


def _complete(session: Session, institution_id: str, records: Iterable[ScimGroupRecord]) -> list[GroupRow]:
    rows = [GroupRow(record) for record in records]
    if rows:
        by_id = {row.record.id: row for row in rows}
        for group_id, account_id in session.exec(_visible_members(institution_id, list(by_id))).all():
            by_id[group_id].members.append(account_id)
    return rows


def get_group(session: Session, institution_id: str, group_id: str | uuid.UUID) -> GroupRow:
    gid = group_id if isinstance(group_id, uuid.UUID) else parse_id(group_id)
    record = session.get(ScimGroupRecord, gid, populate_existing=True) if gid is not None else None
    if record is None or record.institution_id != institution_id:
        raise NotFoundException(detail=f"Group {group_id} not found")
    return _complete(session, institution_id, [record])[0]


def search_groups(session: Session, institution_id: str, search: SearchRequest[Any]) -> tuple[int, list[GroupRow]]:
    stmt = select(ScimGroupRecord).where(ScimGroupRecord.institution_id == institution_id)
    if search.filter is not None:
        stmt = stmt.where(SqlFilter(search.filter, GROUP_ATTRIBUTES).condition())
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    count = min(search.count if search.count is not None else DEFAULT_COUNT, MAX_RESULTS)
    if count == 0:
        return total, []
    order: list[Any] = []
    if search.sort_by is not None:
        key = sort_expression(search.sort_binding(ScimGroup), GROUP_ATTRIBUTES, str(search.sort_by))
        descending = search.sort_order == SearchRequest.SortOrder.descending
        order.append(key.desc().nulls_first() if descending else key.asc().nulls_last())
    order.append(ScimGroupRecord.id)
    records = session.exec(stmt.order_by(*order).offset((search.start_index or 1) - 1).limit(count)).all()
    return total, _complete(session, institution_id, records)


def to_resource(row: GroupRow, base: str) -> ScimGroup:
    r = row.record
    group = ScimGroup(
        id=str(r.id),
        external_id=r.external_id,
        display_name=r.display_name,
        members=[GroupMember(value=str(m), ref=f"{base}/Users/{m}", type="User") for m in row.members] or None,
        meta=Meta(
            resource_type="Group",
            created=r.created_at,
            last_modified=r.updated_at,
            location=f"{base}/Groups/{r.id}",
            version=row.tag(),
        ),
    )
    group.AliadaGroup = AliadaGroup(role=r.role) if r.role else None  # type: ignore[attr-defined]
    return group


@dataclass(frozen=True)
class GroupData:
    display_name: str
    external_id: str | None
    role: str | None
    members: tuple[uuid.UUID, ...]

    @classmethod
    def from_resource(cls, group: ScimGroup) -> GroupData:
        display_name = text(group.display_name, "displayName", max_length=200)
        if display_name is None:
            raise InvalidValueException(detail="displayName is required")
        extension: AliadaGroup | None = getattr(group, "AliadaGroup", None)
        role = extension.role.strip().lower() if extension is not None and extension.role else None
        if role == "admin":
            raise InvalidValueException(detail="SCIM never grants the admin role")
        if role is not None and role not in GRANTABLE_ROLES:
            raise InvalidValueException(detail=f"{ALIADA_GROUP_SCHEMA}:role must be one of {', '.join(GRANTABLE_ROLES)}")
        members: dict[uuid.UUID, None] = {}
        for member in group.members or []:
            if member.type is not None and member.type.lower() != "user":
                raise InvalidValueException(detail="Only users can be members of a group")
            raw = member.value or (re.split(r"/", str(member.ref))[-1] if member.ref else None)
            account_id = parse_id(raw) if raw else None
            if account_id is None:
                raise InvalidValueException(detail=f"members.value must be the id of a user (got {raw!r})")
            members[account_id] = None
        if len(members) > MAX_MEMBERS:
            raise InvalidValueException(detail=f"A group holds at most {MAX_MEMBERS} members")
        return cls(display_name, text(group.external_id, "externalId", max_length=255), role, tuple(members))


def _check_members(session: Session, institution_id: str, members: Iterable[uuid.UUID]) -> None:
    wanted = set(members)
    if not wanted:
        return
    found: set[uuid.UUID] = set()
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            session.exec(
                select(Account.id).where(
                    col(Account.id).in_(chunk), Account.institution_id == institution_id, col(Account.is_admin).is_(False)
                )
            ).all()
        )
    unknown = sorted(str(m) for m in wanted - found)
    if unknown:
        raise InvalidValueException(detail=f"members: no such user: {', '.join(unknown[:5])}")


def _check_name(session: Session, institution_id: str, display_name: str, group_id: uuid.UUID | None) -> None:
    stmt = select(ScimGroupRecord.id).where(
        ScimGroupRecord.institution_id == institution_id, func.lower(ScimGroupRecord.display_name) == display_name.lower()
    )
    if group_id is not None:
        stmt = stmt.where(ScimGroupRecord.id != group_id)
    if session.exec(stmt).first() is not None:
        raise UniquenessException(detail="Another group of the institution has this displayName")


def recompute_roles(session: Session, institution_id: str, account_ids: Iterable[uuid.UUID]) -> list[str]:
    """Give each account the roles its groups grant (see the module doc);
    returns the sessions revoked because roles changed."""
    ids = list(set(account_ids))
    if not ids:
        return []
    granted: dict[uuid.UUID, set[str]] = defaultdict(set)
    rows = session.exec(
        select(ScimMemberRecord.account_id, ScimGroupRecord.role)
        .join(ScimGroupRecord, col(ScimGroupRecord.id) == col(ScimMemberRecord.group_id))
        .where(
            col(ScimMemberRecord.account_id).in_(ids),
            ScimGroupRecord.institution_id == institution_id,
            col(ScimGroupRecord.role).is_not(None),
        )
    ).all()
    for account_id, role in rows:
        if role in GRANTABLE_ROLES:
            granted[account_id].add(role)
    accounts = session.exec(
        select(Account).where(col(Account.id).in_(ids), Account.institution_id == institution_id, col(Account.is_admin).is_(False))
    ).all()
    records = {r.account_id: r for r in session.exec(select(ScimUserRecord).where(col(ScimUserRecord.account_id).in_(ids))).all()}
    now = utcnow()
    revoked: list[str] = []
    for account in accounts:
        record = records.get(account.id)
        previous = set(record.granted_roles) if record is not None else set()
        new = granted.get(account.id, set())
        if new == previous:
            continue
        kept = [role for role in account.roles if role not in previous]
        roles = kept + sorted(new - set(kept))
        if record is None:
            session.add(ScimUserRecord(account_id=account.id, granted_roles=sorted(new), version=1, created_at=now, updated_at=now))
        else:
            session.execute(
                update(ScimUserRecord)
                .where(col(ScimUserRecord.account_id) == account.id)
                .values(granted_roles=sorted(new), version=ScimUserRecord.version + 1, updated_at=now)
            )
        if roles != list(account.roles):
            account.roles = roles
            account.updated_at = now
            session.add(account)
            revoked += revoke_account_sessions(session, account.id, "account-changed")
    session.flush()
    return revoked


def _claim(session: Session, institution_id: str, group_id: uuid.UUID, expected_version: int) -> ScimGroupRecord:
    done = session.execute(
        update(ScimGroupRecord)
        .where(
            col(ScimGroupRecord.id) == group_id,
            ScimGroupRecord.institution_id == institution_id,
            col(ScimGroupRecord.version) == expected_version,
        )
        .values(version=expected_version + 1)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Stale()
    record = session.get(ScimGroupRecord, group_id, populate_existing=True)
    assert record is not None
    return record


def _write_members(session: Session, institution_id: str, group_id: uuid.UUID, wanted: tuple[uuid.UUID, ...]) -> set[uuid.UUID]:
    """Make the members exactly ``wanted``; returns the accounts that joined or left."""
    current = set(session.exec(select(ScimMemberRecord.account_id).where(ScimMemberRecord.group_id == group_id)).all())
    target = set(wanted)
    leaving, joining = current - target, target - current
    if leaving:
        session.execute(
            ScimMemberRecord.__table__.delete().where(  # type: ignore[attr-defined]
                ScimMemberRecord.group_id == group_id, col(ScimMemberRecord.account_id).in_(list(leaving))
            )
        )
    now = utcnow()
    session.add_all(ScimMemberRecord(group_id=group_id, account_id=m, added_at=now) for m in wanted if m in joining)
    session.flush()
    return leaving | joining


def create_group(session: Session, institution_id: str, data: GroupData) -> tuple[GroupRow, list[str]]:
    _check_name(session, institution_id, data.display_name, None)
    _check_members(session, institution_id, data.members)
    now = utcnow()
    record = ScimGroupRecord(
        institution_id=institution_id,
        display_name=data.display_name,
        external_id=data.external_id,
        role=data.role,
        created_at=now,
        updated_at=now,
    )
    session.add(record)
    session.flush()
    _write_members(session, institution_id, record.id, data.members)
    revoked = recompute_roles(session, institution_id, data.members) if data.role else []
    return get_group(session, institution_id, record.id), revoked


def update_group(
    session: Session, institution_id: str, group_id: uuid.UUID, expected_version: int, data: GroupData
) -> tuple[GroupRow, list[str]]:
    record = _claim(session, institution_id, group_id, expected_version)
    _check_name(session, institution_id, data.display_name, group_id)
    _check_members(session, institution_id, data.members)
    before = set(session.exec(select(ScimMemberRecord.account_id).where(ScimMemberRecord.group_id == group_id)).all())
    role_changed = data.role != record.role
    record.display_name, record.external_id, record.role = data.display_name, data.external_id, data.role
    record.updated_at = utcnow()
    session.add(record)
    session.flush()
    changed = _write_members(session, institution_id, group_id, data.members)
    affected = before | set(data.members) if role_changed else changed
    revoked = recompute_roles(session, institution_id, affected) if (role_changed or record.role) else []
    return get_group(session, institution_id, group_id), revoked


def delete_group(session: Session, institution_id: str, group_id: uuid.UUID, expected_version: int) -> list[str]:
    record = _claim(session, institution_id, group_id, expected_version)
    members = list(session.exec(select(ScimMemberRecord.account_id).where(ScimMemberRecord.group_id == group_id)).all())
    session.delete(record)
    session.flush()
    return recompute_roles(session, institution_id, members) if record.role else []
