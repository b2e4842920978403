"""The Mexico pilot's intake, run in-process through the API (the call, screening and selection).

A call opens with the pilot's criteria. The 30 women the pilot took part with
(16 mentors, 14 mentees) apply, together with three others the criteria turn
away and three who are accepted but never confirm. Criteria are evaluated, a
coordinator reviews the expectations, decides and invites in bulk; 30
confirm, the others' invitations expire. Training runs through five online
modules (pushed by the LMS) and four 90-minute accompaniment sessions
(recorded by the coordinator), everyone finishing in 8 weeks ± 5 days. The
funnel and the training statistics show all of it.
"""

import statistics
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from servicekit.testing import Mint

from services.participants.tests.conftest import Caller, Clock, Cohort, World, events, open_cohort

MEXICO = ZoneInfo("America/Mexico_City")
MODULES = [(f"Módulo en línea {i}", "online_module", 120) for i in range(1, 6)] + [
    (f"Sesión de acompañamiento {i}", "accompaniment_session", 90) for i in range(1, 5)
]


def _apply_all(cohort: Cohort) -> dict[str, list[tuple[Caller, dict[str, Any]]]]:
    groups: dict[str, list[tuple[Caller, dict[str, Any]]]] = {
        "mentors": [], "mentees": [], "never_confirm": [], "ineligible": []
    }  # fmt: skip
    n = 0

    def apply(group: str, role: str, **overrides: Any) -> None:
        nonlocal n
        n += 1
        person = cohort.person(f"mx-{n:02d}")
        groups[group].append((person, cohort.submitted(person, role, n, **overrides)))

    for _ in range(16):
        apply("mentors", "mentor")
    for i in range(14):
        apply("mentees", "mentee", affiliation="undergraduate" if i % 2 else "graduate")
    apply("never_confirm", "mentor")
    apply("never_confirm", "mentee")
    apply("never_confirm", "mentee")
    apply("ineligible", "mentee", affiliation="staff")  # not a professor nor an enrolled student
    apply("ineligible", "mentee", stem_field="humanities")  # not in STEM
    apply("ineligible", "mentor", funding_experience=False)  # mentors need funding-call experience
    return groups


def test_the_mexico_pilot_intake(
    coordinator: Caller, http: TestClient, mint: Mint, world: World, clock: Clock, engine: Any
) -> None:
    cohort = open_cohort(coordinator, http, mint, world.a["id"])
    call = http.get(f"/v1/calls/{cohort.id}").json()
    assert call["accepting_applications"] is True
    assert [r["id"] for r in call["criteria"]] == [
        "woman", "stem", "university_member", "training", "expectations", "funding", "recognition"
    ]  # fmt: skip

    groups = _apply_all(cohort)
    everyone = [a for group in groups.values() for _, a in group]
    assert len(everyone) == 36

    # Criteria evaluated: the expectations await review; three fail a rule.
    listed = coordinator.get(f"/v1/programs/{cohort.id}/applications", params={"limit": 200}).json()["items"]
    verdicts = {a["id"]: a["eligibility"] for a in listed}
    ineligible = {a["id"] for _, a in groups["ineligible"]}
    assert {i for i, v in verdicts.items() if v == "ineligible"} == ineligible
    assert {v for i, v in verdicts.items() if i not in ineligible} == {"needs_review"}
    failing = {
        a_id: [r["rule_id"] for r in coordinator.get(f"/v1/applications/{a_id}/eligibility").json()["rules"] if r["final"] == "failed"]
        for a_id in sorted(ineligible)
    }
    assert sorted(failing.values()) == [["funding"], ["stem"], ["university_member"]]

    to_accept = [a for g in ("mentors", "mentees", "never_confirm") for _, a in groups[g]]
    for application in to_accept:
        assert cohort.review(application["id"])["verdict"] == "eligible"
    decided = coordinator.post(
        f"/v1/programs/{cohort.id}/decisions",
        json={
            "decisions": [{"application_id": a["id"], "decision": "accepted", "reason": "Meets every criterion"} for a in to_accept]
            + [{"application_id": a_id, "decision": "rejected", "reason": "Does not meet the criteria"} for a_id in sorted(ineligible)]
        },
    )
    assert decided.status_code == 200, decided.text
    invited = coordinator.post(f"/v1/programs/{cohort.id}/invitations", json={})
    assert invited.status_code == 200, invited.text
    assert len(invited.json()["items"]) == 33

    # 16 mentors and 14 mentees confirm; three never do.
    participants: list[tuple[Caller, str, str]] = []
    for group, role in (("mentors", "mentor"), ("mentees", "mentee")):
        for person, application in groups[group]:
            confirmed = person.post(f"/v1/applications/{application['id']}/confirm")
            assert confirmed.status_code == 200, confirmed.text
            me = person.get("/v1/participants/me").json()
            assert [(m["role"], m["status"]) for m in me["memberships"]] == [(role, "active")]
            participants.append((person, me["id"], role))

    clock.advance(days=8)
    late = groups["never_confirm"][0]
    assert late[0].post(f"/v1/applications/{late[1]['id']}/confirm").status_code == 409
    assert coordinator.get(f"/v1/programs/{cohort.id}/funnel").json()["by_status"]["expired"] == 3
    sweep = coordinator.post(f"/v1/programs/{cohort.id}/invitations/expire").json()
    assert sweep["expired"] == 3
    assert coordinator.post(f"/v1/programs/{cohort.id}/invitations/expire").json()["expired"] == 0

    # Training: five online modules from the LMS, four accompaniment sessions by the coordinator.
    cohort.move("selection")
    program = cohort.move("training")
    training_start = date.fromisoformat(next(p for p in program["phases"] if p["kind"] == "training")["starts_on"])
    modules = []
    for title, kind, minutes in MODULES:
        created = coordinator.post(
            f"/v1/programs/{cohort.id}/training-modules", json={"title": title, "kind": kind, "expected_minutes": minutes}
        )
        assert created.status_code == 201, created.text
        modules.append(created.json())
    lms = Caller(http, mint(sub="client-moodle", tid=world.a["id"], scope="training:write", client_id="moodle"), "lms")
    for i, (_person, participant_id, _role) in enumerate(participants):
        patched = coordinator.patch(f"/v1/participants/{participant_id}", json={"lms_id": f"moodle-{1000 + i}"})
        assert patched.status_code == 200, patched.text

    clock.advance(days=100)
    finishing_days = [51 + (i % 11) for i in range(len(participants))]  # 8 weeks ± 5 days
    for i, ((_person, participant_id, _role), last_day) in enumerate(zip(participants, finishing_days, strict=True)):
        for j, module in enumerate(modules):
            day = training_start + timedelta(days=round(last_day * (j + 1) / len(modules)))
            completed_at = datetime.combine(day, time(17, 0), tzinfo=MEXICO).isoformat()
            if module["kind"] == "online_module":
                caller, who = lms, {"lms_id": f"moodle-{1000 + i}", "external_id": f"moodle:{i}:{j}"}
            else:
                caller, who = coordinator, {"participant_id": participant_id}
            recorded = caller.post(f"/v1/training-modules/{module['id']}/completions", json={**who, "completed_at": completed_at})
            assert recorded.status_code == 201, recorded.text
            assert recorded.json()["trained"] is (j == len(modules) - 1)

    # The funnel shows all of it.
    funnel = coordinator.get(f"/v1/programs/{cohort.id}/funnel").json()
    assert funnel["total"] == {
        "applied": 36, "accepted": 33, "invited": 33, "confirmed": 30, "trained": 30, "completed": 0, "withdrawn": 0
    }  # fmt: skip
    by_role = {r["role"]: r for r in funnel["by_role"]}
    assert by_role["mentor"]["stages"]["applied"] == 18 and by_role["mentee"]["stages"]["applied"] == 18
    assert (by_role["mentor"]["stages"]["confirmed"], by_role["mentee"]["stages"]["confirmed"]) == (16, 14)
    assert (by_role["mentor"]["stages"]["trained"], by_role["mentee"]["stages"]["trained"]) == (16, 14)
    assert funnel["by_status"] == {
        "draft": 0, "submitted": 0, "accepted": 0, "waitlisted": 0, "rejected": 3, "invited": 0,
        "confirmed": 30, "declined": 0, "expired": 3, "withdrawn": 0,
    }  # fmt: skip
    memberships = coordinator.get(f"/v1/programs/{cohort.id}/memberships", params={"limit": 200}).json()["items"]
    assert len(memberships) == 30 and all(m["trained"] for m in memberships)

    stats = coordinator.get(f"/v1/programs/{cohort.id}/training-stats").json()
    assert (stats["members"], stats["trained"], stats["completion_rate"], stats["required_modules"]) == (30, 30, 1.0, 9)
    days = stats["days_to_completion"]
    assert days["median"] == statistics.median(finishing_days)
    assert abs(days["median"] - 56) <= 5 and 51 <= days["min"] and days["max"] <= 61
    assert days["q1"] <= days["median"] <= days["q3"] and days["iqr"] == days["q3"] - days["q1"]
    assert {m["completed"] for m in stats["modules"]} == {30}

    counts = {t: len(events(engine, t)) for t in (
        "application.submitted", "application.decided", "application.invited", "participant.confirmed",
        "application.expired", "training.completed", "program.status_changed",
    )}  # fmt: skip
    assert counts == {
        "application.submitted": 36, "application.decided": 36, "application.invited": 33, "participant.confirmed": 30,
        "application.expired": 3, "training.completed": 270, "program.status_changed": 3,
    }  # fmt: skip
