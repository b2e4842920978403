"""A tiny app built only from servicekit, to test the mechanism on its own."""

import uuid
from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import APIRouter, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field as PField
from sqlmodel import Field, Session, SQLModel, select
from uuid6 import uuid7

from servicekit.app import create_service_app
from servicekit.auth import CurrentPrincipal
from servicekit.db import SESSION_DEPENDENCY, SessionDep, make_engine, new_registry
from servicekit.idempotency import IdempotencyDep, IdempotencyRecordBase
from servicekit.outbox import OutboxEventBase, emit, feed_router
from servicekit.pagination import Cursor, Limit, Page, paginate
from servicekit.problems import ProblemError, problem_responses
from servicekit.settings import BaseServiceSettings


class KitBase(SQLModel, registry=new_registry()):
    pass


class Widget(KitBase, table=True):
    __tablename__ = "widgets"
    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    name: str = Field(max_length=50, unique=True)


class KitOutbox(OutboxEventBase, KitBase, table=True):
    pass


class KitIdempotency(IdempotencyRecordBase, KitBase, table=True):
    pass


class WidgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = PField(min_length=1, max_length=50)
    fail_after_write: bool = False


class WidgetOut(BaseModel):
    id: uuid.UUID
    name: str


def kit_router() -> APIRouter:
    router = APIRouter(responses=problem_responses(401, 403))

    @router.post("/v1/widgets", response_model=WidgetOut, status_code=201, operation_id="create_widget")
    def create_widget(body: WidgetIn, session: SessionDep, _p: CurrentPrincipal, idem: IdempotencyDep):
        replay = idem.replay(session)
        if replay is not None:
            return replay
        widget = Widget(name=body.name)
        session.add(widget)
        emit(session, KitOutbox, "widget.created", subject=widget.id, payload={"name": body.name})
        session.flush()
        if body.fail_after_write:
            raise ProblemError(409, "refused after writing", slug="conflict")
        out = WidgetOut(id=widget.id, name=widget.name)
        idem.remember(session, 201, out)
        return out

    @router.get("/v1/widgets", response_model=Page[WidgetOut], operation_id="list_widgets")
    def list_widgets(session: SessionDep, _p: CurrentPrincipal, limit: Limit = 50, cursor: Cursor = None):
        rows, nxt = paginate(session, select(Widget), Widget.id, limit=limit, cursor=cursor)
        return Page[WidgetOut](items=[WidgetOut(id=r.id, name=r.name) for r in rows], next_cursor=nxt)

    @router.get("/v1/boom", operation_id="boom", response_model=WidgetOut)
    def boom(q: Annotated[int, Query(ge=0)] = 0) -> WidgetOut:
        raise RuntimeError("secret internal detail")

    return router


@pytest.fixture()
def kit_url(database_factory) -> str:
    url = database_factory.new("kit")
    engine = make_engine(url, pool_size=2)
    KitBase.metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture()
def kit_app(kit_url, key_source):
    settings = BaseServiceSettings(service_name="kit", database_url=kit_url, log_level="WARNING")
    routers = [kit_router(), feed_router(KitOutbox, SESSION_DEPENDENCY)]
    return create_service_app(
        settings=settings, title="kit", description="servicekit test app", routers=routers, key_source=key_source,
        idempotency_model=KitIdempotency,
    )


@pytest.fixture()
def kit(kit_app) -> Iterator[TestClient]:
    with TestClient(kit_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture()
def kit_session(kit_app) -> Iterator[Session]:
    with Session(kit_app.state.engine) as session:
        yield session
