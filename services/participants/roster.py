"""Roster imports: participant profiles from a student-record (SIS) or HR export.

**The file.** CSV (RFC 4180 quoting, read with the ``csv`` module), UTF-8 (a
BOM is skipped) or the charset its ``Content-Type`` names; the delimiter is
the one of ``,`` ``;`` or tab that the header line uses most. One header row;
its names are matched case-insensitively (spaces and hyphens read as ``_``).
The columns are those of ``schemas.roster.RosterRow``: ``external_id`` and
``email`` are required, and ``display_name`` or ``given_name``; other columns
(a phone number, a department name) are listed as ignored and never read.
Rows are numbered as a spreadsheet shows them (the header is row 1); blank
rows are skipped. Cells are trimmed; an empty cell leaves the stored value as
it is (an import never clears a field).

**One row, one upsert, keyed by the external id** of the import's kind
(``sis_id`` or ``hr_id``):

1. a profile of the institution with that id is updated;
2. else the one profile with the row's e-mail that has no id of this kind yet
   (for instance created when she confirmed a place before the roster was
   imported) is adopted: it gets the id;
3. else a new profile is created, without an account.

Updated are the e-mail, campus, academic unit, affiliation, career stage and
LMS id the row gives. The display name is set only on profiles no account has
claimed: once she has one, the name she uses is hers (the register may hold a
legal name she does not go by). A row that changes nothing counts as
unchanged, so importing the same file again changes nothing.

A row is invalid when a cell does not validate, its campus or academic unit is
not the institution's, its external id already appeared in an earlier row, or
its LMS id belongs to another profile (in the database or by an earlier row).

**Linking.** A profile without an account is claimed by the account that
confirms a place with an application whose e-mail is the profile's (exactly one
unclaimed profile, compared lower-case): ``link_on_confirmation``. The
coordinator has accepted and invited that application, e-mail in view, before
the confirmation can happen.

**The job.** Upload (``uploaded``), then a dry run (``validating`` →
``validated``) that writes nothing but the report, then a commit
(``committing`` → ``committed``) in one of two modes:

- ``skip_invalid``: rows are checked and written batch by batch, each batch in
  one transaction together with its report lines and the progress counters;
- ``all_or_nothing``: every row is checked first (stage ``validating``); any
  invalid row ends the commit as ``rejected`` with nothing written. Otherwise
  all rows are written in one transaction (stage ``writing``), checked again as
  they go: a row made invalid meanwhile rolls everything back (``rejected``).

Jobs run on a worker thread of the replica that started them. Nothing about a
job lives only in memory: the row in ``roster_imports`` holds status, cursor,
counts and a lease that every batch renews. When a process dies, its lease runs
out and the next replica that answers a poll of the job resumes it: a
skip-invalid commit from its last committed batch, anything else from the
start (a dry run wrote nothing; an all-or-nothing write was rolled back). Two
replicas never run one job: the lease is claimed and renewed by conditional
UPDATEs that only its holder passes, in the same transaction as each batch.

**Personal data.** The uploaded file is deleted when the import is committed,
``roster_file_retention_days`` after the upload otherwise, and by an erasure
request that finds her identifiers in it.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, delete, func, insert, or_, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select
from uuid6 import uuid7

from servicekit.inputs import unstorable
from servicekit.outbox import utcnow
from servicekit.pagination import paginate
from servicekit.problems import ProblemError, conflict, field_problem, not_found
from servicekit import clock


from services.participants.config import Settings
from services.participants.models import (
    AcademicUnit,
    Application,
    Campus,
    Institution,
    Participant,
    RosterImport,
    RosterImportError,
    RosterImportFile,
)
from services.participants.schemas.enums import RosterIdKind, RosterMode, RosterPass, RosterStage, RosterStatus
from services.participants.schemas.roster import (
    REQUIRED_COLUMNS,
    ROSTER_COLUMNS,
    RosterCounts,
    RosterImportPublic,
    RosterProgress,
    RosterRow,
)
from services.participants.service import Rows

log = logging.getLogger("participants.roster")

ID_COLUMN = {RosterIdKind.sis: "sis_id", RosterIdKind.hr: "hr_id"}
RUNNING = (RosterStatus.validating, RosterStatus.committing)
STARTABLE = (RosterStatus.uploaded, RosterStatus.validated, RosterStatus.rejected, RosterStatus.failed)
DELIMITERS = (",", ";", "\t")
MAX_ERRORS_PER_ROW = 10
PARTICIPANTS = Participant.__table__  # type: ignore[attr-defined]
# What a row may change on an existing profile (besides the id its kind adopts).
MANAGED = ("campus_id", "academic_unit_id", "affiliation", "career_stage", "lms_id")


# ---------------------------------------------------------------------------
# The file


@dataclass(frozen=True)
class Header:
    delimiter: str
    columns: list[str]  # every header cell, normalised, in file order
    roster_columns: list[str]
    ignored: list[str]
    rows_total: int


def normalise(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def decode(content: bytes, charset: str | None) -> str:
    """The upload as text: its charset (default UTF-8), without a BOM."""
    encoding = (charset or "utf-8").strip().strip('"').lower()
    try:
        text = content.decode("utf-8-sig" if encoding in ("utf-8", "utf8") else encoding)
    except LookupError:
        raise field_problem("header.content-type", f"Unknown charset {charset!r}", status=415, code="unsupported_charset") from None
    except UnicodeDecodeError as exc:
        raise field_problem(
            "body", f"The file is not valid {encoding} (byte {exc.start}); save it as UTF-8", code="bad_encoding"
        ) from None
    if (what := unstorable(text)) is not None:  # servicekit's input rule
        raise field_problem("body", f"The file contains {what}: it is not a CSV text file", code="not_csv")
    return text


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _reader(text: str, delimiter: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def read_header(text: str) -> Header:
    """Check the header and count the data rows; a problem here refuses the upload."""
    delimiter = _delimiter(text)
    reader = _reader(text, delimiter)
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise field_problem("body", "The file is empty: the first row must name the columns", code="no_header")
        columns = [normalise(cell) for cell in header]
        rows_total = sum(1 for record in reader if any(cell.strip() for cell in record))
    except csv.Error as exc:
        raise field_problem("body", f"Not valid CSV near line {reader.line_num}: {exc}", code="not_csv") from None  # type: ignore[attr-defined]
    repeated = sorted({c for c in columns if columns.count(c) > 1 and c})
    if repeated:
        raise field_problem("body.header", f"Columns named more than once: {', '.join(repeated)}", code="duplicate_columns")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if "display_name" not in columns and "given_name" not in columns:
        missing.append("display_name or given_name")
    if missing:
        raise field_problem(
            "body.header",
            f"Missing columns: {', '.join(missing)} (roster columns: {', '.join(ROSTER_COLUMNS)})",
            code="missing_columns",
        )
    return Header(
        delimiter=delimiter,
        columns=columns,
        roster_columns=[c for c in columns if c in ROSTER_COLUMNS],
        ignored=[c for c in columns if c not in ROSTER_COLUMNS],
        rows_total=rows_total,
    )


def records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` of each non-blank data row (the header is row 1)."""
    reader = _reader(text, delimiter)
    next(reader, None)
    for number, record in enumerate(reader, start=2):
        if any(cell.strip() for cell in record):
            yield number, record


# ---------------------------------------------------------------------------
# Checking and writing rows


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
        raw = _raw(ctx, cells, "external_id")
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


def _raw(ctx: Context, cells: list[str], column: str) -> str | None:
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


# ---------------------------------------------------------------------------
# Linking a profile to her account


def link_on_confirmation(session: Session, application: Application) -> Participant | None:
    """The unclaimed roster profile whose e-mail is the application's, now hers.

    Exactly one unclaimed, unerased profile of the institution must have that
    e-mail (lower-case). Her application's name replaces the register's, and
    what the roster left empty is filled from the application.
    """
    if not application.email:
        return None
    found = session.exec(
        select(Participant)
        .where(
            Participant.institution_id == application.institution_id,
            Participant.account_id.is_(None),  # type: ignore[union-attr]
            Participant.erased_at.is_(None),  # type: ignore[union-attr]
            Participant.email == application.email.lower(),
        )
        .limit(2)
        .with_for_update()
    ).all()
    if len(found) != 1:
        return None
    profile = found[0]
    profile.account_id = application.applicant_id
    if application.full_name:
        profile.display_name = application.full_name
    for name, value in (
        ("campus_id", application.campus_id),
        ("academic_unit_id", application.academic_unit_id),
        ("career_stage", application.career_stage),
        ("affiliation", application.affiliation),
    ):
        if getattr(profile, name) is None and value is not None:
            setattr(profile, name, value)
    if not profile.stem_fields and application.stem_field:
        profile.stem_fields = [application.stem_field]
    if not profile.languages and application.preferred_language:
        profile.languages = [application.preferred_language]
    profile.updated_at = clock.now()
    session.add(profile)
    session.flush()
    return profile


# ---------------------------------------------------------------------------
# The import resource


def public(job: RosterImport) -> RosterImportPublic:
    running = job.status in RUNNING
    if job.status in (RosterStatus.validated, RosterStatus.committed) or (job.pass_kind and not job.rows_total):
        percent = 100
    elif job.rows_total:
        percent = job.rows_done * 100 // job.rows_total
    else:
        percent = 0
    if running:
        percent = min(percent, 99)
    return RosterImportPublic(
        id=job.id,
        institution_id=job.institution_id,
        status=RosterStatus(job.status),
        id_kind=RosterIdKind(job.id_kind),
        mode=RosterMode(job.mode) if job.mode else None,
        last_pass=RosterPass(job.pass_kind) if job.pass_kind else None,
        stage=RosterStage(job.stage) if job.stage and running else None,
        filename=job.filename,
        size_bytes=job.size_bytes,
        delimiter=job.delimiter,
        columns=[c for c in job.columns if c in ROSTER_COLUMNS],
        ignored_columns=job.ignored_columns,
        progress=RosterProgress(
            percent=percent, rows_done=job.rows_done, rows_total=job.rows_total, errors_so_far=job.errors_count
        ),
        counts=RosterCounts(created=job.created, updated=job.updated, unchanged=job.unchanged, invalid=job.invalid),
        failure=job.failure,
        file_available=job.file_purged_at is None,
        created_by=job.created_by,
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def create(
    session: Session,
    institution_id: uuid.UUID,
    *,
    text: str,
    size: int,
    filename: str | None,
    id_kind: RosterIdKind,
    created_by: str,
    settings: Settings,
) -> RosterImport:
    header = read_header(text)
    purge_expired(session, institution_id, settings)
    now = clock.now()
    job = RosterImport(
        institution_id=institution_id,
        id_kind=id_kind,
        status=RosterStatus.uploaded,
        filename=filename,
        size_bytes=size,
        delimiter=header.delimiter,
        columns=header.columns,
        ignored_columns=header.ignored,
        rows_total=header.rows_total,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    session.flush()
    session.add(RosterImportFile(import_id=job.id, institution_id=institution_id, content=text))
    session.flush()
    return job


def get(session: Session, institution_id: uuid.UUID, import_id: uuid.UUID, *, lock: bool = False) -> RosterImport:
    stmt = select(RosterImport).where(RosterImport.institution_id == institution_id, RosterImport.id == import_id)
    if lock:
        stmt = stmt.with_for_update()
    job = session.exec(stmt).first()
    if job is None:
        raise not_found("Roster import")
    return job


def list_imports(session: Session, institution_id: uuid.UUID, *, limit: int, cursor: str | None) -> Rows:
    stmt = select(RosterImport).where(RosterImport.institution_id == institution_id)
    return paginate(session, stmt, RosterImport.id, limit=limit, cursor=cursor)


def list_errors(session: Session, job: RosterImport, *, limit: int, cursor: str | None) -> Rows:
    stmt = select(RosterImportError).where(
        RosterImportError.institution_id == job.institution_id, RosterImportError.import_id == job.id
    )
    return paginate(session, stmt, RosterImportError.id, limit=limit, cursor=cursor)


def stalled(job: RosterImport) -> bool:
    """Running, but its worker's lease ran out (its process died or never started it)."""
    return job.status in RUNNING and (job.lease_until is None or job.lease_until < utcnow())


def _refuse_start(job: RosterImport, action: str) -> ProblemError:
    if job.status in RUNNING:
        detail = f"The import is {job.status}; wait until it ends"
    elif job.status == RosterStatus.committed:
        detail = "The import was committed: that is final. Upload the file again to import it again"
    else:
        detail = f"Cannot {action} an import that is {job.status}"
    return conflict(detail, current_status=job.status)


def start(session: Session, job: RosterImport, pass_kind: RosterPass, mode: RosterMode | None, settings: Settings) -> RosterImport:
    """Put the job in its running state; the caller starts a worker after the commit."""
    action = "dry-run" if pass_kind == RosterPass.dry_run else "commit"
    if job.status not in STARTABLE:
        raise _refuse_start(job, action)
    if job.file_purged_at is not None:
        raise conflict("The uploaded file was deleted (retention or erasure); upload it again", current_status=job.status)
    if pass_kind == RosterPass.commit:
        # The institution's row serialises concurrent starts (PostgreSQL; SQLite writes one at a time anyway).
        session.exec(select(Institution.id).where(Institution.id == job.institution_id).with_for_update()).first()
        other = session.exec(
            select(RosterImport.id).where(
                RosterImport.institution_id == job.institution_id,
                RosterImport.status == RosterStatus.committing,
                RosterImport.id != job.id,
            )
        ).first()
        if other is not None:
            raise conflict(f"Another roster import of this institution is being committed ({other}); wait until it ends")
    now = clock.now()
    session.execute(delete(RosterImportError).where(RosterImportError.import_id == job.id))
    job.status = RosterStatus.validating if pass_kind == RosterPass.dry_run else RosterStatus.committing
    job.pass_kind = pass_kind
    if mode is not None:
        job.mode = mode
    job.stage = RosterStage.writing if mode == RosterMode.skip_invalid else RosterStage.validating
    job.rows_done = job.created = job.updated = job.unchanged = job.invalid = job.errors_count = 0
    job.worker, job.lease_until = None, utcnow() + timedelta(seconds=settings.roster_lease_seconds)
    job.failure, job.started_at, job.finished_at, job.updated_at = None, now, None, now
    session.add(job)
    session.flush()
    return job


def purge_expired(session: Session, institution_id: uuid.UUID, settings: Settings) -> None:
    """Delete uploads older than the retention period (jobs not running)."""
    cutoff = clock.now() - timedelta(days=settings.roster_file_retention_days)
    expired = select(RosterImport.id).where(
        RosterImport.institution_id == institution_id,
        RosterImport.created_at < cutoff,
        RosterImport.file_purged_at.is_(None),  # type: ignore[union-attr]
        RosterImport.status.not_in(RUNNING),  # type: ignore[attr-defined]
    )
    ids = list(session.exec(expired).all())
    if ids:
        _purge(session, institution_id, ids, "The upload was deleted after the retention period")


def _purge(session: Session, institution_id: uuid.UUID, ids: list[uuid.UUID], reason: str | None) -> None:
    session.execute(
        delete(RosterImportFile).where(
            RosterImportFile.institution_id == institution_id,
            RosterImportFile.import_id.in_(ids),  # type: ignore[attr-defined]
        )
    )
    now = clock.now()
    values: dict[str, Any] = {"file_purged_at": now, "updated_at": now}
    session.execute(
        update(RosterImport)
        .where(RosterImport.institution_id == institution_id, RosterImport.id.in_(ids))  # type: ignore[attr-defined]
        .values(**values)
    )
    if reason:
        session.execute(
            update(RosterImport)
            .where(
                RosterImport.institution_id == institution_id,
                RosterImport.id.in_(ids),  # type: ignore[attr-defined]
                RosterImport.status != RosterStatus.committed,
            )
            .values(failure=reason)
        )


def erase_uploads_naming(session: Session, institution_id: uuid.UUID, identifiers: set[str]) -> int:
    """Delete the stored uploads (of jobs not running) that contain any of her identifiers."""
    if not identifiers:
        return 0
    ids = list(
        session.exec(
            select(RosterImportFile.import_id)
            .join(RosterImport, RosterImport.id == RosterImportFile.import_id)  # type: ignore[arg-type]
            .where(
                RosterImportFile.institution_id == institution_id,
                RosterImport.status.not_in(RUNNING),  # type: ignore[attr-defined]
                or_(*(func.lower(RosterImportFile.content).contains(i.lower(), autoescape=True) for i in identifiers)),
            )
        ).all()
    )
    if ids:
        _purge(session, institution_id, ids, "The upload was deleted by an erasure request")
    return len(ids)


# ---------------------------------------------------------------------------
# Workers


class LostLease(Exception):
    """Another worker holds the job now: stop without touching it."""


class Jobs:
    """Runs import jobs on worker threads of this process (at most ``roster_workers`` at once)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._slots = threading.BoundedSemaphore(settings.roster_workers)
        self._lock = threading.Lock()
        self._here: set[uuid.UUID] = set()
        self._prefix = f"{socket.gethostname()[:40]}:{os.getpid()}"

    def start(self, import_id: uuid.UUID) -> None:
        with self._lock:
            if import_id in self._here:
                return
            self._here.add(import_id)
        thread = threading.Thread(target=self._run, args=(import_id,), name=f"roster-{import_id}", daemon=True)
        thread.start()

    def _run(self, import_id: uuid.UUID) -> None:
        try:
            with self._slots:
                worker = f"{self._prefix}:{uuid.uuid4().hex[:12]}"
                if not self._claim(import_id, worker):
                    return
                try:
                    Run(self, import_id, worker).execute()
                except LostLease:
                    log.warning("roster import %s: lease lost, another worker goes on", import_id)
                except Exception as exc:  # noqa: BLE001 - the job records the failure
                    log.exception("roster import %s failed", import_id)
                    self._fail(import_id, worker, f"Unexpected error ({type(exc).__name__}); start the pass again")
        finally:
            with self._lock:
                self._here.discard(import_id)

    def lease(self, seconds: float | None = None) -> datetime:
        return utcnow() + timedelta(seconds=seconds or self.settings.roster_lease_seconds)

    def _claim(self, import_id: uuid.UUID, worker: str) -> bool:
        with Session(self.engine) as session:
            now = utcnow()
            claimed = session.execute(
                update(RosterImport)
                .where(
                    RosterImport.id == import_id,
                    RosterImport.status.in_(RUNNING),  # type: ignore[attr-defined]
                    or_(
                        RosterImport.worker.is_(None),  # type: ignore[union-attr]
                        RosterImport.lease_until.is_(None),  # type: ignore[union-attr]
                        RosterImport.lease_until < now,  # type: ignore[operator]
                    ),
                )
                .values(worker=worker, lease_until=self.lease())
            )
            session.commit()
            return claimed.rowcount == 1  # type: ignore[attr-defined]

    def _fail(self, import_id: uuid.UUID, worker: str, reason: str) -> None:
        now = clock.now()
        with Session(self.engine) as session:
            session.execute(
                update(RosterImport)
                .where(RosterImport.id == import_id, RosterImport.worker == worker)
                .values(status=RosterStatus.failed, failure=reason, stage=None, worker=None, lease_until=None,
                        finished_at=now, updated_at=now)
            )  # fmt: skip
            session.commit()


@dataclass
class Counters:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    errors: int = 0
    rows: int = 0

    def add(self, result: BatchResult, rows: int) -> None:
        self.created += result.created
        self.updated += result.updated
        self.unchanged += result.unchanged
        self.invalid += result.invalid
        self.errors += len(result.problems)
        self.rows += rows

    def values(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "invalid": self.invalid,
            "errors_count": self.errors,
            "rows_done": self.rows,
        }


class Run:
    """One worker's turn at one job."""

    def __init__(self, jobs: Jobs, import_id: uuid.UUID, worker: str) -> None:
        self.jobs = jobs
        self.engine = jobs.engine
        self.batch_size = jobs.settings.roster_batch_size
        self.import_id = import_id
        self.worker = worker

    # -- the row of the job, guarded by the lease

    def _mine(self) -> Any:
        return (RosterImport.id == self.import_id) & (RosterImport.worker == self.worker)

    def _renew(self, session: Session, seconds: float | None = None, **values: Any) -> None:
        """Renew the lease (and set ``values``) if it is still ours; else LostLease."""
        changes = {"lease_until": self.jobs.lease(seconds), "updated_at": clock.now(), **values}
        renewed = session.execute(update(RosterImport).where(self._mine()).values(**changes))
        if renewed.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            raise LostLease()

    def _finish(self, session: Session, status: RosterStatus, counters: Counters, **values: Any) -> None:
        now = clock.now()
        self._renew(session, status=status, stage=None, worker=None, lease_until=None, finished_at=now,
                    **counters.values(), **values)  # fmt: skip

    # -- the pass

    def execute(self) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            job = session.get(RosterImport, self.import_id)
            file = session.get(RosterImportFile, self.import_id)
            if job is None:
                return
            if file is None:
                self._renew(session)
                self._finish(session, RosterStatus.failed, Counters(), failure="The uploaded file is no longer available")
                session.commit()
                return
            text = file.content
            ctx = context(session, job)
            pass_kind, mode = RosterPass(job.pass_kind), RosterMode(job.mode) if job.mode else None
            resume_from = job.rows_done if pass_kind == RosterPass.commit and mode == RosterMode.skip_invalid else 0
            counters = Counters()
            if resume_from:
                counters = Counters(job.created, job.updated, job.unchanged, job.invalid, job.errors_count, job.rows_done)
            else:
                # Anything else starts over: a dry run wrote nothing, an all-or-nothing write was rolled back.
                stage = RosterStage.writing if mode == RosterMode.skip_invalid and pass_kind == RosterPass.commit else RosterStage.validating
                self._renew(session, stage=stage, failure=None, **counters.values())
                session.execute(delete(RosterImportError).where(RosterImportError.import_id == self.import_id))
                session.commit()
            rows = records(text, job.delimiter)
            if resume_from:
                log.info("roster import %s: resuming after row %d of %d", self.import_id, resume_from, job.rows_total)
                rows = self._skip(ctx, rows, resume_from)
        write = pass_kind == RosterPass.commit and mode == RosterMode.skip_invalid
        self._batches(ctx, rows, counters, write=write)
        with Session(self.engine) as session:
            if pass_kind == RosterPass.dry_run:
                self._finish(session, RosterStatus.validated, counters)
            elif mode == RosterMode.skip_invalid:
                self._finish(session, RosterStatus.committed, counters)
                _purge(session, ctx.institution_id, [self.import_id], None)
            elif counters.invalid:
                self._finish(session, RosterStatus.rejected, counters)
            else:
                session.commit()
                self._write_all(ctx.institution_id, text)
                return
            session.commit()

    def _skip(self, ctx: Context, rows: Iterator[tuple[int, list[str]]], count: int) -> Iterator[tuple[int, list[str]]]:
        """Pass over the rows a previous worker committed, remembering their external ids."""
        for _ in range(count):
            number, cells = next(rows)
            raw = _raw(ctx, cells, "external_id")
            if raw and raw not in ctx.seen:
                ctx.seen[raw] = number
        return rows

    def _chunks(self, rows: Iterator[tuple[int, list[str]]]) -> Iterator[list[tuple[int, list[str]]]]:
        batch: list[tuple[int, list[str]]] = []
        for item in rows:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _batches(self, ctx: Context, rows: Iterator[tuple[int, list[str]]], counters: Counters, *, write: bool) -> None:
        for number, batch in enumerate(self._chunks(rows), start=1):
            if write:
                with Session(self.engine) as session:
                    refresh_statistics(session, number)
                    session.commit()
            for attempt in (1, 2):
                with Session(self.engine, expire_on_commit=False) as session:
                    try:
                        self._renew(session)
                        result = process_batch(session, ctx, batch, write=write)
                        self._report(session, ctx.institution_id, result.problems)
                        after = Counters(**vars(counters))
                        after.add(result, len(batch))
                        self._renew(session, **after.values())
                        session.commit()
                    except (IntegrityError, OperationalError):
                        # A concurrent change to the same profiles: check the batch again once.
                        session.rollback()
                        if attempt == 2:
                            raise
                        continue
                result.merge_into(ctx)
                counters.add(result, len(batch))
                break

    def _report(self, session: Session, institution_id: uuid.UUID, problems: list[Problem]) -> None:
        if problems:
            session.add_all(
                RosterImportError(
                    institution_id=institution_id, import_id=self.import_id, row=p.row, field=p.field[:60],
                    problem=p.problem[:500], code=p.code[:40],
                )
                for p in sorted(problems, key=lambda p: p.row)  # in row order (ids are time-ordered)
            )  # fmt: skip

    def _write_all(self, institution_id: uuid.UUID, text: str) -> None:
        """All or nothing: every row in one transaction, checked again as it is written."""
        with Session(self.engine, expire_on_commit=False) as session:
            self._renew(session, self.jobs.settings.roster_write_lease_seconds, stage=RosterStage.writing)
            session.commit()
        with Session(self.engine, expire_on_commit=False) as session:
            job = session.get(RosterImport, self.import_id)
            assert job is not None
            ctx = context(session, job)
            counters = Counters()
            failed: list[Problem] = []
            for number, batch in enumerate(self._chunks(records(text, job.delimiter)), start=1):
                refresh_statistics(session, number)
                try:
                    result = process_batch(session, ctx, batch, write=True)
                except IntegrityError:
                    # A profile changed meanwhile so that a write clashed: report the batch.
                    failed = [Problem(batch[0][0], "row", "A row clashed with a change made meanwhile; start the commit again",
                                      "conflict")]  # fmt: skip
                    break
                if result.problems:
                    failed = result.problems
                    counters.add(result, len(batch))
                    break
                result.merge_into(ctx)
                counters.add(result, len(batch))
            if not failed:
                self._finish(session, RosterStatus.committed, counters)
                _purge(session, institution_id, [self.import_id], None)
                session.commit()
                return
            session.rollback()
        with Session(self.engine) as session:
            self._renew(session)
            self._report(session, institution_id, failed)
            nothing = Counters(invalid=counters.invalid, errors=len(failed), rows=counters.rows)
            self._finish(session, RosterStatus.rejected, nothing,
                         failure="A row became invalid while writing (changed meanwhile); nothing was written")  # fmt: skip
            session.commit()


_JOBS_LOCK = threading.Lock()


def jobs_of(app: Any) -> Jobs:
    """The app's job runner (one per process and app)."""
    with _JOBS_LOCK:
        runner = getattr(app.state, "roster_jobs", None)
        if runner is None:
            runner = Jobs(app.state.engine, app.state.settings)
            app.state.roster_jobs = runner
        return runner
