"""Milestones of SMART objectives: the mentee plans and reports them with evidence, her mentor (or a
coordinator) confirms or returns them, and only confirmed milestones are the objective's verified
(measured) achievement. Every refusal: wrong role, the mentee confirming her own, another dyad, another
institution, an ended dyad, dates outside the objective, bad links, control characters, over-long text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from servicekit.testing import attack_tokens, bearer

from services.sessions.tests.conftest import deliver, events, objective_body, ok, snapshot

LINK = "https://repositorio.example.edu/solicitudes/primera.pdf"


@pytest.fixture
def started(world: Any, frozen: Any) -> Any:
    """A dyad after its first meeting, with an objective (set today, due 2026-11-20) of two milestones."""
    inst = world.institution()
    dyad = world.dyad(inst)
    first = datetime.fromisoformat(dyad.meetings()[0]["start"])
    frozen.set(first + timedelta(hours=2))
    steps = [{"title": "Enviar la segunda solicitud", "due_on": "2026-10-30"},
             {"title": "  Enviar la primera solicitud ", "due_on": "2026-09-15"}]
    objective = ok(dyad.mentee.post("/v1/objectives", json=objective_body(dyad.id, milestones=steps)), 201)
    return inst, dyad, objective


def field_of(r: Any) -> list[str]:
    assert r.status_code == 422, r.text
    return [e["field"] for e in r.json()["errors"]]


def test_the_lifecycle_and_the_verified_measure(world: Any, engine: Any, frozen: Any, started: Any) -> None:
    inst, dyad, objective = started
    # Set with the objective, by due date; nothing verified yet, and it says so with the counts.
    first, second = objective["milestones"]
    assert (first["title"], first["due_on"], first["status"], second["title"]) == (
        "Enviar la primera solicitud", "2026-09-15", "planned", "Enviar la segunda solicitud")
    assert objective["achievement"]["verified"] == 0.0 and objective["achievement"]["milestones"] == 2
    assert objective["achievement"]["self_reported"] is None

    # A third, later, once (Idempotency-Key), with its Location.
    body = {"title": "Recibir el dictamen", "due_on": "2026-11-20"}
    r = dyad.mentee.post(f"/v1/objectives/{objective['id']}/milestones", json=body, headers={"Idempotency-Key": "ms-1"})
    third = ok(r, 201)
    assert r.headers["Location"] == f"/v1/milestones/{third['id']}"
    again = dyad.mentee.post(f"/v1/objectives/{objective['id']}/milestones", json=body, headers={"Idempotency-Key": "ms-1"})
    assert again.json()["id"] == third["id"] and again.headers["Idempotent-Replayed"] == "true"
    for reader in (dyad.mentee, dyad.mentor, inst.coordinator, inst.admin):
        listed = ok(reader.get(f"/v1/objectives/{objective['id']}/milestones"))
        assert [m["id"] for m in listed] == [first["id"], second["id"], third["id"]], reader.name
        assert ok(reader.get(f"/v1/milestones/{first['id']}"))["title"] == "Enviar la primera solicitud"

    # She reports the first met, with a link and a note; the event carries ids and dates only.
    frozen.advance(days=20)
    met = ok(dyad.mentee.post(f"/v1/milestones/{first['id']}/evidence",
                              json={"link": LINK, "note": "Enviada a la\nconvocatoria nacional", "met_on": "2026-08-20"}))
    assert (met["status"], met["met_on"], met["evidence_link"], met["evidence_note"]) == (
        "reported", "2026-08-20", LINK, "Enviada a la\nconvocatoria nacional")
    reported = events(engine, "milestone.reported")
    assert len(reported) == 1
    assert set(reported[0]["payload"]) == {"milestone_id", "objective_id", "dyad_id", "program_id", "due_on", "met_on", "reported_at"}
    assert "repositorio" not in str(reported[0]["payload"]) and "convocatoria" not in str(reported[0]["payload"])
    # Reported is not verified.
    assert ok(dyad.mentee.get(f"/v1/objectives/{objective['id']}"))["achievement"]["verified"] == 0.0

    # She never confirms her own; nothing is written.
    before = snapshot(engine)
    r = dyad.mentee.post(f"/v1/milestones/{first['id']}/confirmation")
    assert r.status_code == 403 and snapshot(engine) == before

    # Her mentor returns it with a reason: planned again, current evidence cleared, kept in the history.
    back = ok(dyad.mentor.post(f"/v1/milestones/{first['id']}/return", json={"reason": "El enlace no abre"}))
    assert (back["status"], back["evidence_link"], back["evidence_note"], back["met_on"]) == ("planned", None, None, None)
    assert (back["return_reason"], back["returned_at"] is not None) == ("El enlace no abre", True)
    returned = events(engine, "milestone.returned")
    assert len(returned) == 1 and returned[0]["payload"]["returned_by"] == "mentor" and "enlace" not in str(returned[0]["payload"])
    r = dyad.mentor.post(f"/v1/milestones/{first['id']}/confirmation")
    assert r.status_code == 409 and r.json()["type"].endswith("not-reported")

    # She reports it again (a note only); her mentor confirms: the first verified step.
    frozen.advance(days=1)
    again_met = ok(dyad.mentee.post(f"/v1/milestones/{first['id']}/evidence", json={"note": "Acuse de recibo adjunto en el diario"}))
    assert (again_met["status"], again_met["return_reason"], again_met["evidence_link"]) == ("reported", None, None)
    assert again_met["met_on"] == str(frozen.at.date())
    confirmed = ok(dyad.mentor.post(f"/v1/milestones/{first['id']}/confirmation"))
    assert (confirmed["status"], confirmed["confirmed_by"], confirmed["overdue"]) == ("confirmed", "mentor", False)
    assert ok(dyad.mentor.post(f"/v1/milestones/{first['id']}/confirmation")) == confirmed  # a retry changes nothing
    assert len(events(engine, "milestone.confirmed")) == 1
    history = ok(dyad.mentee.get(f"/v1/milestones/{first['id']}/history"))
    assert [(h["kind"], h["by"]) for h in history] == [("reported", "mentee"), ("returned", "mentor"), ("reported", "mentee"),
                                                      ("confirmed", "mentor")]
    assert (history[0]["evidence_link"], history[0]["met_on"], history[1]["reason"]) == (LINK, "2026-08-20", "El enlace no abre")
    assert ok(inst.coordinator.get(f"/v1/milestones/{first['id']}/history")) == history

    # A coordinator confirms the second; confirmed milestones are final.
    ok(dyad.mentee.post(f"/v1/milestones/{second['id']}/evidence", json={"link": "http://cvu.example.mx/registro/77"}))
    assert ok(inst.coordinator.post(f"/v1/milestones/{second['id']}/confirmation"))["confirmed_by"] == "coordinator"
    before = snapshot(engine)
    for method, url, json in (("PATCH", f"/v1/milestones/{first['id']}", {"title": "Otro paso distinto"}),
                              ("POST", f"/v1/milestones/{first['id']}/evidence", {"note": "otra vez"}),
                              ("POST", f"/v1/milestones/{first['id']}/return", {"reason": "Me equivoqué"})):
        r = (dyad.mentor if url.endswith("/return") else dyad.mentee).request(method, url, json=json)
        assert r.status_code == 409, (url, r.text)
    assert snapshot(engine) == before

    # Two of three confirmed: verified 66.7 %, whatever she self-reports; perceived beside it, with the gaps.
    ok(dyad.mentee.post(f"/v1/objectives/{objective['id']}/progress", json={"value": 2}), 201)
    frozen.set(datetime.fromisoformat(dyad.meetings()[-1]["start"]) + timedelta(minutes=30))
    ok(dyad.mentee.put(f"/v1/objectives/{objective['id']}/assessment", json={"achievement": 90}))
    got = ok(dyad.mentor.put(f"/v1/objectives/{objective['id']}/assessment", json={"achievement": 60}))["achievement"]
    assert got["verified"] == pytest.approx(200 / 3) and (got["milestones"], got["milestones_confirmed"]) == (3, 2)
    assert got["self_reported"] == 100.0 and got["mentee_vs_verified"] == pytest.approx(90 - 200 / 3)
    assert got["mentor_vs_verified"] == pytest.approx(60 - 200 / 3) and got["mentee_vs_mentor"] == 30.0
    # Past its due date and not confirmed: the third is overdue, from the day after it.
    frozen.set(datetime(2026, 11, 20, 23, 59, tzinfo=UTC))
    assert [m["overdue"] for m in ok(dyad.mentor.get(f"/v1/objectives/{objective['id']}/milestones"))] == [False, False, False]
    frozen.set(datetime(2026, 11, 21, 0, 0, tzinfo=UTC))
    assert [m["overdue"] for m in ok(dyad.mentor.get(f"/v1/objectives/{objective['id']}/milestones"))] == [False, False, True]


def test_editing_a_planned_milestone(started: Any, engine: Any) -> None:
    _inst, dyad, objective = started
    mid = objective["milestones"][0]["id"]
    got = ok(dyad.mentee.patch(f"/v1/milestones/{mid}", json={"title": "Enviar la primera solicitud corregida", "due_on": "2026-09-20"}))
    assert (got["title"], got["due_on"]) == ("Enviar la primera solicitud corregida", "2026-09-20")
    for caller in (dyad.mentor,):
        assert caller.patch(f"/v1/milestones/{mid}", json={"due_on": "2026-09-21"}).status_code == 403
    before = snapshot(engine)
    assert field_of(dyad.mentee.patch(f"/v1/milestones/{mid}", json={})) == ["body"]
    assert field_of(dyad.mentee.patch(f"/v1/milestones/{mid}", json={"due_on": "2026-11-21"})) == ["body.due_on"]
    assert field_of(dyad.mentee.patch(f"/v1/milestones/{mid}", json={"status": "confirmed"})) == ["body.status"]
    assert snapshot(engine) == before


def test_roles_tenants_and_tokens(world: Any, engine: Any, frozen: Any, started: Any, signing_key: Any) -> None:
    inst, dyad, objective = started
    elsewhere = world.institution()
    stranger, far = world.dyad(inst, 2), world.dyad(elsewhere, 3)
    mid = objective["milestones"][0]["id"]
    evaluator = world.caller("evaluator", sub="eval-1", tid=inst.id, roles=["evaluator"])
    report_client = world.caller("evaluation", sub="svc-evaluation", roles=[], scope="reports:read", client_id="svc-evaluation")
    tenant_client = world.caller("lms", sub="cli-lms", tid=inst.id, roles=[], scope="events:read", client_id="cli-lms")
    reads = [f"/v1/milestones/{mid}", f"/v1/milestones/{mid}/history", f"/v1/objectives/{objective['id']}/milestones"]
    writes = [
        ("POST", f"/v1/objectives/{objective['id']}/milestones", {"title": "Un paso más", "due_on": "2026-10-01"}),
        ("PATCH", f"/v1/milestones/{mid}", {"title": "Un paso distinto"}),
        ("POST", f"/v1/milestones/{mid}/evidence", {"note": "Hecho"}),
        ("POST", f"/v1/milestones/{mid}/confirmation", None),
        ("POST", f"/v1/milestones/{mid}/return", {"reason": "Falta la evidencia"}),
    ]
    before = snapshot(engine)
    # Another dyad's members, another institution's coordinator and members, evaluators and clients: as if it did not exist.
    for caller in (stranger.mentee, stranger.mentor, far.mentee, elsewhere.coordinator, evaluator):
        for url in reads:
            assert caller.get(url).status_code == 404, (caller.name, url)
        for method, url, body in writes:
            assert caller.request(method, url, json=body).status_code == 404, (caller.name, url)
    for caller in (report_client, tenant_client):  # the client gate: milestones declare no client scope
        for url in reads:
            assert caller.get(url).status_code == 403, (caller.name, url)
        for method, url, body in writes:
            assert caller.request(method, url, json=body).status_code == 403, (caller.name, url)
    # Wrong role in the dyad: only the mentee plans and reports; only her mentor or a coordinator reviews.
    for caller in (dyad.mentor, inst.coordinator):
        for method, url, body in writes[:3]:
            assert caller.request(method, url, json=body).status_code == 403, (caller.name, url)
    for method, url, body in writes[3:]:
        assert dyad.mentee.request(method, url, json=body).status_code == 403, url
    # An id in the body naming another dyad does not let her in: objectives and their milestones go to her own dyad only.
    assert dyad.mentee.post("/v1/objectives", json=objective_body(stranger.id, milestones=[{"title": "Paso ajeno", "due_on": "2026-10-01"}])).status_code == 404
    assert snapshot(engine) == before
    forged = attack_tokens(signing_key)
    for url in reads:
        assert world.http.get(url).status_code == 401
        for name in ("expired", "alg_none", "hs256_public_der", "tampered_payload", "foreign_key_same_kid", "wrong_audience"):
            r = world.http.get(url, headers=bearer(forged[name]))
            assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json", (name, url)
    assert world.http.post(f"/v1/milestones/{mid}/confirmation", headers=bearer(forged["expired"])).status_code == 401


def test_an_ended_dyad_refuses_changes(world: Any, engine: Any, frozen: Any, started: Any) -> None:
    inst, dyad, objective = started
    first, second = (m["id"] for m in objective["milestones"])
    ok(dyad.mentee.post(f"/v1/milestones/{second}/evidence", json={"note": "Enviada"}))
    deliver(engine, "match.completed", dyad.payload)
    before = snapshot(engine)
    for caller, method, url, body in (
        (dyad.mentee, "POST", f"/v1/objectives/{objective['id']}/milestones", {"title": "Un paso más", "due_on": "2026-10-01"}),
        (dyad.mentee, "PATCH", f"/v1/milestones/{first}", {"title": "Un paso distinto"}),
        (dyad.mentee, "POST", f"/v1/milestones/{first}/evidence", {"note": "Hecho"}),
        (dyad.mentor, "POST", f"/v1/milestones/{second}/confirmation", None),
        (inst.coordinator, "POST", f"/v1/milestones/{second}/return", {"reason": "Falta la evidencia"}),
    ):
        r = caller.request(method, url, json=body)
        assert r.status_code == 409 and r.json()["dyad_status"] == "completed", (url, r.text)
    assert snapshot(engine) == before
    assert ok(dyad.mentor.get(f"/v1/milestones/{second}"))["status"] == "reported"  # still readable


def test_dates_within_the_objective(started: Any, engine: Any, frozen: Any) -> None:
    _inst, dyad, objective = started
    set_on = date.fromisoformat(objective["set_on"])
    url = f"/v1/objectives/{objective['id']}/milestones"
    before = snapshot(engine)
    r = dyad.mentee.post(url, json={"title": "Antes de empezar", "due_on": str(set_on - timedelta(days=1))})
    assert field_of(r) == ["body.due_on"] and "before the objective was set" in r.json()["errors"][0]["message"]
    r = dyad.mentee.post(url, json={"title": "Después del plazo", "due_on": "2026-11-21"})
    assert field_of(r) == ["body.due_on"] and "after the objective's due date" in r.json()["errors"][0]["message"]
    # In the objective's own body: each misplaced milestone named, beside any SMART problem.
    steps = [{"title": "A tiempo", "due_on": "2026-10-01"}, {"title": "Tarde", "due_on": "2026-12-01"}]
    r = dyad.mentee.post("/v1/objectives", json=objective_body(dyad.id, milestones=steps))
    assert field_of(r) == ["body.milestones.1.due_on"]
    r = dyad.mentee.post("/v1/objectives", json=objective_body(dyad.id, statement="Be better", milestones=steps))
    assert field_of(r) == ["body.statement", "body.statement", "body.milestones.1.due_on"] and r.json()["components"] == ["specific"]
    mid = objective["milestones"][0]["id"]
    r = dyad.mentee.post(f"/v1/milestones/{mid}/evidence", json={"note": "Hecho", "met_on": str(frozen.at.date() + timedelta(days=1))})
    assert field_of(r) == ["body.met_on"] and r.json()["errors"][0]["message"] == "must not be in the future"
    r = dyad.mentee.post(f"/v1/milestones/{mid}/evidence", json={"note": "Hecho", "met_on": str(set_on - timedelta(days=1))})
    assert field_of(r) == ["body.met_on"]
    assert snapshot(engine) == before


BAD_INPUT = [
    ("title", {"title": "Paso\x00uno", "due_on": "2026-10-01"}, "body.title"),
    ("title", {"title": "Paso\nuno", "due_on": "2026-10-01"}, "body.title"),
    ("title", {"title": "x" * 201, "due_on": "2026-10-01"}, "body.title"),
    ("title", {"title": "  ", "due_on": "2026-10-01"}, "body.title"),
    ("title", {"due_on": "2026-10-01"}, "body.title"),
    ("due_on", {"title": "Paso uno", "due_on": "mañana"}, "body.due_on"),
    ("extra", {"title": "Paso uno", "due_on": "2026-10-01", "status": "confirmed"}, "body.status"),
]


@pytest.mark.parametrize(("what", "body", "field"), BAD_INPUT, ids=[f"{w}-{n}" for n, (w, _, _) in enumerate(BAD_INPUT)])
def test_bad_milestones_are_422_naming_the_field(started: Any, engine: Any, what: str, body: dict[str, Any], field: str) -> None:
    _inst, dyad, objective = started
    before = snapshot(engine)
    assert field_of(dyad.mentee.post(f"/v1/objectives/{objective['id']}/milestones", json=body)) == [field]
    assert snapshot(engine) == before


BAD_EVIDENCE = [
    ({}, "body"),
    ({"link": None, "note": None}, "body"),
    ({"link": "ftp://files.example.edu/solicitud.pdf"}, "body.link"),
    ({"link": "javascript:alert(1)"}, "body.link"),
    ({"link": "repositorio.example.edu/solicitud.pdf"}, "body.link"),
    ({"link": "http://["}, "body.link"),
    ({"link": "https://"}, "body.link"),
    ({"link": "https://repo.example.edu/a\x00b"}, "body.link"),
    ({"link": "https://repo.exa\nmple.edu/"}, "body.link"),
    ({"link": "https://repo.example.edu/" + "a" * 2100}, "body.link"),
    ({"link": "https://repo.example.edu/" + "é" * 1000}, "body.link"),  # 2000 characters, over 2083 once percent-encoded
    ({"note": "Hecho\x00"}, "body.note"),
    ({"note": "Hecho\x1b[31m"}, "body.note"),
    ({"note": "x" * 2001}, "body.note"),
    ({"note": "Hecho", "met_on": "ayer"}, "body.met_on"),
    ({"note": "Hecho", "secret": 1}, "body.secret"),
]


@pytest.mark.parametrize(("body", "field"), BAD_EVIDENCE, ids=[str(n) for n in range(len(BAD_EVIDENCE))])
def test_bad_evidence_is_422_naming_the_field(started: Any, engine: Any, body: dict[str, Any], field: str) -> None:
    _inst, dyad, objective = started
    before = snapshot(engine)
    assert field_of(dyad.mentee.post(f"/v1/milestones/{objective['milestones'][0]['id']}/evidence", json=body)) == [field]
    assert snapshot(engine) == before


def test_bad_returns_and_too_many_milestones(started: Any, engine: Any) -> None:
    _inst, dyad, objective = started
    mid = objective["milestones"][0]["id"]
    ok(dyad.mentee.post(f"/v1/milestones/{mid}/evidence", json={"note": "Hecho"}))
    before = snapshot(engine)
    for reason in ("No\x00", "x" * 1001, "no", ""):
        assert field_of(dyad.mentor.post(f"/v1/milestones/{mid}/return", json={"reason": reason})) == ["body.reason"]
    assert field_of(dyad.mentor.post(f"/v1/milestones/{mid}/return", json={})) == ["body.reason"]
    # At most 20 per objective: in the body a 422, later a 409.
    many = [{"title": f"Paso {n}", "due_on": "2026-10-01"} for n in range(21)]
    assert field_of(dyad.mentee.post("/v1/objectives", json=objective_body(dyad.id, milestones=many))) == ["body.milestones"]
    assert snapshot(engine) == before
    for n in range(18):
        ok(dyad.mentee.post(f"/v1/objectives/{objective['id']}/milestones", json={"title": f"Paso {n}", "due_on": "2026-10-01"}), 201)
    r = dyad.mentee.post(f"/v1/objectives/{objective['id']}/milestones", json={"title": "Paso de más", "due_on": "2026-10-01"})
    assert r.status_code == 409 and r.json()["milestones"] == 20
