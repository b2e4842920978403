"""Throwaway databases for a benchmark: SQLite files in a directory, or
databases created (and dropped afterwards) on a PostgreSQL server of this
machine. Benchmarks never write anywhere but 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from servicekit.db import make_engine
from sqlalchemy import make_url, text


def _server(base: str):
    url = make_url(base)
    if url.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("a benchmark writes only to a database on this machine (127.0.0.1)")
    return url, make_engine(url.set(database="postgres").render_as_string(hide_password=False), pool_size=1, max_overflow=0)


def create(base: str | None, names: list[str], tmp: Path) -> tuple[dict[str, str], list[str]]:
    """One database URL per name and, on PostgreSQL (``base``), the databases to ``drop`` at the end."""
    if base is None:
        return {n: f"sqlite:///{tmp / (n + '.db')}" for n in names}, []
    url, admin = _server(base)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for n in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{n}"'))
    admin.dispose()
    return {n: url.set(database=n).render_as_string(hide_password=False) for n in names}, names


def drop(base: str, names: list[str]) -> None:
    _url, admin = _server(base)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for n in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'))
    admin.dispose()
