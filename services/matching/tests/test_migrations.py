"""The alembic head is the schema the models describe, on the backend under test; one head; down and up again;
each vocabulary column kept inside its enum by the migrated database, with the rows already there kept."""

import uuid
from enum import StrEnum
from typing import Any

from alembic import command
from sqlalchemy import CheckConstraint, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from servicekit.db import make_engine
from servicekit.migrations import alembic_config
from servicekit.testing import assert_down_and_up_again, assert_head_matches_models, assert_one_head

from services.matching.db import SERVICE_DIR, migrate
from services.matching.enums import Actor, Algorithm, Delivery, MatchStatus, Objective, OfferStatus, Role, RunStatus
from services.matching.models import Base, Match, MatchingProfile, MatchingRun, SubstituteOffer

VOCABULARIES: dict[tuple[Any, str], type[StrEnum]] = {
    (MatchingProfile, "role"): Role,
    (MatchingProfile, "delivery"): Delivery,
    (MatchingRun, "status"): RunStatus,
    (MatchingRun, "algorithm"): Algorithm,
    (MatchingRun, "objective"): Objective,
    (Match, "status"): MatchStatus,
    (Match, "dissolved_by"): Actor,
    (SubstituteOffer, "status"): OfferStatus,
}
NULLABLE = {(Match, "dissolved_by")}
MODELS = (MatchingProfile, MatchingRun, Match, SubstituteOffer)


def test_the_migrated_database_matches_the_models(engine: Engine) -> None:
    assert_head_matches_models(engine, Base.metadata)


def test_migrations_go_down_and_up_again(database_factory: Any) -> None:
    assert_down_and_up_again(database_factory.new("matching_roundtrip"), SERVICE_DIR, migrate, Base.metadata)


def test_one_head() -> None:
    assert_one_head(SERVICE_DIR)


def test_every_check_constraint_of_the_models_is_tried_below() -> None:
    declared = {
        (table.name, c.name) for table in Base.metadata.tables.values() for c in table.constraints if isinstance(c, CheckConstraint)
    }
    assert declared == {(model.__tablename__, f"ck_{model.__tablename__}_{column}") for model, column in VOCABULARIES}


def _rows() -> list[Any]:
    institution, program, mentee, mentor = (uuid.uuid4() for _ in range(4))
    run = MatchingRun(institution_id=institution, program_id=program, algorithm=Algorithm.optimal,
                      objective=Objective.maximin, solver="test", created_by="coordinator",
                      inputs={"mentees": [{"id": str(mentee), "objectives": ["funding"]}]})  # fmt: skip
    return [
        MatchingProfile(institution_id=institution, program_id=program, participant_id=mentee, account_id="mentee",
                        role=Role.mentee, timezone="UTC", delivery=Delivery.hybrid, objectives=["funding"],
                        availability=[{"weekday": 1, "start": "17:00", "end": "19:00"}]),
        run,
        Match(institution_id=institution, program_id=program, run_id=run.id, mentee_participant_id=mentee,
              mentor_participant_id=mentor, mentee_account_id="mentee", mentor_account_id="mentor", score=0.5,
              context={"preferred_delivery": "hybrid"}),
        SubstituteOffer(institution_id=institution, program_id=program, run_id=run.id, mentor_participant_id=mentor,
                        mentor_account_id="mentor", rank=1),
    ]  # fmt: skip


def _contents(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {m.__tablename__: [repr(tuple(r)) for r in conn.execute(select(m.__table__))] for m in MODELS}


def _tried(engine: Engine, column: tuple[Any, str], value: str | None) -> bool:
    """Whether the column takes the value (the update is rolled back either way)."""
    model, name = column
    with engine.connect() as conn, conn.begin() as tx:
        try:
            conn.execute(update(model.__table__).values({name: value}))
        except IntegrityError:
            return False
        finally:
            tx.rollback()
    return True


def test_rows_come_through_the_checks_migration_and_back_and_the_checks_hold(database_factory: Any) -> None:
    # alembic's comparison of the head with the models leaves CHECK constraints out: they are tried here.
    url = database_factory.new("matching_checks")
    config = alembic_config(SERVICE_DIR, url)
    command.upgrade(config, "matching_feed0001")
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with Session(engine) as session:
            session.add_all(_rows())
            session.commit()
        before = _contents(engine)
        assert all(before.values())
        engine.dispose()

        command.upgrade(config, "heads")
        assert _contents(engine) == before
        for column, vocabulary in VOCABULARIES.items():
            allowed = [*vocabulary, *([None] if column in NULLABLE else [])]
            assert [_tried(engine, column, value) for value in allowed] == [True] * len(allowed), column
            assert not _tried(engine, column, "unheard_of"), column
        engine.dispose()

        command.downgrade(config, "matching_feed0001")
        assert _contents(engine) == before
        assert all(_tried(engine, column, "unheard_of") for column in VOCABULARIES)
    finally:
        engine.dispose()
