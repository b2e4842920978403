"""Program views read a program in a fixed number of SQL statements, whatever its number of dyads.

Two programs of the same shape (2 and 7 dyads, each with held and moved meetings, forms, objectives with progress,
diary entries) are read through every program view; the statements each request runs are counted on the engine
(``before_cursor_execute``) and must be the same for both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event

from services.sessions.tests.conftest import RATINGS, objective_body, ok


@contextmanager
def counting(engine: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _program(world: Any, frozen: Any, dyads: int) -> Any:
    inst = world.institution()
    members = [world.dyad(inst, n) for n in range(dyads)]
    schedule = {d.id: d.meetings() for d in members}
    for week in range(3):
        for n, d in enumerate(members):
            m = schedule[d.id][week]
            start = datetime.fromisoformat(m["start"])
            frozen.set(start + timedelta(minutes=70))
            for member in (d.mentee, d.mentor):
                ok(member.post(f"/v1/meetings/{m['id']}/confirmation", json={}))
                ok(member.post("/v1/feedback", json={"meeting_id": m["id"], "ratings": RATINGS, "meeting_took_place": True}), 201)
            if week == 0:
                objective = ok(d.mentee.post("/v1/objectives", json=objective_body(d.id)), 201)
                ok(d.mentee.post(f"/v1/objectives/{objective['id']}/progress", json={"value": 1}), 201)
            ok(d.mentee.post("/v1/diary", json={"dyad_id": d.id, "text": "Avances de la semana", "entry_date": start.date().isoformat()}),
               201)
            if week == 2 and n % 2 == 0:
                nxt = schedule[d.id][3]
                moved = datetime.fromisoformat(nxt["start"]) + timedelta(days=1)
                ok(d.mentor.post(f"/v1/meetings/{nxt['id']}/reschedule", json={"start": moved.isoformat(), "reason": "Congreso"}))
    return inst


def test_program_views_run_the_same_statements_whatever_the_number_of_dyads(world: Any, engine: Any, frozen: Any) -> None:
    small, large = _program(world, frozen, 2), _program(world, frozen, 7)
    frozen.advance(days=10)  # the fourth meetings are missed by now: colours change on the first reading

    def views(inst: Any) -> dict[str, Callable[[], Any]]:
        base = f"/v1/dyads/programs/{inst.program_id}"
        return {name: (lambda url=base + path: ok(inst.coordinator.get(url))) for name, path in (
            ("at-risk", "/at-risk"), ("at-risk again", "/at-risk"), ("statistics", "/statistics"), ("outcomes", "/outcomes"),
            ("digest", "/digest"), ("dyads", ""))}

    counts: dict[str, dict[str, int]] = {}
    for size, inst in (("small", small), ("large", large)):
        counts[size] = {}
        for name, read in views(inst).items():
            with counting(engine) as statements:
                read()
            counts[size][name] = len(statements)
    # The first at-risk reading also stores the norms and the colours that changed since the last change of each dyad:
    # one UPDATE per pair of old and new colours (at most 12), one INSERT of the events; which pairs occur depends on the
    # data, not on the number of dyads.
    for per_view in counts.values():
        first = per_view.pop("at-risk")
        assert first <= per_view["at-risk again"] + 1 + 12 + 2, counts
    assert counts["small"] == counts["large"], counts
    assert counts["large"]["at-risk again"] <= 9 and counts["large"]["statistics"] <= 9, counts
