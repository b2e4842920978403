"""Signed unsubscribe links: honoured without a login, so the link itself is the proof.

A token is ``<payload>.<signature>``, both base64url: the payload names the
institution, the account and the kind; the signature is HMAC-SHA256 of the
payload under the service's key. A token whose signature does not match, or
that is malformed, is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Unsubscribe:
    institution_id: str
    account_id: str
    kind: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def sign(key: bytes, what: Unsubscribe) -> str:
    payload = _b64(json.dumps([what.institution_id, what.account_id, what.kind], separators=(",", ":")).encode())
    return f"{payload}.{_signature(key, payload)}"


def verify(key: bytes, token: str) -> Unsubscribe | None:
    if not token.isascii():  # never one of ours (and compare_digest refuses non-ASCII text)
        return None
    payload, _, signature = token.partition(".")
    if not payload or not signature or not hmac.compare_digest(signature, _signature(key, payload)):
        return None
    try:
        institution_id, account_id, kind = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if not all(isinstance(v, str) for v in (institution_id, account_id, kind)):
        return None
    return Unsubscribe(institution_id, account_id, kind)
