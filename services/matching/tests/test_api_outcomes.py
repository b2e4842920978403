"""The program's matching outcomes (the evaluation report's input): counts and scores without
people, and who may read them. The evaluation service's own token (scope reports:read) opens
this route and nothing else."""

from __future__ import annotations

from typing import Any

from services.matching.tests.conftest import ok
from services.matching.tests.test_api_authorization import MATRIX, published  # noqa: F401  (fixture)


def test_outcomes_and_the_reports_scope(published: dict[str, Any], world: Any) -> None:  # noqa: F811
    callers, ids, pilot = published["callers"], published["ids"], published["pilot"]
    url = f"/v1/matching/programs/{ids['p']}/outcomes"
    got = ok(callers["coordinator"].get(url))
    assert got["matches"] == {"proposed": 2, "active": 0, "completed": 0, "dissolved": 0}
    assert (got["matched_mentors"], got["matched_mentees"]) == (0, 0)
    run = got["run"]
    assert (run["id"], run["mentors"], run["mentees"], run["matched"], run["substitutes"]) == (ids["r"], 3, 2, 2, 1)
    assert run["published_at"] is not None
    assert len(run["pair_scores"]) == 2 and run["pair_scores"] == sorted(run["pair_scores"], reverse=True)
    for who in ("mentee_participant_id", "mentor_participant_id"):
        person = pilot.by_participant()[published["rematch"][who]]
        ok(person.caller.post(f"/v1/matching/matches/{ids['m']}/accept"))
    got = ok(callers["coordinator"].get(url))
    assert (got["matches"]["active"], got["matched_mentors"], got["matched_mentees"]) == (1, 1, 1)
    assert ids["e"] not in str(got) and ids["t"] not in str(got), "no person is named"

    evaluation = world.caller("evaluation", sub="svc-evaluation", roles=[], scope="reports:read", client_id="svc-evaluation")
    own = world.caller("own-client", sub="cli-a", tid=pilot.institution_id, roles=[], scope="reports:read", client_id="cli-a")
    other = world.pilot([("mentor", 0, 0)], campuses=1, units_per_campus=1)
    foreign = world.caller("foreign-client", sub="cli-b", tid=other.institution_id, roles=[], scope="reports:read", client_id="cli-b")
    for caller in (callers["admin"], evaluation, own):
        assert ok(caller.get(url)) == got, caller
    expected = {"other_coordinator": 404, "member": 403, "other_mentee": 403, "client": 403, "anonymous": 401, "expired": 401,
                "forged": 401}
    for role, status in expected.items():
        assert callers[role].get(url).status_code == status, role
    assert foreign.get(url).status_code == 404
    # reports:read opens nothing else: the client gate refuses it on every other route.
    for _operation, (method, template, body, _) in MATRIX.items():
        json = published["rematch"] if body == "rematch" else None
        response = evaluation.request(method, template.format(**ids), json=json)
        assert response.status_code == 403 and response.json()["type"].endswith("insufficient-scope"), _operation
