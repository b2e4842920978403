"""The hot reads of the participants service reach their rows through an index (issue 15).

Each test makes real requests, records every statement the service ran for
them (servicekit.plans.recording) and asks the database for each statement's
plan: none may read a table whole, so none grows with other institutions'
rows. GET /v1/calls was the scan of issue 15 (every institution's programs).
"""

from __future__ import annotations

import time

from typing import Any

from sqlalchemy.engine import Engine

from servicekit.plans import recording, whole_table_reads

from .conftest import CONSENTS, Caller, Cohort, World, form

# Tables of one row per institution read whole only by the platform admin's list of institutions (not requested here).
NONE: frozenset[str] = frozenset()


def _plans_of(engine: Engine, caller: Caller, *urls: str, **kwargs: Any) -> list[str]:
    with recording(engine) as executed:
        for url in urls:
            response = caller.get(url, **kwargs)
            assert response.status_code == 200, (url, response.text)
    assert executed, "no statement recorded"
    return whole_table_reads(engine, executed, allowed=NONE)


def test_the_public_calls_list_reads_only_open_programs(engine: Engine, cohort: Cohort, anonymous: Caller, world: World) -> None:
    assert _plans_of(engine, anonymous, "/v1/calls", f"/v1/calls?institution_id={world.a['id']}", f"/v1/calls/{cohort.id}") == []
    # The next page too (a cursor adds a key condition).
    page = anonymous.get("/v1/calls", params={"limit": 1}).json()
    assert [c["program_id"] for c in page["items"]] == [cohort.id]


def test_coordinator_lists_read_through_the_institution_or_the_program(
    engine: Engine, cohort: Cohort, coordinator: Caller, world: World
) -> None:
    applicant = cohort.person("plan-applicant")
    application = cohort.submitted(applicant)
    base = f"/v1/institutions/{world.a['id']}"
    assert _plans_of(
        engine, coordinator,
        f"{base}/programs", f"{base}/programs?status=call_open", f"{base}/campuses", f"{base}/academic-units",
        f"{base}/participants", f"{base}/erasure-requests",
        f"/v1/programs/{cohort.id}", f"/v1/programs/{cohort.id}/applications", f"/v1/programs/{cohort.id}/memberships",
        f"/v1/programs/{cohort.id}/funnel", f"/v1/programs/{cohort.id}/training-modules",
        f"/v1/applications/{application['id']}", f"/v1/applications/{application['id']}/consents",
    ) == []
    assert _plans_of(engine, applicant, "/v1/applications", f"/v1/applications/{application['id']}") == []


def test_the_event_feed_resumes_from_its_cursor(engine: Engine, cohort: Cohort, events_client: Caller) -> None:
    # On PostgreSQL the feed hands out only transactions older than the oldest one still running on the
    # server (pg_snapshot_xmin), so another database's open transaction may hold it back for a moment.
    deadline = time.monotonic() + 30
    while not (first := events_client.get("/internal/events", params={"limit": 1}).json())["items"]:
        assert time.monotonic() < deadline, "the program's creation emitted events"
        time.sleep(0.2)
    assert _plans_of(engine, events_client, "/internal/events", params={"after": first["next_cursor"]}) == []


def test_an_idempotent_retry_finds_its_stored_answer_by_key(engine: Engine, cohort: Cohort) -> None:
    applicant = cohort.person("plan-retry")
    body = {"program_id": cohort.id, "role": "mentee", **form("mentee", 1), "consents": CONSENTS}
    headers = {"Idempotency-Key": "plan-retry-1"}
    first = applicant.post("/v1/applications", json=body, headers=headers)
    with recording(engine) as executed:
        again = applicant.post("/v1/applications", json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 201 and again.json() == first.json()
    assert any("idempotency_records" in e.sql for e in executed)
    assert whole_table_reads(engine, executed) == []
