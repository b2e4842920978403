"""Roster imports: upload a CSV, dry-run it, commit it; poll the job and read its report.

Coordinators of the institution and admins only (other members 403, anyone
else 404). The format and the rules are in ``services.participants.roster``.
"""

import uuid
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    Path,
    Query,
    Request,
    Response,
    status,
)
from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import ProblemError, field_problem, problem_responses
from starlette.datastructures import UploadFile

from services.participants import roster, service
from services.participants.config import Settings
from services.participants.dependencies import CoordinatorOf, InstitutionId
from services.participants.roster import runner
from services.participants.roster.file import decode
from services.participants.routers.common import CREATED, location, replayed
from services.participants.schemas import (
    RosterCommit,
    RosterIdKind,
    RosterImportPublic,
    RosterPass,
    RosterRowError,
)

router = APIRouter()
ROSTER = "roster-imports"
PATH = "/institutions/{institution_id}/roster-imports"
# A multipart form carries the file and its boundaries and part headers.
MULTIPART_OVERHEAD = 64 * 1024
# The one route whose body may exceed the service's body limit (servicekit.limits).
UPLOAD_ROUTE = "POST /v1" + PATH


def upload_limit(settings: Settings) -> int:
    """The body limit of the upload route: the roster itself, in a form."""
    return settings.roster_max_bytes + MULTIPART_OVERHEAD

ImportId = Annotated[uuid.UUID, Path(description="The roster import's id.")]

ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Started; poll `Location` (the import) until its status is no longer validating or committing",
        "headers": {"Location": {"description": "Path of the import.", "required": True, "schema": {"type": "string"}}},
    }
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            "The roster file: the CSV itself (`text/csv`, optionally with `; charset=...`), or a form with one "
            "file field named `file` (`multipart/form-data`)."
        ),
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "external_id,email,given_name,family_name,campus,academic_unit,affiliation,career_stage,lms_id\n"
                "A0123456,ana.lopez@uaeh.edu.mx,Ana,López,Campus Norte,ING,graduate,graduate_student,moodle-4711\n",
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


class RosterUpload:
    """The uploaded bytes, their charset and file name."""

    def __init__(self, content: bytes, charset: str | None, filename: str | None) -> None:
        self.content, self.charset, self.filename = content, charset, filename


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _too_large(limit: int) -> ProblemError:
    return ProblemError(413, f"The upload is larger than {limit} bytes", slug="too-large", title="Request too large")


def _media_type(header: str) -> tuple[str, dict[str, str]]:
    kind, _, rest = header.partition(";")
    params = {}
    for part in rest.split(";"):
        name, _, value = part.partition("=")
        if name.strip():
            params[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), params


async def read_upload(request: Request) -> RosterUpload:
    """Read the body, never more than ``roster_max_bytes`` of it.

    Declared before ``IdempotencyDep``, which then reads the same (cached) body.
    """
    limit = _settings(request).roster_max_bytes
    kind, params = _media_type(request.headers.get("content-type", ""))
    if kind not in ("text/csv", "multipart/form-data"):
        raise ProblemError(
            415,
            "Send the roster as text/csv or as multipart/form-data with a field named file",
            slug="unsupported-media-type",
            errors=None,
        )
    allowed = limit + (MULTIPART_OVERHEAD if kind == "multipart/form-data" else 0)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > allowed:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > allowed:
            raise _too_large(limit)
        chunks.append(chunk)
    # Starlette keeps the body it read here; request.body() and request.form() reuse it.
    request._body = b"".join(chunks)  # noqa: SLF001
    if kind == "text/csv":
        return RosterUpload(request._body, params.get("charset"), None)  # noqa: SLF001
    try:
        form = await request.form(max_files=1, max_fields=10, max_part_size=limit)
    except Exception:  # noqa: BLE001 - python-multipart's refusals, as a 400
        raise field_problem("body", "Not a valid multipart/form-data body", status=400, code="bad_multipart") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise field_problem("body.file", "Give the roster file in a form field named file", code="missing")
    content = await upload.read()
    await form.close()
    if len(content) > limit:
        raise _too_large(limit)
    charset = _media_type(upload.content_type or "")[1].get("charset")
    filename = (upload.filename or "")[:200] or None
    return RosterUpload(content, charset, filename)


Upload = Annotated[RosterUpload, Depends(read_upload)]


@router.post(
    PATH,
    status_code=status.HTTP_201_CREATED,
    response_model=RosterImportPublic,
    operation_id="create_roster_import",
    summary="Upload a roster file (CSV from a student-record or HR export) for import (coordinators, admin)",
    description=(
        "Checks the header and counts the rows; nothing is imported yet. Then `POST .../dry-run` for the "
        "validation report, and `POST .../commit`. Columns: `external_id` and `email` (required), "
        "`display_name` or `given_name` (+ `family_name`), `campus` (a campus name), `academic_unit` (a unit "
        "code), `affiliation`, `career_stage`, `lms_id`; other columns are ignored. `id_kind` says whether "
        "`external_id` is the SIS or the HR id. Larger than `PARTICIPANTS_ROSTER_MAX_BYTES`: 413."
    ),
    tags=[ROSTER],
    openapi_extra=UPLOAD_BODY,
    responses={**CREATED, **problem_responses(400, 401, 403, 404, 409, 413, 415, 422)},
)
def create_roster_import(
    institution_id: InstitutionId,
    who: CoordinatorOf,
    upload: Upload,
    idem: IdempotencyDep,
    session: SessionDep,
    request: Request,
    response: Response,
    id_kind: Annotated[RosterIdKind, Query(description="What `external_id` holds: the SIS (student) or HR (staff) id.")],
) -> Any:
    service.get_institution(session, institution_id)
    if (replay := idem.replay(session)) is not None:
        return replayed(replay, request, "get_roster_import", "import_id", institution_id=institution_id)
    text = decode(upload.content, upload.charset)
    job = roster.create(
        session,
        institution_id,
        text=text,
        size=len(upload.content),
        filename=upload.filename,
        id_kind=id_kind,
        created_by=who.subject,
        settings=_settings(request),
    )
    result = roster.public(job)
    idem.remember(session, status.HTTP_201_CREATED, result)
    response.headers["Location"] = location(request, "get_roster_import", institution_id=institution_id, import_id=job.id)
    return result


@router.get(
    PATH,
    response_model=Page[RosterImportPublic],
    operation_id="list_roster_imports",
    summary="List the institution's roster imports, oldest first (coordinators, admin)",
    tags=[ROSTER],
    responses=problem_responses(400, 401, 403, 404, 422),
)
def list_roster_imports(
    institution_id: InstitutionId,
    _who: CoordinatorOf,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    service.get_institution(session, institution_id)
    rows, next_cursor = roster.list_imports(session, institution_id, limit=limit, cursor=cursor)
    return Page[RosterImportPublic](items=[roster.public(r) for r in rows], next_cursor=next_cursor)


@router.get(
    PATH + "/{import_id}",
    response_model=RosterImportPublic,
    operation_id="get_roster_import",
    summary="A roster import: status, progress and counts (poll it while it runs; coordinators, admin)",
    description=(
        "`progress` (percent, rows_done, rows_total, errors_so_far) and `counts` (created, updated, unchanged, "
        "invalid) describe the latest pass (`last_pass`): what a dry run would do, or what a commit did. Any "
        "replica answers; a job whose worker died is resumed by the replica that answers the next poll."
    ),
    tags=[ROSTER],
    responses=problem_responses(401, 403, 404, 422),
)
def get_roster_import(
    institution_id: InstitutionId,
    import_id: ImportId,
    _who: CoordinatorOf,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> Any:
    job = roster.get(session, institution_id, import_id)
    if roster.stalled(job):
        background.add_task(runner.poke, request.app)
    return roster.public(job)


@router.get(
    PATH + "/{import_id}/errors",
    response_model=Page[RosterRowError],
    operation_id="list_roster_import_errors",
    summary="The validation report of the latest pass: row, field, problem (coordinators, admin)",
    description="In row order. Rows count the header as row 1, as a spreadsheet shows them.",
    tags=[ROSTER],
    responses=problem_responses(400, 401, 403, 404, 422),
)
def list_roster_import_errors(
    institution_id: InstitutionId,
    import_id: ImportId,
    _who: CoordinatorOf,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    job = roster.get(session, institution_id, import_id)
    rows, next_cursor = roster.list_errors(session, job, limit=limit, cursor=cursor)
    return Page[RosterRowError](items=[RosterRowError.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    PATH + "/{import_id}/dry-run",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RosterImportPublic,
    operation_id="dry_run_roster_import",
    summary="Check every row without writing anything: the report and the counts it would give (coordinators, admin)",
    description="From uploaded, validated, rejected or failed. Runs in the background: poll the import.",
    tags=[ROSTER],
    responses={**ACCEPTED, **problem_responses(401, 403, 404, 409, 422)},
)
def dry_run_roster_import(
    institution_id: InstitutionId,
    import_id: ImportId,
    _who: CoordinatorOf,
    session: SessionDep,
    request: Request,
    response: Response,
    background: BackgroundTasks,
) -> Any:
    job = roster.get(session, institution_id, import_id, lock=True)
    roster.start(session, job, RosterPass.dry_run, None, _settings(request))
    background.add_task(runner.poke, request.app)
    response.headers["Location"] = location(request, "get_roster_import", institution_id=institution_id, import_id=job.id)
    return roster.public(job)


@router.post(
    PATH + "/{import_id}/commit",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RosterImportPublic,
    operation_id="commit_roster_import",
    summary="Import the rows: skip the invalid ones, or all or nothing (coordinators, admin)",
    description=(
        "From uploaded, validated, rejected or failed; one commit at a time per institution (409). Upserts by "
        "external id: committing the same rows again changes nothing. `skip_invalid` writes each valid row and "
        "reports the others; `all_or_nothing` ends `rejected` with nothing written if any row is invalid. Runs in "
        "the background: poll the import. A committed import is final and its file is deleted."
    ),
    tags=[ROSTER],
    responses={**ACCEPTED, **problem_responses(401, 403, 404, 409, 422)},
)
def commit_roster_import(
    institution_id: InstitutionId,
    import_id: ImportId,
    _who: CoordinatorOf,
    body: RosterCommit,
    session: SessionDep,
    request: Request,
    response: Response,
    background: BackgroundTasks,
) -> Any:
    job = roster.get(session, institution_id, import_id, lock=True)
    roster.start(session, job, RosterPass.commit, body.mode, _settings(request))
    background.add_task(runner.poke, request.app)
    response.headers["Location"] = location(request, "get_roster_import", institution_id=institution_id, import_id=job.id)
    return roster.public(job)
