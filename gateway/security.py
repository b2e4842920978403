"""Secrets: password hashing, random secrets, constant-time comparisons.

Passwords are hashed with argon2id (argon2-cffi). Client secrets and refresh
tokens are 256-bit random strings: a single sha256 is enough for those (there
is nothing to brute-force) and keeps the token endpoint fast. Every comparison
of a secret is constant-time, and an unknown user or client costs the same
work as a wrong secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

REFRESH_TOKEN_PREFIX = "rt_"
CLIENT_SECRET_PREFIX = "cs_"
CLIENT_ID_PREFIX = "cli_"


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        # Verified when the account does not exist, so both paths cost the same.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


_DUMMY_SECRET_HASH = sha256_hex(secrets.token_urlsafe(32))


def secret_matches(stored_hash: str | None, presented: str) -> bool:
    """Constant-time check of a presented high-entropy secret against its hash."""
    return hmac.compare_digest(stored_hash or _DUMMY_SECRET_HASH, sha256_hex(presented)) and stored_hash is not None


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_client_secret() -> str:
    return CLIENT_SECRET_PREFIX + secrets.token_urlsafe(32)


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(12).replace("-", "a").replace("_", "b")


def new_family_id() -> str:
    return secrets.token_hex(16)


def new_password() -> str:
    return secrets.token_urlsafe(18)
