"""The gateway's RS256 signing keys: stored in its database, shared by replicas.

Life of a key: ``active`` (signs new tokens; exactly one, enforced by a unique
``active_marker``) -> ``retiring`` (after a rotation: no longer signs, but stays
in the JWKS until ``retire_after`` = rotation time + access-token ttl + leeway
+ grace, so every token it signed expires first) -> ``retired`` (dropped from
the JWKS; its private key is wiped).

Encryption at rest: when ``GATEWAY_KEY_ENCRYPTION_KEY`` is set (one Fernet key,
or several comma-separated for a MultiFernet where the first encrypts), private
keys are written Fernet-encrypted and decrypted on load; without it they are
stored as plain PEM (fine for a laptop, not for production). A database holding
encrypted keys refuses to load without the key.

Replicas: each one keeps the keys in memory (parsed once per kid) and re-reads
the table every ``key_reload_seconds`` and whenever a token arrives with a kid
it does not know (throttled), so a rotation made on one replica is picked up by
the others for signing, for the JWKS and for verification.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from servicekit.auth import KeySource, StaticKeySource, VerificationKey
from servicekit.tokens import SigningKey

from gateway.config import Settings
from gateway.models import SigningKeyRecord

log = logging.getLogger("gateway.keys")

ACTIVE, RETIRING, RETIRED = "active", "retiring", "retired"
# An unknown kid reloads the keys at most this often (a flood of random kids
# must not become a flood of queries).
UNKNOWN_KID_RELOAD_INTERVAL = 1.0


def _now() -> datetime:
    return datetime.now(UTC)


def fernet_for(settings: Settings) -> MultiFernet | None:
    if settings.key_encryption_key is None:
        return None
    raw = [k.strip() for k in settings.key_encryption_key.get_secret_value().split(",") if k.strip()]
    if not raw:
        return None
    try:
        return MultiFernet([Fernet(k.encode()) for k in raw])
    except ValueError as exc:
        raise RuntimeError("GATEWAY_KEY_ENCRYPTION_KEY must be Fernet keys (urlsafe base64, 32 bytes)") from exc


class KeyRing:
    """Signing keys of this replica, backed by the ``signing_keys`` table."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self._fernet = fernet_for(settings)
        self._publish_for = timedelta(
            seconds=settings.access_token_ttl + settings.jwt_leeway_seconds + settings.key_rotation_grace
        )
        self._reload_every = settings.key_reload_seconds
        self.source = StaticKeySource({"keys": []})
        self._parsed: dict[str, SigningKey] = {}
        self._active: SigningKey | None = None
        self._published: list[dict[str, Any]] = []
        self._loaded_at = float("-inf")
        self._unknown_kid_reload_at = float("-inf")
        self._lock = asyncio.Lock()
        # Bumped whenever the set of published keys changes (caches of
        # verified tokens compare it).
        self.generation = 0

    # -- storage (sync, run in a worker thread) -------------------------------

    def _seal(self, pem: str) -> tuple[str, bool]:
        if self._fernet is None:
            return pem, False
        return self._fernet.encrypt(pem.encode()).decode(), True

    def _open(self, record: SigningKeyRecord) -> str:
        if not record.encrypted:
            return record.private_key
        if self._fernet is None:
            raise RuntimeError(
                f"signing key {record.kid} is encrypted at rest: set GATEWAY_KEY_ENCRYPTION_KEY to load it"
            )
        try:
            return self._fernet.decrypt(record.private_key.encode()).decode()
        except InvalidToken as exc:
            raise RuntimeError(f"signing key {record.kid} cannot be decrypted with GATEWAY_KEY_ENCRYPTION_KEY") from exc

    def ensure_active_key(self) -> None:
        """Create the first key if there is none (safe when replicas race)."""
        with Session(self.engine) as session:
            if session.exec(select(SigningKeyRecord).where(SigningKeyRecord.status == ACTIVE)).first() is not None:
                return
            key = SigningKey.generate()
            sealed, encrypted = self._seal(key.private_pem)
            session.add(
                SigningKeyRecord(kid=key.kid, private_key=sealed, encrypted=encrypted, status=ACTIVE, active_marker=True)
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # another replica created it first
                return
        log.info("created the first signing key", extra={"kid": key.kid})

    def load(self) -> None:
        """Re-read the table: retire what is due, parse new keys, publish."""
        now = _now()
        with Session(self.engine) as session:
            due = session.exec(
                select(SigningKeyRecord.kid).where(
                    SigningKeyRecord.status == RETIRING, col(SigningKeyRecord.retire_after) <= now
                )
            ).all()
            if due:
                session.execute(
                    update(SigningKeyRecord)
                    .where(col(SigningKeyRecord.kid).in_(due), SigningKeyRecord.status == RETIRING)
                    .values(status=RETIRED, private_key="", encrypted=False)
                )
                session.commit()
                log.info("retired signing keys", extra={"kids": list(due)})
            rows = session.exec(
                select(SigningKeyRecord)
                .where(col(SigningKeyRecord.status).in_((ACTIVE, RETIRING)))
                .order_by(col(SigningKeyRecord.created_at).desc())
            ).all()
        active: SigningKey | None = None
        published: list[dict[str, Any]] = []
        parsed: dict[str, SigningKey] = {}
        for row in rows:
            key = self._parsed.get(row.kid)
            if key is None:
                key = SigningKey(self._open(row), kid=row.kid)
            parsed[row.kid] = key
            published.append(key.public_jwk)
            if row.status == ACTIVE and active is None:
                active = key
        if active is None:
            raise RuntimeError("no active signing key: the gateway's startup creates one (is the database migrated?)")
        if set(parsed) != set(self._parsed) or not self._published:
            self.generation += 1
        self._parsed, self._active, self._published = parsed, active, published
        self.source.replace({"keys": published})
        self._loaded_at = time.monotonic()

    def rotate(self) -> str:
        """Make a new active key; the current one becomes ``retiring``."""
        key = SigningKey.generate()
        sealed, encrypted = self._seal(key.private_pem)
        now = _now()
        with Session(self.engine) as session:
            session.execute(
                update(SigningKeyRecord)
                .where(SigningKeyRecord.status == ACTIVE)
                .values(status=RETIRING, active_marker=None, retire_after=now + self._publish_for)
            )
            session.flush()
            session.add(
                SigningKeyRecord(
                    kid=key.kid, private_key=sealed, encrypted=encrypted, status=ACTIVE, active_marker=True, created_at=now
                )
            )
            session.commit()  # IntegrityError: a concurrent rotation won (answered 409)
        log.info("rotated signing keys", extra={"kid": key.kid})
        return key.kid

    def records(self) -> list[SigningKeyRecord]:
        with Session(self.engine) as session:
            return list(session.exec(select(SigningKeyRecord).order_by(col(SigningKeyRecord.created_at).desc())).all())

    # -- async API ------------------------------------------------------------

    async def reload(self) -> None:
        async with self._lock:
            await anyio.to_thread.run_sync(self.load)

    async def _refresh_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at < self._reload_every and self._active is not None:
            return
        async with self._lock:
            if time.monotonic() - self._loaded_at < self._reload_every and self._active is not None:
                return
            await anyio.to_thread.run_sync(self.load)

    async def active_key(self) -> SigningKey:
        await self._refresh_if_stale()
        assert self._active is not None
        return self._active

    async def jwks(self) -> dict[str, Any]:
        await self._refresh_if_stale()
        return {"keys": list(self._published)}

    async def verification_key(self, kid: str) -> VerificationKey | None:
        key = await self.source.get(kid)
        if key is not None:
            return key
        now = time.monotonic()
        if now - self._unknown_kid_reload_at < UNKNOWN_KID_RELOAD_INTERVAL:
            return None
        self._unknown_kid_reload_at = now
        try:
            await self.reload()
        except Exception:  # the database is down: refuse the token, keep serving
            log.warning("could not reload signing keys", exc_info=True)
            return None
        return await self.source.get(kid)

    def key_source(self) -> KeySource:
        return _RingKeySource(self)


class _RingKeySource(KeySource):
    """The ring's in-process StaticKeySource, reloaded on an unknown kid."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    async def get(self, kid: str) -> VerificationKey | None:
        return await self._ring.verification_key(kid)
