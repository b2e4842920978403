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

A pass runs on a worker thread of a replica (``roster.runner``, usually the
one that started it). Nothing about a job lives only in memory: the row in
``roster_imports`` holds status, cursor, counts and a lease that every batch
renews. When a process dies, its lease runs out and the next replica that
answers a poll of the job (or whose runner looks next) resumes it: a
skip-invalid commit from its last committed batch, anything else from the
start (a dry run wrote nothing; an all-or-nothing write was rolled back). Two
replicas never run one job: the lease is claimed and renewed by conditional
UPDATEs that only its holder passes (``servicekit.jobs``), in the same
transaction as each batch.

The package: ``file`` reads the upload, ``rows`` checks and writes rows,
``runner`` runs the passes; the use-cases of the import API are here.

**Personal data.** The uploaded file is deleted when the import is committed,
``roster_file_retention_days`` after the upload otherwise, and by an erasure
request that finds her identifiers in it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, select

from servicekit import clock
from servicekit.jobs import expired
from servicekit.outbox import utcnow
from servicekit.pagination import paginate
from servicekit.problems import ProblemError, conflict, not_found

from services.participants.config import Settings
from services.participants.models import (
    Application,
    Institution,
    Participant,
    RosterImport,
    RosterImportError,
    RosterImportFile,
)
from services.participants.roster.file import read_header
from services.participants.enums import (
    RosterIdKind,
    RosterMode,
    RosterPass,
    RosterStage,
    RosterStatus,
)
from services.participants.schemas.roster import (
    ROSTER_COLUMNS,
    RosterCounts,
    RosterImportPublic,
    RosterProgress,
)
from services.participants.service import Rows

RUNNING = (RosterStatus.validating, RosterStatus.committing)
STARTABLE = (RosterStatus.uploaded, RosterStatus.validated, RosterStatus.rejected, RosterStatus.failed)


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
    return job.status in RUNNING and expired(job.lease_until)


def _refuse_start(job: RosterImport, action: str) -> ProblemError:
    if job.status in RUNNING:
        detail = f"The import is {job.status}; wait until it ends"
    elif job.status == RosterStatus.committed:
        detail = "The import was committed: that is final. Upload the file again to import it again"
    else:
        detail = f"Cannot {action} an import that is {job.status}"
    return conflict(detail, current_status=job.status)


def start(session: Session, job: RosterImport, pass_kind: RosterPass, mode: RosterMode | None, settings: Settings) -> RosterImport:
    """Put the job in its running state; the caller pokes the runner after the commit.
    Until a worker claims it, the job counts as stalled only after one lease period."""
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
    old = select(RosterImport.id).where(
        RosterImport.institution_id == institution_id,
        RosterImport.created_at < cutoff,
        RosterImport.file_purged_at.is_(None),  # type: ignore[union-attr]
        RosterImport.status.not_in(RUNNING),  # type: ignore[attr-defined]
    )
    ids = list(session.exec(old).all())
    if ids:
        purge(session, institution_id, ids, "The upload was deleted after the retention period")


def purge(session: Session, institution_id: uuid.UUID, ids: list[uuid.UUID], reason: str | None) -> None:
    """Delete the uploads of these imports (``reason`` becomes the failure of those not committed)."""
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
        purge(session, institution_id, ids, "The upload was deleted by an erasure request")
    return len(ids)



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

