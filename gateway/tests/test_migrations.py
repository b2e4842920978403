"""The gateway's alembic head is the schema its models describe (including the
data-subject request tables of dsr0001), on the backend under test, and
migrations go down and up again."""

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import gateway.scim.models  # noqa: F401  (every table of the gateway's metadata)
import gateway.sso.models  # noqa: F401
import gateway.webhooks.models  # noqa: F401
from gateway.db import SERVICE_DIR, migrate
from gateway.models import Base
from servicekit.db import make_engine
from servicekit.migrations import alembic_config


def test_the_migrated_database_matches_the_models(database_factory: Any) -> None:
    url = database_factory.new("gateway_schema")
    migrate(url)
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_migrations_go_down_and_up_again(database_factory: Any) -> None:
    url = database_factory.new("gateway_roundtrip")
    migrate(url)
    command.downgrade(alembic_config(SERVICE_DIR, url), "integrations0001")
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        assert "data_subject_requests" not in inspect(engine).get_table_names()
        engine.dispose()
        migrate(url)
        assert {"data_subject_requests", "data_subject_request_steps"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
