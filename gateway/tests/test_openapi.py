"""The merged OpenAPI document: the pure merge, what the gateway serves, and
the committed documents tool."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from gateway.openapi import merge_openapi
from gateway.tests.conftest import Gateway

PROBLEM = {"type": "object", "properties": {"status": {"type": "integer"}}}


def gateway_doc() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Aliada API", "version": "1.0.0", "description": "The gateway."},
        "paths": {
            "/v1/auth/me": {"get": {"operationId": "get_me", "tags": ["auth"], "responses": {"401": {"$ref": "#/components/responses/Unauthorized"}}}},
            "/healthz": {"get": {"operationId": "healthz", "tags": ["health"], "responses": {}}},
        },
        "components": {
            "schemas": {"Problem": PROBLEM, "Page": {"type": "object", "properties": {"items": {"type": "array"}}}},
            "responses": {"Unauthorized": {"description": "no"}},
            "securitySchemes": {"aliadaOAuth": {"type": "oauth2", "flows": {}}},
        },
        "tags": [{"name": "auth"}],
    }


def service_doc(title: str, op_id: str, path: str, page_schema: dict) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "2.0.0"},
        "paths": {
            path: {
                "parameters": [{"name": "x", "in": "query"}],
                "get": {
                    "operationId": op_id,
                    "tags": ["things"],
                    "security": [{"aliadaOAuth": []}],
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}},
                        "404": {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
                    },
                },
            },
            "/healthz": {"get": {"operationId": "healthz", "responses": {}}},
            "/internal/events": {"get": {"operationId": "list_internal_events", "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventFeed"}}}}}}},
        },
        "components": {
            "schemas": {
                "Problem": copy.deepcopy(PROBLEM),
                "Page": page_schema,
                "Item": {"type": "object"},
                "EventFeed": {"type": "object"},
            },
            "securitySchemes": {"aliadaOAuth": {"type": "oauth2", "flows": {}}},
        },
        "tags": [{"name": "things", "description": "Things of this service"}],
    }


def operations(doc: dict) -> dict[str, dict]:
    return {f"{m.upper()} {p}": op for p, item in doc["paths"].items() for m, op in item.items() if isinstance(op, dict) and "operationId" in op}


def test_merge_keeps_operation_ids_tags_by_service_and_shares_identical_components() -> None:
    same_page = gateway_doc()["components"]["schemas"]["Page"]
    merged = merge_openapi(gateway_doc(), {"participants": service_doc("Participants", "list_institutions", "/v1/institutions", same_page)})
    ops = operations(merged)
    assert ops["GET /v1/institutions"]["operationId"] == "list_institutions"
    assert ops["GET /v1/auth/me"]["operationId"] == "get_me"
    assert ops["GET /v1/institutions"]["tags"] == ["participants/things"]
    assert merged["paths"]["/v1/institutions"]["parameters"] == [{"name": "x", "in": "query"}]
    # Only the public /v1 paths of a service, and only the components they reach.
    assert "/internal/events" not in merged["paths"] and merged["paths"]["/healthz"]["get"]["tags"] == ["health"]
    schemas = merged["components"]["schemas"]
    assert "EventFeed" not in schemas and "Item" not in schemas
    assert schemas["Problem"] == PROBLEM and schemas["Page"] == same_page
    assert ops["GET /v1/institutions"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Page"
    assert {"name": "participants/things", "description": "Things of this service"} in merged["tags"]
    assert {"name": "participants", "tags": ["participants/things"]} in merged["x-tagGroups"]
    assert "participants (Participants 2.0.0)" in merged["info"]["description"]


def test_merge_prefixes_different_components_and_rewrites_their_refs() -> None:
    other_page = {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}}
    merged = merge_openapi(
        gateway_doc(),
        {
            "matching": service_doc("Matching", "list_runs", "/v1/matching/runs", other_page),
            "sessions": service_doc("Sessions", "list_meetings", "/v1/meetings", copy.deepcopy(other_page)),
        },
    )
    schemas = merged["components"]["schemas"]
    assert schemas["Page"] == gateway_doc()["components"]["schemas"]["Page"]  # the gateway's own is untouched
    # Each service's different Page gets the service as prefix.
    assert schemas["MatchingPage"] == schemas["SessionsPage"] == other_page
    runs = operations(merged)["GET /v1/matching/runs"]["responses"]["200"]["content"]["application/json"]["schema"]
    meetings = operations(merged)["GET /v1/meetings"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert runs == {"$ref": "#/components/schemas/MatchingPage"}
    assert meetings == {"$ref": "#/components/schemas/SessionsPage"}
    assert schemas["Item"] == {"type": "object"}
    assert [t for g in merged["x-tagGroups"] for t in g["tags"]].count("matching/things") == 1


def test_a_renamed_component_takes_its_new_name_as_title() -> None:
    # Client generators name classes by title; two different "Page" classes would clash.
    titled = {"title": "Page", "type": "object", "properties": {"total": {"type": "integer"}}}
    merged = merge_openapi(gateway_doc(), {"matching": service_doc("Matching", "list_runs", "/v1/matching/runs", titled)})
    assert merged["components"]["schemas"]["MatchingPage"] == {**titled, "title": "MatchingPage"}
    # A generic's title ("Page[Delivery]") clashes the same way when two services page different items.
    generic = {**titled, "title": "Page[Delivery]"}
    gateway = gateway_doc()
    gateway["components"]["schemas"]["Page_Delivery_"] = {"title": "Page[Delivery]", "type": "object"}
    merged = merge_openapi(gateway, {"matching": service_doc("Matching", "list_runs", "/v1/matching/runs", generic)})
    titles = [s["title"] for s in merged["components"]["schemas"].values() if "title" in s]
    assert len(titles) == len(set(titles)) and "Page[Delivery]" in titles


def test_merge_notes_unavailable_services_and_resolves_operation_id_clashes() -> None:
    page = gateway_doc()["components"]["schemas"]["Page"]
    merged = merge_openapi(
        gateway_doc(),
        {
            "evaluation": {},
            "matching": service_doc("Matching", "list_things", "/v1/matching/things", page),
            "sessions": service_doc("Sessions", "list_things", "/v1/meetings", page),
        },
    )
    assert "unavailable when this document was built: evaluation" in merged["info"]["description"]
    ids = [op["operationId"] for op in operations(merged).values()]
    assert len(ids) == len(set(ids))
    assert operations(merged)["GET /v1/matching/things"]["operationId"] == "list_things"
    assert operations(merged)["GET /v1/meetings"]["operationId"] == "sessions_list_things"


def test_gateway_serves_the_merged_document_and_docs(make_gateway, nowhere: str) -> None:
    gw: Gateway = make_gateway(matching_url=nowhere, sessions_url=nowhere, evaluation_url=nowhere, notifications_url=nowhere)
    doc = gw.client.get("/openapi.json").json()
    assert doc["paths"]["/v1/institutions/{institution_id}"]["get"]["operationId"] == "get_institution"
    assert doc["paths"]["/v1/auth/token"]["post"]["operationId"] == "issue_token"
    assert doc["components"]["schemas"]["ParticipantsProblem"]["title"] == "Not the gateway's Problem"
    assert "evaluation, matching, notifications, sessions" in doc["info"]["description"]
    assert "/healthz" in doc["paths"] and "/internal/events" not in doc["paths"]
    docs = gw.client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    # The gateway's own document alone is what the app itself produces.
    assert "/v1/institutions/{institution_id}" not in gw.app.openapi()["paths"]


def test_every_gateway_operation_is_documented_with_problems(make_gateway) -> None:
    doc = make_gateway().app.openapi()
    for key, op in operations(doc).items():
        assert op.get("summary"), key
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")):
                # SCIM speaks its own error format (RFC 7644 §3.12) on /scim/v2 only.
                expected = "application/scim+json" if " /scim/v2" in key else "application/problem+json"
                assert expected in response["content"], (key, code)
    assert operations(doc)["POST /v1/admin/accounts"]["responses"].keys() >= {"201", "401", "403", "409", "422", "503"}
    body = doc["components"]["schemas"]["AccountCreate"]
    assert body["additionalProperties"] is False and body["examples"]


def test_tools_openapi_writes_and_checks_the_committed_documents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tools import openapi as tool

    assert tool.main(["write", "--dir", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.glob("*.json")}
    assert {"gateway.json", "aliada.json", "matching.json", "sessions.json", "evaluation.json"} <= names
    text = (tmp_path / "aliada.json").read_text()
    assert text.endswith("}\n") and json.loads(text)["paths"]["/v1/auth/token"]
    assert tool.main(["check", "--dir", str(tmp_path)]) == 0

    doc = json.loads((tmp_path / "gateway.json").read_text())
    doc["paths"]["/v1/auth/me"]["get"]["summary"] = "changed by hand"
    (tmp_path / "gateway.json").write_text(json.dumps(doc))
    (tmp_path / "matching.json").unlink()
    capsys.readouterr()
    assert tool.main(["check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "gateway.json: differs" in err and "changed: GET /v1/auth/me" in err
    assert "matching.json: missing" in err

