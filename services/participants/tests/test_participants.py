"""Participants: full profile for her and coordinators, public profile for
counterparts, nothing for anyone else; external ids; memberships."""

from typing import Any

import pytest

from services.participants.tests.conftest import Caller, Cohort, World, events, open_cohort, snapshot

MEMBERSHIP_STATUSES = ["active", "substitute", "withdrawn", "completed"]
MEMBERSHIP_ALLOWED = {
    "active": {"substitute", "withdrawn", "completed"},
    "substitute": {"active", "withdrawn"},
    "withdrawn": set(),
    "completed": set(),
}


def _member(cohort: Cohort, sub: str, role: str = "mentee", n: int = 1) -> tuple[Caller, dict[str, Any]]:
    person = cohort.person(sub, [role])
    cohort.confirmed(person, role, n)
    return person, person.get("/v1/participants/me").json()


def test_who_sees_which_profile(cohort: Cohort, coordinator: Caller, http: Any, mint: Any, world: World) -> None:
    mentee, her = _member(cohort, "mentee-1", "mentee", 1)
    mentor, other = _member(cohort, "mentor-1", "mentor", 2)
    elsewhere_cohort = open_cohort(coordinator, http, mint, world.a["id"], name="Otra")
    stranger, _ = _member(elsewhere_cohort, "stranger-1", "mentee", 3)
    url = f"/v1/participants/{her['id']}"

    assert mentee.get(url).json() == her
    assert coordinator.get(url).json() == her
    assert set(her) >= {"account_id", "lms_id", "memberships"}

    public = mentor.get(f"{url}/public-profile")
    assert public.status_code == 200
    assert set(public.json()) == {
        "id", "display_name", "pronouns", "languages", "timezone", "campus_id", "academic_unit_id",
        "career_stage", "stem_fields", "bio",
    }  # fmt: skip
    assert mentor.get(url).status_code == 403
    assert stranger.get(f"{url}/public-profile").status_code == 404
    assert stranger.get(url).status_code == 404
    assert mentee.get(f"/v1/participants/{other['id']}/public-profile").status_code == 200

    # A counterpart who left the program no longer sees her.
    application = mentor.get("/v1/applications").json()["items"][0]
    mentor.post(f"/v1/applications/{application['id']}/withdraw")
    assert mentor.get(f"{url}/public-profile").status_code == 404


def test_she_edits_her_profile_and_coordinators_set_external_ids(
    cohort: Cohort, coordinator: Caller, world: World, engine: Any
) -> None:
    mentee, her = _member(cohort, "mentee-1")
    url = f"/v1/participants/{her['id']}"
    edited = mentee.patch(
        url, json={"pronouns": "ella", "bio": "Química.\nMe gusta correr.", "languages": ["es"], "stem_fields": ["chemistry", "biology"]}
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["pronouns"], edited.json()["stem_fields"]) == ("ella", ["chemistry", "biology"])

    before = snapshot(engine)
    refused = mentee.patch(url, json={"lms_id": "moodle-1"})
    assert refused.status_code == 403 and "lms_id" in refused.json()["detail"]
    foreign = coordinator.patch(url, json={"campus_id": world.campus_b["id"]})
    assert foreign.status_code == 422 and [e["field"] for e in foreign.json()["errors"]] == ["body.campus_id"]
    assert snapshot(engine) == before

    set_ids = coordinator.patch(url, json={"lms_id": "moodle-1", "hr_id": "RH-77", "sis_id": "A0001", "campus_id": world.campus_a["id"]})
    assert set_ids.status_code == 200
    assert (set_ids.json()["lms_id"], set_ids.json()["campus_id"]) == ("moodle-1", world.campus_a["id"])
    assert coordinator.get(f"/v1/institutions/{world.a['id']}/participants", params={"lms_id": "moodle-1"}).json()["items"][0]["id"] == her["id"]


def test_external_ids_are_unique_within_the_institution(
    cohort: Cohort, coordinator: Caller, other_coordinator: Caller, http: Any, mint: Any, world: World, engine: Any
) -> None:
    _, first = _member(cohort, "m1", "mentee", 1)
    _, second = _member(cohort, "m2", "mentee", 2)
    coordinator.patch(f"/v1/participants/{first['id']}", json={"lms_id": "moodle-1"})
    before = snapshot(engine)
    clash = coordinator.patch(f"/v1/participants/{second['id']}", json={"lms_id": "moodle-1"})
    assert clash.status_code == 409 and [e["field"] for e in clash.json()["errors"]] == ["body.lms_id"]
    assert snapshot(engine) == before

    cohort_b = open_cohort(other_coordinator, http, mint, world.b["id"])
    _, in_b = _member(cohort_b, "b1")
    assert other_coordinator.patch(f"/v1/participants/{in_b['id']}", json={"lms_id": "moodle-1"}).status_code == 200


def test_my_profile_exists_once_i_confirm(cohort: Cohort) -> None:
    person = cohort.person("newcomer")
    assert person.get("/v1/participants/me").status_code == 404
    assert person.patch("/v1/participants/me", json={"pronouns": "ella"}).status_code == 404
    cohort.confirmed(person)
    assert person.get("/v1/participants/me").json()["account_id"] == "newcomer"
    edited = person.patch("/v1/participants/me", json={"pronouns": "ella", "timezone": "America/Merida"})
    assert (edited.json()["pronouns"], edited.json()["timezone"]) == ("ella", "America/Merida")
    assert person.patch("/v1/participants/me", json={"sis_id": "A1"}).status_code == 403
    assert person.request("PUT", "/v1/participants/me").status_code == 405


def _membership_in(cohort: Cohort, status: str) -> str:
    _, her = _member(cohort, f"m-{status}")
    url = f"/v1/programs/{cohort.id}/memberships/{her['memberships'][0]['id']}"
    if status != "active":
        assert cohort.coordinator.patch(url, json={"status": status, "reason": "Acordado"}).status_code == 200
    return url


@pytest.mark.parametrize("current", MEMBERSHIP_STATUSES)
def test_every_membership_move_not_allowed_is_a_409(current: str, cohort: Cohort, engine: Any) -> None:
    url = _membership_in(cohort, current)
    before = snapshot(engine)
    for target in MEMBERSHIP_STATUSES:
        if target in MEMBERSHIP_ALLOWED[current]:
            continue
        refused = cohort.coordinator.patch(url, json={"status": target})
        assert refused.status_code == 409, (current, target)
        assert refused.json()["current_status"] == current
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("current", "target"), [(c, t) for c, targets in MEMBERSHIP_ALLOWED.items() for t in sorted(targets)]
)
def test_every_allowed_membership_move_succeeds(current: str, target: str, cohort: Cohort) -> None:
    url = _membership_in(cohort, current)
    changed = cohort.coordinator.patch(url, json={"status": target, "reason": "Cambio"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["status"], changed.json()["status_reason"]) == (target, "Cambio")


def test_withdrawing_a_member_writes_participant_withdrawn(cohort: Cohort, engine: Any) -> None:
    _, her = _member(cohort, "leaving")
    membership = her["memberships"][0]
    cohort.coordinator.patch(f"/v1/programs/{cohort.id}/memberships/{membership['id']}", json={"status": "withdrawn"})
    (event,) = events(engine, "participant.withdrawn")
    assert (event["subject"], event["payload"]["membership_id"]) == (her["id"], membership["id"])
    funnel = cohort.coordinator.get(f"/v1/programs/{cohort.id}/funnel").json()
    assert (funnel["total"]["confirmed"], funnel["total"]["withdrawn"]) == (1, 1)


def test_memberships_are_listed_by_status(cohort: Cohort) -> None:
    _member(cohort, "a1", "mentee", 1)
    _, second = _member(cohort, "a2", "mentor", 2)
    membership = second["memberships"][0]
    cohort.coordinator.patch(f"/v1/programs/{cohort.id}/memberships/{membership['id']}", json={"status": "substitute"})
    listed = cohort.coordinator.get(f"/v1/programs/{cohort.id}/memberships", params={"status": "substitute"}).json()
    assert [m["id"] for m in listed["items"]] == [membership["id"]]
