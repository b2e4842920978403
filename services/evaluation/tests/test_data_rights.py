"""Data-subject export and erasure of the evaluation service (services/evaluation/data_rights.py).

Her survey answers (a named administration, an anonymous one found with the keyed
pseudonym, a draft) and her coded, quoted interview are built through the real API;
after the erasure no column of any table holds her text, ids or pseudonym, the counts
stay, and another respondent's answers are untouched.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import Session

from servicekit.personal_data import classified, traces

from services.evaluation import access, data_rights
from services.evaluation.models import Base
from services.evaluation.tests.interview_world import (
    MENTEE_ANSWERS,
    make_interview_world,
)
from services.evaluation.tests.test_api_analysis import answers_for, closing_answers
from services.evaluation.tests.test_api_interview_data import _coded_pair

HER_OPEN = "XQ-respuesta-abierta-9951"
BEA_OPEN = "BEA-respuesta-abierta-9952"
QUOTE = "Ahora hablo en las reuniones del [grupo]"


def _open(answers: dict[str, Any], text: str) -> dict[str, Any]:
    return {k: (text if isinstance(v, str) else v) for k, v in answers.items()}


@pytest.fixture
def her(world: Any) -> dict[str, Any]:
    iw = make_interview_world(world)
    first, second = _coded_pair(iw)  # her interview (coded, quoted, replayable) and a mentor's
    sub, pid = iw.mentee_subs[0], iw.mentees[0]
    me = world.staff(sub, "mentee")
    anonymous = world.administer("closing-assessment", moment="closing", anonymous=True)
    named = world.administer(moment="pre")
    draft = world.administer(moment="post")
    r = world.http.post(f"/v1/administrations/{anonymous['id']}/responses/mine/submission",
                        json={"answers": _open(closing_answers("mentee", 0), HER_OPEN)}, headers={**me, "Idempotency-Key": "sub-1"})
    assert r.status_code == 201, r.text
    assert world.answer(named["id"], me, answers_for(0, "pre")).status_code == 201
    assert world.http.put(f"/v1/administrations/{draft['id']}/responses/mine", json={"answers": answers_for(0, "post")},
                          headers=me).status_code == 200
    bea = world.staff(iw.mentee_subs[1], "mentee")
    assert world.answer(anonymous["id"], bea, _open(closing_answers("mentee", 1), BEA_OPEN)).status_code == 201
    return {"iw": iw, "world": world, "sub": sub, "pid": pid, "me": me, "bea": bea, "interview": first, "mentor_interview": second,
            "anonymous": anonymous, "named": named, "draft": draft}  # fmt: skip


def _args(h: dict[str, Any]) -> tuple[uuid.UUID, str, list[uuid.UUID]]:
    return h["world"].institution_id, h["sub"], [h["pid"]]


def test_every_table_is_classified_once() -> None:
    assert classified(Base.metadata, data_rights.PERSONAL, data_rights.NOT_PERSONAL) == []


def test_export_holds_her_answers_and_interview_and_nobody_elses(her: dict[str, Any], engine: Any) -> None:
    institution_id, sub, pids = _args(her)
    with Session(engine) as session:
        out = data_rights.export_subject(session, institution_id, sub, pids)
    assert set(out) == set(data_rights.PERSONAL)
    by_adm = {r["administration_id"]: r for r in out["responses"]}
    assert set(by_adm) == {her["anonymous"]["id"], her["named"]["id"], her["draft"]["id"]}
    assert by_adm[her["anonymous"]["id"]]["anonymous"] is True and HER_OPEN in by_adm[her["anonymous"]["id"]]["answers"].values()
    assert by_adm[her["draft"]["id"]]["status"] == "draft"
    [interview] = out["interviews"]
    assert interview["answers"] == MENTEE_ANSWERS and interview["interview_id"] == her["interview"]["id"]
    assert out["interview_quotes"] == [{"interview_id": her["interview"]["id"], "excerpt": QUOTE}]
    assert len(out["interview_codings"]) == 2
    text = repr(out)
    assert BEA_OPEN not in text and her["mentor_interview"]["id"] not in text
    with Session(engine) as session:  # another institution: nothing
        assert all(v == [] for v in data_rights.export_subject(session, uuid.uuid4(), sub, pids).values())


def test_erasure_unlinks_her_answers_and_keeps_the_counts(her: dict[str, Any], engine: Any, app: Any) -> None:
    w, http = her["world"], her["world"].http
    institution_id, sub, pids = _args(her)
    key = app.state.pseudonym_key
    her_pseudonym = access.pseudonym(key, w.program_id, sub)
    needles = [HER_OPEN, sub, her_pseudonym, str(her["pid"]), QUOTE, *MENTEE_ANSWERS.values()]
    assert set(traces(engine, Base.metadata, needles)) >= {"responses", "interviews", "interview_quotes", "idempotency_records"}
    counts_before = {a: http.get(f"/v1/administrations/{her[a]['id']}/respondents", headers=w.coordinator).json()
                     for a in ("anonymous", "named", "draft")}

    with Session(engine) as session:  # another institution: nothing
        assert set(data_rights.erase_subject(session, uuid.uuid4(), sub, pids).values()) == {0}
        session.commit()

    with Session(engine) as session:
        counts = data_rights.erase_subject(session, institution_id, sub, pids)
        session.commit()
    assert (counts["responses"], counts["interviews"], counts["interview_quotes"]) == (3, 1, 1)
    assert counts["idempotency_records"] == 1  # her anonymous submission's replay (the interview's goes with erase_person)

    # (a) nothing of hers, her keyed pseudonym included, anywhere
    assert traces(engine, Base.metadata, needles) == {}
    # (b) she has no response any more; the named administration no longer lists her; her interview is erased
    assert http.get(f"/v1/administrations/{her['anonymous']['id']}/responses/mine", headers=her["me"]).status_code == 404
    after = {a: http.get(f"/v1/administrations/{her[a]['id']}/respondents", headers=w.coordinator).json()
             for a in ("anonymous", "named", "draft")}
    assert after["anonymous"]["submitted"] == counts_before["anonymous"]["submitted"] == 2
    assert after["named"]["submitted"] == 1 and after["named"]["participant_ids"] == []
    assert counts_before["named"]["participant_ids"] == [str(her["pid"])]
    assert (after["draft"]["drafts"], counts_before["draft"]["drafts"]) == (0, 1)
    seen = http.get(f"/v1/interviews/{her['interview']['id']}", headers=her["iw"].coder_a).json()
    assert seen["status"] == "erased" and seen["answers"] == {}
    # (c) another respondent's answers and the mentor's interview stay
    bea_mine = http.get(f"/v1/administrations/{her['anonymous']['id']}/responses/mine", headers=her["bea"]).json()
    assert BEA_OPEN in bea_mine["answers"].values()
    assert http.get(f"/v1/interviews/{her['mentor_interview']['id']}", headers=her["iw"].coder_a).json()["answers"]
    # (d) a second erasure finds nothing
    with Session(engine) as session:
        again = data_rights.erase_subject(session, institution_id, sub, pids)
        session.commit()
    assert set(again.values()) == {0}, again


def test_a_staff_member_is_pseudonymised_as_author(her: dict[str, Any], engine: Any) -> None:
    w = her["world"]
    coder = f"coder-a-{w.institution_id.hex[:6]}"
    with Session(engine) as session:
        out = data_rights.export_subject(session, w.institution_id, coder, [])
    assert out["interview_team"] and {r["as"] for r in out["interview_codings"]} == {"coder"} and {r["as"] for r in out["interview_quotes"]} == {"created_by"}
    with Session(engine) as session:
        counts = data_rights.erase_subject(session, w.institution_id, coder, [])
        session.commit()
    assert counts["interview_team"] == 1 and counts["interview_quotes"] == 1 and counts["responses"] == 0
    assert traces(engine, Base.metadata, [coder]) == {}
    # her interview, coded by that coder, still counts the code
    assert w.http.get(f"/v1/interviews/{her['interview']['id']}", headers=w.coordinator).status_code == 200
