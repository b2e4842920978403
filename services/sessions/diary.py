"""The mentee's private diary: shared entry by entry with her mentor; coordinators see counts only."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.problems import not_found
from servicekit.references import Ref, References

from services.sessions import access, clock
from services.sessions.models import DiaryEntry, Dyad
from services.sessions.schemas import DiaryCounts, DiaryPublic


def public(e: DiaryEntry) -> DiaryPublic:
    return DiaryPublic(id=e.id, dyad_id=e.dyad_id, text=e.text, entry_date=e.entry_date, objective_id=e.objective_id,
                       meeting_id=e.meeting_id, shared=e.shared_at is not None, shared_at=e.shared_at, created_at=e.created_at)


REFERENCES = References(Ref("objective_id", access.DYAD_OBJECTIVE), Ref("meeting_id", access.DYAD_MEETING),
                        operations=("create_diary_entry",))


def create(session: Session, who: Principal, body: Any) -> DiaryEntry:
    dyad, _ = access.dyad_for(session, who, body.dyad_id, allow=("mentee",))
    REFERENCES.check(body, session=session, tenant=dyad.institution_id, parent=dyad.id)
    now = clock.now()
    entry = DiaryEntry(institution_id=dyad.institution_id, dyad_id=dyad.id, author_account_id=who.subject, text=body.text,
                       entry_date=body.entry_date, objective_id=body.objective_id, meeting_id=body.meeting_id,
                       shared_at=now if body.shared else None, created_at=now)
    session.add(entry)
    session.flush()
    return entry


def entry_for(session: Session, who: Principal, entry_id: uuid.UUID, *, author_only: bool = False) -> DiaryEntry:
    """Her own entry; her mentor sees it only once shared; anyone else (coordinators too) 404."""
    entry = session.exec(access.scoped(select(DiaryEntry).where(DiaryEntry.id == entry_id), DiaryEntry, who)).first()
    if entry is None or who.is_client:
        raise not_found("Diary entry")
    if entry.author_account_id == who.subject:
        return entry
    if not author_only and entry.shared_at is not None:
        dyad = session.get(Dyad, entry.dyad_id)
        if dyad is not None and access.member_side(who, dyad) == "mentor":
            return entry
    raise not_found("Diary entry")


def share(session: Session, entry: DiaryEntry, shared: bool) -> DiaryEntry:
    entry.shared_at = (entry.shared_at or clock.now()) if shared else None
    session.add(entry)
    session.flush()
    return entry


def visible(session: Session, dyad: Dyad, capacity: str) -> list[DiaryEntry]:
    stmt = select(DiaryEntry).where(DiaryEntry.dyad_id == dyad.id, DiaryEntry.institution_id == dyad.institution_id)
    if capacity == "mentor":
        stmt = stmt.where(DiaryEntry.shared_at.is_not(None))  # type: ignore[union-attr]
    return list(session.exec(stmt.order_by(DiaryEntry.entry_date, DiaryEntry.id)).all())  # type: ignore[arg-type]


def counts(session: Session, dyad: Dyad) -> DiaryCounts:
    total, shared, last = session.execute(
        select(func.count(DiaryEntry.id), func.count(DiaryEntry.shared_at), func.max(DiaryEntry.entry_date))  # type: ignore[arg-type]
        .where(DiaryEntry.dyad_id == dyad.id, DiaryEntry.institution_id == dyad.institution_id)
    ).one()
    return DiaryCounts(dyad_id=dyad.id, entries=total, shared=shared, last_entry_on=last)
