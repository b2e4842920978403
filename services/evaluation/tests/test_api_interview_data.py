"""Her interview is personal data: consent withdrawals and erasures reach it (from the participants service's feed
and on request), her export holds it, and her answers never leave this service's interviews table."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session

from servicekit.outbox import EventOut

from services.evaluation import interview_quotes, interviews
from services.evaluation.tests.conftest import all_rows
from services.evaluation.tests.interview_world import MENTEE_ANSWERS, MENTOR_ANSWERS, make_interview_world


@pytest.fixture
def iw(world: Any) -> Any:
    return make_interview_world(world)


def _event(kind: str, tenant: uuid.UUID, **payload: Any) -> EventOut:
    return EventOut(event_id=uuid.uuid4(), type=kind, tenant_id=str(tenant), subject="x", occurred_at=datetime.now(UTC),
                    payload=payload, cursor="c")


def _handle(engine: Any, event: EventOut) -> None:
    with Session(engine) as session:
        interviews.handle(session, event)
        session.commit()


def _application(iw: Any, participant_id: uuid.UUID) -> str:
    person = next(p for p in iw.world.fake.people.values() if p["id"] == str(participant_id))
    return person["memberships"][0]["application_id"]


def _coded_pair(iw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two settled interviews, a quote from the first (she consents to quotes)."""
    iw.codebook()
    first = iw.recorded(iw.mentees[0], "mentee", quote_consent=True, headers={**iw.interviewer, "Idempotency-Key": "i-1"})
    second = iw.recorded(iw.mentors[0], "mentor")
    for made in (first, second):
        for coder in (iw.coder_a, iw.coder_b):
            assert iw.code(made["id"], coder, {"gains": ["confidence"]}).status_code == 201
    quote = iw.http.post(f"/v1/interviews/{first['id']}/quotes", headers=iw.coder_a, json={
        "question": "gains", "theme": "confidence", "excerpt": "Ahora hablo en las reuniones del [grupo]", "deidentified": True})
    assert quote.status_code == 201, quote.text
    return first, second


def _quote_status(iw: Any) -> list[list[str]]:
    items = iw.http.get("/v1/interviews/quotes", params={"program_id": iw.program}, headers=iw.coder_a).json()["items"]
    return [q["withheld_because"] for q in items]


def test_withdrawing_quotes_consent_stops_her_quotes(iw: Any, engine: Any) -> None:
    first, _ = _coded_pair(iw)
    assert "no_quote_consent" not in _quote_status(iw)[0]
    application = _application(iw, iw.mentees[0])
    _handle(engine, _event("consent.withdrawn", uuid.uuid4(), application_id=application, purpose="quotes"))
    assert "no_quote_consent" not in _quote_status(iw)[0]  # the same application id under another institution: nothing
    _handle(engine, _event("consent.withdrawn", iw.world.institution_id, application_id=application, purpose="quotes",
                           program_id=iw.program))
    assert "no_quote_consent" in _quote_status(iw)[0]
    assert iw.http.get(f"/v1/interviews/{first['id']}", headers=iw.coder_a).json()["quote_consent"] is False
    with Session(engine) as session:
        assert interview_quotes.report_quotes(session, iw.world.institution_id, iw.world.program_id) == ()


def test_withdrawing_research_consent_takes_her_interview_out(iw: Any, engine: Any) -> None:
    first, second = _coded_pair(iw)
    summary = f"/v1/reports/programs/{iw.program}/themes"
    assert iw.http.get(summary, headers=iw.world.evaluator).json()["evaluators"] == 2
    other = uuid.uuid4()
    _handle(engine, _event("consent.withdrawn", other, application_id=_application(iw, iw.mentees[0]), purpose="research"))
    assert iw.http.get(f"/v1/interviews/{first['id']}", headers=iw.coder_a).json()["status"] == "recorded"  # another tenant's

    _handle(engine, _event("consent.withdrawn", iw.world.institution_id, application_id=_application(iw, iw.mentees[0]),
                           purpose="research", program_id=iw.program))

    seen = iw.http.get(f"/v1/interviews/{first['id']}", headers=iw.coder_a).json()
    assert seen["status"] == "withdrawn" and seen["answers"] == {} and seen["codings_submitted"] == 0
    assert iw.http.get("/v1/interviews/quotes", params={"program_id": iw.program}, headers=iw.coder_a).json()["items"] == []
    with Session(engine) as session:
        codings = interview_quotes.report_codings(session, iw.world.institution_id, iw.world.program_id)
    assert {c.response_id for c in codings} == {second["code"]}  # left out of every analysis
    assert MENTEE_ANSWERS["gains"] not in json.dumps(all_rows(engine), default=str, ensure_ascii=False)
    # she cannot be coded any more
    assert iw.code(first["id"], iw.coder_a, {}).status_code == 409


def test_erasure_removes_her_text_quotes_and_link_and_keeps_the_counts(iw: Any, engine: Any) -> None:
    http, w = iw.http, iw.world
    first, _ = _coded_pair(iw)
    sample = http.post("/v1/interviews/samples", json={"program_id": iw.program, "mentors": 2, "mentees": 10}, headers=w.coordinator)
    assert str(iw.mentees[0]) in {p["participant_id"] for p in sample.json()["picks"]}
    with Session(engine) as session:
        before = {(c.response_id, c.evaluator, c.themes) for c in interview_quotes.report_codings(session, w.institution_id, w.program_id)}

    # her export, by her and by the coordinator; nobody else
    mentee_sub = iw.mentee_subs[0]
    her = w.staff(mentee_sub, "mentee")
    exported = http.get(f"/v1/interviews/data-subjects/{iw.mentees[0]}/export", headers=her)
    assert exported.status_code == 200, exported.text
    data = exported.json()
    assert [i["answers"] for i in data["interviews"]] == [MENTEE_ANSWERS]
    assert [c["coder"] for c in data["interviews"][0]["codings"]] == ["coder 1", "coder 2"]  # coders are not named to her
    assert data["interviews"][0]["quotes"] == ["Ahora hablo en las reuniones del [grupo]"]
    assert [(p["participant_id"], p["interviewed"]) for p in data["sample_picks"]] == [(str(iw.mentees[0]), True)]
    assert http.get(f"/v1/interviews/data-subjects/{iw.mentees[0]}/export", headers=w.coordinator).json()["interviews"] == data["interviews"]
    another = w.staff(iw.mentee_subs[1], "mentee")
    assert http.get(f"/v1/interviews/data-subjects/{iw.mentees[0]}/export", headers=another).status_code == 403
    assert http.get(f"/v1/interviews/data-subjects/{iw.mentees[0]}/export", headers=w.evaluator).status_code == 403
    assert http.get(f"/v1/interviews/data-subjects/{uuid.uuid4()}/export", headers=w.coordinator).status_code == 404

    erased = http.post(f"/v1/interviews/data-subjects/{iw.mentees[0]}/erasure", headers=w.coordinator)

    assert erased.status_code == 200, erased.text
    assert erased.json() == {"participant_id": str(iw.mentees[0]), "interviews_erased": 1, "answers_removed": 5,
                             "quotes_deleted": 1, "sample_picks_deleted": 1, "codings_kept": 2}
    rows = json.dumps(all_rows(engine), default=str, ensure_ascii=False)
    for text in MENTEE_ANSWERS.values():
        assert text not in rows, "her words are still stored"
    assert "Ahora hablo" not in rows and str(iw.mentees[0]) not in rows and _application(iw, iw.mentees[0]) not in rows
    assert MENTOR_ANSWERS["gains"] in rows  # nobody else's
    seen = http.get(f"/v1/interviews/{first['id']}", headers=iw.coder_a).json()
    assert seen["status"] == "erased" and seen["answers"] == {} and seen["code"] == first["code"]
    with Session(engine) as session:
        after = {(c.response_id, c.evaluator, c.themes) for c in interview_quotes.report_codings(session, w.institution_id, w.program_id)}
    assert after == before  # the published counts and kappa do not change
    assert http.get(f"/v1/interviews/data-subjects/{iw.mentees[0]}/export", headers=w.coordinator).status_code == 404
    assert http.post(f"/v1/interviews/data-subjects/{iw.mentees[0]}/erasure", headers=w.coordinator).status_code == 404


def test_the_participants_erasure_event_erases_her_interview(iw: Any, engine: Any, other_world: Any) -> None:
    first, _ = _coded_pair(iw)
    assert iw.http.post(f"/v1/interviews/data-subjects/{iw.mentees[0]}/erasure", headers=other_world.coordinator).status_code == 404
    _handle(engine, _event("data_subject.erased", iw.world.institution_id, participant_id=str(iw.mentees[0]),
                           erasure_request_id=str(uuid.uuid4()), application_ids=[], program_ids=[iw.program]))
    assert iw.http.get(f"/v1/interviews/{first['id']}", headers=iw.coder_a).json()["status"] == "erased"
    assert MENTEE_ANSWERS["gains"] not in json.dumps(all_rows(engine), default=str, ensure_ascii=False)
    _handle(engine, _event("application.submitted", iw.world.institution_id, application_id=str(uuid.uuid4())))  # ignored
    # a malformed event changes nothing and never blocks the feed
    _handle(engine, _event("data_subject.erased", iw.world.institution_id, participant_id="not-an-id"))
    _handle(engine, EventOut(event_id=uuid.uuid4(), type="consent.withdrawn", tenant_id="x", subject="x",
                             occurred_at=datetime.now(UTC), payload={"application_id": "y", "purpose": "research"}, cursor="c"))


def test_answers_are_never_logged_nor_in_an_event(iw: Any, engine: Any, caplog: pytest.LogCaptureFixture,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    first, _ = _coded_pair(iw)
    iw.record(iw.mentees[1], "mentee", answers={"overall": "Sin acentos \x00 con NUL"})
    iw.http.get(f"/v1/interviews/{first['id']}", headers=iw.coder_a)
    logged = caplog.text + capsys.readouterr().out
    for text in MENTEE_ANSWERS.values():
        assert text not in logged
    assert "Sin acentos" not in logged
    assert all_rows(engine)["outbox_events"] == []
