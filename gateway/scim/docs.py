"""The OpenAPI description of ``/scim/v2``.

Request and response bodies are described by the JSON schemas of the very
scim2-models classes the endpoints read and write (``ScimUser``,
``PatchOp[ScimUser]``...), published under ``components/schemas/Scim*``.
Every error of these operations is documented as ``application/scim+json``
with the ``ScimError`` schema (servicekit's rewrite to problem+json is undone
for ``/scim/v2`` by ``scim_openapi``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from pydantic.json_schema import models_json_schema
from scim2_models import Error, ListResponse, PatchOp, ResourceType, Schema, SearchRequest, ServiceProviderConfig

from gateway.scim.errors import SCIM_MEDIA_TYPE
from gateway.scim.resources import ALIADA_GROUP_SCHEMA, ALIADA_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, ScimGroup, ScimUser

PREFIX = "/scim/v2"
_REF = "#/components/schemas/"

_DESCRIPTIONS = {
    200: "The resource",
    201: "Created; `Location` and `ETag` name the new resource and its version",
    204: "Done",
    304: "Not modified since the version given in If-None-Match",
    400: "Invalid request (`scimType`: invalidFilter, invalidSyntax, invalidValue, invalidPath, mutability...)",
    401: "Missing, expired, revoked or invalid access token",
    403: "Not an integration client of an institution with scope scim",
    404: "No such resource in the caller's institution",
    405: "Method not allowed",
    409: "A unique attribute (userName, displayName, a participant external id) is taken (`scimType` uniqueness)",
    412: "The resource changed since the version given in If-Match",
    500: "Unexpected server error",
    501: "Not implemented",
    503: "The participants service is unavailable: nothing was written",
    504: "The participants service did not answer in time: nothing was written",
}

_MODELS: dict[str, Any] = {
    "ScimUser": ScimUser,
    "ScimGroup": ScimGroup,
    "ScimUserList": ListResponse[ScimUser],  # type: ignore[index]
    "ScimGroupList": ListResponse[ScimGroup],  # type: ignore[index]
    "ScimPatchOp": PatchOp[ScimUser],  # type: ignore[index]
    "ScimSearchRequest": SearchRequest[ScimUser],  # type: ignore[index]
    "ScimError": Error,
    "ScimServiceProviderConfig": ServiceProviderConfig,
    "ScimResourceType": ResourceType,
    "ScimResourceTypeList": ListResponse[ResourceType],  # type: ignore[index]
    "ScimSchema": Schema,
    "ScimSchemaList": ListResponse[Schema],  # type: ignore[index]
}

EXAMPLES: dict[str, Any] = {
    "user": {
        "schemas": [USER_SCHEMA, ALIADA_USER_SCHEMA],
        "userName": "ana.lopez@uni.example",
        "externalId": "00u1a2b3c4",
        "name": {"givenName": "Ana", "familyName": "López"},
        "displayName": "Ana López",
        "active": True,
        "emails": [{"value": "ana.lopez@uni.example", "type": "work", "primary": True}],
        ALIADA_USER_SCHEMA: {"sisId": "A0012345"},
    },
    "patch_user": {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    },
    "group": {
        "schemas": [GROUP_SCHEMA, ALIADA_GROUP_SCHEMA],
        "displayName": "Aliada mentoras 2027",
        "members": [{"value": "0190f1c2-7a51-7d3c-9b1e-3f2a1c0d9e8f"}],
        ALIADA_GROUP_SCHEMA: {"role": "mentor"},
    },
    "patch_group": {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": "0190f1c2-7a51-7d3c-9b1e-3f2a1c0d9e8f"}]}],
    },
}


def _content(name: str) -> dict[str, Any]:
    return {SCIM_MEDIA_TYPE: {"schema": {"$ref": _REF + name}}}


def responses(success: int | None, component: str | None, *errors: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a SCIM route: its success body and its SCIM errors."""
    out: dict[int | str, dict[str, Any]] = {}
    if success is not None:
        entry: dict[str, Any] = {"description": _DESCRIPTIONS[success]}
        if component:
            entry["content"] = _content(component)
        if success in (200, 201):
            entry["headers"] = {"ETag": {"description": "The resource's version.", "schema": {"type": "string"}}}
        out[success] = entry
    for code in (*errors, 500):
        out[code] = {"description": _DESCRIPTIONS[code], "content": _content("ScimError")}
    return out


def body(component: str, example: str | None = None) -> dict[str, Any]:
    """``openapi_extra=`` documenting a SCIM request body."""
    media: dict[str, Any] = {"schema": {"$ref": _REF + component}}
    if example is not None:
        media["example"] = EXAMPLES[example]
    return {"requestBody": {"required": True, "content": {SCIM_MEDIA_TYPE: media}}}


def _sanitize(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", name)


def components() -> dict[str, Any]:
    """The ``Scim*`` component schemas, from the scim2-models classes (one
    pydantic pass over all of them, so a class shared by several bodies is one
    component; each title is its component name, so generated clients get
    distinct model names)."""
    names = {model: name for name, model in _MODELS.items()}
    refs, schema = models_json_schema([(model, "validation") for model in _MODELS.values()], ref_template="#/$defs/{model}")
    defs: dict[str, Any] = schema.get("$defs", {})
    renames: dict[str, str] = {}
    for (model, _mode), ref in refs.items():
        renames[ref["$ref"].rsplit("/", 1)[-1]] = names[model]
    taken = set(renames.values())
    for name in defs:
        if name not in renames:
            # pydantic qualifies clashing names with their module path
            # (scim2_models__resources__schema__Attribute__Type): keep the class path.
            target = "Scim" + _sanitize("".join(name.split("__")[-2:]))
            while target in taken:
                target += "Part"
            renames[name] = target
            taken.add(target)
    # SCIM references may be relative (ResourceType.endpoint is "/Users"):
    # RFC 7643 §2.3.7 makes them URI references.
    text = json.dumps(defs).replace('"format": "uri"', '"format": "uri-reference"')
    for name, target in renames.items():
        text = text.replace(json.dumps(f"#/$defs/{name}"), json.dumps(_REF + target))
    out = {renames[name]: definition for name, definition in json.loads(text).items()}
    for name, definition in out.items():
        definition["title"] = name
    # RFC 7644 §3.12: the status of an error is a JSON string ("404"), as
    # scim2-models writes it; its validation schema reads integers too.
    out["ScimError"]["properties"]["status"] = {
        "type": "string",
        "pattern": "^[1-5][0-9]{2}$",
        "description": "The HTTP status code, as a string.",
        "examples": ["404"],
    }
    return out


def scim_openapi(openapi: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Wrap ``app.openapi``: SCIM errors and bodies are application/scim+json."""

    def document() -> dict[str, Any]:
        doc = openapi()  # servicekit caches it: rewrite it once
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        if "ScimUser" in schemas:
            return doc
        schemas.update(components())
        for path, item in doc.get("paths", {}).items():
            if not path.startswith(PREFIX):
                continue
            for op in item.values():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                op["responses"].pop("422", None)
                for code, response in op["responses"].items():
                    if code[0] in "45":
                        response["content"] = _content("ScimError")
                        response["description"] = _DESCRIPTIONS.get(int(code), response.get("description", ""))
                    elif code in ("204", "304"):
                        response.pop("content", None)
                    elif code in ("200", "201"):
                        content = response.get("content", {})
                        media = content.get(SCIM_MEDIA_TYPE) or {}
                        ref = media.get("schema", {}).get("$ref")
                        if ref is None:
                            response.pop("content", None)
                        else:  # FastAPI adds "type": "string" for a non-JSON response class
                            response["content"] = {SCIM_MEDIA_TYPE: {**media, "schema": {"$ref": ref}}}
        return doc

    return document
