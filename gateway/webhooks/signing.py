"""Webhook secrets and Standard Webhooks signatures.

- A secret is ``whsec_`` + base64 of 32 random bytes, generated here and shown
  once (on creation and on each rotation); the gateway must sign with it, so it
  keeps the secret itself, Fernet-encrypted at rest when
  ``GATEWAY_KEY_ENCRYPTION_KEY`` is set (the same keys as the signing keys).
- Headers: ``webhook-id`` (the event id: the same for every attempt, so
  receivers deduplicate by it), ``webhook-timestamp`` (seconds, the attempt's
  time) and ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` computed by the
  ``standardwebhooks`` package, one entry per valid secret separated by spaces,
  so a receiver still holding the previous secret keeps verifying during a
  rotation.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography.fernet import InvalidToken, MultiFernet
from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
_ENCRYPTED = "f1:"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


class SecretBox:
    """Stores secrets encrypted when a key is configured, and reads both forms
    (a key configured later still reads the secrets stored before it)."""

    def __init__(self, fernet: MultiFernet | None) -> None:
        self._fernet = fernet

    def seal(self, secret: str) -> str:
        if self._fernet is None:
            return secret
        return _ENCRYPTED + self._fernet.encrypt(secret.encode("ascii")).decode("ascii")

    def open(self, stored: str) -> str:
        if stored.startswith(_ENCRYPTED):
            if self._fernet is None:
                raise RuntimeError("A webhook secret is encrypted but GATEWAY_KEY_ENCRYPTION_KEY is not set")
            try:
                return self._fernet.decrypt(stored[len(_ENCRYPTED):].encode("ascii")).decode("ascii")
            except InvalidToken:
                raise RuntimeError("A webhook secret cannot be decrypted with GATEWAY_KEY_ENCRYPTION_KEY") from None
        return stored


def signature_headers(secrets_: Sequence[str], msg_id: str, body: str, when: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt, signed with every secret
    given (the current one first)."""
    if not secrets_:
        raise ValueError("at least one secret is needed to sign")
    when = when or datetime.now(UTC)
    signatures = " ".join(Webhook(s).sign(msg_id, when, body) for s in secrets_)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signatures,
    }
