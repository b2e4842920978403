"""The evaluation service's research token (scope ``research:read``) reads the research roster and
nothing else: every other route refuses it as it refuses any other platform client, and it writes nothing."""

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


def test_research_read_opens_only_the_roster(matrix_world: MatrixWorld, http: TestClient, mint: Mint, engine: Engine) -> None:  # noqa: F811
    ids = matrix_world.ids
    research = Caller(http, mint(sub="svc-evaluation", scope="research:read", client_id="svc-evaluation"), "research")
    before = snapshot(engine)
    for operation, (method, template, body) in ENDPOINTS.items():
        response = _request(research, method, _fill(template, ids), body, ids)
        # refused like any platform client holding a scope the route does not take (the matching service's client),
        # except where that client's own scope opens the route
        expected = gated(operation, {"research:read"}, {
            "list_research_roster": 200, "list_matching_identity": 403, "list_internal_events": 403
        }.get(operation, EXPECTED[operation]["matching_client"]))
        assert response.status_code == expected, (operation, response.text)
    assert snapshot(engine) == before, "the research client wrote something"
    roster = research.get(f"/v1/programs/{ids['p']}/research-roster").json()["items"]
    assert roster and {i["role"] for i in roster} <= {"mentor", "mentee", "peer_mentor"}
