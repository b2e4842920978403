"""Engines, the per-service declarative base, and the request session.

Sync SQLAlchemy sessions run in FastAPI's worker threadpool. The pool is sized
to that threadpool (``pool_size = threadpool_size``) so that a thread holding a
request never waits for a connection another waiting thread holds: the c=64
deadlock described in docs/architecture.md cannot happen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request

from sqlalchemy import MetaData, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import registry
from sqlmodel import Session, create_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_registry() -> registry:
    """A registry with its own MetaData, for one service's SQLModel base:

        class Base(SQLModel, registry=new_registry()): ...
    """
    return registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, *, pool_size: int = 40, max_overflow: int = 10, echo: bool = False) -> Engine:
    url = normalise_url(url)
    # hide_parameters: a statement's values never go into an error's text, so a
    # traceback in the log shows the SQL but never a diary entry or an answer
    # (nor a huge value someone sent).
    kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if make_url(url).database not in (None, "", ":memory:"):
            kwargs.update(pool_size=pool_size, max_overflow=max_overflow)
    else:
        kwargs.update(pool_size=pool_size, max_overflow=max_overflow, pool_recycle=1800)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit at the end, roll back on any error.

    Used with ``Depends(..., scope="function")`` so the commit happens before
    the response is sent: a client never sees a 2xx for a write that did not
    commit. ``expire_on_commit=False`` lets the response be serialised from the
    objects after the commit without reloading them.
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work, on the app's engine (``app.state.engine``)."""
    yield from session_scope(request.app.state.engine)


# scope="function": the commit runs before the response is sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SESSION_DEPENDENCY = Depends(get_session, scope="function")
