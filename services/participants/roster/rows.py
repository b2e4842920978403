"""Checking and writing roster rows: one upsert per row, keyed by the external
id of the import's kind, in batches (the rules are in the package's docstring)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, text, update
from sqlmodel import Session, select
from uuid6 import uuid7

from servicekit import clock

from services.participants.models import (
    AcademicUnit,
    Campus,
    Institution,
    Participant,
    RosterImport,
)
from services.participants.enums import RosterIdKind
from services.participants.schemas.roster import ROSTER_COLUMNS, RosterRow

ID_COLUMN = {RosterIdKind.sis: "sis_id", RosterIdKind.hr: "hr_id"}
MAX_ERRORS_PER_ROW = 10
PARTICIPANTS = Participant.__table__  # type: ignore[attr-defined]
# What a row may change on an existing profile (besides the id its kind adopts).
MANAGED = ("campus_id", "academic_unit_id", "affiliation", "career_stage", "lms_id")


NewKey = tuple[str, str]  # ("new", external id): a profile this pass creates
Key = uuid.UUID | NewKey


@dataclass
class Context:
    """What one pass knows beyond the database: the rows it has seen and the
    changes it has made (a dry run writes none of them)."""

    institution_id: uuid.UUID
    id_column: str
    columns: list[str]
    campuses: dict[str, tuple[uuid.UUID, str | None]]  # lower-case name -> (id, time zone)
    units: dict[str, uuid.UUID]  # lower-case code -> id
    timezone: str
    seen: dict[str, int] = field(default_factory=dict)  # external id -> first row
    lms_owner: dict[str, Key | None] = field(default_factory=dict)
    adopted: set[uuid.UUID] = field(default_factory=set)


def context(session: Session, job: RosterImport) -> Context:
    institution = session.get(Institution, job.institution_id)
    if institution is None:
        raise RuntimeError("the institution of this import no longer exists")
    campuses = {
        name.lower(): (cid, tz)
        for cid, name, tz in session.exec(
            select(Campus.id, Campus.name, Campus.timezone).where(Campus.institution_id == job.institution_id)
        ).all()
    }
    units = {
        code.lower(): uid
        for uid, code in session.exec(
            select(AcademicUnit.id, AcademicUnit.code).where(
                AcademicUnit.institution_id == job.institution_id, AcademicUnit.code.is_not(None)  # type: ignore[union-attr]
            )
        ).all()
    }
    return Context(
        institution_id=job.institution_id,
        id_column=ID_COLUMN[RosterIdKind(job.id_kind)],
        columns=list(job.columns),
        campuses=campuses,
        units=units,
        timezone=institution.timezone,
    )


@dataclass
class Problem:
    row: int
    field: str
    problem: str
    code: str


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    problems: list[Problem] = field(default_factory=list)
    # Changes to the pass's context, applied once the batch is committed.
    seen: dict[str, int] = field(default_factory=dict)
    lms_owner: dict[str, Key | None] = field(default_factory=dict)
    adopted: set[uuid.UUID] = field(default_factory=set)

    def merge_into(self, ctx: Context) -> None:
        ctx.seen.update(self.seen)
        ctx.lms_owner.update(self.lms_owner)
        ctx.adopted |= self.adopted


_PATTERN_MESSAGES = {
    "email": "Not a valid e-mail address",
    "external_id": "Must start with a letter or digit and hold only letters, digits and . _ : @ / -",
    "lms_id": "Must start with a letter or digit and hold only letters, digits and . _ : @ / -",
}


def _message(column: str, error: Any) -> str:
    if error["type"] == "string_pattern_mismatch" and column in _PATTERN_MESSAGES:
        return _PATTERN_MESSAGES[column]
    message = str(error["msg"])
    return message.removeprefix("Value error, ")[:500]


def parse_row(ctx: Context, number: int, cells: list[str]) -> tuple[RosterRow | None, list[Problem]]:
    if len(cells) > len(ctx.columns):
        detail = f"The row has {len(cells)} cells; the header names {len(ctx.columns)} columns"
        return None, [Problem(number, "row", detail, "too_many_cells")]
    values = {}
    for column, cell in zip(ctx.columns, cells, strict=False):
        if column in ROSTER_COLUMNS and (value := cell.strip()):
            values[column] = value
    problems = []
    try:
        row: RosterRow | None = RosterRow.model_validate(values)
    except ValidationError as exc:
        row = None
        for error in exc.errors()[:MAX_ERRORS_PER_ROW]:
            if not error["loc"]:
                continue  # the name rule, checked below whatever else failed
            column = str(error["loc"][0])
            code = "missing" if error["type"] == "missing" else "invalid"
            problems.append(Problem(number, column, _message(column, error), code))
    if "display_name" not in values and "given_name" not in values:
        row = None
        problems.append(Problem(number, "display_name", "Give display_name, or given_name (and family_name)", "missing"))
    return row, problems


def process_batch(session: Session, ctx: Context, batch: list[tuple[int, list[str]]], *, write: bool) -> BatchResult:
    """Check (and with ``write``, upsert) one batch of rows."""
    result = BatchResult()
    candidates: list[tuple[int, RosterRow, uuid.UUID | None, uuid.UUID | None, str]] = []
    for number, cells in batch:
        row, problems = parse_row(ctx, number, cells)
        raw = cell(ctx, cells, "external_id")
        if raw is not None:
            first = ctx.seen.get(raw) or result.seen.get(raw)
            if first is not None:
                problems.append(Problem(number, "external_id", f"Repeats the external id of row {first}", "duplicate"))
            else:
                result.seen[raw] = number
        if row is not None:
            campus_id = unit_id = None
            timezone = ctx.timezone
            if row.campus is not None:
                found = ctx.campuses.get(row.campus.lower())
                if found is None:
                    problems.append(Problem(number, "campus", f"No campus of this institution is named {row.campus!r}", "unknown_reference"))
                else:
                    campus_id, timezone = found[0], found[1] or ctx.timezone
            if row.academic_unit is not None:
                unit_id = ctx.units.get(row.academic_unit.lower())
                if unit_id is None:
                    problems.append(
                        Problem(number, "academic_unit", f"No academic unit of this institution has code {row.academic_unit!r}", "unknown_reference")
                    )
        if problems:
            result.invalid += 1
            result.problems.extend(problems)
            continue
        assert row is not None
        candidates.append((number, row, campus_id, unit_id, timezone))
    if not candidates:
        return result

    # Core statements, not ORM objects: building 1,000 table models costs seconds.
    table = PARTICIPANTS
    id_column = table.c[ctx.id_column]
    read = [table.c[name] for name in ("id", "account_id", "display_name", "email", *MANAGED, ctx.id_column)]
    existing = {
        row[ctx.id_column]: dict(row)
        for row in session.execute(
            select(*read).where(
                table.c.institution_id == ctx.institution_id, id_column.in_([c[1].external_id for c in candidates])
            )
        ).mappings()
    }
    unmatched_emails = {c[1].email for c in candidates if c[1].external_id not in existing}
    by_email: dict[str, list[dict[str, Any]]] = {}
    if unmatched_emails:
        for row in session.execute(
            select(*read).where(
                table.c.institution_id == ctx.institution_id,
                table.c.email.in_(unmatched_emails),
                id_column.is_(None),
                table.c.erased_at.is_(None),
            )
        ).mappings():
            by_email.setdefault(row["email"], []).append(dict(row))
    wanted_lms = {c[1].lms_id for c in candidates if c[1].lms_id is not None}
    holders: dict[str, Key | None] = {}
    if wanted_lms:
        holders = {
            lms_id: pid
            for lms_id, pid in session.execute(
                select(table.c.lms_id, table.c.id).where(
                    table.c.institution_id == ctx.institution_id, table.c.lms_id.in_(wanted_lms)
                )
            ).all()
        }

    def owner(lms_id: str) -> Key | None:
        for layer in (result.lms_owner, ctx.lms_owner):
            if lms_id in layer:
                return layer[lms_id]
        return holders.get(lms_id)

    now = clock.now()
    inserts: list[dict[str, Any]] = []
    updates: dict[frozenset[str], list[dict[str, Any]]] = {}
    for number, row, campus_id, unit_id, timezone in candidates:
        profile = existing.get(row.external_id)
        adopting = False
        if profile is None:
            matches = [
                p for p in by_email.get(row.email, []) if p["id"] not in ctx.adopted and p["id"] not in result.adopted
            ]
            if len(matches) == 1:
                profile, adopting = matches[0], True
        key: Key = profile["id"] if profile is not None else ("new", row.external_id)
        if row.lms_id is not None:
            holder = owner(row.lms_id)
            if holder is not None and holder != key:
                result.invalid += 1
                result.problems.append(Problem(number, "lms_id", "Another participant of this institution has this lms_id", "already_exists"))
                continue
        if profile is None:
            result.created += 1
            if row.lms_id is not None:
                result.lms_owner[row.lms_id] = key
            if not write:
                continue
            inserts.append(
                {
                    "id": uuid7(), "institution_id": ctx.institution_id, "account_id": None, "display_name": row.name,
                    "email": row.email, "pronouns": None, "languages": [], "timezone": timezone, "campus_id": campus_id,
                    "academic_unit_id": unit_id, "career_stage": row.career_stage, "affiliation": row.affiliation,
                    "stem_fields": [], "bio": None, "lms_id": row.lms_id, "sis_id": None, "hr_id": None,
                    ctx.id_column: row.external_id, "erased_at": None, "created_at": now, "updated_at": now,
                }
            )  # fmt: skip
            continue
        changes: dict[str, Any] = {"email": row.email}
        if adopting:
            changes[ctx.id_column] = row.external_id
            result.adopted.add(profile["id"])
        if profile["account_id"] is None:
            changes["display_name"] = row.name
        for name, value in (
            ("campus_id", campus_id),
            ("academic_unit_id", unit_id),
            ("affiliation", row.affiliation),
            ("career_stage", row.career_stage),
            ("lms_id", row.lms_id),
        ):
            if value is not None:
                changes[name] = value
        changed = {name: value for name, value in changes.items() if profile[name] != value}
        if not changed:
            result.unchanged += 1
            continue
        result.updated += 1
        if "lms_id" in changed:
            if profile["lms_id"] is not None:
                result.lms_owner[profile["lms_id"]] = None
            result.lms_owner[changed["lms_id"]] = profile["id"]
        updates.setdefault(frozenset(changed), []).append({"_pid": profile["id"], **changed, "updated_at": now})
    if write:
        # Updates first: an LMS id one profile gives up may be another's new one.
        for columns, values in updates.items():
            stmt = (
                update(table)
                .where(table.c.id == bindparam("_pid"))
                .values({name: bindparam(name) for name in (*columns, "updated_at")})
            )
            session.execute(stmt, values)
        if inserts:
            session.execute(insert(table), inserts)
    return result


def cell(ctx: Context, cells: list[str], column: str) -> str | None:
    try:
        return cells[ctx.columns.index(column)].strip() or None
    except (ValueError, IndexError):
        return None


def refresh_statistics(session: Session, batch_number: int) -> None:
    """On PostgreSQL, ANALYZE the profiles before batches 2, 3, 5, 9, 17... of a writing pass.

    A first import fills a nearly empty table faster than autovacuum analyzes
    it; with statistics that still say "a few rows", the planner looks rows up
    through the (institution, e-mail) index and filters every profile of the
    institution, so each batch costs more than the last (measured: 50,000 rows
    took 100 s instead of 15). Analyzing as the table doubles keeps the plans
    on the unique (institution, external id) indexes, at a logarithmic cost.
    ANALYZE counts the rows the running transaction inserted, so this works
    inside the all-or-nothing transaction too.
    """
    previous = batch_number - 1
    if session.get_bind().dialect.name == "postgresql" and previous > 0 and previous & (previous - 1) == 0:
        session.execute(text(f"ANALYZE {PARTICIPANTS.name}"))

