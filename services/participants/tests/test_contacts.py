"""How to reach a person (/internal/institutions/{id}/contacts/{account_id}): the notifications
service's own token (scope contacts:read) reads her name, address, language and time zone, from
her application before she is a participant and from her profile after; nobody else does."""

from __future__ import annotations

from servicekit.testing import Mint

from services.participants.tests.conftest import Caller, Cohort, World


def path(institution_id: str, account_id: str) -> str:
    return f"/internal/institutions/{institution_id}/contacts/{account_id}"


def notifications(http, mint: Mint, tid: str | None, scope: str = "events:read contacts:read") -> Caller:
    return Caller(http, mint(sub="svc-notifications", tid=tid, scope=scope, client_id="svc-notifications"), "notifications")


def test_an_applicant_is_reached_by_her_application_then_by_her_profile(http, mint: Mint, world: World, cohort: Cohort) -> None:
    service = notifications(http, mint, None)
    cohort.submitted(cohort.person("acct-ana"), "mentee", 7, preferred_language="en", interest="XQ-private-interest")
    bea = cohort.person("acct-bea")
    application = cohort.submitted(bea, "mentee", 8)
    answer = service.get(path(world.a["id"], "acct-ana"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "account_id": "acct-ana", "participant_id": None, "name": "Persona Aplicante 7", "email": "persona7@uaeh.edu.mx",
        "language": "en", "timezone": None, "institution_name": "Universidad UAEH", "institution_timezone": "America/Mexico_City",
        "institution_language": "es"}
    assert "XQ-private-interest" not in answer.text
    cohort.move("selection")
    cohort.review(application["id"])
    cohort.decide(application["id"], "accepted")
    assert cohort.coordinator.post(f"/v1/applications/{application['id']}/invitation", json={}).status_code == 200
    assert bea.post(f"/v1/applications/{application['id']}/confirm").status_code == 200
    profile = service.get(path(world.a["id"], "acct-bea")).json()
    assert profile["participant_id"] and profile["name"] == "Persona Aplicante 8" and profile["email"] == "persona8@uaeh.edu.mx"


def test_only_a_client_with_contacts_read_of_that_institution_reads_contacts(
        http, mint: Mint, world: World, cohort: Cohort, as_role) -> None:
    cohort.submitted(cohort.person("acct-ana"), "mentee", 7)
    url = path(world.a["id"], "acct-ana")
    assert notifications(http, mint, world.a["id"]).get(url).status_code == 200
    assert notifications(http, mint, world.b["id"]).get(url).status_code == 404
    assert notifications(http, mint, None, scope="events:read").get(url).status_code == 403
    assert notifications(http, mint, None).get(path(world.b["id"], "acct-ana")).status_code == 404
    assert notifications(http, mint, None).get(path(world.a["id"], "nobody")).status_code == 404
    for role in ("admin", "coordinator", "mentee", "reader"):
        assert as_role(role).get(url).status_code == 403, role
    for role in ("anonymous", "expired", "forged"):
        assert as_role(role).get(url).status_code == 401, role
