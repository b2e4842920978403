"""Engines, the per-service declarative base, and the request session.

Sync SQLAlchemy sessions run in FastAPI's worker threadpool. The pool is sized
to that threadpool (``pool_size = threadpool_size``) so that a thread holding a
request never waits for a connection another waiting thread holds: the c=64
deadlock described in docs/architecture.md cannot happen.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request

from sqlalchemy import CheckConstraint, DateTime, MetaData, TypeDecorator, event, make_url
from sqlalchemy import exc as sa_exc
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


class UtcDateTime(TypeDecorator[datetime]):
    """A column of aware UTC times: aware UTC in, aware UTC out (SQLite forgets the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def one_of(column: str, vocabulary: type[StrEnum], *, nullable: bool = False) -> CheckConstraint:
    """A CHECK that ``column`` holds a value of ``vocabulary`` (named ``ck_<table>_<column>``
    by the naming convention). A NULL passes either way (SQL's IN is unknown on NULL);
    ``nullable`` only spells that out in the constraint, as some migrations wrote it."""
    condition = f"{column} IN ({', '.join(repr(v.value) for v in vocabulary)})"
    return CheckConstraint(f"{column} IS NULL OR {condition}" if nullable else condition, name=column)


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


# PostgreSQL SQLSTATEs of a database that is (for now) out of reach: class 08
# (connection exceptions), a server shutting down or starting up (57P01-57P03),
# too many connections (53300).
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# SQLite's transient refusals: another writer holds the file past the busy
# timeout, or the file cannot be opened or read right now.
_SQLITE_TRANSIENT = ("database is locked", "unable to open database file", "disk i/o error")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database could not be
    reached or refused for now, rather than that the request or the code is
    wrong: a refused or lost connection, a server restarting, a pool with no
    connection to give within its timeout, a locked SQLite file. Such a
    failure is a 503 the client may retry (``servicekit.observability``); a
    missing table or a bad statement stays a 500."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.TimeoutError):  # the pool had no connection to give
            return True
        if isinstance(current, sa_exc.DBAPIError):
            if current.connection_invalidated:
                return True
            orig = current.orig
            sqlstate = getattr(orig, "sqlstate", None)
            if sqlstate:
                return sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
            if isinstance(orig, sqlite3.OperationalError):
                return str(orig).lower().startswith(_SQLITE_TRANSIENT)
            # psycopg raises OperationalError without a SQLSTATE when it cannot
            # connect at all (refused, reset, timed out).
            return isinstance(current, sa_exc.OperationalError) and orig is not None
        current = current.__cause__ or current.__context__
    return False
