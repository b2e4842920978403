"""servicekit.references: ids in bodies checked against the tenant and the parent, in one query per target."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import event
from sqlmodel import Field, Session, SQLModel

from servicekit.db import make_engine, new_registry
from servicekit.problems import ProblemError
from servicekit.references import (
    CODE,
    Given,
    Ref,
    References,
    Rows,
    declared,
    unknown_field,
)


class RefBase(SQLModel, registry=new_registry()):
    pass


class Pair(RefBase, table=True):
    """A table where a person appears in one of two columns (like the dyads sessions keeps)."""

    __tablename__ = "pairs"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(index=True)
    group_id: uuid.UUID = Field(index=True)
    left_id: uuid.UUID
    right_id: uuid.UUID
    status: str = "active"


MEMBER = Rows("a member of this group", (Pair.left_id, Pair.right_id), tenant=Pair.tenant_id, parent=Pair.group_id)
ACTIVE_LEFT = Rows("an active left member", (Pair.left_id,), tenant=Pair.tenant_id, where=(Pair.status == "active",))
PICKED = Given("picked", "a picked person")


class Item(BaseModel):
    person_id: uuid.UUID
    note: str = ""


class Nested(BaseModel):
    favourite_id: uuid.UUID | None = None
    avoid_ids: list[uuid.UUID] = []


class Body(BaseModel):
    items: list[Item] = []
    nested: Nested | None = None
    picked_id: uuid.UUID | None = None


CHECKS = References(
    Ref("items[].person_id", MEMBER),
    Ref("nested.favourite_id", MEMBER),
    Ref("nested.avoid_ids[]", MEMBER),
    Ref("picked_id", PICKED),
    operations=("test_references_op",),
)
LEFT = References(Ref("items[].person_id", ACTIVE_LEFT), operations=("test_references_left",))


@pytest.fixture
def world(database_factory: Any) -> Iterator[dict[str, Any]]:
    engine = make_engine(database_factory.new("references"))
    RefBase.metadata.create_all(engine)
    here, elsewhere, group, other_group = (uuid.uuid4() for _ in range(4))
    people = [uuid.uuid4() for _ in range(6)]
    with Session(engine) as s:
        s.add(Pair(tenant_id=here, group_id=group, left_id=people[0], right_id=people[1]))
        s.add(Pair(tenant_id=here, group_id=group, left_id=people[2], right_id=people[3], status="ended"))
        s.add(Pair(tenant_id=here, group_id=other_group, left_id=people[4], right_id=uuid.uuid4()))
        s.add(Pair(tenant_id=elsewhere, group_id=group, left_id=people[5], right_id=uuid.uuid4()))
        s.commit()
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(engine) as session:
        yield {"session": session, "here": here, "elsewhere": elsewhere, "group": group, "other_group": other_group,
               "people": people, "statements": statements}
    engine.dispose()


def _check(w: dict[str, Any], body: Any, refs: References = CHECKS, **kw: Any) -> None:
    kw.setdefault("given", {"picked": []})
    refs.check(body, session=w["session"], tenant=w["here"], parent=w["group"], **kw)


def _refused(w: dict[str, Any], body: Any, refs: References = CHECKS, **kw: Any) -> list[str]:
    with pytest.raises(ProblemError) as info:
        _check(w, body, refs, **kw)
    problem = info.value
    assert problem.status == 422 and problem.type == "urn:aliada:problem:unknown-reference"
    assert problem.errors and all(e.code == CODE for e in problem.errors)
    return [e.field for e in problem.errors]


def test_members_of_the_parent_in_the_tenant_pass_in_either_column(world: dict[str, Any]) -> None:
    p = world["people"]
    _check(world, Body(items=[Item(person_id=p[0]), Item(person_id=p[1]), Item(person_id=p[3])],
                       nested=Nested(favourite_id=p[2], avoid_ids=[p[1], p[0]])))
    _check(world, Body())  # nothing named, nothing to check
    _check(world, {"items": [{"person_id": str(p[0])}], "nested": None})  # plain dicts too


@pytest.mark.parametrize("who", ["random", "other_tenant", "other_parent"])
def test_one_bad_id_among_good_ones_is_named_by_its_location(world: dict[str, Any], who: str) -> None:
    p = world["people"]
    bad = {"random": uuid.uuid4(), "other_tenant": p[5], "other_parent": p[4]}[who]
    body = Body(items=[Item(person_id=p[0]), Item(person_id=p[1]), Item(person_id=bad)])
    assert _refused(world, body) == ["body.items.2.person_id"]
    body = Body(nested=Nested(favourite_id=bad, avoid_ids=[p[0], bad]))
    assert _refused(world, body) == ["body.nested.favourite_id", "body.nested.avoid_ids.1"]


def test_missing_and_foreign_ids_get_the_same_answer(world: dict[str, Any]) -> None:
    answers = []
    for bad in (uuid.uuid4(), world["people"][5], world["people"][4]):
        with pytest.raises(ProblemError) as info:
            _check(world, Body(items=[Item(person_id=bad)]))
        e = info.value
        answers.append((e.status, e.type, e.title, e.detail, [x.model_dump() for x in e.errors or []]))
    assert answers[0] == answers[1] == answers[2]


def test_one_query_per_target_however_long_the_list(world: dict[str, Any]) -> None:
    p = world["people"]
    body = Body(items=[Item(person_id=p[i % 2]) for i in range(200)], nested=Nested(favourite_id=p[1], avoid_ids=p[:2]))
    world["statements"].clear()
    _check(world, body)
    assert len(world["statements"]) == 1
    world["statements"].clear()
    assert len(_refused(world, Body(items=[Item(person_id=uuid.uuid4()) for _ in range(50)]))) == 50
    assert len(world["statements"]) == 1


def test_given_ids_and_extra_conditions(world: dict[str, Any]) -> None:
    p = world["people"]
    _check(world, Body(picked_id=p[5]), given={"picked": [str(p[5])]})  # given ids may be strings
    assert _refused(world, Body(picked_id=p[0]), given={"picked": [str(p[5])]}) == ["body.picked_id"]
    with pytest.raises(TypeError):
        CHECKS.check(Body(picked_id=p[0]), session=world["session"], tenant=world["here"], parent=world["group"])
    _check(world, Body(items=[Item(person_id=p[0])]), LEFT)
    assert _refused(world, Body(items=[Item(person_id=p[1]), Item(person_id=p[2])]), LEFT) == [
        "body.items.0.person_id", "body.items.1.person_id"]  # a right member; an ended pair


def test_a_parent_scoped_target_needs_the_parent(world: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        CHECKS.check(Body(items=[Item(person_id=world["people"][0])]), session=world["session"], tenant=world["here"])


def test_declarations_and_the_single_field_answer() -> None:
    assert declared(within=("services.",)).get("test_references_op") is None
    assert CHECKS.module == __name__
    assert declared()["test_references_op"] == {"body.items[].person_id", "body.nested.favourite_id", "body.nested.avoid_ids[]",
                                                "body.picked_id"}
    problem = unknown_field("body.institution_id", "an institution")
    assert problem.status == 422 and problem.errors and problem.errors[0].field == "body.institution_id"
    assert problem.type.endswith(":unknown-reference")
    with pytest.raises(ValueError):
        References(operations=("x",))
