"""The OpenAPI document: what clients and the gateway's merged docs are built from."""

from typing import Any

from fastapi import FastAPI

from services.participants.tests.test_authorization import EXPECTED, PUBLIC_OPERATIONS

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _operations(app: FastAPI) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        op["operationId"]: (method, path, op)
        for path, item in app.openapi()["paths"].items()
        for method, op in item.items()
        if path.startswith("/v1/")
    }


def test_every_v1_operation_is_documented(app: FastAPI) -> None:
    operations = _operations(app)
    internal = {op["operationId"] for path, item in app.openapi()["paths"].items() if path.startswith("/internal/") for op in item.values()}
    assert internal >= {"list_internal_events", "provision_participant"}  # service-to-service, not routed by the gateway
    assert set(operations) == set(EXPECTED) - internal
    for op_id, (method, path, op) in operations.items():
        assert op["summary"] and op["tags"], op_id
        assert op_id.islower() and " " not in op_id, op_id
        public = op_id in PUBLIC_OPERATIONS
        assert ("401" in op["responses"]) is not public, op_id
        if op.get("parameters") or "requestBody" in op:
            assert "422" in op["responses"], op_id
        if method in {"patch", "put"} or op_id.startswith("create_"):
            assert "409" in op["responses"] or op_id == "update_training_module", op_id
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")):
                assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}, (op_id, code)
        success = {c: r for c, r in op["responses"].items() if c.startswith("2")}
        assert len(success) == 1, op_id
        (code, response), = success.items()
        if method == "delete":
            assert code == "204" and "content" not in response, op_id
        else:
            assert response["content"]["application/json"]["schema"], op_id
        if code == "201":
            assert method == "post" and response["headers"]["Location"]["required"] is True, op_id


def test_every_answer_the_matrix_sees_is_documented(app: FastAPI) -> None:
    operations = _operations(app)
    for op_id, answers in EXPECTED.items():
        if op_id not in operations:
            continue
        documented = set(operations[op_id][2]["responses"])
        assert {str(code) for code in answers.values()} <= documented, op_id


def test_only_the_call_is_public(app: FastAPI) -> None:
    """The gateway lets exactly these through without a token."""
    unsecured = {op_id for op_id, (_m, _p, op) in _operations(app).items() if not op.get("security")}
    assert unsecured == PUBLIC_OPERATIONS == {"list_calls", "get_call"}
    paths = {(m, p) for op_id, (m, p, _op) in _operations(app).items() if op_id in unsecured}
    assert paths == {("get", "/v1/calls"), ("get", "/v1/calls/{program_id}")}


def test_inputs_refuse_unknown_fields_and_carry_examples(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    inputs = [name for name in schemas if name.endswith(("Create", "Update", "-Input"))]
    assert len(inputs) >= 20
    for name in inputs:
        schema = schemas[name]
        if "properties" not in schema:
            continue
        assert schema["additionalProperties"] is False, name
    for name in ("InstitutionUpdate", "CampusUpdate", "AcademicUnitUpdate", "ProgramUpdate", "ApplicationUpdate",
                 "ParticipantUpdate", "TrainingModuleUpdate", "MembershipUpdate"):  # fmt: skip
        assert schemas[name]["minProperties"] == 1, name
    for op_id, (_method, _path, op) in _operations(app).items():
        body = op.get("requestBody")
        if body is None or "application/json" not in body["content"]:
            continue  # no body, or a file upload (a roster CSV)
        ref = body["content"]["application/json"]["schema"]
        ref = next((r for r in ref.get("anyOf", ref.get("oneOf", [ref])) if "$ref" in r), ref)
        name = ref["$ref"].rsplit("/", 1)[-1]
        schema = schemas[name]
        assert schema.get("additionalProperties") is False, (op_id, name)
        assert schema.get("examples"), (op_id, name)


def test_a_405_lists_every_method_of_the_resource(admin: Any, world: Any) -> None:
    cases = {
        ("PUT", "/v1/institutions"): "GET, POST",
        ("DELETE", f"/v1/institutions/{world.a['id']}"): "GET, PATCH",
        ("PUT", f"/v1/institutions/{world.a['id']}/campuses/{world.campus_a['id']}"): "GET, PATCH, DELETE",
        ("POST", f"/v1/institutions/{world.a['id']}/academic-units/{world.unit_a['id']}"): "GET, PATCH, DELETE",
        ("DELETE", f"/v1/institutions/{world.a['id']}/programs"): "GET, POST",
        ("POST", "/v1/calls"): "GET",
        ("GET", "/v1/applications/00000000-0000-0000-0000-000000000000/submit"): "POST",
    }
    for (method, url), allow in cases.items():
        response = admin.request(method, url)
        assert response.status_code == 405, url
        assert response.headers["allow"] == allow, url
        assert response.headers["content-type"] == "application/problem+json"
