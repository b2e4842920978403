"""The alembic head is the schema the models describe, on the backend under test; one head; down and up again."""

from typing import Any

from sqlalchemy.engine import Engine

from servicekit.testing import assert_down_and_up_again, assert_head_matches_models, assert_one_head

from services.notifications.db import SERVICE_DIR, migrate
from services.notifications.models import Base


def test_the_migrated_database_matches_the_models(engine: Engine) -> None:
    assert_head_matches_models(engine, Base.metadata)


def test_migrations_go_down_and_up_again(database_factory: Any) -> None:
    assert_down_and_up_again(database_factory.new("notifications_roundtrip"), SERVICE_DIR, migrate, Base.metadata)


def test_one_head() -> None:
    assert_one_head(SERVICE_DIR)
