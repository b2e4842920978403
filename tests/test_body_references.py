"""Every id inside a request body is checked like an id in a path, or says why not.

The fields are read from the committed OpenAPI documents (each service's own, /internal included): every property
of a request body named ``*_id``/``*_ids``/``id`` or typed as a UUID, in nested objects and list items too. Each must be
declared to ``servicekit.references`` for its operation (checked against the tenant and the parent object, one 422
``unknown-reference`` answer), or be listed below with the reason it needs no such check. A new id field in a body
fails here until it is one or the other; a declaration or an exemption that no longer matches a field fails too.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

from servicekit.references import declared
from tools.stack import REPO

DOCUMENTS = ("gateway", "participants", "matching", "sessions", "evaluation", "notifications")
# Importing an app's routers registers its declarations.
APPS = ("gateway.main", "services.participants.main", "services.matching.main", "services.sessions.main", "services.evaluation.main",
        "services.notifications.main")
ID_NAME = re.compile(r"(^id|_id|_ids)$")

# Why these ids need no reference check of their own. Kinds of reasons:
ADDRESSED = "the object the request acts on, resolved with the caller's authorization like a path id (404/403 when not hers)"
CHECKED_UPSTREAM = "resolved in the service that owns it, with the caller's token (404 for another institution's)"
EXTERNAL = "an identifier from another system (LMS, HR, SIS, xAPI IRI), matched or stored as text, not a reference to a record here"
LOCAL_KEY = "a key inside the same document (a criterion, section, item, subscale), not a reference to another record"
INTERNAL = "/internal data-subject call: service-to-service, scoped by the caller's service token; names her, not a record"
PLATFORM = "set by a platform admin (or at sign-up) and checked against participants by the gateway (422 unknown-reference)"
SCIM = "SCIM resource id: the server assigns it; a client value is ignored (RFC 7644)"

EXEMPT: dict[tuple[str, str, str], str] = {
    # gateway
    ("gateway", "create_scim_group", "body.id"): SCIM,
    ("gateway", "replace_scim_group", "body.id"): SCIM,
    ("gateway", "create_scim_user", "body.id"): SCIM,
    ("gateway", "replace_scim_user", "body.id"): SCIM,
    ("gateway", "create_account", "body.institution_id"): PLATFORM,
    ("gateway", "update_account", "body.institution_id"): PLATFORM,
    ("gateway", "create_client", "body.institution_id"): PLATFORM,
    ("gateway", "update_client", "body.institution_id"): PLATFORM,
    ("gateway", "create_identity_provider", "body.institution_id"): PLATFORM,
    ("gateway", "sign_up", "body.institution_id"): PLATFORM,
    ("gateway", "create_webhook_subscription", "body.institution_id"): PLATFORM + "; a coordinator's own institution otherwise",
    ("gateway", "issue_token", "body.client_id"): "OAuth client credentials: authenticated, not a reference",
    ("gateway", "create_data_subject_request", "body.account_id"): ADDRESSED,
    # participants
    ("participants", "create_application", "body.program_id"): ADDRESSED + "; 422 unknown_program when no open call of her institution",
    ("participants", "create_program", "body.criteria[].id"): LOCAL_KEY,
    ("participants", "update_program", "body.criteria[].id"): LOCAL_KEY,
    ("participants", "put_xapi_settings", "body.actor_id"): "a choice between lms_id and sis_id (an enum), not an id",
    ("participants", "update_my_participant", "body.hr_id"): EXTERNAL,
    ("participants", "update_my_participant", "body.lms_id"): EXTERNAL,
    ("participants", "update_my_participant", "body.sis_id"): EXTERNAL,
    ("participants", "update_participant", "body.hr_id"): EXTERNAL,
    ("participants", "update_participant", "body.lms_id"): EXTERNAL,
    ("participants", "update_participant", "body.sis_id"): EXTERNAL,
    ("participants", "provision_participant", "body.hr_id"): EXTERNAL,
    ("participants", "provision_participant", "body.lms_id"): EXTERNAL,
    ("participants", "provision_participant", "body.sis_id"): EXTERNAL,
    ("participants", "create_training_module", "body.lms_activity_id"): EXTERNAL,
    ("participants", "update_training_module", "body.lms_activity_id"): EXTERNAL,
    ("participants", "record_completion", "body.external_id"): EXTERNAL,
    ("participants", "record_completion", "body.lms_id"): EXTERNAL,
    ("participants", "record_completion", "body.participant_id"): (
        "a current member of the module's program, found with her lms_id alternative in one locked query; its 422 "
        "code not_a_member is documented for LMS integrators (docs/integrations/lms.md)"),
    ("participants", "record_lms_completion", "body.external_id"): EXTERNAL,
    ("participants", "record_lms_completion", "body.institution_id"): "must equal the client's own tid (403 otherwise); a platform client names it",
    ("participants", "store_xapi_statements", "body.id"): EXTERNAL,
    ("participants", "store_xapi_statements", "body.object.id"): EXTERNAL,
    ("participants", "store_xapi_statements", "body.verb.id"): EXTERNAL,
    ("participants", "store_xapi_statements", "body[].id"): EXTERNAL,
    ("participants", "store_xapi_statements", "body[].object.id"): EXTERNAL,
    ("participants", "store_xapi_statements", "body[].verb.id"): EXTERNAL,
    # evaluation
    ("evaluation", "create_administration", "body.program_id"): CHECKED_UPSTREAM,
    ("evaluation", "create_administration", "body.instrument_id"): "a built-in instrument or one of her institution's (404 otherwise)",
    ("evaluation", "patch_instrument", "body.sections[].id"): LOCAL_KEY,
    ("evaluation", "patch_instrument", "body.sections[].items[].id"): LOCAL_KEY,
    ("evaluation", "patch_instrument", "body.subscales[].id"): LOCAL_KEY,
    ("evaluation", "revise_instrument", "body.sections[].id"): LOCAL_KEY,
    ("evaluation", "revise_instrument", "body.sections[].items[].id"): LOCAL_KEY,
    ("evaluation", "revise_instrument", "body.subscales[].id"): LOCAL_KEY,
    ("evaluation", "create_interview_guide", "body.program_id"): CHECKED_UPSTREAM,
    ("evaluation", "propose_interview_sample", "body.program_id"): CHECKED_UPSTREAM,
    ("evaluation", "record_interview", "body.program_id"): CHECKED_UPSTREAM,
    ("evaluation", "record_interview", "body.guide_id"): "a guide of the program for her role (422 naming body.guide_id)",
    ("evaluation", "record_interview", "body.participant_id"): (
        "a current member consenting to research, read from participants' research roster (409 consent_required)"),
    ("evaluation", "swap_interview_sample_pick", "body.participant_id"): (
        "a candidate of the program's research roster, read from participants (422 not_a_candidate)"),
    ("evaluation", "create_program_coding", "body.response_id"): "a submitted response of the path's program (422 naming body.response_id)",
    # sessions
    ("sessions", "create_diary_entry", "body.dyad_id"): ADDRESSED,
    ("sessions", "create_objective", "body.dyad_id"): ADDRESSED,
    ("sessions", "submit_feedback", "body.meeting_id"): ADDRESSED,
}
for _service in ("participants", "matching", "sessions", "evaluation", "notifications"):
    for _op in ("export_data_subject_internal", "erase_data_subject_internal"):
        for _field in ("body.account_id", "body.institution_id", "body.participant_ids"):
            EXEMPT[(_service, _op, _field)] = INTERNAL
EXEMPT[("participants", "resolve_data_subject_internal", "body.account_id")] = INTERNAL
EXEMPT[("participants", "resolve_data_subject_internal", "body.institution_id")] = INTERNAL


def _fields(doc: dict[str, Any], schema: dict[str, Any], path: str, seen: frozenset[str]) -> set[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return set()
        schema, seen = doc["components"]["schemas"][name], seen | {name}
    out: set[str] = set()
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            out |= _fields(doc, sub, path, seen)
    if schema.get("type") == "array" and "items" in schema:
        out |= _fields(doc, schema["items"], path + "[]", seen)
    for name, sub in schema.get("properties", {}).items():
        here = f"{path}.{name}"
        if ID_NAME.search(name) or _is_uuid(doc, sub):
            out.add(here)
        out |= _fields(doc, sub, here, seen)
    return out


def _is_uuid(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    if schema.get("format") == "uuid":
        return True
    if schema.get("type") == "array":
        return _is_uuid(doc, schema.get("items", {}))
    return any(_is_uuid(doc, s) for s in schema.get("anyOf", []))


def body_id_fields() -> dict[tuple[str, str, str], str]:
    """(document, operation id, field) -> "METHOD path" of every id field in a request body."""
    found: dict[tuple[str, str, str], str] = {}
    for name in DOCUMENTS:
        doc = json.loads((REPO / "openapi" / f"{name}.json").read_text())
        for url, item in doc["paths"].items():
            for method, op in item.items():
                if not isinstance(op, dict) or "requestBody" not in op:
                    continue
                for content in op["requestBody"]["content"].values():
                    for field in _fields(doc, content.get("schema", {}), "body", frozenset()):
                        found[(name, op["operationId"], field.removesuffix("[]"))] = f"{method.upper()} {url}"
    return found


def _declared() -> set[tuple[str, str]]:
    for module in APPS:
        importlib.import_module(module)
    return {(op, field.removesuffix("[]")) for op, fields in declared(within=("gateway.", "services.")).items() for field in fields}


def test_every_id_in_a_body_is_checked_or_exempt_with_a_reason() -> None:
    fields = body_id_fields()
    checked = _declared()
    unchecked = sorted(f"{where} {field} ({doc}: {op})" for (doc, op, field), where in fields.items()
                       if (op, field) not in checked and (doc, op, field) not in EXEMPT)
    assert unchecked == [], "declare these to servicekit.references, or exempt them with a reason:\n" + "\n".join(unchecked)


def test_no_declaration_or_exemption_is_stale() -> None:
    fields = body_id_fields()
    present = {(op, field) for (_, op, field) in fields}
    stale_declared = sorted(d for d in _declared() if d not in present)
    assert stale_declared == [], f"declared to servicekit.references but no such body field: {stale_declared}"
    stale_exempt = sorted(k for k in EXEMPT if k not in fields)
    assert stale_exempt == [], f"exempt but no such body field: {stale_exempt}"
    assert not [k for k in EXEMPT if (k[1], k[2]) in _declared()], "a field is both declared and exempt"
    assert all(reason.strip() for reason in EXEMPT.values())


def test_the_attendance_of_the_review_is_declared() -> None:
    """The finding that started this (issue 14, finding 8): group-event attendance for anyone, stored."""
    assert ("record_attendance", "body.records[].participant_id") in _declared()
