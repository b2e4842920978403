"""``Idempotency-Key`` on creating POSTs: a retry returns the first result.

The record is written in the same transaction as the creation, so either both
commit or neither does. A service declares the table on its own base::

    class IdempotencyRecord(IdempotencyRecordBase, Base, table=True):
        __tablename__ = "idempotency_records"

binds it once, when its app is built::

    create_service_app(..., idempotency_model=IdempotencyRecord)

and an endpoint takes the key with ``IdempotencyDep``, which knows the table::

    def create(..., idem: IdempotencyDep):
        if (replay := idem.replay(session)) is not None:
            return replay
        created = service.create(...)
        idem.remember(session, 201, CreatedPublic.model_validate(created))
        return created

An ``async def`` endpoint runs both calls on a worker thread, like its other
database work: ``await in_thread(idem.replay, session)``.

Reusing a key with a different body is a 422 problem naming the header; two
concurrent requests with one key: the second one gets a 409. An app that has
a route taking the key but no bound table is refused when it is built
(``create_service_app`` raises); a route added after that fails on its first
request. Never a silent creation without the key's protection.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from sqlalchemy import JSON, UniqueConstraint
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, Session, SQLModel, select
from starlette.routing import BaseRoute
from uuid6 import uuid7

from servicekit.outbox import utcnow
from servicekit.problems import field_problem


class IdempotencyRecordBase(SQLModel):
    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    principal: str = Field(max_length=200)
    key: str = Field(max_length=200)
    route: str = Field(max_length=300)
    fingerprint: str = Field(max_length=64)
    status_code: int
    body: Any = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)

    @declared_attr  # type: ignore[misc]
    def __tablename__(cls) -> str:  # noqa: N805
        return "idempotency_records"

    @declared_attr  # type: ignore[misc]
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805
        return (UniqueConstraint("principal", "key"),)


class Idempotency:
    """This request's key, kept in ``model`` (the app's record table)."""

    def __init__(
        self, key: str | None, principal: str, route: str, body: bytes, model: type[IdempotencyRecordBase]
    ) -> None:
        self.key = key
        self.principal = principal
        self.route = route
        self.fingerprint = hashlib.sha256(route.encode() + b"\n" + body).hexdigest()
        self.model = model

    def replay(self, session: Session) -> JSONResponse | None:
        """The first answer, when this key was already used for this request; ``None`` for a new one."""
        if not self.key:
            return None
        model = self.model
        record = session.exec(
            select(model).where(model.principal == self.principal, model.key == self.key)
        ).first()
        if record is None:
            return None
        if record.fingerprint != self.fingerprint:
            raise field_problem(
                "header.idempotency-key",
                "This key was already used for a different request",
                code="idempotency_key_reused",
            )
        return JSONResponse(record.body, status_code=record.status_code, headers={"Idempotent-Replayed": "true"})

    def remember(self, session: Session, status_code: int, result: BaseModel | Any) -> None:
        """Keep ``result`` as the answer (with ``status_code``) to every retry with this key, in this transaction."""
        if not self.key:
            return
        session.add(
            self.model(
                principal=self.principal,
                key=self.key,
                route=self.route,
                fingerprint=self.fingerprint,
                status_code=status_code,
                body=jsonable_encoder(result),
            )
        )
        session.flush()


async def idempotency(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="Makes this POST safe to retry: a retry with the same key returns the first result.",
        ),
    ] = None,
) -> Idempotency:
    route = f"{request.method} {request.url.path}"
    model: type[IdempotencyRecordBase] | None = getattr(request.app.state, "idempotency_model", None)
    if model is None:
        raise RuntimeError(
            f"{route} takes an Idempotency-Key but the app has no idempotency record table: "
            "pass idempotency_model= to create_service_app"
        )
    principal = getattr(request.state, "principal", None)
    subject = f"{principal.subject}" if principal is not None else "anonymous"
    body = await request.body()
    return Idempotency(idempotency_key, subject, route, body, model)


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]


def _takes_key(dependant: Dependant) -> bool:
    return any(dep.call is idempotency or _takes_key(dep) for dep in dependant.dependencies)


def routes_taking_keys(routes: Sequence[BaseRoute]) -> list[str]:
    """``"POST /path"`` of each route that declares ``IdempotencyDep`` (directly or in a dependency),
    included routers' routes too (walked as FastAPI walks them for the OpenAPI document)."""
    return [
        f"{' '.join(sorted(route.methods or ()))} {route.path}"
        for route in iter_route_contexts(routes)
        if isinstance(route.original_route, APIRoute) and _takes_key(route.dependant)
    ]


def bind_model(app: FastAPI, model: type[IdempotencyRecordBase] | None) -> None:
    """Keep ``model`` as ``app``'s record table; refuse an app whose routes take a key without one."""
    if model is None and (routes := routes_taking_keys(app.routes)):
        raise RuntimeError(
            f"{app.title}: routes take an Idempotency-Key ({', '.join(routes)}) but the app has no idempotency "
            "record table: pass idempotency_model= to create_service_app"
        )
    app.state.idempotency_model = model
