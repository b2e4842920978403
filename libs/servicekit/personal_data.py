"""What every service's data-subject handlers (``services/<svc>/data_rights.py``) share.

A service exports and erases a person's data through two functions of its own
(``export_subject``, ``erase_subject``); the pieces they have in common live here:

- ``new_pseudonym``: the stable stand-in for her account id. Random, not derived
  from her id, so nobody holding her id can find her rows again; one erasure uses
  one pseudonym for all her rows, so counts per person stay right.
- ``replace_strings``: her identifiers replaced wherever they occur in a JSON value.
- ``scrub_events``: her identifiers replaced in the payloads of the tenant's outbox
  events (plus whatever further redaction the service asks for in events about her rows).
- ``drop_idempotency``: stored first answers she (or a request naming her) left.
- ``exported``: a row as a JSON-able dict of the named columns only.
- ``classified`` / ``traces``: the checks a service's tests make (every table
  classified exactly once; nothing of hers left in any column of any table).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import MetaData, String, cast, delete, or_
from sqlalchemy import select as select_table
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

ERASED_TEXT = "[erased]"


def new_pseudonym() -> str:
    return f"erased-{uuid.uuid4().hex}"


def replace_strings(value: Any, old: set[str], new: str) -> tuple[Any, bool]:
    """``value`` with every string equal to one of ``old`` replaced by ``new`` (recursively), and whether any was."""
    if isinstance(value, str):
        return (new, True) if value in old else (value, False)
    if isinstance(value, list):
        pairs = [replace_strings(v, old, new) for v in value]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    if isinstance(value, dict):
        items = {k: replace_strings(v, old, new) for k, v in value.items()}
        return {k: p[0] for k, p in items.items()}, any(p[1] for p in items.values())
    return value, False


def _mentions(column: Any, identifiers: Iterable[str]) -> Any:
    return or_(*(cast(column, String).contains(i, autoescape=True) for i in identifiers))


def scrub_events(
    session: Session,
    model: type[SQLModel],
    institution_id: uuid.UUID,
    identifiers: set[str],
    pseudonym: str,
    redact: Callable[[str, dict[str, Any]], dict[str, Any] | None] | None = None,
    subjects: Iterable[str] = (),
) -> int:
    """Replace ``identifiers`` by ``pseudonym`` in the payloads of the institution's events that name one. Events
    whose ``subject`` is one of ``subjects`` (her rows) are also passed to ``redact(event type, payload)``, which may return a
    further-redacted payload (or None). Returns the events changed."""
    table: Any = model
    subjects = sorted(set(subjects))
    found = []
    if identifiers:
        found.append(_mentions(table.payload, identifiers))
    for i in range(0, len(subjects), 500):
        found.append(table.subject.in_(subjects[i : i + 500]))
    if not found:
        return 0
    changed = 0
    stmt = select(model).where(table.tenant_id == str(institution_id), or_(*found)).order_by(table.id)
    for event in session.exec(stmt).all():
        payload, touched = replace_strings(event.payload, identifiers, pseudonym)
        if redact is not None and event.subject in subjects:
            further = redact(event.type, payload)
            if further is not None and further != payload:
                payload, touched = further, True
        if touched:
            event.payload = payload
            session.add(event)
            changed += 1
    session.flush()
    return changed


def drop_idempotency(
    session: Session, model: type[SQLModel], principal: str, identifiers: set[str], within: Iterable[str] | None = None
) -> int:
    """Delete the stored first answers of her requests, and any other stored answer naming her. The records carry
    no institution: ``within`` (ids of the institution's rows about her) keeps the deletion to those that name one."""
    table: Any = model
    clauses = [table.principal == principal]
    if identifiers:
        clauses.append(_mentions(table.body, identifiers))
    where = or_(*clauses)
    if within is not None:
        within = list(within)
        if not within:
            return 0
        where = where & _mentions(table.body, within)
    result = session.execute(delete(model).where(where))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def exported(row: Any, columns: Iterable[str], **extra: Any) -> dict[str, Any]:
    """The named columns (or keys) of ``row`` (and ``extra``) as JSON-able values."""
    out = {c: row[c] if isinstance(row, Mapping) else getattr(row, c) for c in columns}
    out.update(extra)
    return jsonable_encoder(out)  # type: ignore[no-any-return]


def classified(metadata: MetaData, personal: Mapping[str, str], not_personal: Mapping[str, str]) -> list[str]:
    """Problems with a service's table classification: each table of ``metadata`` in exactly one of the two,
    nothing else named, every reason non-empty. Empty when all is well."""
    tables = set(metadata.tables)
    problems = [f"{t}: not classified" for t in sorted(tables - set(personal) - set(not_personal))]
    problems += [f"{t}: in both" for t in sorted(set(personal) & set(not_personal))]
    problems += [f"{t}: no such table" for t in sorted((set(personal) | set(not_personal)) - tables)]
    problems += [f"{t}: no description" for t, why in {**personal, **not_personal}.items() if not why.strip()]
    return problems


def traces(engine: Engine, metadata: MetaData, needles: Iterable[str]) -> dict[str, list[str]]:
    """Which of ``needles`` appear in which table (every column of every row, JSON escapes included)."""
    needles = list(needles)
    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            text = repr([tuple(r) for r in conn.execute(select_table(table))])
            hits = [n for n in needles if n in text or n.encode("unicode_escape").decode() in text]
            if hits:
                found[table.name] = hits
    return found
