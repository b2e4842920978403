"""The hot reads of the sessions service reach their rows through an index (issue 15).

A program of three dyads with held and moved meetings, forms, objectives with
progress and diary entries is read through the supervision views (at-risk,
cold and stored; statistics; outcomes; digest), the program lists and each
member's reads. Every statement those requests ran is explained
(servicekit.plans): none may read a table whole, so none grows with the other
institutions' dyads, meetings and forms.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from servicekit.plans import explain, recording, whole_table_reads

from services.sessions.tests.conftest import objective_body, ok
from services.sessions.tests.test_api_views_queries import _program


def _plans_of(engine: Any, caller: Any, *urls: str) -> list[str]:
    with recording(engine) as executed:
        for url in urls:
            ok(caller.get(url))
    assert executed
    return whole_table_reads(engine, executed)


def test_supervision_views_read_one_program_through_its_indexes(world: Any, engine: Any, frozen: Any) -> None:
    inst = _program(world, frozen, 3)
    world.institution()  # and another institution's program beside it
    frozen.advance(days=10)
    base = f"/v1/dyads/programs/{inst.program_id}"
    # Cold: no stored assessment yet, so the first at-risk reading assesses the program and stores the colours.
    assert _plans_of(engine, inst.coordinator, f"{base}/at-risk") == []
    assert _plans_of(engine, inst.coordinator, f"{base}/at-risk", f"{base}/statistics", f"{base}/outcomes", f"{base}/digest",
                     base, f"/v1/feedback/programs/{inst.program_id}/overdue", f"/v1/group-events/programs/{inst.program_id}",
                     f"{base}/health-thresholds") == []
    # Forced cold again, the way the sweep finds it.
    with engine.begin() as conn:
        conn.execute(text("UPDATE program_settings SET health_norms_at = NULL"))
    assert _plans_of(engine, inst.coordinator, f"{base}/at-risk") == []


def test_a_members_reads_go_through_her_dyad(world: Any, engine: Any, frozen: Any) -> None:
    inst = world.institution()
    dyad = world.dyad(inst)
    meeting = dyad.meetings()[0]
    frozen.set(datetime.fromisoformat(meeting["start"]) + timedelta(minutes=70))
    objective = ok(dyad.mentee.post("/v1/objectives", json=objective_body(dyad.id)), 201)
    assert _plans_of(engine, dyad.mentee, "/v1/dyads/mine", f"/v1/dyads/{dyad.id}", f"/v1/dyads/{dyad.id}/meetings",
                     f"/v1/dyads/{dyad.id}/feedback", f"/v1/dyads/{dyad.id}/objectives",
                     f"/v1/dyads/{dyad.id}/diary-counts", f"/v1/meetings/{meeting['id']}",
                     f"/v1/meetings/{meeting['id']}/history", "/v1/feedback/overdue", "/v1/meetings/calendar-tokens",
                     f"/v1/objectives/{objective['id']}/progress", f"/v1/objectives/{objective['id']}/milestones") == []
    assert _plans_of(engine, inst.coordinator, f"/v1/dyads/{dyad.id}/health") == []


def test_the_background_sweeps_read_only_what_they_act_on(world: Any, engine: Any, frozen: Any) -> None:
    """The overdue sweep reads the forms still to announce through their partial index, nothing whole. The health
    sweep is a sweep of every program (one row each) and asks for their active dyads through the program index
    (PostgreSQL may instead gather the active dyads once, in one pass of that index, as the old query always did)."""
    from sqlmodel import Session

    from services.sessions import feedback, supervision

    inst = _program(world, frozen, 2)
    frozen.advance(days=10)
    with recording(engine) as executed, Session(engine) as session:
        feedback.sweep(session)
        session.rollback()
    overdue = [e for e in executed if "overdue_announced_at IS NULL" in e.sql and e.sql.lstrip().upper().startswith("SELECT")]
    assert len(overdue) == 1
    assert "ix_feedback_forms_to_announce" in explain(engine, overdue[0]).text
    assert whole_table_reads(engine, executed) == []
    sweep = explain(engine, supervision.sweep_statement(frozen()))
    assert "ix_dyads_program_id" in sweep.text and sweep.full_scans <= {"program_settings", "dyads"}, sweep.text
    with Session(engine) as session:  # the program, never assessed: due for its first assessment
        assert inst.program_id in {str(p) for p in supervision.programs_to_sweep(session, frozen())}
