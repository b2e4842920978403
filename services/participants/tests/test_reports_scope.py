"""The evaluation service's own token (scope ``reports:read``) reads exactly what the program
report needs (a program, its funnel, its training statistics, the institution's record for the
report's header) and nothing else: every other
route refuses it as it refuses any other platform client, and it writes nothing. A client of
another institution with the same scope gets 404."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from servicekit.testing import Mint

from services.participants.tests.conftest import Caller, snapshot
from services.participants.tests.test_authorization import (  # noqa: F401  (fixtures)
    ENDPOINTS,
    EXPECTED,
    MatrixWorld,
    gated,
    _clean_tables,
    _fill,
    _request,
    matrix_world,
)

REPORT_INPUTS = {"get_program", "get_funnel", "get_training_stats", "get_institution"}
IDS_OF = {"get_program": ("id", "p"), "get_institution": ("id", "a")}
# A platform client holding a scope the route does not take is refused like the matching service's client,
# except where that client's own scope opens the route.
OWN_SCOPE_OF_MATCHING = {"list_matching_identity": 403, "list_internal_events": 403}


def test_reports_read_opens_only_the_report_inputs(matrix_world: MatrixWorld, http: TestClient, mint: Mint, engine: Engine) -> None:  # noqa: F811
    ids = matrix_world.ids
    evaluation = Caller(http, mint(sub="svc-evaluation", scope="reports:read", client_id="svc-evaluation"), "evaluation")
    before = snapshot(engine)
    for operation, (method, template, body) in ENDPOINTS.items():
        response = _request(evaluation, method, _fill(template, ids), body, ids)
        expected = 200 if operation in REPORT_INPUTS else gated(
            operation, {"reports:read"}, OWN_SCOPE_OF_MATCHING.get(operation, EXPECTED[operation]["matching_client"])
        )
        assert response.status_code == expected, (operation, response.text)
        if operation in REPORT_INPUTS:
            field, key = IDS_OF.get(operation, ("program_id", "p"))
            assert response.json()[field] == ids[key]
    assert snapshot(engine) == before, "the report client wrote something"

    funnel = evaluation.get(f"/v1/programs/{ids['p']}/funnel").json()
    assert funnel == matrix_world.callers["coordinator"].get(f"/v1/programs/{ids['p']}/funnel").json()

    foreign: Any = Caller(http, mint(sub="cli-b", tid=ids["b"], scope="reports:read", client_id="cli-b"), "foreign")
    own = Caller(http, mint(sub="cli-a", tid=ids["a"], scope="reports:read", client_id="cli-a"), "own")
    for path in (f"/v1/programs/{ids['p']}", f"/v1/programs/{ids['p']}/funnel", f"/v1/programs/{ids['p']}/training-stats",
                 f"/v1/institutions/{ids['a']}"):
        assert foreign.get(path).status_code == 404, path
        assert own.get(path).status_code == 200, path

    # the institution record only: never its campuses, units or the list of institutions
    for path in ("/v1/institutions", f"/v1/institutions/{ids['a']}/campuses", f"/v1/institutions/{ids['a']}/academic-units"):
        assert evaluation.get(path).status_code in (403, 404), path
        assert own.get(path).status_code in (403, 404), path
    assert foreign.get(f"/v1/institutions/{ids['b']}").status_code == 200  # its own institution, as a tid-scoped client
