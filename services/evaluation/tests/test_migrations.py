"""The alembic head is the schema the models describe, vocabularies checked by the database; the interviews
migration keeps existing themes and codings."""

import uuid
from typing import Any

import pytest
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from servicekit.db import make_engine
from servicekit.migrations import upgrade
from servicekit.testing import assert_down_and_up_again, assert_head_matches_models

from services.evaluation.db import SERVICE_DIR, migrate
from services.evaluation.models import Base, InterviewSampleRow


def test_the_migrated_database_matches_the_models(engine: Engine) -> None:
    assert_head_matches_models(engine, Base.metadata)


def test_the_database_holds_each_vocabulary(engine: Engine) -> None:
    """The migrations make every CHECK the models declare (alembic's comparison does not look at them),
    and the database refuses a value outside its vocabulary."""
    declared = {(t.name, c.name) for t in Base.metadata.tables.values() for c in t.constraints
                if isinstance(c, CheckConstraint)}
    made = {(t, c["name"]) for t in Base.metadata.tables for c in inspect(engine).get_check_constraints(t)}
    assert ("interview_samples", "ck_interview_samples_status") in declared
    assert made == declared
    with Session(engine) as session, pytest.raises(IntegrityError):
        session.add(InterviewSampleRow(institution_id=uuid.uuid4(), program_id=uuid.uuid4(), seed=1, status="pending",
                                       created_by="coordinator-1"))
        session.flush()


def test_existing_themes_become_the_codebook_and_codings_stay(database_factory: Any) -> None:
    url = database_factory.new("evaluation_themes_upgrade")
    upgrade(SERVICE_DIR, url, "evaluation_dyadref")
    engine = make_engine(url, pool_size=1, max_overflow=0)
    inst, program, theme, coding, response = (uuid.uuid4() for _ in range(5))
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO themes (id, institution_id, program_id, code, label_es, label_en, created_by, created_at) "
                              "VALUES (:id, :i, :p, 'confidence', 'Confianza', 'Confidence', 'eval-1', CURRENT_TIMESTAMP)"),
                         {"id": _id(engine, theme), "i": _id(engine, inst),
                          "p": _id(engine, program)})
            conn.execute(text("INSERT INTO codings (id, institution_id, program_id, response_id, role, evaluator, themes, created_at) "
                              "VALUES (:id, :i, :p, :r, 'mentee', 'eval-1', '[\"confidence\"]', CURRENT_TIMESTAMP)"),
                         {"id": _id(engine, coding), "i": _id(engine, inst), "p": _id(engine, program), "r": _id(engine, response)})
        migrate(url)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT code, label_en, parent_id, definition_es, definition_en FROM themes")).one()
            assert tuple(row) == ("confidence", "Confidence", None, "", "")
            assert conn.execute(text("SELECT evaluator FROM codings")).scalar_one() == "eval-1"
    finally:
        engine.dispose()


def _id(engine: Engine, value: uuid.UUID) -> Any:
    return value.hex if engine.dialect.name == "sqlite" else value


def test_migrations_go_down_and_up_again(database_factory: Any) -> None:
    assert_down_and_up_again(database_factory.new("evaluation_roundtrip"), SERVICE_DIR, migrate, Base.metadata)
