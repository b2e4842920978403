"""The test databases' factory: a migrated database is a copy of one migrated template."""

from sqlalchemy import text

from servicekit.db import make_engine


def test_migrated_databases_copy_one_migrated_template_and_are_independent(database_factory) -> None:
    runs: list[str] = []

    def migrate(url: str) -> None:
        runs.append(url)
        engine = make_engine(url, pool_size=1, max_overflow=0)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE seed (name VARCHAR(20) PRIMARY KEY)"))
            conn.execute(text("INSERT INTO seed VALUES ('from-migration')"))
        engine.dispose()

    first, second = database_factory.migrated("copy", migrate), database_factory.migrated("copy", migrate)
    assert len(runs) == 1 and first != second and runs[0] not in (first, second)
    engines = [make_engine(url, pool_size=1, max_overflow=0) for url in (first, second)]
    try:
        with engines[0].begin() as conn:
            conn.execute(text("INSERT INTO seed VALUES ('only-first')"))
        names = []
        for e in engines:
            with e.connect() as conn:
                names.append(sorted(conn.execute(text("SELECT name FROM seed")).scalars()))
    finally:
        for e in engines:
            e.dispose()
    assert names == [["from-migration", "only-first"], ["from-migration"]]
