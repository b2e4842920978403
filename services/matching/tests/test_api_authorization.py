"""Who may do what: role + tenant (token tid) + object owner, for every kind of caller.

404 for whoever may not know the record exists (another institution, another
dyad), 403 for whoever may see it but not do this, 401 for a missing, expired
or forged token (the real verification path, with every attack token).
"""

from __future__ import annotations

from typing import Any

import pytest

from servicekit.testing import TEST_AUDIENCE, TEST_ISSUER, attack_tokens, bearer
from servicekit.tokens import SigningKey, access_claims

from services.matching.tests.conftest import Caller, World, fill_profiles, ok

ROLES = ("admin", "coordinator", "other_coordinator", "member", "other_mentee", "client", "anonymous", "expired", "forged")

# (method, path, body) → expected status per role, in ROLES order. The LMS client (training:write) is refused
# by the client gate everywhere (403 insufficient-scope): no matching route declares that scope.
MATRIX: dict[str, tuple[str, str, Any, tuple[int, ...]]] = {
    "get_match": ("GET", "/v1/matching/matches/{m}", None, (200, 200, 404, 200, 404, 403, 401, 401, 401)),
    "list_program_matches": ("GET", "/v1/matching/programs/{p}/matches", None, (200, 200, 404, 403, 403, 403, 401, 401, 401)),
    "get_matching_settings": ("GET", "/v1/matching/programs/{p}/settings", None, (200, 200, 404, 403, 403, 403, 401, 401, 401)),
    "list_matching_runs": ("GET", "/v1/matching/programs/{p}/runs", None, (200, 200, 404, 403, 403, 403, 401, 401, 401)),
    "get_matching_run": ("GET", "/v1/matching/programs/{p}/runs/{r}", None, (200, 200, 404, 403, 403, 403, 401, 401, 401)),
    "list_matching_profiles": ("GET", "/v1/matching/programs/{p}/profiles", None, (200, 200, 404, 403, 403, 403, 401, 401, 401)),
    "get_my_matching_profile": ("GET", "/v1/matching/programs/{p}/profiles/me", None, (404, 404, 404, 200, 200, 403, 401, 401, 401)),
    "explain_matching_pair": ("GET", "/v1/matching/programs/{p}/pairs/{e}/{t}/explanation", None, (200, 200, 404, 403, 403, 403, 401, 401, 401)),
    "list_my_matches": ("GET", "/v1/matching/matches/mine", None, (200, 200, 200, 200, 200, 403, 401, 401, 401)),
    "accept_match": ("POST", "/v1/matching/matches/{m}/accept", None, (403, 403, 404, 200, 404, 403, 401, 401, 401)),
    "complete_match": ("POST", "/v1/matching/matches/{m}/completion", None, (409, 409, 404, 403, 404, 403, 401, 401, 401)),
    "list_match_substitutes": ("GET", "/v1/matching/matches/{m}/substitutes", None, (409, 409, 404, 403, 404, 403, 401, 401, 401)),
    "create_rematch": ("POST", "/v1/matching/programs/{p}/rematches", "rematch", (409, 409, 404, 403, 403, 403, 401, 401, 401)),
    "list_internal_events": ("GET", "/internal/events", None, (403, 403, 403, 403, 403, 403, 401, 401, 401)),
}


@pytest.fixture
def published(world: World, mint: Any, signing_key: SigningKey) -> dict[str, Any]:
    pilot = world.pilot([("mentor", 0, 0), ("mentor", 1, 1), ("mentor", 2, 2), ("mentee", 1, 0), ("mentee", 2, 1)])
    fill_profiles(pilot)
    run = ok(pilot.coordinator.post(f"{pilot.base}/runs", json={}), 201)
    matches = ok(pilot.coordinator.post(f"{pilot.base}/runs/{run['id']}/publish"))["matches"]
    assert len(matches) == 2
    people = pilot.by_participant()
    mine, other = matches
    other_inst = world.pilot([("mentor", 0, 0)], campuses=1, units_per_campus=1)
    impostor = SigningKey.generate(kid=signing_key.kid)
    forged = impostor.sign(access_claims(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, subject="admin-1", tenant_id=None, roles=["admin"]))
    callers = {
        "admin": pilot.admin,
        "coordinator": pilot.coordinator,
        "other_coordinator": other_inst.coordinator,
        "member": people[mine["mentee_participant_id"]].caller,
        "other_mentee": people[other["mentee_participant_id"]].caller,
        "client": world.caller("client", sub="client-lms", tid=pilot.institution_id, client_id="lms", scope="training:write"),
        "anonymous": Caller(world.http, world.up, None, "anonymous"),
        "expired": world.caller("expired", sub="admin-1", roles=["admin"], ttl=-3600),
        "forged": Caller(world.http, world.up, forged, "forged"),
    }
    ids = {"p": pilot.id, "r": run["id"], "m": mine["id"], "e": mine["mentee_participant_id"], "t": mine["mentor_participant_id"]}
    rematch = {"mentee_participant_id": mine["mentee_participant_id"], "mentor_participant_id": mine["mentor_participant_id"]}
    return {"callers": callers, "ids": ids, "rematch": rematch, "pilot": pilot}


def test_the_authorization_matrix(published: dict[str, Any]) -> None:
    ids, failures = published["ids"], []
    for operation, (method, template, body, expected) in MATRIX.items():
        url = template.format(**ids)
        for role, status in zip(ROLES, expected, strict=True):
            caller = published["callers"][role]
            json = published["rematch"] if body == "rematch" else None
            got = caller.request(method, url, json=json).status_code
            if got != status:
                failures.append(f"{operation} as {role}: {got}, expected {status}")
    assert not failures, "\n".join(failures)


def test_every_attack_token_is_refused(published: dict[str, Any], signing_key: SigningKey) -> None:
    http = published["callers"]["coordinator"].http
    url = f"/v1/matching/matches/{published['ids']['m']}"
    for name, token in attack_tokens(signing_key).items():
        assert http.get(url, headers=bearer(token)).status_code == 401, name


def test_dissolution_by_the_other_dyad_or_another_institution_is_404(published: dict[str, Any]) -> None:
    c, url = published["callers"], f"/v1/matching/matches/{published['ids']['m']}/dissolution"
    body = {"reason": "not a good fit"}
    assert c["other_mentee"].post(url, json=body).status_code == 404
    assert c["other_coordinator"].post(url, json=body).status_code == 404
    assert c["client"].post(url, json=body).status_code == 403  # the client gate (servicekit.auth)
    assert c["member"].post(url, json={"reason": ""}).json()["errors"][0]["field"] == "body.reason"
    assert ok(c["coordinator"].post(url, json={"reason": "lack of rapport after the third meeting"}))["dissolved_by"] == "coordinator"
