"""Signing access tokens (used by the gateway, and by tests to mint tokens).

A ``SigningKey`` parses its PEM once; signing then costs well under a
millisecond instead of re-validating the key on every call.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jws
from jose.backends.base import Key

from servicekit.auth import ACCESS_TOKEN_TYP


def generate_rsa_private_pem(bits: int = 2048) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _b64u_uint(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class SigningKey:
    private_pem: str
    kid: str = ""
    alg: str = "RS256"
    _key: Key = field(init=False, repr=False)
    public_jwk: dict[str, Any] = field(init=False)
    public_pem: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        private = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError("only RSA keys are supported")
        public = private.public_key()
        numbers = public.public_numbers()
        self.public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        if not self.kid:
            # RFC 7638 thumbprint: stable for the same key.
            canonical = f'{{"e":"{_b64u_uint(numbers.e)}","kty":"RSA","n":"{_b64u_uint(numbers.n)}"}}'
            self.kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
        self.public_jwk = {
            "kty": "RSA",
            "use": "sig",
            "alg": self.alg,
            "kid": self.kid,
            "n": _b64u_uint(numbers.n),
            "e": _b64u_uint(numbers.e),
        }
        self._key = jwk.construct(self.private_pem, self.alg)

    @classmethod
    def generate(cls, kid: str = "") -> SigningKey:
        return cls(generate_rsa_private_pem(), kid=kid)

    def sign(self, claims: dict[str, Any], *, headers: dict[str, Any] | None = None) -> str:
        hdr = {"typ": ACCESS_TOKEN_TYP, "kid": self.kid}
        if headers:
            hdr.update(headers)
        return jws.sign(claims, self._key, headers=hdr, algorithm=self.alg)


def access_claims(
    *,
    issuer: str,
    audience: str,
    subject: str,
    tenant_id: str | None,
    roles: list[str],
    scope: str = "",
    ttl_seconds: int = 900,
    now: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "roles": roles,
        "scope": scope,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if tenant_id is not None:
        claims["tid"] = tenant_id
    claims.update(extra)
    return claims
