"""Data-subject export and erasure of the sessions service (services/sessions/data_rights.py).

Her data is built through the real API, with unique markers; after the erasure no
column of any table holds a marker or her account id, her mentor and coordinators
no longer read what she wrote, her calendar feed is gone, and nobody else's data moved.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from servicekit.personal_data import classified, traces

from services.sessions import data_rights
from services.sessions.models import Base, Dyad
from services.sessions.tests.conftest import RATINGS, objective_body, ok

M = {  # her markers: each appears only in what she wrote
    "diary_private": "XQ-diario-privado-7731",
    "diary_shared": "XQ-diario-compartido-7732",
    "comment": "XQ-comentario-7733",
    "statement": "Publish XQ-objetivo-7734 results in two indexed journals",
    "metric": "XQ-metrica-7735 papers",
    "plan": "XQ-plan-7736 draft monthly",
    "career_goal": "XQ-meta-7737 professorship",
    "resource": "XQ-recurso-7738",
    "milestone": "XQ-hito-7739",
    "evidence_note": "XQ-evidencia-7740",
    "evidence_link": "https://repo.example.org/xq-7741",
    "progress": "XQ-avance-7742",
    "notes": "XQ-notas-7743",
    "reschedule": "XQ-motivo-7744",
    "return": "XQ-devuelto-7745",  # her mentor's reason about her milestone: about her, erased with it
}
MENTOR_COMMENT = "MENTOR-comentario-propio"
MENTOR_REASON = "MENTOR-motivo-propio"
BEA_DIARY = "BEA-diario-ajeno"
BEA_OBJECTIVE = "Publish BEA-objetivo results in two indexed journals"


@pytest.fixture
def her(world: Any, frozen: Any) -> dict[str, Any]:
    inst = world.institution()
    dyad, bea = world.dyad(inst, 0), world.dyad(inst, 1)
    template = ok(inst.coordinator.get(f"/v1/feedback/programs/{inst.program_id}/template"))
    ok(inst.coordinator.put(f"/v1/feedback/programs/{inst.program_id}/template",
                            json={"items": template["items"], "feedback_deadline_hours": 48, "counterpart_reads_feedback": True}))
    meetings = dyad.meetings()
    frozen.set(datetime.fromisoformat(meetings[0]["start"]) + timedelta(minutes=30))
    ok(dyad.mentee.post(f"/v1/meetings/{meetings[0]['id']}/confirmation", json={"notes": M["notes"]}))
    form = ok(dyad.mentee.post("/v1/feedback", json={"meeting_id": meetings[0]["id"], "ratings": RATINGS, "meeting_took_place": True,
                                                     "comments": M["comment"]}, headers={"Idempotency-Key": "fb-her"}), 201)
    mentor_form = ok(dyad.mentor.post("/v1/feedback", json={"meeting_id": meetings[0]["id"], "ratings": RATINGS,
                                                            "meeting_took_place": True, "comments": MENTOR_COMMENT}), 201)
    objective = ok(dyad.mentee.post("/v1/objectives", json=objective_body(
        dyad.id, statement=M["statement"], metric=M["metric"], plan=M["plan"], career_goal=M["career_goal"], resources=[M["resource"]],
        milestones=[{"title": M["milestone"], "due_on": "2026-10-30"}]), headers={"Idempotency-Key": "obj-her"}), 201)
    step = objective["milestones"][0]
    ok(dyad.mentee.post(f"/v1/objectives/{objective['id']}/progress", json={"value": 1, "note": M["progress"]}), 201)
    ok(dyad.mentee.post(f"/v1/milestones/{step['id']}/evidence", json={"link": M["evidence_link"], "note": M["evidence_note"]}))
    ok(dyad.mentor.post(f"/v1/milestones/{step['id']}/return", json={"reason": M["return"]}))
    ok(dyad.mentee.post(f"/v1/meetings/{meetings[1]['id']}/reschedule",
                        json={"start": "2026-10-21T17:00:00Z", "reason": M["reschedule"]}))
    ok(dyad.mentor.post(f"/v1/meetings/{meetings[2]['id']}/reschedule",
                        json={"start": "2026-10-22T17:00:00Z", "reason": MENTOR_REASON}))
    private = ok(dyad.mentee.post("/v1/diary", json={"dyad_id": dyad.id, "text": M["diary_private"], "entry_date": "2026-08-04"},
                                  headers={"Idempotency-Key": "diary-her"}), 201)
    shared = ok(dyad.mentee.post("/v1/diary", json={"dyad_id": dyad.id, "text": M["diary_shared"], "entry_date": "2026-08-05",
                                                    "shared": True}), 201)
    token = ok(dyad.mentee.post("/v1/meetings/calendar-tokens"), 201)["token"]
    mentor_token = ok(dyad.mentor.post("/v1/meetings/calendar-tokens"), 201)["token"]
    event = ok(inst.coordinator.post(f"/v1/group-events/programs/{inst.program_id}", json={
        "title": "Acompañamiento 1", "kind": "accompaniment", "starts_at": "2026-08-05T17:00:00Z", "duration_minutes": 90,
        "modality": "virtual", "link": "https://meet.example.org/a1"}), 201)
    ok(inst.coordinator.put(f"/v1/group-events/{event['id']}/attendance", json={"records": [
        {"participant_id": dyad.payload["mentee"]["participant_id"], "attended": True},
        {"participant_id": dyad.payload["mentor"]["participant_id"], "attended": False}]}))

    # Bea, another mentee of the institution: her data must not move.
    ok(bea.mentee.post("/v1/diary", json={"dyad_id": bea.id, "text": BEA_DIARY, "entry_date": "2026-08-04", "shared": True}), 201)
    bea_objective = ok(bea.mentee.post("/v1/objectives", json=objective_body(bea.id, statement=BEA_OBJECTIVE)), 201)
    return {"inst": inst, "dyad": dyad, "bea": bea, "form": form, "mentor_form": mentor_form, "objective": objective, "step": step,
            "private": private, "shared": shared, "token": token, "mentor_token": mentor_token, "event": event,
            "bea_objective": bea_objective, "meetings": meetings}  # fmt: skip


def _args(h: dict[str, Any]) -> tuple[uuid.UUID, str, list[uuid.UUID]]:
    d = h["dyad"]
    return uuid.UUID(d.institution_id), d.payload["mentee"]["account_id"], [uuid.UUID(d.payload["mentee"]["participant_id"])]


def test_every_table_is_classified_once() -> None:
    assert classified(Base.metadata, data_rights.PERSONAL, data_rights.NOT_PERSONAL) == []
    assert classified(Base.metadata, {**data_rights.PERSONAL, "nonexistent": "x"}, data_rights.NOT_PERSONAL) == ["nonexistent: no such table"]
    partial = {k: v for k, v in data_rights.PERSONAL.items() if k != "diary_entries"}
    assert classified(Base.metadata, partial, data_rights.NOT_PERSONAL) == ["diary_entries: not classified"]


def test_export_holds_her_rows_and_nobody_elses(her: dict[str, Any], engine: Any) -> None:
    institution_id, account, pids = _args(her)
    with Session(engine) as session:
        out = data_rights.export_subject(session, institution_id, account, pids)
    assert set(out) == set(data_rights.PERSONAL)
    text = repr(out)
    for name, marker in M.items():  # her mentor's return reason too: it is part of her milestone's history
        assert marker in text, name
    for foreign in (MENTOR_COMMENT, MENTOR_REASON, BEA_DIARY, BEA_OBJECTIVE, her["dyad"].payload["mentor"]["account_id"]):
        assert foreign not in text, foreign
    assert [e["id"] for e in out["diary_entries"]] == [her["private"]["id"], her["shared"]["id"]]
    assert [f["id"] for f in out["feedback_forms"] if f["submitted_at"]] == [her["form"]["id"]]
    assert [o["id"] for o in out["objectives"]] == [her["objective"]["id"]]
    assert out["dyads"][0]["role"] == "mentee" and out["dyads"][0]["account_id"] == account
    assert len(out["calendar_tokens"]) == 1 and "token_hash" not in out["calendar_tokens"][0]
    assert [a["participant_id"] for a in out["attendance"]] == [str(pids[0])]
    assert {c["by"] for c in out["meeting_changes"] if c.get("reason")} == {"mentee"}
    # Another institution's call finds nothing of hers.
    with Session(engine) as session:
        assert all(v == [] for v in data_rights.export_subject(session, uuid.uuid4(), account, pids).values())


def test_erasure_leaves_nothing_of_hers_and_keeps_the_rest(her: dict[str, Any], engine: Any, world: Any) -> None:
    inst, dyad, bea = her["inst"], her["dyad"], her["bea"]
    institution_id, account, pids = _args(her)
    needles = [*M.values(), account]
    assert set(traces(engine, Base.metadata, needles)) >= {"diary_entries", "dyads", "feedback_forms", "objectives", "milestones",
                                                           "milestone_changes", "progress_entries", "meetings", "meeting_changes",
                                                           "calendar_tokens", "outbox_events", "idempotency_records"}  # fmt: skip
    bea_before = ok(bea.mentee.get(f"/v1/objectives/{her['bea_objective']['id']}"))
    stats_before = ok(inst.coordinator.get(f"/v1/dyads/programs/{inst.program_id}/statistics"))

    # Another institution: nothing happens.
    with Session(engine) as session:
        assert set(data_rights.erase_subject(session, uuid.uuid4(), account, pids).values()) == {0}
        session.commit()
    assert set(traces(engine, Base.metadata, [M["diary_private"]])) == {"diary_entries", "idempotency_records"}

    with Session(engine) as session:
        counts = data_rights.erase_subject(session, institution_id, account, pids)
        session.commit()
    assert counts["diary_entries"] == 2 and counts["calendar_tokens"] == 1 and counts["attendance"] == 1 and counts["dyads"] == 1
    assert counts["feedback_forms"] == 1 and counts["objectives"] == 1 and counts["outbox_events"] > 0
    assert counts["idempotency_records"] == 3

    # (a) Nothing of hers in any column of any table.
    assert traces(engine, Base.metadata, needles) == {}

    # (b) Through the API: her mentor, the coordinator, the calendar.
    assert dyad.mentor.get(f"/v1/diary/{her['shared']['id']}").status_code == 404
    assert ok(dyad.mentor.get("/v1/diary", params={"dyad_id": dyad.id})) == []
    assert dyad.mentee.get(f"/v1/diary/{her['private']['id']}").status_code == 404
    assert world.http.get(f"/v1/meetings/calendar/{her['token']}.ics").status_code == 404
    form = ok(inst.coordinator.get(f"/v1/feedback/{her['form']['id']}"))
    assert form["comments"] is None and form["ratings"] == RATINGS  # numeric ratings stay, pseudonymous
    assert ok(dyad.mentor.get(f"/v1/feedback/{her['form']['id']}"))["comments"] is None
    objective = ok(inst.coordinator.get(f"/v1/objectives/{her['objective']['id']}"))
    assert objective["statement"] == "[erased]" and objective["target"] == 2
    step = ok(dyad.mentor.get(f"/v1/milestones/{her['step']['id']}"))
    assert (step["title"], step["return_reason"], step["status"]) == ("[erased]", None, "planned")
    assert all(h["reason"] is None and h["evidence_note"] is None for h in ok(dyad.mentor.get(f"/v1/milestones/{her['step']['id']}/history")))
    assert ok(dyad.mentor.get(f"/v1/meetings/{her['meetings'][0]['id']}"))["notes"] is None
    assert ok(dyad.mentee.get("/v1/dyads/mine"))["items"] == []  # her old token opens nothing
    attendance = ok(inst.coordinator.get(f"/v1/group-events/{her['event']['id']}/attendance"))
    assert [r["participant_id"] for r in attendance["records"]] == [dyad.payload["mentor"]["participant_id"]]

    # (c) Everyone else's data is untouched; the dyad and its counts remain.
    assert ok(dyad.mentor.get(f"/v1/feedback/{her['mentor_form']['id']}"))["comments"] == MENTOR_COMMENT
    assert [h["reason"] for h in ok(dyad.mentor.get(f"/v1/meetings/{her['meetings'][2]['id']}/history"))] == [MENTOR_REASON]
    assert [h["reason"] for h in ok(dyad.mentor.get(f"/v1/meetings/{her['meetings'][1]['id']}/history"))] == ["[erased]"]
    assert world.http.get(f"/v1/meetings/calendar/{her['mentor_token']}.ics").status_code == 200
    assert ok(bea.mentor.get("/v1/diary", params={"dyad_id": bea.id}))[0]["text"] == BEA_DIARY
    assert ok(bea.mentee.get(f"/v1/objectives/{her['bea_objective']['id']}")) == bea_before
    assert ok(dyad.mentor.get(f"/v1/dyads/{dyad.id}"))["id"] == dyad.id
    stats_after = ok(inst.coordinator.get(f"/v1/dyads/programs/{inst.program_id}/statistics"))
    assert stats_after == stats_before

    # (d) A second erasure finds nothing left.
    with Session(engine) as session:
        again = data_rights.erase_subject(session, institution_id, account, pids)
        session.commit()
    assert set(again.values()) == {0}, again
    with Session(engine) as session:
        out = data_rights.export_subject(session, institution_id, account, pids)
    assert traces_in(out, list(M.values())) == []


def traces_in(value: Any, needles: list[str]) -> list[str]:
    text = repr(value)
    return [n for n in needles if n in text]


def test_erasing_her_mentor_removes_his_words_and_keeps_hers(her: dict[str, Any], engine: Any, world: Any) -> None:
    dyad = her["dyad"]
    mentor_account = dyad.payload["mentor"]["account_id"]
    with Session(engine) as session:
        out = data_rights.export_subject(session, uuid.UUID(dyad.institution_id), mentor_account,
                                         [uuid.UUID(dyad.payload["mentor"]["participant_id"])])
    assert out["dyads"][0]["role"] == "mentor" and out["diary_entries"] == [] and out["progress_entries"] == []
    assert [o["id"] for o in out["objectives"]] == [her["objective"]["id"]] and set(out["objectives"][0]) == {"id", "dyad_id", "mentor_perceived"}
    assert M["diary_shared"] not in repr(out) and M["statement"] not in repr(out) and M["comment"] not in repr(out)
    assert MENTOR_COMMENT in repr(out) and MENTOR_REASON in repr(out) and M["return"] in repr(out)

    with Session(engine) as session:
        counts = data_rights.erase_subject(session, uuid.UUID(dyad.institution_id), mentor_account,
                                           [uuid.UUID(dyad.payload["mentor"]["participant_id"])])
        session.commit()
    assert counts["diary_entries"] == 0 and counts["objectives"] == 0 and counts["calendar_tokens"] == 1
    # his words and his account are gone (meeting notes have no author: those of his meetings go too)
    assert traces(engine, Base.metadata, [MENTOR_COMMENT, MENTOR_REASON, M["return"], M["notes"], mentor_account]) == {}
    # hers stay: her diary, her comment, her objective, her reason
    assert ok(dyad.mentee.get(f"/v1/diary/{her['shared']['id']}"))["text"] == M["diary_shared"]
    assert ok(dyad.mentee.get(f"/v1/feedback/{her['form']['id']}"))["comments"] == M["comment"]
    assert ok(dyad.mentee.get(f"/v1/objectives/{her['objective']['id']}"))["statement"] == M["statement"]
    assert [h["reason"] for h in ok(dyad.mentee.get(f"/v1/meetings/{her['meetings'][1]['id']}/history"))] == [M["reschedule"]]
    assert world.http.get(f"/v1/meetings/calendar/{her['token']}.ics").status_code == 200
    assert world.http.get(f"/v1/meetings/calendar/{her['mentor_token']}.ics").status_code == 404
    with Session(engine) as session:
        again = data_rights.erase_subject(session, uuid.UUID(dyad.institution_id), mentor_account,
                                          [uuid.UUID(dyad.payload["mentor"]["participant_id"])])
    assert set(again.values()) == {0}, again


def test_a_match_published_before_her_erasure_and_read_after_it_makes_no_dyad(engine: Any, world: Any) -> None:
    """Matching published her match and scrubbed its feed at her erasure, but sessions had the event
    in hand: read after the erasure reached sessions, it makes no dyad of her. Another
    institution's account with the same id is another person and gets hers."""
    from services.sessions.tests.conftest import activated, deliver

    inst, other = world.institution(), world.institution()
    with Session(engine) as session:
        data_rights.erase_subject(session, uuid.UUID(inst.id), "ana-7731", [])
        session.commit()
    late = activated(inst.id, inst.program_id, mentee_account="ana-7731", mentor_account="mentor-late")
    deliver(engine, "match.activated", late)
    assert traces(engine, Base.metadata, ["ana-7731"]) == {}
    with Session(engine) as session:
        assert session.get(Dyad, uuid.UUID(late["match_id"])) is None
    elsewhere = activated(other.id, other.program_id, mentee_account="ana-7731", mentor_account="mentor-other")
    deliver(engine, "match.activated", elsewhere)
    assert [d["id"] for d in ok(other.coordinator.get(f"/v1/dyads/programs/{other.program_id}"))["items"]] == [elsewhere["match_id"]]
