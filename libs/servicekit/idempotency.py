"""``Idempotency-Key`` on creating POSTs: a retry returns the first result.

The record is written in the same transaction as the creation, so either both
commit or neither does. A service declares the table on its own base::

    class IdempotencyRecord(IdempotencyRecordBase, Base, table=True):
        __tablename__ = "idempotency_records"

and an endpoint uses it::

    def create(..., idem: IdempotencyDep):
        replay = idem.replay(session, IdempotencyRecord)
        if replay: return replay
        created = service.create(...)
        idem.remember(session, IdempotencyRecord, 201, CreatedPublic.model_validate(created))
        return created

Reusing a key with a different body is a 422 problem naming the header; two
concurrent requests with one key: the second one gets a 409.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, UniqueConstraint
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, Session, SQLModel, select
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
    def __init__(self, key: str | None, principal: str, route: str, body: bytes) -> None:
        self.key = key
        self.principal = principal
        self.route = route
        self.fingerprint = hashlib.sha256(route.encode() + b"\n" + body).hexdigest()

    def replay(self, session: Session, model: type[IdempotencyRecordBase]) -> JSONResponse | None:
        if not self.key:
            return None
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

    def remember(self, session: Session, model: type[IdempotencyRecordBase], status_code: int, result: BaseModel | Any) -> None:
        if not self.key:
            return
        session.add(
            model(
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
    principal = getattr(request.state, "principal", None)
    subject = f"{principal.subject}" if principal is not None else "anonymous"
    body = await request.body()
    return Idempotency(idempotency_key, subject, f"{request.method} {request.url.path}", body)


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]
