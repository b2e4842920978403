"""Instruments: the built-in library, copies and versions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from servicekit.auth import CurrentPrincipal
from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import problem_responses
from servicekit.tenancy import tenant_of

from services.evaluation import access, catalog
from services.evaluation.access import in_thread
from services.evaluation.routers.common import CREATED
from services.evaluation.schemas import InstrumentCopy, InstrumentPatch, InstrumentPublic, InstrumentRevision
from services.evaluation.schemas.instruments import InstrumentKey

router = APIRouter(prefix="/v1/instruments", tags=["instruments"])
InstrumentId = Annotated[uuid.UUID, Path(description="The instrument version's id.")]


@router.get("", response_model=Page[InstrumentPublic], operation_id="list_instruments",
            summary="The built-in library (builtin=true, anyone authenticated) or your institution's versions",
            responses=problem_responses(400, 401, 422))
def list_instruments(
    who: CurrentPrincipal,
    session: SessionDep,
    builtin: Annotated[bool, Query(description="true: the built-in library; false: your institution's copies and versions.")] = False,
    key: Annotated[InstrumentKey | None, Query(description="Only versions of this key.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    if builtin:
        rows = [r for r in catalog.builtins() if key is None or r.instrument.key == key]
        return Page[InstrumentPublic](items=[InstrumentPublic.model_validate(x) for x in catalog.public(session, who, rows)])
    if tenant_of(who) is None and not who.is_admin:
        return Page[InstrumentPublic](items=[])
    rows, nxt = catalog.list_own(session, who, key=key, limit=limit, cursor=cursor)
    return Page[InstrumentPublic](items=[InstrumentPublic.model_validate(x) for x in catalog.public(session, who, rows)], next_cursor=nxt)


@router.get("/{instrument_id}", response_model=InstrumentPublic, operation_id="get_instrument",
            summary="One instrument version (built-ins: anyone authenticated; copies: their institution)",
            responses=problem_responses(401, 404, 422))
def get_instrument(instrument_id: InstrumentId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return catalog.public(session, who, [catalog.resolve(session, who, instrument_id)])[0]


@router.post("/{instrument_id}/copies", status_code=201, response_model=InstrumentPublic, operation_id="copy_instrument",
             summary="Copy an instrument into your institution as version 1 of a new key (coordinators)",
             responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)})
async def copy_instrument(instrument_id: InstrumentId, request: Request, response: Response, who: CurrentPrincipal,
                          session: SessionDep, idem: IdempotencyDep, body: InstrumentCopy | None = None) -> Any:
    access.staff_role(who, ("coordinator",))
    access.institution_of(who)
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    body = body or InstrumentCopy()
    created = await in_thread(catalog.copy, session, who, instrument_id, body.key, body.title.model_dump() if body.title else None)
    out = InstrumentPublic.model_validate((await in_thread(catalog.public, session, who, [created]))[0])
    await in_thread(idem.remember, session, 201, out)
    response.headers["Location"] = f"/v1/instruments/{out.id}"
    return out


def _revise(session: Any, who: Any, instrument_id: uuid.UUID, changes: dict[str, Any], response: Response) -> Any:
    access.staff_role(who, ("coordinator",))
    created = catalog.revise(session, who, instrument_id, changes)
    response.headers["Location"] = f"/v1/instruments/{created.id}"
    return catalog.public(session, who, [created])[0]


@router.put("/{instrument_id}", status_code=201, response_model=InstrumentPublic, operation_id="revise_instrument",
            summary="Edit your copy: the whole content of the next version (a new id; the old version never changes)",
            responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)})
def revise_instrument(instrument_id: InstrumentId, body: InstrumentRevision, response: Response, who: CurrentPrincipal, session: SessionDep) -> Any:
    return _revise(session, who, instrument_id, body.model_dump(mode="json", exclude_none=True), response)


@router.patch("/{instrument_id}", status_code=201, response_model=InstrumentPublic, operation_id="patch_instrument",
              summary="Edit parts of your copy as its next version (a new id; the old version never changes)",
              responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)})
def patch_instrument(instrument_id: InstrumentId, body: InstrumentPatch, response: Response, who: CurrentPrincipal, session: SessionDep) -> Any:
    changes = body.model_dump(mode="json", exclude_none=True)
    return _revise(session, who, instrument_id, changes, response)
