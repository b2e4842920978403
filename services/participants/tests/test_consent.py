"""Consent per purpose (opt-in, timestamped, tied to the notice version,
withdrawable with documented effects) and the identity data it governs."""

from typing import Any

import pytest

from services.participants.tests.conftest import CONSENTS, PRIVACY_NOTICE, Caller, Cohort, events, snapshot

WITH_IDENTITY = {**CONSENTS, "purposes": ["program", "research", "matching_identity"]}
IDENTITY = {"gender_identity": "mujer trans", "ethnicity": "nahua", "first_generation": True}


@pytest.fixture
def matching(http: Any, mint: Any) -> Caller:
    return Caller(http, mint(sub="client-matching", scope="identity:read", client_id="matching"), "matching")


def _member_with_identity(cohort: Cohort, sub: str = "luz") -> tuple[Caller, dict[str, Any]]:
    person = cohort.person(sub, ["mentee"])
    return person, cohort.confirmed(person, "mentee", consents=WITH_IDENTITY, identity=IDENTITY)


def test_consent_is_opt_in_per_purpose_and_tied_to_the_notice_version(cohort: Cohort, engine: Any) -> None:
    person = cohort.person("paz")
    application = cohort.draft(person, consents={**CONSENTS, "purposes": ["program"]})
    url = f"/v1/applications/{application['id']}/consents"
    assert [c["purpose"] for c in person.get(url).json()["items"]] == ["program"]

    granted = person.request("PUT", f"{url}/research", json={"privacy_notice_version": "2026-1"})
    assert granted.status_code == 200
    assert (granted.json()["purpose"], granted.json()["active"], granted.json()["withdrawn_at"]) == ("research", True, None)
    again = person.request("PUT", f"{url}/research", json={"privacy_notice_version": "2026-1"})
    assert again.json() == granted.json()

    before = snapshot(engine)
    stale = person.request("PUT", f"{url}/matching_identity", json={"privacy_notice_version": "2025-9"})
    assert stale.status_code == 409 and stale.json()["current_version"] == "2026-1"
    assert [e["field"] for e in stale.json()["errors"]] == ["body.privacy_notice_version"]
    assert snapshot(engine) == before

    # A new notice: consents given before stay tied to the old version; granting again supersedes them.
    cohort.coordinator.patch(f"/v1/programs/{cohort.id}", json={"privacy_notice": {"version": "2026-2", "text": "Nuevo aviso."}})
    renewed = person.request("PUT", f"{url}/research", json={"privacy_notice_version": "2026-2"}).json()
    history = person.get(url).json()["items"]
    assert [(c["purpose"], c["privacy_notice_version"], c["active"]) for c in history] == [
        ("program", "2026-1", True), ("research", "2026-1", False), ("research", "2026-2", True)
    ]  # fmt: skip
    assert renewed["id"] == history[-1]["id"]


def test_identity_data_needs_its_consent(cohort: Cohort, engine: Any) -> None:
    person = cohort.person("sol")
    before = snapshot(engine)
    refused = person.post(
        "/v1/applications", json={"program_id": cohort.id, "role": "mentee", "consents": CONSENTS, "identity": IDENTITY}
    )
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == ["body.identity"]
    assert snapshot(engine) == before
    application = cohort.draft(person)
    put = person.request("PUT", f"/v1/applications/{application['id']}/identity", json=IDENTITY)
    assert put.status_code == 409 and [e["field"] for e in put.json()["errors"]] == ["consents.matching_identity"]


def test_identity_data_is_hers_and_the_matching_services_only(cohort: Cohort, matching: Caller) -> None:
    person, application = _member_with_identity(cohort)
    url = f"/v1/applications/{application['id']}/identity"
    assert {k: person.get(url).json()[k] for k in IDENTITY} == IDENTITY
    assert cohort.coordinator.get(url).status_code == 403
    coordinator_view = cohort.coordinator.get(f"/v1/applications/{application['id']}").json()
    assert not {"gender_identity", "ethnicity", "first_generation"} & set(coordinator_view)
    assert cohort.coordinator.get(f"/v1/programs/{cohort.id}/matching-identity").status_code == 403

    listed = matching.get(f"/v1/programs/{cohort.id}/matching-identity").json()["items"]
    assert listed == [
        {"application_id": application["id"], "participant_id": person.get("/v1/participants/me").json()["id"],
         "role": "mentee", **IDENTITY}
    ]  # fmt: skip
    changed = person.request("PUT", url, json={"gender_identity": "mujer"}).json()
    assert (changed["gender_identity"], changed["ethnicity"]) == ("mujer", None)
    assert person.delete(url).status_code == 204
    assert person.get(url).status_code == 404
    assert matching.get(f"/v1/programs/{cohort.id}/matching-identity").json()["items"] == []


def test_withdrawing_matching_identity_consent_deletes_the_identity_data(
    cohort: Cohort, matching: Caller, engine: Any
) -> None:
    person, application = _member_with_identity(cohort)
    other, _ = _member_with_identity(cohort, "mar")

    withdrawn = person.post(f"/v1/applications/{application['id']}/consents/matching_identity/withdrawal")

    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["consent"]["withdrawn_at"] and not withdrawn.json()["consent"]["active"]
    assert withdrawn.json()["effects"] == [
        "consent for matching_identity withdrawn",
        "identity data deleted; it is no longer available for matching",
    ]
    assert person.get(f"/v1/applications/{application['id']}/identity").status_code == 404
    remaining = snapshot(engine)["identity_data"]
    assert len(remaining) == 1 and application["id"] not in remaining[0]  # hers is gone, the other member's stays
    listed = matching.get(f"/v1/programs/{cohort.id}/matching-identity").json()["items"]
    assert [i["application_id"] for i in listed] == [other.get("/v1/applications").json()["items"][0]["id"]]
    # She takes part as before.
    assert person.get("/v1/participants/me").json()["memberships"][0]["status"] == "active"
    event = events(engine, "consent.withdrawn")[0]["payload"]
    assert (event["purpose"], event["application_id"]) == ("matching_identity", application["id"])


def test_withdrawing_program_consent_withdraws_her_membership(cohort: Cohort, engine: Any) -> None:
    person, application = _member_with_identity(cohort)

    withdrawn = person.post(f"/v1/applications/{application['id']}/consents/program/withdrawal").json()

    assert withdrawn["effects"] == ["consent for program withdrawn", "application withdrawn", "membership withdrawn"]
    assert person.get(f"/v1/applications/{application['id']}").json()["status"] == "withdrawn"
    assert [m["status"] for m in person.get("/v1/participants/me").json()["memberships"]] == ["withdrawn"]
    assert [e["type"] for e in events(engine, "application.withdrawn", "participant.withdrawn", "consent.withdrawn")] == [
        "application.withdrawn", "participant.withdrawn", "consent.withdrawn"
    ]  # fmt: skip
    again = person.post(f"/v1/applications/{application['id']}/consents/program/withdrawal")
    assert again.status_code == 409
    closed = person.request(
        "PUT", f"/v1/applications/{application['id']}/consents/program", json={"privacy_notice_version": "2026-1"}
    )
    assert closed.status_code == 409 and "withdrawn" in closed.json()["detail"]


def test_withdrawing_research_consent_keeps_her_in_the_program(cohort: Cohort, engine: Any) -> None:
    person, application = _member_with_identity(cohort)
    withdrawn = person.post(f"/v1/applications/{application['id']}/consents/research/withdrawal").json()
    assert withdrawn["effects"][0] == "consent for research withdrawn"
    assert "evaluation" in withdrawn["effects"][1]
    assert person.get(f"/v1/applications/{application['id']}").json()["status"] == "confirmed"
    assert events(engine, "consent.withdrawn")[0]["payload"]["membership_id"] == application["membership_id"]


def test_submitting_needs_the_program_consent(cohort: Cohort) -> None:
    person = cohort.person("sin-consentimiento")
    application = cohort.draft(person, consents={**CONSENTS, "purposes": ["research"]})
    refused = person.post(f"/v1/applications/{application['id']}/submit")
    assert refused.status_code == 409 and [e["field"] for e in refused.json()["errors"]] == ["consents.program"]
    person.request(
        "PUT", f"/v1/applications/{application['id']}/consents/program",
        json={"privacy_notice_version": PRIVACY_NOTICE["version"]},
    )  # fmt: skip
    assert person.post(f"/v1/applications/{application['id']}/submit").status_code == 200
