"""Consent to quotes, and the research roster the evaluation service samples interviews from.

The roster (scope ``research:read``) lists the program's current members with an
active research consent: role, career stage, STEM field and whether she also
consents to quotes, never a name or contact. The scope opens nothing else (test_research_scope.py)."""

from typing import Any

from fastapi.testclient import TestClient
from servicekit.testing import Mint

from services.participants.tests.conftest import CONSENTS, Caller, Cohort, events

QUOTES = {**CONSENTS, "purposes": ["program", "research", "quotes"]}
PROGRAM_ONLY = {**CONSENTS, "purposes": ["program"]}


def _research(http: TestClient, mint: Mint, tid: str | None = None) -> Caller:
    claims: dict[str, Any] = {"sub": "svc-evaluation", "scope": "research:read", "client_id": "svc-evaluation"}
    if tid:
        claims.update(sub="cli-research", client_id="cli-research", tid=tid)
    return Caller(http, mint(**claims), "research")


def test_quotes_is_a_purpose_of_its_own(cohort: Cohort, engine: Any) -> None:
    person = cohort.person("eva")
    application = cohort.draft(person, consents=QUOTES)
    url = f"/v1/applications/{application['id']}/consents"
    assert [c["purpose"] for c in person.get(url).json()["items"]] == ["program", "research", "quotes"]

    withdrawn = person.post(f"{url}/quotes/withdrawal")

    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["effects"] == [
        "consent for quotes withdrawn",
        "no excerpt of her interview is published from now on (consent.withdrawn tells the evaluation service)",
    ]
    assert [(c["purpose"], c["active"]) for c in person.get(url).json()["items"]] == [
        ("program", True), ("research", True), ("quotes", False)
    ]  # fmt: skip
    event = events(engine, "consent.withdrawn")[0]["payload"]
    assert (event["purpose"], event["application_id"]) == ("quotes", application["id"])
    # granted again, for the current notice
    again = person.request("PUT", f"{url}/quotes", json={"privacy_notice_version": CONSENTS["privacy_notice_version"]})
    assert again.status_code == 200 and again.json()["active"]


def test_the_roster_lists_current_members_who_consent_to_research(cohort: Cohort, http: TestClient, mint: Mint) -> None:
    quoted = cohort.person("ana", ["mentee"])
    quoted_app = cohort.confirmed(quoted, "mentee", 1, consents=QUOTES, career_stage="undergraduate_student", stem_field="biology")
    research_only = cohort.person("bea", ["mentor"])
    cohort.confirmed(research_only, "mentor", 2, consents=CONSENTS, career_stage="senior", stem_field="physics")
    no_research = cohort.person("cris", ["mentee"])
    cohort.confirmed(no_research, "mentee", 3, consents=PROGRAM_ONLY)
    not_member = cohort.person("dora")
    cohort.submitted(not_member, "mentee", 4, consents=QUOTES)  # applied, never confirmed
    research = _research(http, mint)

    listed = research.get(f"/v1/programs/{cohort.id}/research-roster")

    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    me = {p.name: p.get("/v1/participants/me").json() for p in (quoted, research_only)}
    assert sorted((i["participant_id"], i["role"], i["career_stage"], i["stem_fields"], i["quotes"]) for i in items) == sorted([
        (me["ana"]["id"], "mentee", "undergraduate_student", ["biology"], True),
        (me["bea"]["id"], "mentor", "senior", ["physics"], False),
    ])  # fmt: skip
    ana = next(i for i in items if i["participant_id"] == me["ana"]["id"])
    assert ana["application_id"] == quoted_app["id"] and ana["membership_id"] == me["ana"]["memberships"][0]["id"]
    assert not {"display_name", "email", "full_name", "account_id"} & set(ana)
    # one page at a time
    first = research.get(f"/v1/programs/{cohort.id}/research-roster", params={"limit": 1}).json()
    second = research.get(f"/v1/programs/{cohort.id}/research-roster", params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) == len(second["items"]) == 1 and first["items"] != second["items"]

    # withdrawing research consent takes her off; withdrawing quotes only clears the flag
    quoted.post(f"/v1/applications/{quoted_app['id']}/consents/quotes/withdrawal")
    assert [i["quotes"] for i in research.get(f"/v1/programs/{cohort.id}/research-roster").json()["items"]] == [False, False]
    quoted.post(f"/v1/applications/{quoted_app['id']}/consents/research/withdrawal")
    remaining = research.get(f"/v1/programs/{cohort.id}/research-roster").json()["items"]
    assert [i["participant_id"] for i in remaining] == [me["bea"]["id"]]
    # coordinators read it too; a research client of another institution does not see the program
    assert cohort.coordinator.get(f"/v1/programs/{cohort.id}/research-roster").json()["items"] == remaining
    other_institution = _research(http, mint, tid="0190f1c2-0000-7000-8000-00000000beef")
    assert other_institution.get(f"/v1/programs/{cohort.id}/research-roster").status_code == 404
