"""Roster imports: upload, dry run (the report), commit in both modes, idempotent
re-imports, linking to accounts, large files as background jobs with progress,
a worker that dies mid-way, and who may do any of it."""

from __future__ import annotations

import csv
import io
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from servicekit.outbox import utcnow

from services.participants.roster import runner
from services.participants.models import Participant, RosterImport
from services.participants.tests.conftest import Caller, Cohort, World

HEADER = ["external_id", "email", "given_name", "family_name", "campus", "academic_unit", "affiliation", "career_stage", "lms_id", "phone"]


def csv_text(rows: list[list[str]], header: list[str] = HEADER, delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def person(n: int, **over: str) -> list[str]:
    row = {
        "external_id": f"A{n:07d}", "email": f"alumna{n}@uaeh.edu.mx", "given_name": "Alumna", "family_name": f"Número {n}",
        "campus": "campus norte", "academic_unit": "ing", "affiliation": "graduate", "career_stage": "graduate_student",
        "lms_id": f"moodle-{n}", "phone": "771 000 0000",
    }  # fmt: skip
    row.update(over)
    return [row[c] for c in HEADER]


def base(world: World) -> str:
    return f"/v1/institutions/{world.a['id']}/roster-imports"


def upload(caller: Caller, world: World, text: str, id_kind: str = "sis", **headers: str) -> httpx.Response:
    return caller.post(
        base(world), params={"id_kind": id_kind}, content=text.encode(), headers={"content-type": "text/csv", **headers}
    )


def finished(caller: Caller, url: str, seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Poll the import until it is no longer running (bounded)."""
    deadline = time.monotonic() + 120
    while True:
        response = caller.get(url)
        assert response.status_code == 200, response.text
        job = response.json()
        if seen is not None:
            seen.append(job)
        if job["status"] not in ("validating", "committing"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.02)


def run(caller: Caller, job: dict[str, Any], world: World, action: str, mode: str | None = None) -> dict[str, Any]:
    url = f"{base(world)}/{job['id']}"
    body = {"mode": mode} if mode else None
    started = caller.post(f"{url}/{action}", json=body)
    assert started.status_code == 202, started.text
    assert started.headers["location"] == url
    assert started.json()["status"] in ("validating", "committing")
    return finished(caller, url)


def report(caller: Caller, world: World, job: dict[str, Any]) -> list[tuple[int, str, str]]:
    items, cursor = [], None
    while True:
        page = caller.get(f"{base(world)}/{job['id']}/errors", params={"limit": 200, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        items += [(e["row"], e["field"], e["code"]) for e in page.json()["items"]]
        if not (cursor := page.json()["next_cursor"]):
            return items


def profiles(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        table = Participant.__table__  # type: ignore[attr-defined]
        return sorted(tuple(r) for r in conn.execute(select(table)))


SAMPLE = [
    person(1),
    person(2, campus="", academic_unit="", lms_id=""),
    person(3, email="no-es-un-correo"),  # row 4: bad e-mail
    person(4, campus="Campus Sur"),  # row 5: unknown campus
    person(1, email="otra@uaeh.edu.mx"),  # row 6: repeats row 2's external id
    person(6, lms_id="moodle-1"),  # row 7: takes row 2's LMS id
    person(7, given_name="", affiliation="astronaut"),  # row 8: no name, bad affiliation
]
SAMPLE_REPORT = [
    (4, "email", "invalid"),
    (5, "campus", "unknown_reference"),
    (6, "external_id", "duplicate"),
    (7, "lms_id", "already_exists"),
    (8, "affiliation", "invalid"),
    (8, "display_name", "missing"),
]


def test_dry_run_reports_commit_writes_and_the_same_file_again_changes_nothing(
    coordinator: Caller, world: World, engine: Engine
) -> None:
    text = csv_text(SAMPLE)
    created = upload(coordinator, world, text)
    assert created.status_code == 201, created.text
    job = created.json()
    assert created.headers["location"] == f"{base(world)}/{job['id']}"
    assert (job["status"], job["id_kind"], job["progress"]["rows_total"], job["ignored_columns"]) == ("uploaded", "sis", 7, ["phone"])
    assert job["columns"] == HEADER[:-1] and job["delimiter"] == "," and job["file_available"] is True

    before = profiles(engine)
    dry = run(coordinator, job, world, "dry-run")
    assert (dry["status"], dry["last_pass"], dry["progress"]["percent"], dry["progress"]["rows_done"]) == ("validated", "dry_run", 100, 7)
    assert dry["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "invalid": 5}
    assert dry["progress"]["errors_so_far"] == 6
    assert report(coordinator, world, dry) == SAMPLE_REPORT
    assert profiles(engine) == before, "a dry run writes nothing"

    done = run(coordinator, job, world, "commit", "skip_invalid")
    assert (done["status"], done["mode"], done["last_pass"]) == ("committed", "skip_invalid", "commit")
    assert done["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "invalid": 5}
    assert report(coordinator, world, done) == SAMPLE_REPORT
    assert done["file_available"] is False, "a committed upload is deleted"
    listed = coordinator.get(f"/v1/institutions/{world.a['id']}/participants", params={"account": "unlinked"}).json()["items"]
    assert [(p["sis_id"], p["display_name"], p["email"], p["account_id"], p["lms_id"]) for p in listed] == [
        ("A0000001", "Alumna Número 1", "alumna1@uaeh.edu.mx", None, "moodle-1"),
        ("A0000002", "Alumna Número 2", "alumna2@uaeh.edu.mx", None, None),
    ]
    first = listed[0]
    assert (first["campus_id"], first["academic_unit_id"], first["affiliation"], first["career_stage"]) == (
        world.campus_a["id"], world.unit_a["id"], "graduate", "graduate_student"
    )  # fmt: skip
    assert coordinator.get(f"/v1/institutions/{world.a['id']}/participants").json()["items"] == [], "linked only, by default"

    # The same file again: nothing changes.
    after_first = profiles(engine)
    again = upload(coordinator, world, text).json()
    assert run(coordinator, again, world, "dry-run")["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "invalid": 5}
    second = run(coordinator, again, world, "commit", "skip_invalid")
    assert second["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "invalid": 5}
    assert profiles(engine) == after_first

    # A committed import is final.
    refused = coordinator.post(f"{base(world)}/{job['id']}/commit", json={"mode": "skip_invalid"})
    assert refused.status_code == 409 and refused.json()["current_status"] == "committed"
    listing = coordinator.get(base(world)).json()["items"]
    assert [j["id"] for j in listing] == [job["id"], again["id"]]


def test_all_or_nothing_writes_nothing_unless_every_row_is_valid(coordinator: Caller, world: World, engine: Engine) -> None:
    job = upload(coordinator, world, csv_text(SAMPLE)).json()
    before = profiles(engine)
    rejected = run(coordinator, job, world, "commit", "all_or_nothing")
    assert (rejected["status"], rejected["mode"]) == ("rejected", "all_or_nothing")
    assert rejected["counts"]["invalid"] == 5
    assert report(coordinator, world, rejected) == SAMPLE_REPORT
    assert profiles(engine) == before, "nothing written"

    # The coordinator then chooses to skip the invalid rows.
    assert run(coordinator, job, world, "commit", "skip_invalid")["counts"]["created"] == 2

    valid = upload(coordinator, world, csv_text([person(1, family_name="Cambiada"), person(8), person(9)])).json()
    done = run(coordinator, valid, world, "commit", "all_or_nothing")
    assert (done["status"], done["counts"]) == ("committed", {"created": 2, "updated": 1, "unchanged": 0, "invalid": 0})
    assert report(coordinator, world, done) == []
    assert len(profiles(engine)) == 4


def test_existing_profiles_are_updated_adopted_by_email_and_linked_on_confirmation(
    coordinator: Caller, cohort: Cohort, world: World, engine: Engine
) -> None:
    # She confirmed a place before the roster existed: her profile is adopted by e-mail.
    ana = cohort.person("ana", ["mentee"])
    cohort.confirmed(ana, "mentee", 1, full_name="Ana Torres", email="Ana.Torres@uaeh.edu.mx")
    mine = ana.get("/v1/participants/me").json()
    assert (mine["email"], mine["sis_id"]) == ("ana.torres@uaeh.edu.mx", None)
    rows = [
        person(1, email="ana.torres@uaeh.edu.mx", given_name="Ana María", family_name="Torres Ruiz", lms_id="moodle-ana"),
        person(2, email="bea@uaeh.edu.mx", given_name="Beatriz"),
    ]
    job = upload(coordinator, world, csv_text(rows)).json()
    assert run(coordinator, job, world, "commit", "skip_invalid")["counts"] == {"created": 1, "updated": 1, "unchanged": 0, "invalid": 0}
    adopted = ana.get("/v1/participants/me").json()
    assert adopted["id"] == mine["id"]
    assert (adopted["sis_id"], adopted["lms_id"], adopted["display_name"]) == ("A0000001", "moodle-ana", "Ana Torres"), (
        "the name she uses is kept"
    )  # fmt: skip

    # Bea has no account yet; she signs up and confirms a place with the same e-mail.
    bea = cohort.person("bea-account", ["mentee"])
    cohort.confirmed(bea, "mentee", 2, full_name="Bea Ríos", email="BEA@uaeh.edu.mx")
    hers = bea.get("/v1/participants/me").json()
    assert (hers["sis_id"], hers["account_id"], hers["display_name"], hers["campus_id"]) == (
        "A0000002", "bea-account", "Bea Ríos", world.campus_a["id"]
    )  # fmt: skip
    assert len(hers["memberships"]) == 1
    unlinked = coordinator.get(f"/v1/institutions/{world.a['id']}/participants", params={"account": "unlinked"}).json()
    assert unlinked["items"] == []
    assert len(coordinator.get(f"/v1/institutions/{world.a['id']}/participants", params={"account": "any"}).json()["items"]) == 2

    # A later import updates what the institution owns, never her name.
    changed = upload(coordinator, world, csv_text([person(2, email="bea@uaeh.edu.mx", given_name="Beatriz", campus="", career_stage="postdoctoral")])).json()
    assert run(coordinator, changed, world, "commit", "skip_invalid")["counts"]["updated"] == 1
    hers = bea.get("/v1/participants/me").json()
    assert (hers["display_name"], hers["career_stage"], hers["campus_id"]) == ("Bea Ríos", "postdoctoral", world.campus_a["id"])


def test_the_file_format(coordinator: Caller, world: World, monkeypatch: pytest.MonkeyPatch, app: Any) -> None:
    # Semicolons (spreadsheets in Spanish), a BOM, quoted cells with the delimiter, padded cells.
    text = "\ufeffExternal ID;Email;Display Name;Career-Stage\r\n\"X1\";\" x1@uaeh.edu.mx \";\"López; Ana\";senior\r\n\r\n"
    job = upload(coordinator, world, text, id_kind="hr").json()
    assert (job["delimiter"], job["columns"], job["progress"]["rows_total"]) == (";", ["external_id", "email", "display_name", "career_stage"], 1)
    assert run(coordinator, job, world, "commit", "skip_invalid")["counts"]["created"] == 1
    made = coordinator.get(f"/v1/institutions/{world.a['id']}/participants", params={"account": "unlinked"}).json()["items"][0]
    assert (made["hr_id"], made["sis_id"], made["email"], made["display_name"]) == ("X1", None, "x1@uaeh.edu.mx", "López; Ana")

    # A form upload, with its file name, in Latin-1.
    latin = csv_text([person(5, family_name="Peña")]).encode("latin-1")
    form = coordinator.post(
        base(world), params={"id_kind": "sis"}, files={"file": ("alumnas.csv", latin, "text/csv; charset=latin-1")}
    )
    assert form.status_code == 201, form.text
    assert (form.json()["filename"], form.json()["progress"]["rows_total"]) == ("alumnas.csv", 1)

    # Refusals name what is wrong.
    missing = upload(coordinator, world, "external_id,given_name\nX,Ana\n")
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "body.header"
    assert "email" in missing.json()["detail"]
    assert upload(coordinator, world, "").status_code == 422
    assert upload(coordinator, world, 'external_id,email,display_name\n"X,a@b.mx,Ana\n').json()["errors"][0]["code"] == "not_csv"
    not_utf8 = coordinator.post(base(world), params={"id_kind": "sis"}, content=latin, headers={"content-type": "text/csv"})
    assert not_utf8.status_code == 422 and not_utf8.json()["errors"][0]["code"] == "bad_encoding"
    as_json = coordinator.post(base(world), params={"id_kind": "sis"}, json={"rows": []})
    assert as_json.status_code == 415
    assert upload(coordinator, world, csv_text([person(1)]), id_kind="passport").status_code == 422
    monkeypatch.setattr(app.state.settings, "roster_max_bytes", 2048)
    big = csv_text([person(n) for n in range(40)])
    assert upload(coordinator, world, big).status_code == 413
    chunked = coordinator.post(
        base(world), params={"id_kind": "sis"}, content=iter([big.encode()]), headers={"content-type": "text/csv"}
    )
    assert chunked.status_code == 413, "no Content-Length: still bounded"
    assert len(coordinator.get(base(world)).json()["items"]) == 2


def test_a_large_file_runs_as_a_job_with_progress(
    coordinator: Caller, world: World, engine: Engine, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.settings, "roster_batch_size", 250)
    rows = [person(n) for n in range(5000)]
    rows[1234] = person(1234, email="not-an-email")
    job = upload(coordinator, world, csv_text(rows)).json()
    url = f"{base(world)}/{job['id']}"
    assert coordinator.post(f"{url}/commit", json={"mode": "skip_invalid"}).status_code == 202
    seen: list[dict[str, Any]] = []
    done = finished(coordinator, url, seen)
    assert done["counts"] == {"created": 4999, "updated": 0, "unchanged": 0, "invalid": 1}
    assert done["progress"] == {"percent": 100, "rows_done": 5000, "rows_total": 5000, "errors_so_far": 1}
    running = [s["progress"] for s in seen if s["status"] == "committing"]
    assert all(p["percent"] <= 99 and p["rows_done"] % 250 == 0 for p in running)
    assert [p["rows_done"] for p in running] == sorted(p["rows_done"] for p in running)
    assert report(coordinator, world, done) == [(1236, "email", "invalid")]
    assert len(profiles(engine)) == 4999


class Died(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


def test_a_job_whose_worker_died_is_resumed_by_the_next_poll(
    coordinator: Caller, world: World, engine: Engine, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.settings, "roster_batch_size", 100)
    job = upload(coordinator, world, csv_text([person(n) for n in range(450)])).json()
    url = f"{base(world)}/{job['id']}"
    real = runner.process_batch
    calls = {"n": 0}

    def dies_on_the_third_batch(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Died()
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "process_batch", dies_on_the_third_batch)
    assert coordinator.post(f"{url}/commit", json={"mode": "skip_invalid"}).status_code == 202
    deadline = time.monotonic() + 60
    while calls["n"] < 3 or app.state.roster_jobs.runner.busy:  # until the worker is gone
        assert time.monotonic() < deadline
        time.sleep(0.02)
    stuck = coordinator.get(url).json()
    assert (stuck["status"], stuck["progress"]["rows_done"], stuck["counts"]["created"]) == ("committing", 200, 200)

    # Its lease runs out; the next poll (any replica) resumes it where it stopped.
    monkeypatch.setattr(runner, "process_batch", real)
    with engine.begin() as conn:
        conn.execute(update(RosterImport).where(RosterImport.id == uuid.UUID(job["id"])).values(lease_until=utcnow()))
    done = finished(coordinator, url)
    assert (done["status"], done["counts"]) == ("committed", {"created": 450, "updated": 0, "unchanged": 0, "invalid": 0})
    assert len(profiles(engine)) == 450


def test_a_replica_that_stops_hands_its_pass_back_at_the_next_batch(
    coordinator: Caller, world: World, engine: Engine, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.settings, "roster_batch_size", 100)
    job = upload(coordinator, world, csv_text([person(n) for n in range(450)])).json()
    url = f"{base(world)}/{job['id']}"
    app_runner = app.state.roster_jobs.runner
    looks = app_runner.claim
    monkeypatch.setattr(app_runner, "claim", lambda limit: [])  # this app's runner stays out of it
    assert coordinator.post(f"{url}/commit", json={"mode": "skip_invalid"}).status_code == 202

    # Another replica claims the pass and is told to stop during its second batch.
    replica = runner.RosterJobs(engine, app.state.settings)
    (claimed,) = replica.claim(1)
    real = runner.process_batch
    calls = {"n": 0}

    def stop_during_the_second_batch(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            replica.runner.stopping.set()
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "process_batch", stop_during_the_second_batch)
    replica.run(claimed)
    assert calls["n"] == 2  # the batch under way was finished, no other begun
    handed_back = coordinator.get(url).json()
    assert (handed_back["status"], handed_back["progress"]["rows_done"]) == ("committing", 200)
    with engine.connect() as conn:
        lease = conn.execute(select(RosterImport.worker, RosterImport.lease_until).where(RosterImport.id == uuid.UUID(job["id"]))).one()
    assert tuple(lease) == (None, None)  # free at once, not after a lease period

    monkeypatch.setattr(runner, "process_batch", real)
    monkeypatch.setattr(app_runner, "claim", looks)
    done = finished(coordinator, url)  # the next poll resumes it
    assert (done["status"], done["counts"]) == ("committed", {"created": 450, "updated": 0, "unchanged": 0, "invalid": 0})
    assert len(profiles(engine)) == 450


def test_who_may_import(
    coordinator: Caller, other_coordinator: Caller, mentee: Caller, scopeless_client: Caller, anonymous: Caller,
    expired: Caller, forged: Caller, world: World, http: Any, mint: Any,
) -> None:  # fmt: skip
    job = upload(coordinator, world, csv_text([person(1)])).json()
    url = f"{base(world)}/{job['id']}"
    lms = Caller(http, mint(sub="client-lms", tid=world.a["id"], scope="training:write", client_id="lms"), "lms")
    mentor = Caller(http, mint(sub="mentor-a", tid=world.a["id"], roles=["mentor"]), "mentor")
    expected = {mentor: 403, mentee: 403, other_coordinator: 404, scopeless_client: 403, lms: 403, anonymous: 401, expired: 401, forged: 401}
    for caller, code in expected.items():
        assert upload(caller, world, csv_text([person(2)])).status_code == code, caller
        assert caller.get(url).status_code == code, caller
        assert caller.get(f"{url}/errors").status_code == code, caller
        assert caller.post(f"{url}/dry-run").status_code == code, caller
        assert caller.post(f"{url}/commit", json={"mode": "skip_invalid"}).status_code == code, caller
    b = f"/v1/institutions/{world.b['id']}/roster-imports/{job['id']}"
    assert other_coordinator.get(b).status_code == 404, "not found in her own institution either"
    assert [j["id"] for j in coordinator.get(base(world)).json()["items"]] == [job["id"]]


def test_uploads_not_committed_are_deleted_after_the_retention_period(coordinator: Caller, world: World, clock: Any) -> None:
    old = upload(coordinator, world, csv_text([person(1)])).json()
    clock.advance(days=8)
    assert upload(coordinator, world, csv_text([person(2)])).status_code == 201  # any upload sweeps its institution
    job = coordinator.get(f"{base(world)}/{old['id']}").json()
    assert (job["file_available"], job["failure"]) == (False, "The upload was deleted after the retention period")
    refused = coordinator.post(f"{base(world)}/{old['id']}/dry-run")
    assert refused.status_code == 409 and "upload it again" in refused.json()["detail"]
