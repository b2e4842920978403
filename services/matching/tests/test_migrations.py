"""The alembic head is the schema the models describe, on the backend under test."""

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from servicekit.db import make_engine
from servicekit.migrations import alembic_config

from services.matching.db import SERVICE_DIR, migrate
from services.matching.models import Base


def test_the_migrated_database_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_go_down_and_up_again(database_factory: Any) -> None:
    url = database_factory.new("matching_roundtrip")
    migrate(url)
    command.downgrade(alembic_config(SERVICE_DIR, url), "base")
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        engine.dispose()
        migrate(url)
        assert set(inspect(engine).get_table_names()) == {"alembic_version", *Base.metadata.tables}
    finally:
        engine.dispose()


def test_one_head() -> None:
    from alembic.script import ScriptDirectory

    assert len(ScriptDirectory.from_config(alembic_config(SERVICE_DIR, "sqlite://")).get_heads()) == 1
