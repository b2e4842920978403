"""The alembic head is the schema the models describe, on the backend under test (its CHECK constraints too); one
head; down and up again; the vocabularies' constraints are added to a database that holds rows, and refused while a
row is outside its vocabulary."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from servicekit.db import make_engine
from servicekit.migrations import alembic_config
from servicekit.testing import assert_down_and_up_again, assert_head_matches_models, assert_one_head

from services.sessions.db import SERVICE_DIR, migrate
from services.sessions.models import Base


def test_the_migrated_database_matches_the_models(engine: Engine) -> None:
    assert_head_matches_models(engine, Base.metadata)


def test_migrations_go_down_and_up_again(database_factory: Any) -> None:
    assert_down_and_up_again(database_factory.new("sessions_roundtrip"), SERVICE_DIR, migrate, Base.metadata)


def test_one_head() -> None:
    assert_one_head(SERVICE_DIR)


def test_every_check_constraint_of_the_models_is_in_the_migrated_database(engine: Engine) -> None:
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        wanted = {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
        assert {c["name"] for c in inspector.get_check_constraints(table.name)} == wanted, table.name


BEFORE = "sessions_indexes0001"
"""the revision before the vocabularies' CHECK constraints"""

DYAD = {"id": uuid.uuid4(), "program": uuid.uuid4(), "institution": uuid.uuid4()}


def _populate(engine: Engine, meeting_status: str) -> None:
    """A program, a dyad and a meeting referencing it, written at ``BEFORE`` (whose columns the models still have)."""
    now = datetime.now(UTC)
    tables = Base.metadata.tables
    with engine.begin() as conn:
        conn.execute(tables["program_settings"].insert().values(
            program_id=DYAD["program"], institution_id=DYAD["institution"], delivery="virtual", meetings_count=12,
            cadence="weekly", duration_minutes=60, mentoring_starts_on=now.date(), mentoring_ends_on=now.date(),
            feedback_deadline_hours=72, feedback_items=[], counterpart_reads_feedback=False, health_thresholds={}, updated_at=now))
        conn.execute(tables["dyads"].insert().values(
            id=DYAD["id"], institution_id=DYAD["institution"], program_id=DYAD["program"], mentee_participant_id=uuid.uuid4(),
            mentor_participant_id=uuid.uuid4(), mentee_account_id="ana", mentor_account_id="eva", mentee_timezone="UTC",
            mentor_timezone="UTC", mentee_availability=[], mentor_availability=[], preferred_delivery="virtual", status="active",
            schedule_status="ok", schedule_reasons=[], activated_at=now))
        conn.execute(tables["meetings"].insert().values(
            id=uuid.uuid4(), institution_id=DYAD["institution"], dyad_id=DYAD["id"], number=1, planned_start=now, start=now,
            duration_minutes=60, modality="virtual", status=meeting_status, reschedules=0, sequence=0, created_at=now,
            updated_at=now))


def _at(url: str, revision: str) -> None:
    command.upgrade(alembic_config(SERVICE_DIR, url), revision)


def test_the_vocabularies_are_enforced_on_a_database_with_rows(database_factory: Any) -> None:
    url = database_factory.new("sessions_vocabularies")
    _at(url, BEFORE)
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        _populate(engine, "held")
        migrate(url)  # a referenced dyad and meeting do not stop it
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE meetings SET status = 'postponed'"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT status FROM meetings")).scalar_one() == "held"
        command.downgrade(alembic_config(SERVICE_DIR, url), BEFORE)
        with engine.begin() as conn:
            conn.execute(text("UPDATE meetings SET status = 'postponed'"))
    finally:
        engine.dispose()


def test_rows_outside_a_vocabulary_stop_the_upgrade_naming_them(database_factory: Any) -> None:
    url = database_factory.new("sessions_strays")
    _at(url, BEFORE)
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        _populate(engine, "postponed")
    finally:
        engine.dispose()
    with pytest.raises(RuntimeError, match=r"meetings\.status: \['postponed'\]"):
        migrate(url)
