"""Per-request context the routes declare: the verified caller, the participants
client, and lookups in participants cached for the request (her participant
record, a program). Every dependency is ``async def``."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any, Callable, TypeVar

import anyio.to_thread
from fastapi import Depends, Path, Request

from servicekit.auth import CurrentPrincipal, Principal

from services.matching.clients.participants import ParticipantsClient, Participant, Program

T = TypeVar("T")

ProgramId = Annotated[uuid.UUID, Path(description="The program's id (from the participants service).")]
MatchId = Annotated[uuid.UUID, Path(description="The match's id.")]
RunId = Annotated[uuid.UUID, Path(description="The run's id.")]


class Context:
    """The caller and what participants says about her, read at most once per request."""

    def __init__(self, request: Request, who: Principal) -> None:
        self.request = request
        self.who = who
        self.participants: ParticipantsClient = request.app.state.participants
        self._programs: dict[uuid.UUID, Program] = {}
        self._me: Participant | None = None

    async def program(self, program_id: uuid.UUID) -> Program:
        if program_id not in self._programs:
            self._programs[program_id] = await self.participants.program(program_id, self.who.token)
        return self._programs[program_id]

    async def me(self) -> Participant:
        if self._me is None:
            self._me = await self.participants.me(self.who.token)
        return self._me

    @property
    def settings(self) -> Any:
        return self.request.app.state.settings

    @property
    def identity_tokens(self) -> Any:
        return self.request.app.state.identity_tokens


async def _context(request: Request, who: CurrentPrincipal) -> Context:
    return Context(request, who)


Ctx = Annotated[Context, Depends(_context)]


async def in_thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking work (database, solver) on a worker thread."""
    return await anyio.to_thread.run_sync(partial(func, *args, **kwargs))
