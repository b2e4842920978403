"""Annotated aliases the routes declare. Auth dependencies are ``async def``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path

from servicekit.auth import CurrentPrincipal
from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep

ProgramId = Annotated[uuid.UUID, Path(description="The program's id (from the participants service).")]
DyadId = Annotated[uuid.UUID, Path(description="The dyad's id (the match id).")]
MeetingId = Annotated[uuid.UUID, Path(description="The meeting's id.")]
FormId = Annotated[uuid.UUID, Path(description="The feedback form's id.")]
ObjectiveId = Annotated[uuid.UUID, Path(description="The objective's id.")]
MilestoneId = Annotated[uuid.UUID, Path(description="The milestone's id.")]
EntryId = Annotated[uuid.UUID, Path(description="The diary entry's id.")]
EventId = Annotated[uuid.UUID, Path(description="The group event's id.")]

__all__ = [
    "CurrentPrincipal", "DyadId", "EntryId", "EventId", "FormId", "IdempotencyDep", "MeetingId", "MilestoneId", "ObjectiveId",
    "ProgramId", "SessionDep",
]
