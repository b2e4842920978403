"""Alembic, the same way in every service.

Each service has ``migrations/`` (alembic scripts) and an ``alembic.ini``
beside its package. ``env.py`` is three lines::

    from servicekit.migrations import run_env
    from services.x.models import Base
    run_env(Base.metadata)

``upgrade(service_dir, url)`` applies every migration programmatically (used by
``make run``, the tests and the deploy job).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from servicekit.db import make_engine, normalise_url


def alembic_config(service_dir: Path, url: str) -> Config:
    cfg = Config(str(service_dir / "alembic.ini"))
    cfg.set_main_option("script_location", str(service_dir / "migrations"))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(service_dir: Path, url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(service_dir, url), revision)


def _configure(connection: Connection | None, metadata: MetaData, url: str | None = None) -> None:
    kwargs = dict(
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite ALTERs go through batch mode
    )
    if connection is not None:
        context.configure(connection=connection, **kwargs)
    else:
        context.configure(url=url, literal_binds=True, **kwargs)


def _lock_key(metadata: MetaData) -> int:
    """A stable 63-bit advisory-lock key per service (from its table names)."""
    digest = hashlib.sha256(",".join(sorted(metadata.tables)).encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFFFFFFFFFFFFFF


def run_env(metadata: MetaData, default_url: Callable[[], str]) -> None:
    """The body of every service's migrations/env.py. The URL is the one the
    caller configured, else the service's own setting (``default_url``)."""
    cfg = context.config
    url = normalise_url(cfg.get_main_option("sqlalchemy.url") or default_url())
    if context.is_offline_mode():
        _configure(None, metadata, url)
        with context.begin_transaction():
            context.run_migrations()
        return
    connectable = cfg.attributes.get("connection")
    if connectable is not None:
        _configure(connectable, metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            _configure(connection, metadata)
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    # Several replicas may start at once: one migrates, the
                    # others wait here and then find nothing left to do.
                    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(metadata)})
                context.run_migrations()
    finally:
        engine.dispose()
