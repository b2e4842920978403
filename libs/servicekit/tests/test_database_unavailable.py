"""A database out of reach is a 503 the client may retry, never a 500.

During a PostgreSQL restart or crash every app used to answer
``internal-error``. Now a refused connection, a connection the server
terminated mid-request, an exhausted pool or a locked SQLite file is a 503
problem (``database-unavailable``) with ``Retry-After``; nothing is written.
A genuine bug (a missing table, a bad statement) stays a 500."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text
from sqlalchemy import exc as sa_exc
from sqlmodel import Session, func, select

from servicekit.app import create_service_app
from servicekit.db import SessionDep, database_unavailable, make_engine
from servicekit.settings import BaseServiceSettings
from servicekit.testing import bearer

from .conftest import Widget


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def _app(url: str, key_source: Any) -> Any:
    router = APIRouter()

    @router.post("/v1/crash-midway", operation_id="crash_midway", status_code=201)
    def crash_midway(session: SessionDep) -> dict[str, str]:
        """Writes a widget and loses the database before the commit."""
        conn = session.connection()
        if conn.dialect.name == "sqlite":
            # Another process holds the file's write lock (the test does) past this connection's patience.
            conn.exec_driver_sql("PRAGMA busy_timeout=50")
        session.add(Widget(name="half-written"))
        session.flush()
        if conn.dialect.name == "postgresql":
            # The server ends this backend, as a crash or an immediate shutdown does (SQLSTATE 57P01).
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            admin = create_engine(conn.engine.url.render_as_string(hide_password=False))
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.dispose()
            conn.execute(text("SELECT 1"))
        return {"never": "reached"}

    @router.get("/v1/missing-table", operation_id="missing_table")
    def missing_table(session: SessionDep) -> dict[str, int]:
        return {"n": session.exec(text("SELECT count(*) FROM no_such_table")).one()[0]}  # type: ignore[call-overload]

    @router.get("/v1/count", operation_id="count_widgets")
    def count(session: SessionDep) -> dict[str, int]:
        return {"n": session.exec(select(func.count()).select_from(Widget)).one()}

    settings = BaseServiceSettings(service_name="kit", database_url=url, log_level="WARNING")
    return create_service_app(settings=settings, title="kit", description="database faults", routers=[router],
                              key_source=key_source)


def _is_unavailable_problem(r: Any) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "urn:aliada:problem:database-unavailable"
    assert int(r.headers["retry-after"]) > 0
    assert r.json()["request_id"] == r.headers["x-request-id"]


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "postgresql"])
def test_a_refused_connection_is_a_503(scheme: str, key_source: Any, mint: Any) -> None:
    app = _app(f"{scheme}://postgres@127.0.0.1:{_closed_port()}/aliada?connect_timeout=2", key_source)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/v1/count", headers=bearer(mint()))
        _is_unavailable_problem(r)
        assert client.get("/readyz").status_code == 503


@contextmanager
def _write_lock_held(url: str) -> Iterator[None]:
    """On SQLite, another process's write transaction holds the file; on PostgreSQL nothing (the route
    has its backend terminated instead)."""
    database = make_url(url).database if url.startswith("sqlite") else None
    if not database:
        yield
        return
    holder = sqlite3.connect(database)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


def test_a_database_lost_mid_request_is_a_503_and_nothing_is_written(kit_url: str, key_source: Any) -> None:
    app = _app(kit_url, key_source)
    with TestClient(app, raise_server_exceptions=False) as client:
        with _write_lock_held(kit_url):
            _is_unavailable_problem(client.post("/v1/crash-midway"))
        assert client.get("/v1/count").json() == {"n": 0}  # the pool recovered by itself; nothing half-written


def test_a_bug_stays_a_500(kit_url: str, key_source: Any) -> None:
    with TestClient(_app(kit_url, key_source), raise_server_exceptions=False) as client:
        r = client.get("/v1/missing-table")
    assert r.status_code == 500
    assert r.json()["type"] == "urn:aliada:problem:internal-error"
    assert "retry-after" not in r.headers


def test_what_counts_as_unavailable(kit_url: str) -> None:
    assert database_unavailable(sa_exc.TimeoutError("QueuePool limit reached"))
    locked = sa_exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    assert database_unavailable(locked)
    assert not database_unavailable(sa_exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")))
    assert not database_unavailable(RuntimeError("boom"))
    try:
        try:
            raise locked
        except sa_exc.OperationalError as inner:
            raise RuntimeError("while committing") from inner
    except RuntimeError as wrapped:
        assert database_unavailable(wrapped)  # found through the cause
    engine = make_engine(kit_url, pool_size=1)
    with Session(engine) as session, pytest.raises(sa_exc.DBAPIError) as bad:
        session.exec(text("SELECT * FROM no_such_table"))  # type: ignore[call-overload]
    assert not database_unavailable(bad.value)  # a real error of this backend, not an outage
    engine.dispose()
