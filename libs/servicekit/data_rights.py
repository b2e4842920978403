"""Data-subject rights (GDPR Art. 15/20 export, Art. 17 erasure), one service at a time.

Every app (the gateway and each service) owns the data of its own tables
and so owns a handler module ``<app>/data_rights.py`` with this contract::

    PERSONAL: dict[str, str]      # table -> what personal data it holds
    NOT_PERSONAL: dict[str, str]  # table -> why it holds none
    def export_subject(session, institution_id, account_id, participant_ids) -> dict[str, list[dict]]
    def erase_subject(session, institution_id, account_id, participant_ids) -> dict[str, int]

``account_id`` is her gateway account (her tokens' ``sub``); ``participant_ids``
are her participant records in that institution (the gateway resolves them
once, before any step runs, since erasure in participants unlinks them).
``erase_subject`` is idempotent and commits nothing: the route's unit of work
commits the whole erasure in one transaction, or nothing.

PERSONAL names the tables whose purpose is to hold personal data; each is
exported and erased. Tables kept for transport or retries (the outbox feed,
stored answers of idempotent requests) are NOT_PERSONAL by purpose, but may
carry copies of her data: ``erase_subject`` scrubs those copies too and may
count them in its answer.

``router(module)`` mounts the internal, service-to-service endpoints::

    POST /internal/data-subjects/export    -> ExportAnswer
    POST /internal/data-subjects/erasure   -> ErasureAnswer
    POST /internal/data-subjects/resolve   -> ResolveAnswer (only when the module
                                              has ``resolve_participants``)

Wiring a service is one line in its ``main.py``, among the routers::

    data_rights.router(services.<svc>.data_rights)   # from servicekit import data_rights

Only the gateway's own internal token may call them (scope
``data-subjects:internal`` *and* subject ``service:gateway``, no institution):
an integration client that an admin gave the scope still gets 403. The
gateway's public proxy routes ``/v1/...`` prefixes only, so ``/internal/...``
is never reachable from outside.

``coverage(metadata, module)`` / ``assert_covered`` is the check that every
table of an app is classified exactly once: a new table without a decision
fails the suite (tests/test_data_rights_classification.py).
"""


import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import MetaData
from sqlmodel import Session

from servicekit.auth import CurrentPrincipal, Principal, client_scopes
from servicekit.db import SESSION_DEPENDENCY
from servicekit.inputs import InputModel
from servicekit.problems import ProblemError, problem_responses
from servicekit import scopes

DATA_RIGHTS_SCOPE = scopes.DATA_SUBJECTS_INTERNAL
GATEWAY_SUBJECT = "service:gateway"
PREFIX = "/internal/data-subjects"
EXPORT_PATH = f"{PREFIX}/export"
ERASURE_PATH = f"{PREFIX}/erasure"
RESOLVE_PATH = f"{PREFIX}/resolve"
MAX_PARTICIPANT_IDS = 100

AccountId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"),
]


class SubjectRef(InputModel):
    """Whose data: her account at the gateway and her participant records."""

    model_config = ConfigDict(extra="forbid")

    institution_id: uuid.UUID
    account_id: AccountId = Field(description="Her account id at the gateway (her tokens' `sub`).")
    participant_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_PARTICIPANT_IDS)


class ResolveRef(InputModel):
    model_config = ConfigDict(extra="forbid")

    institution_id: uuid.UUID
    account_id: AccountId


class ExportAnswer(BaseModel):
    service: str
    tables: dict[str, list[dict[str, Any]]] = Field(description="Table -> her rows.")


class ErasureAnswer(BaseModel):
    service: str
    tables: dict[str, int] = Field(description="Table -> rows erased or pseudonymised.")


class ResolveAnswer(BaseModel):
    participant_ids: list[uuid.UUID]


@client_scopes(DATA_RIGHTS_SCOPE)
def require_gateway(principal: CurrentPrincipal) -> Principal:
    """The gateway's own internal token, and nobody else's."""
    if (
        DATA_RIGHTS_SCOPE not in principal.scopes
        or principal.subject != GATEWAY_SUBJECT
        or not principal.is_client
        or principal.tenant_id is not None
    ):
        raise ProblemError(403, f"Only the gateway (scope {DATA_RIGHTS_SCOPE}) may call this", slug="insufficient-scope")
    return principal


GatewayCaller = Annotated[Principal, Depends(require_gateway)]


def _service_name(module: ModuleType) -> str:
    parts = module.__name__.split(".")
    # services.<svc>.data_rights -> <svc>; gateway.data_rights -> gateway
    return parts[-2] if len(parts) >= 2 else module.__name__


def router(
    module: ModuleType,
    *,
    service: str | None = None,
    session_dependency: Any = SESSION_DEPENDENCY,
    include_in_schema: bool = True,
) -> APIRouter:
    """The internal export/erasure endpoints of one app, calling ``module``'s handlers.
    ``include_in_schema=False`` keeps them out of a public OpenAPI document (the gateway's)."""
    for name in ("PERSONAL", "NOT_PERSONAL", "export_subject", "erase_subject"):
        if not hasattr(module, name):
            raise TypeError(f"{module.__name__} lacks {name}: see servicekit.data_rights for the contract")
    name = service or _service_name(module)
    api = APIRouter(tags=["internal"], responses=problem_responses(401, 403, 404, 422), include_in_schema=include_in_schema)

    @api.post(
        EXPORT_PATH,
        response_model=ExportAnswer,
        operation_id="export_data_subject_internal",
        summary="Everything this service holds about a person, per table (the gateway only)",
    )
    def export(
        body: SubjectRef, _caller: GatewayCaller, session: Annotated[Session, session_dependency]
    ) -> ExportAnswer:
        tables = module.export_subject(session, body.institution_id, body.account_id, body.participant_ids)
        return ExportAnswer(service=name, tables=jsonable_encoder(tables))

    @api.post(
        ERASURE_PATH,
        response_model=ErasureAnswer,
        operation_id="erase_data_subject_internal",
        summary="Erase a person's data in this service, in one transaction; idempotent (the gateway only)",
    )
    def erase(body: SubjectRef, _caller: GatewayCaller, session: Annotated[Session, session_dependency]) -> ErasureAnswer:
        counts = module.erase_subject(session, body.institution_id, body.account_id, body.participant_ids)
        return ErasureAnswer(service=name, tables={k: int(v) for k, v in counts.items()})

    resolve_fn: Callable[..., Sequence[uuid.UUID]] | None = getattr(module, "resolve_participants", None)
    if resolve_fn is not None:

        @api.post(
            RESOLVE_PATH,
            response_model=ResolveAnswer,
            operation_id="resolve_data_subject_internal",
            summary="Her participant ids in an institution (the gateway only)",
        )
        def resolve(
            body: ResolveRef, _caller: GatewayCaller, session: Annotated[Session, session_dependency]
        ) -> ResolveAnswer:
            return ResolveAnswer(participant_ids=list(resolve_fn(session, body.institution_id, body.account_id)))

    return api


# ---------------------------------------------------------------------------
# Coverage: every table classified exactly once


@dataclass(frozen=True)
class Coverage:
    unclassified: frozenset[str]  # in the metadata, in neither dict
    both: frozenset[str]  # in both dicts
    unknown: frozenset[str]  # classified, but no such table

    @property
    def ok(self) -> bool:
        return not (self.unclassified or self.both or self.unknown)

    def describe(self, app: str) -> str:
        lines = []
        if self.unclassified:
            lines.append(
                f"{app}: tables with no data-rights decision (add each to PERSONAL with an export and erasure "
                f"handler, or to NOT_PERSONAL with the reason): {', '.join(sorted(self.unclassified))}"
            )
        if self.both:
            lines.append(f"{app}: tables both PERSONAL and NOT_PERSONAL: {', '.join(sorted(self.both))}")
        if self.unknown:
            lines.append(f"{app}: classified tables that do not exist: {', '.join(sorted(self.unknown))}")
        return "\n".join(lines)


def coverage(metadata: MetaData, module: ModuleType) -> Coverage:
    tables = set(metadata.tables)
    personal, not_personal = set(module.PERSONAL), set(module.NOT_PERSONAL)
    return Coverage(
        unclassified=frozenset(tables - personal - not_personal),
        both=frozenset(personal & not_personal),
        unknown=frozenset((personal | not_personal) - tables),
    )


def assert_covered(metadata: MetaData, module: ModuleType, app: str) -> None:
    result = coverage(metadata, module)
    assert result.ok, result.describe(app)


__all__ = [
    "DATA_RIGHTS_SCOPE",
    "ERASURE_PATH",
    "EXPORT_PATH",
    "GATEWAY_SUBJECT",
    "RESOLVE_PATH",
    "Coverage",
    "ErasureAnswer",
    "ExportAnswer",
    "ResolveAnswer",
    "SubjectRef",
    "assert_covered",
    "coverage",
    "require_gateway",
    "router",
]
