"""servicekit.personal_data: the pieces every service's data-subject handlers share."""

import uuid

from sqlmodel import Session, select

from servicekit.db import make_engine
from servicekit.outbox import emit
from servicekit.personal_data import classified, drop_idempotency, new_pseudonym, replace_strings, scrub_events, traces

from .conftest import KitBase, KitIdempotency, KitOutbox


def test_replace_strings_only_whole_values_recursively() -> None:
    value = {"a": "sub-1", "b": ["x", "sub-1", {"c": "sub-10"}], "n": 3}
    assert replace_strings(value, {"sub-1"}, "P") == ({"a": "P", "b": ["x", "P", {"c": "sub-10"}], "n": 3}, True)
    assert replace_strings(value, {"nobody"}, "P") == (value, False)


def test_pseudonyms_are_random_and_marked() -> None:
    a, b = new_pseudonym(), new_pseudonym()
    assert a != b and a.startswith("erased-") and len(a) <= 64


def test_classified_names_every_problem() -> None:
    tables = {t: "x" for t in KitBase.metadata.tables}
    first, *rest = sorted(tables)
    assert classified(KitBase.metadata, tables, {}) == []
    assert classified(KitBase.metadata, {t: "x" for t in rest}, {}) == [f"{first}: not classified"]
    assert classified(KitBase.metadata, tables, {first: "y"}) == [f"{first}: in both"]
    assert classified(KitBase.metadata, {**tables, first: " "}, {}) == [f"{first}: no description"]
    assert classified(KitBase.metadata, {**tables, "ghost": "x"}, {}) == ["ghost: no such table"]


def test_scrub_events_and_drop_idempotency_stay_in_their_scope(database_factory) -> None:
    engine = make_engine(database_factory.new("personal_data"), pool_size=2)
    KitBase.metadata.create_all(engine)
    mine, other = uuid.uuid4(), uuid.uuid4()
    row = uuid.uuid4()
    with Session(engine) as session:
        emit(session, KitOutbox, "x.made", subject=row, tenant_id=mine, payload={"by": "sub-1", "note": "hers"})
        emit(session, KitOutbox, "x.made", subject=uuid.uuid4(), tenant_id=mine, payload={"by": "sub-2", "note": "his"})
        emit(session, KitOutbox, "x.made", subject=uuid.uuid4(), tenant_id=other, payload={"by": "sub-1", "note": "elsewhere"})
        for principal, body in (("sub-1", {"id": str(row)}), ("sub-1", {"id": "other-institution"}), ("sub-2", {"id": str(row)})):
            session.add(KitIdempotency(principal=principal, key=str(uuid.uuid4()), route="r", fingerprint="f", status_code=201, body=body))
        session.commit()
        redact = lambda kind, payload: {**payload, "note": "[erased]"}  # noqa: E731
        assert scrub_events(session, KitOutbox, mine, {"sub-1"}, "P", redact, subjects=[str(row)]) == 1
        assert drop_idempotency(session, KitIdempotency, "sub-1", {"sub-1"}, within=[str(row)]) == 1
        assert drop_idempotency(session, KitIdempotency, "sub-1", {"sub-1"}, within=[]) == 0
        session.commit()
        payloads = sorted((e.tenant_id == str(mine), e.payload["by"], e.payload["note"]) for e in session.exec(select(KitOutbox)).all())
        assert payloads == [(False, "sub-1", "elsewhere"), (True, "P", "[erased]"), (True, "sub-2", "his")]
        assert sorted(r.principal for r in session.exec(select(KitIdempotency)).all()) == ["sub-1", "sub-2"]
    assert set(traces(engine, KitBase.metadata, ["sub-1"])) == {KitOutbox.__tablename__, KitIdempotency.__tablename__}
    engine.dispose()
