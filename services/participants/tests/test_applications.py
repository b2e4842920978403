"""Applications: the lifecycle, its refusals, bulk decisions and invitations, expiry."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from servicekit.outbox import utcnow

from services.participants.tests.conftest import CONSENTS, Caller, Clock, Cohort, World, events, form, snapshot

STATES = ["draft", "submitted", "waitlisted", "accepted", "rejected", "invited", "confirmed", "declined", "expired", "withdrawn"]
# What each state allows, written out (the service's own table is not consulted).
ALLOWED: dict[str, set[str]] = {
    "draft": {"submit", "withdraw"},
    "submitted": {"accept", "waitlist", "reject", "withdraw"},
    "waitlisted": {"accept", "reject", "withdraw"},
    "accepted": {"invite", "withdraw"},
    "invited": {"confirm", "decline", "withdraw"},
    "confirmed": {"withdraw"},
    "rejected": set(),
    "declined": set(),
    "expired": set(),
    "withdrawn": set(),
}
AFTER = {
    "submit": "submitted", "accept": "accepted", "waitlist": "waitlisted", "reject": "rejected", "invite": "invited",
    "confirm": "confirmed", "decline": "declined", "withdraw": "withdrawn",
}  # fmt: skip


def _decide(decision: str) -> Callable[[Cohort, Caller, str], httpx.Response]:
    return lambda cohort, _person, app_id: cohort.coordinator.post(
        f"/v1/applications/{app_id}/decision", json={"decision": decision, "reason": "Comité"}
    )


ACTIONS: dict[str, Callable[[Cohort, Caller, str], httpx.Response]] = {
    "submit": lambda _c, person, app_id: person.post(f"/v1/applications/{app_id}/submit"),
    "accept": _decide("accepted"),
    "waitlist": _decide("waitlisted"),
    "reject": _decide("rejected"),
    "invite": lambda cohort, _p, app_id: cohort.coordinator.post(f"/v1/applications/{app_id}/invitation", json={}),
    "confirm": lambda _c, person, app_id: person.post(f"/v1/applications/{app_id}/confirm"),
    "decline": lambda _c, person, app_id: person.post(f"/v1/applications/{app_id}/decline"),
    "withdraw": lambda _c, person, app_id: person.post(f"/v1/applications/{app_id}/withdraw", json={"reason": "Motivos"}),
}


def in_state(cohort: Cohort, clock: Clock, state: str, n: int = 1) -> tuple[Caller, dict[str, Any]]:
    person = cohort.person(f"applicant-{state}-{n}")
    if state == "draft":
        application = cohort.draft(person, n=n)
    elif state == "submitted":
        application = cohort.submitted(person, n=n)
    elif state in ("waitlisted", "rejected"):
        application = cohort.submitted(person, n=n)
        cohort.review(application["id"])
        application = cohort.decide(application["id"], state)
    elif state == "accepted":
        application = cohort.accepted(person, n=n)
    elif state == "invited":
        application = cohort.invited(person, n=n)
    elif state == "confirmed":
        application = cohort.confirmed(person, n=n)
    elif state == "declined":
        application = cohort.invited(person, n=n)
        application = person.post(f"/v1/applications/{application['id']}/decline").json()
    elif state == "expired":
        deadline = (clock.now() + timedelta(hours=1)).isoformat()
        application = cohort.invited(person, n=n, confirm_by=deadline)
        clock.advance(hours=2)
        application = person.get(f"/v1/applications/{application['id']}").json()
    else:
        application = cohort.draft(person, n=n)
        application = person.post(f"/v1/applications/{application['id']}/withdraw").json()
    assert application["status"] == state, application
    return person, application


# ---------------------------------------------------------------------------
# Happy paths


def test_from_draft_to_member(cohort: Cohort, engine: Engine) -> None:
    ana = cohort.person("ana")
    draft = cohort.draft(ana, "mentor", 7, full_name=None)
    assert draft["status"] == "draft" and draft["applicant_id"] == "ana" and draft["full_name"] is None
    patched = ana.patch(f"/v1/applications/{draft['id']}", json={"full_name": "Ana Torres", "years_of_experience": 12})
    assert patched.status_code == 200 and patched.json()["full_name"] == "Ana Torres"

    submitted = ana.post(f"/v1/applications/{draft['id']}/submit").json()
    assert submitted["status"] == "submitted" and submitted["submitted_at"]
    assert submitted["eligibility"] == "needs_review"
    cohort.review(draft["id"])
    accepted = cohort.decide(draft["id"], "accepted")
    assert (accepted["decision"], accepted["decision_reason"]) == ("accepted", "accepted by the committee")
    invited = cohort.coordinator.post(f"/v1/applications/{draft['id']}/invitation", json={}).json()
    assert invited["status"] == "invited" and invited["confirm_by"]

    confirmed = ana.post(f"/v1/applications/{draft['id']}/confirm").json()

    assert confirmed["status"] == "confirmed" and confirmed["membership_id"]
    me = ana.get("/v1/participants/me").json()
    assert me["display_name"] == "Ana Torres" and me["account_id"] == "ana"
    assert me["timezone"] == "America/Mexico_City" and me["stem_fields"] == ["chemistry"]
    assert [(m["id"], m["role"], m["status"], m["trained"]) for m in me["memberships"]] == [
        (confirmed["membership_id"], "mentor", "active", False)
    ]
    kinds = [e["type"] for e in events(engine) if e["type"].startswith(("application.", "participant."))]
    assert kinds == [
        "application.submitted", "application.decided", "application.invited", "participant.confirmed"
    ]  # fmt: skip
    confirmed_event = events(engine, "participant.confirmed")[0]
    assert confirmed_event["payload"]["account_id"] == "ana"
    assert confirmed_event["payload"]["participant_id"] == me["id"] and confirmed_event["payload"]["role"] == "mentor"


def test_waitlisted_then_accepted_and_a_declined_invitation(cohort: Cohort, clock: Clock) -> None:
    person, waitlisted = in_state(cohort, clock, "waitlisted")
    accepted = cohort.decide(waitlisted["id"], "accepted")
    assert accepted["status"] == "accepted"
    invited = cohort.coordinator.post(f"/v1/applications/{waitlisted['id']}/invitation", json={}).json()
    declined = person.post(f"/v1/applications/{invited['id']}/decline").json()
    assert declined["status"] == "declined" and declined["closed_at"]
    assert person.get("/v1/participants/me").status_code == 404


@pytest.mark.parametrize("state", [s for s, allowed in ALLOWED.items() if "withdraw" in allowed])
def test_she_may_withdraw_at_any_point(state: str, cohort: Cohort, clock: Clock, engine: Engine) -> None:
    person, application = in_state(cohort, clock, state)
    withdrawn = person.post(f"/v1/applications/{application['id']}/withdraw", json={"reason": "Cambio de planes"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["status"], withdrawn.json()["withdrawal_reason"]) == ("withdrawn", "Cambio de planes")
    assert len(events(engine, "application.withdrawn")) == 1
    left = events(engine, "participant.withdrawn")
    if state == "confirmed":
        me = person.get("/v1/participants/me").json()
        assert [m["status"] for m in me["memberships"]] == ["withdrawn"]
        assert [e["payload"]["membership_id"] for e in left] == [application["membership_id"]]
    else:
        assert left == []


def test_a_participant_applies_to_another_program_with_the_same_profile(
    cohort: Cohort, coordinator: Caller, http: Any, mint: Any, world: World
) -> None:
    from services.participants.tests.conftest import open_cohort

    ana = cohort.person("ana", ["mentee"])
    cohort.confirmed(ana, "mentee")
    second = open_cohort(coordinator, http, mint, world.a["id"], name="Segunda cohorte")
    second.confirmed(ana, "mentor")
    me = ana.get("/v1/participants/me").json()
    assert sorted((m["program_id"], m["role"]) for m in me["memberships"]) == sorted(
        [(cohort.id, "mentee"), (second.id, "mentor")]
    )


# ---------------------------------------------------------------------------
# Every transition, allowed or not


@pytest.mark.parametrize("state", STATES)
def test_every_transition_not_allowed_is_a_409(state: str, cohort: Cohort, clock: Clock, engine: Engine) -> None:
    person, application = in_state(cohort, clock, state)
    before = snapshot(engine)
    for action, do in ACTIONS.items():
        if action in ALLOWED[state]:
            continue
        refused = do(cohort, person, application["id"])
        assert refused.status_code == 409, (state, action, refused.text)
        assert refused.json()["current_status"] == state, (state, action)
        assert state in refused.json()["detail"] or "expired" in refused.json()["detail"]
    assert snapshot(engine) == before


@pytest.mark.parametrize(("state", "action"), [(s, a) for s, allowed in ALLOWED.items() for a in sorted(allowed)])
def test_every_allowed_transition_succeeds(state: str, action: str, cohort: Cohort, clock: Clock) -> None:
    person, application = in_state(cohort, clock, state)
    if action == "accept":
        cohort.review(application["id"])
    done = ACTIONS[action](cohort, person, application["id"])
    assert done.status_code == 200, done.text
    assert done.json()["status"] == AFTER[action]


# ---------------------------------------------------------------------------
# Refusals that are not about the status


def test_submitting_an_incomplete_form_lists_what_is_missing(cohort: Cohort, engine: Engine) -> None:
    person = cohort.person("incomplete")
    response = person.post(
        "/v1/applications", json={"program_id": cohort.id, "role": "mentor", "full_name": "Eva Ruiz"}
    )
    draft = response.json()
    before = snapshot(engine)
    refused = person.post(f"/v1/applications/{draft['id']}/submit")
    assert refused.status_code == 409
    missing = {e["field"] for e in refused.json()["errors"]}
    assert {"email", "stem_field", "expectations", "funding_experience", "has_recognition", "consents.program"} <= missing
    assert "full_name" not in missing
    assert snapshot(engine) == before


def test_accepting_needs_an_eligible_verdict(cohort: Cohort, engine: Engine) -> None:
    unreviewed = cohort.submitted(cohort.person("p1"), n=1)
    staff = cohort.submitted(cohort.person("p2"), n=2, affiliation="staff")
    cohort.review(staff["id"])
    before = snapshot(engine)
    for application, rule in ((unreviewed, "criteria.expectations"), (staff, "criteria.university_member")):
        refused = cohort.coordinator.post(
            f"/v1/applications/{application['id']}/decision", json={"decision": "accepted", "reason": "Sí"}
        )
        assert refused.status_code == 409
        assert [e["field"] for e in refused.json()["errors"]] == [rule]
    assert snapshot(engine) == before
    assert cohort.decide(staff["id"], "rejected")["status"] == "rejected"


def test_decisions_are_made_during_the_call_and_selection_only(cohort: Cohort) -> None:
    application = cohort.submitted(cohort.person("late"))
    cohort.move("selection")
    cohort.move("training")
    refused = cohort.coordinator.post(
        f"/v1/applications/{application['id']}/decision", json={"decision": "rejected", "reason": "Tarde"}
    )
    assert refused.status_code == 409 and "training" in refused.json()["detail"]


def test_one_application_per_program_and_only_roles_it_offers(cohort: Cohort, engine: Engine) -> None:
    person = cohort.person("twice")
    first = cohort.draft(person)
    before = snapshot(engine)
    again = person.post("/v1/applications", json={"program_id": cohort.id, "role": "mentor"})
    assert again.status_code == 409 and again.json()["application_id"] == first["id"]
    peer = cohort.person("peer").post("/v1/applications", json={"program_id": cohort.id, "role": "peer_mentor"})
    assert peer.status_code == 422 and [e["field"] for e in peer.json()["errors"]] == ["body.role"]
    assert snapshot(engine) == before


def test_a_program_of_another_institution_is_unknown(cohort: Cohort, http: Any, mint: Any, world: World, engine: Any) -> None:
    outsider = Caller(http, mint(sub="outsider", tid=world.b["id"], roles=["applicant"]), "outsider")
    before = snapshot(engine)
    refused = outsider.post("/v1/applications", json={"program_id": cohort.id, "role": "mentee", **form("mentee")})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["body.program_id"]
    assert snapshot(engine) == before


# ---------------------------------------------------------------------------
# Bulk decisions and invitations


def test_bulk_decisions_are_all_or_none(cohort: Cohort, clock: Clock, engine: Engine) -> None:
    ready = [cohort.submitted(cohort.person(f"b{n}"), n=n) for n in range(3)]
    for application in ready:
        cohort.review(application["id"])
    _, draft = in_state(cohort, clock, "draft", 9)
    url = f"/v1/programs/{cohort.id}/decisions"
    decisions = [{"application_id": a["id"], "decision": "accepted", "reason": "Sí"} for a in ready]
    before = snapshot(engine)

    mixed = cohort.coordinator.post(url, json={"decisions": [*decisions, {**decisions[0], "application_id": draft["id"]}]})
    assert mixed.status_code == 409 and [e["field"] for e in mixed.json()["errors"]] == ["body.decisions.3.decision"]
    unknown = cohort.coordinator.post(
        url, json={"decisions": [*decisions, {**decisions[0], "application_id": "00000000-0000-7000-8000-000000000000"}]}
    )
    assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["body.decisions.3.application_id"]
    twice = cohort.coordinator.post(url, json={"decisions": [decisions[0], decisions[0]]})
    assert twice.status_code == 422 and [e["field"] for e in twice.json()["errors"]] == ["body.decisions"]
    assert snapshot(engine) == before

    done = cohort.coordinator.post(url, json={"decisions": decisions})
    assert done.status_code == 200
    assert [a["status"] for a in done.json()["items"]] == ["accepted"] * 3
    assert len(events(engine, "application.decided")) == 3


def test_bulk_invitations_invite_every_accepted_application(cohort: Cohort, clock: Clock, engine: Engine) -> None:
    accepted = [in_state(cohort, clock, "accepted", n)[1] for n in range(2)]
    in_state(cohort, clock, "submitted", 5)
    url = f"/v1/programs/{cohort.id}/invitations"
    before = snapshot(engine)
    past = cohort.coordinator.post(url, json={"confirm_by": (utcnow() - timedelta(days=1)).isoformat()})
    assert past.status_code == 422 and [e["field"] for e in past.json()["errors"]] == ["body.confirm_by"]
    assert snapshot(engine) == before

    invited = cohort.coordinator.post(url, json={}).json()["items"]

    assert sorted(a["id"] for a in invited) == sorted(a["id"] for a in accepted)
    assert {a["status"] for a in invited} == {"invited"}
    deadline = utcnow() + timedelta(days=7)
    assert all(abs(httpx_datetime(a["confirm_by"]) - deadline) < timedelta(minutes=1) for a in invited)
    again = cohort.coordinator.post(url, json={"application_ids": [invited[0]["id"]]})
    assert again.status_code == 409 and [e["field"] for e in again.json()["errors"]] == ["body.application_ids.0"]


def httpx_datetime(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)


# ---------------------------------------------------------------------------
# Expiry: computed on read, written down by an idempotent sweep


def test_an_invitation_past_its_deadline_reads_as_expired(cohort: Cohort, clock: Clock, engine: Engine) -> None:
    person = cohort.person("slow")
    deadline = (clock.now() + timedelta(days=2)).isoformat()
    invited = cohort.invited(person, confirm_by=deadline)
    clock.advance(days=3)

    shown = person.get(f"/v1/applications/{invited['id']}").json()
    assert (shown["status"], shown["closed_at"]) == ("expired", invited["confirm_by"])
    listed = cohort.coordinator.get(f"/v1/programs/{cohort.id}/applications", params={"status": "expired"}).json()
    assert [a["id"] for a in listed["items"]] == [invited["id"]]
    assert cohort.coordinator.get(f"/v1/programs/{cohort.id}/applications", params={"status": "invited"}).json()["items"] == []
    refused = person.post(f"/v1/applications/{invited['id']}/confirm")
    assert refused.status_code == 409 and "expired" in refused.json()["detail"]
    assert events(engine, "application.expired") == []

    first = cohort.coordinator.post(f"/v1/programs/{cohort.id}/invitations/expire").json()
    second = cohort.coordinator.post(f"/v1/programs/{cohort.id}/invitations/expire").json()
    assert (first["application_ids"], second["expired"]) == ([invited["id"]], 0)
    assert len(events(engine, "application.expired")) == 1
    after = person.get(f"/v1/applications/{invited['id']}").json()
    assert {**after, "updated_at": None} == {**shown, "updated_at": None}


def test_concurrent_sweeps_expire_each_invitation_once(cohort: Cohort, clock: Clock, engine: Engine) -> None:
    from services.participants.selection import expire_due

    deadline = (clock.now() + timedelta(hours=1)).isoformat()
    invited = {cohort.invited(cohort.person(f"late-{n}"), n=n, confirm_by=deadline)["id"] for n in range(4)}
    clock.advance(hours=2)
    start = threading.Barrier(4)
    results: list[list[str]] = []
    failures: list[BaseException] = []

    def sweep() -> None:
        try:
            with Session(engine) as session:
                start.wait()
                expired = expire_due(session)
                session.commit()
            results.append([str(i) for i in expired])
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    expired = [i for r in results for i in r]
    assert sorted(expired) == sorted(invited)  # each once, whoever got it
    assert sorted(e["subject"] for e in events(engine, "application.expired")) == sorted(invited)


def test_the_sweep_job_covers_every_institution(
    cohort: Cohort, clock: Clock, engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.participants.__main__ import expire_invitations

    deadline = (clock.now() + timedelta(hours=1)).isoformat()
    cohort.invited(cohort.person("job-1"), confirm_by=deadline)
    clock.advance(hours=2)
    monkeypatch.setenv("PARTICIPANTS_DATABASE_URL", database_url)
    assert expire_invitations() == 1
    assert expire_invitations() == 0
    assert len(events(engine, "application.expired")) == 1


def test_consents_given_with_the_application_are_recorded(cohort: Cohort) -> None:
    person = cohort.person("consents")
    application = cohort.draft(person)
    consents = person.get(f"/v1/applications/{application['id']}/consents").json()["items"]
    assert sorted(c["purpose"] for c in consents) == sorted(CONSENTS["purposes"])
    assert {(c["privacy_notice_version"], c["active"]) for c in consents} == {("2026-1", True)}
