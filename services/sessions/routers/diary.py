"""/v1/diary: the mentee's private entries, shared entry by entry with her mentor."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from servicekit.problems import problem_responses

from services.sessions import access, diary, supervision
from services.sessions.dependencies import CurrentPrincipal, EntryId, IdempotencyDep, SessionDep
from services.sessions.routers.common import CREATED, path_for
from services.sessions.schemas import DiaryCreate, DiaryPublic, Sharing

router = APIRouter(prefix="/v1/diary", tags=["diary"])


@router.post("", status_code=201, response_model=DiaryPublic, operation_id="create_diary_entry",
             summary="Write a diary entry (the mentee; private unless shared)", responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)})
def create_diary_entry(request: Request, response: Response, body: DiaryCreate, who: CurrentPrincipal, session: SessionDep, idem: IdempotencyDep) -> Any:
    if (again := idem.replay(session)) is not None:
        return again
    entry = diary.create(session, who, body)
    supervision.refresh_dyad(session, entry.dyad_id)  # a sign of life: her silence ends
    out = diary.public(entry)
    idem.remember(session, 201, out)
    response.headers["Location"] = path_for(request, "get_diary_entry", entry_id=out.id)
    return out


@router.get("", response_model=list[DiaryPublic], operation_id="list_diary_entries",
            summary="A dyad's diary: the mentee sees all hers, the mentor the shared ones; coordinators use the counts",
            responses=problem_responses(401, 403, 404, 422))
def list_diary_entries(dyad_id: Annotated[uuid.UUID, Query(description="The dyad.")], who: CurrentPrincipal, session: SessionDep) -> Any:
    dyad, capacity = access.dyad_for(session, who, dyad_id, allow=access.MEMBERS)
    return [diary.public(e) for e in diary.visible(session, dyad, capacity)]


@router.get("/{entry_id}", response_model=DiaryPublic, operation_id="get_diary_entry", name="get_diary_entry",
            summary="One entry (its author; her mentor once shared; anyone else 404)", responses=problem_responses(401, 404, 422))
def get_diary_entry(entry_id: EntryId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return diary.public(diary.entry_for(session, who, entry_id))


@router.put("/{entry_id}/sharing", response_model=DiaryPublic, operation_id="set_diary_sharing",
            summary="Share the entry with my mentor, or take it back (the author)", responses=problem_responses(401, 404, 409, 422))
def set_diary_sharing(entry_id: EntryId, body: Sharing, who: CurrentPrincipal, session: SessionDep) -> Any:
    return diary.public(diary.share(session, diary.entry_for(session, who, entry_id, author_only=True), body.shared))
