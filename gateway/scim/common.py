"""What the SCIM users and groups share: the caller, versions (ETags),
preconditions, request bodies and text checks."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Annotated, Any

from fastapi import Depends, Request
from scim2_models import ForbiddenException, InvalidSyntaxException, InvalidValueException, PreconditionFailedException

from servicekit.auth import Principal, client_scopes
from servicekit.inputs import find_unstorable
from servicekit import scopes

from gateway.edge import EdgePrincipal

SCIM_SCOPE = scopes.SCIM
PREFIX = "/scim/v2"
MAX_BODY_BYTES = 2 * 1024 * 1024


class Stale(Exception):
    """Another write changed the resource between our read and our write."""


@client_scopes(SCIM_SCOPE)
async def _scim_caller(principal: EdgePrincipal) -> Principal:
    """An integration client of one institution holding scope ``scim``.

    The token went through the edge (signature, expiry, revoked sessions);
    people's tokens, clients without the scope and clients of no institution
    get 403."""
    if not principal.is_client or SCIM_SCOPE not in principal.scopes:
        raise ForbiddenException(detail=f"SCIM needs an integration client token with scope {SCIM_SCOPE}")
    if not principal.tenant_id:
        raise ForbiddenException(detail="SCIM clients belong to one institution; this client belongs to none")
    return principal


ScimCaller = Annotated[Principal, Depends(_scim_caller)]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def version_tag(parts: Any) -> str:
    """A weak entity tag over the stored state of a resource (RFC 7644 §3.14)."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str, separators=(",", ":")).encode()).hexdigest()
    return f'W/"{digest[:20]}"'


def _opaque(tag: str) -> str:
    return tag.strip().removeprefix("W/").strip()


def _tags(header: str) -> list[str]:
    return [_opaque(t) for t in re.findall(r'(?:W/)?"[^"]*"|\*', header)]


def check_if_match(request: Request, current: str) -> bool:
    """412 when ``If-Match`` names other versions; returns whether it was sent.

    Weak comparison, as SCIM clients send back the weak tags they were given."""
    header = request.headers.get("if-match")
    if header is None:
        return False
    tags = _tags(header)
    if "*" in tags or _opaque(current) in tags:
        return True
    raise PreconditionFailedException(detail="The resource changed since the version given in If-Match")


def not_modified(request: Request, current: str) -> bool:
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = _tags(header)
    return "*" in tags or _opaque(current) in tags


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidValueException(detail=f"The request body exceeds {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        raise InvalidSyntaxException(detail="The request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="The request body must be a JSON object")
    found = find_unstorable(payload)  # servicekit's input rule
    if found is not None:
        where, what = found
        raise InvalidValueException(detail=f"The value at {where.lstrip('.') or 'the top'} contains {what}, which cannot be stored")
    return payload


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def text(value: str | None, attribute: str, *, max_length: int) -> str | None:
    """A free-text attribute: trimmed, no control characters, bounded; empty is unassigned."""
    if value is None:
        return None
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        return None
    if _CONTROL.search(value):
        raise InvalidValueException(detail=f"{attribute} must not contain control characters")
    if len(value) > max_length:
        raise InvalidValueException(detail=f"{attribute} is longer than {max_length} characters")
    return value
