"""Instruments: the built-in library (stable ids, not stored) and institutions' versioned copies.

Every edit of a copy is a new version (a new row with a new id); a version never
changes afterwards, so administrations that use it keep exactly what was asked.
Only the newest version of a key may be edited (409 otherwise).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.pagination import paginate
from servicekit.problems import FieldError, ProblemError, conflict, not_found
from servicekit.tenancy import scoped

from services.evaluation import access
from services.evaluation.domain import BUILTIN, Instrument, InstrumentError, Text
from services.evaluation.models import AdministrationRow, InstrumentVersion

BUILTIN_NAMESPACE = uuid.UUID("7d4b9c8e-3f0a-5b7e-9a61-2c1e8f0d4a33")


def builtin_id(key: str, version: int) -> uuid.UUID:
    return uuid.uuid5(BUILTIN_NAMESPACE, f"aliada-builtin:{key}:{version}")


_BUILTINS: dict[uuid.UUID, Instrument] = {}
for _key, _factory in BUILTIN.items():
    _ins = _factory()
    _BUILTINS[builtin_id(_ins.key, _ins.version)] = _ins


@dataclass(frozen=True)
class Resolved:
    id: uuid.UUID
    instrument: Instrument
    institution_id: uuid.UUID | None
    copied_from: str | None
    created_at: datetime | None

    @property
    def builtin(self) -> bool:
        return self.institution_id is None


def builtins() -> list[Resolved]:
    return [Resolved(i, ins, None, None, None) for i, ins in _BUILTINS.items()]


def _from_row(row: InstrumentVersion) -> Resolved:
    return Resolved(row.id, Instrument.from_dict(row.definition), row.institution_id, row.copied_from, row.created_at)


def resolve(session: Session, who: Principal, instrument_id: uuid.UUID) -> Resolved:
    if instrument_id in _BUILTINS:
        return Resolved(instrument_id, _BUILTINS[instrument_id], None, None, None)
    row = session.exec(scoped(select(InstrumentVersion).where(InstrumentVersion.id == instrument_id), InstrumentVersion, who)).first()
    if row is None:
        raise not_found("Instrument")
    return _from_row(row)


def load(session: Session, institution_id: uuid.UUID, instrument_id: uuid.UUID) -> Instrument:
    """The instrument of an administration (already authorised)."""
    if instrument_id in _BUILTINS:
        return _BUILTINS[instrument_id]
    row = session.exec(
        select(InstrumentVersion).where(InstrumentVersion.id == instrument_id, InstrumentVersion.institution_id == institution_id)
    ).one()
    return Instrument.from_dict(row.definition)


def in_use(session: Session, ids: list[uuid.UUID], who: Principal) -> set[uuid.UUID]:
    if not ids:
        return set()
    stmt = scoped(select(AdministrationRow.instrument_id).where(AdministrationRow.instrument_id.in_(ids)), AdministrationRow, who)  # type: ignore[attr-defined]
    return set(session.exec(stmt).all())


def latest_versions(session: Session, institution_id: uuid.UUID, keys: set[str]) -> dict[str, int]:
    if not keys:
        return {}
    rows = session.exec(
        select(InstrumentVersion.key, func.max(InstrumentVersion.version))
        .where(InstrumentVersion.institution_id == institution_id, InstrumentVersion.key.in_(keys))  # type: ignore[attr-defined]
        .group_by(InstrumentVersion.key)
    ).all()
    return {k: v for k, v in rows}


def public(session: Session, who: Principal, items: list[Resolved]) -> list[dict[str, Any]]:
    used = in_use(session, [r.id for r in items], who)
    latest: dict[tuple[uuid.UUID | None, str], int] = {}
    by_inst: dict[uuid.UUID, set[str]] = {}
    for r in items:
        if r.institution_id is not None:
            by_inst.setdefault(r.institution_id, set()).add(r.instrument.key)
    for inst, keys in by_inst.items():
        for k, v in latest_versions(session, inst, keys).items():
            latest[(inst, k)] = v
    out = []
    for r in items:
        ins = r.instrument
        out.append({
            "id": r.id,
            "key": ins.key,
            "version": ins.version,
            "builtin": r.builtin,
            "institution_id": r.institution_id,
            "copied_from": r.copied_from,
            "title": {"es": ins.title.es, "en": ins.title.en},
            "in_use": r.id in used,
            "latest": r.builtin or latest.get((r.institution_id, ins.key)) == ins.version,
            "created_at": r.created_at,
            "definition": ins.to_dict(),
        })
    return out


def list_own(session: Session, who: Principal, *, key: str | None, limit: int, cursor: str | None) -> tuple[list[Resolved], str | None]:
    stmt = scoped(select(InstrumentVersion), InstrumentVersion, who)
    if key:
        stmt = stmt.where(InstrumentVersion.key == key)
    rows, nxt = paginate(session, stmt, InstrumentVersion.id, limit=limit, cursor=cursor)
    return [_from_row(r) for r in rows], nxt


def _store(session: Session, institution_id: uuid.UUID, ins: Instrument, copied_from: str, who: Principal) -> Resolved:
    row = InstrumentVersion(
        institution_id=institution_id, key=ins.key, version=ins.version, title_en=ins.title.en[:300],
        definition=ins.to_dict(), copied_from=copied_from, created_by=who.subject,
    )
    session.add(row)
    session.flush()
    return _from_row(row)


def copy(session: Session, who: Principal, source_id: uuid.UUID, key: str | None, title: dict[str, str] | None) -> Resolved:
    institution_id = access.institution_of(who)
    source = resolve(session, who, source_id)
    new_key = key or source.instrument.key
    exists = session.exec(
        select(InstrumentVersion.id).where(InstrumentVersion.institution_id == institution_id, InstrumentVersion.key == new_key)
    ).first()
    if exists is not None:
        raise conflict(f"Your institution already has an instrument with key {new_key!r}; choose another key", field="key")
    ins = source.instrument.copy(new_key, title=Text(**title) if title else None)
    return _store(session, institution_id, ins, f"{source.instrument.key}@{source.instrument.version}", who)


def revise(session: Session, who: Principal, instrument_id: uuid.UUID, changes: dict[str, Any]) -> Resolved:
    current = resolve(session, who, instrument_id)
    if current.builtin:
        raise conflict("Built-in instruments cannot be edited: copy one into your institution and edit the copy")
    assert current.institution_id is not None
    latest = latest_versions(session, current.institution_id, {current.instrument.key})[current.instrument.key]
    if latest != current.instrument.version:
        raise conflict(f"Only the newest version ({latest}) of {current.instrument.key!r} can be edited")
    data = current.instrument.to_dict()
    data.update(changes)
    data["version"] = current.instrument.version + 1
    try:
        ins = Instrument.from_dict(data)
    except InstrumentError as exc:
        raise ProblemError(
            422, f"The instrument is not valid: {exc}", slug="validation-error", title="Request validation failed",
            errors=[FieldError(field="body", message=str(exc), code="invalid_instrument")],
        ) from None
    return _store(session, current.institution_id, ins, current.copied_from or "", who)
