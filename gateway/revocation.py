"""The edge denylist of revoked sessions (token families).

Access tokens carry ``sid``, the id of their token family (a login session, or
an API client's current generation). Revoking a family (refresh-token reuse,
``/v1/auth/revoke``, suspension, password reset, deletion) sets ``revoked_at``
in the database, so every replica agrees.

Checking a token must stay cheap, so no query runs per request: each replica
holds the set of families revoked recently enough that one of their access
tokens could still be alive (``revoked_at`` within access ttl + leeway + a
margin), and re-reads that small set at most every ``revocation_cache_seconds``
(one query for all requests, not one per request). Revocations made by this
replica apply at once. If the database cannot be read, the last known set is
kept and the read is retried on the next interval.

With ``GATEWAY_REVOCATION_STORAGE`` a Redis URI, every revocation is also
written to the shared deny-list the services read (``servicekit.revocation``):
at once by the replica that commits it, and again by every replica from its
periodic read of the database (so a failed write is repaired within
``revocation_cache_seconds`` of the next request this replica serves).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import anyio.to_thread
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from servicekit.revocation import RedisDenyList

from gateway.models import TokenFamily

log = logging.getLogger("gateway.revocation")

# Tokens minted by a refresh that raced with the revocation are covered too.
MARGIN_SECONDS = 60


class RevokedSessions:
    def __init__(
        self,
        engine: Engine,
        *,
        access_token_ttl: int,
        leeway_seconds: int,
        refresh_seconds: float,
        deny_list: RedisDenyList | None = None,
    ) -> None:
        self.engine = engine
        self.deny_list = deny_list
        self._published: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._window = access_token_ttl + leeway_seconds + MARGIN_SECONDS
        self._refresh_every = refresh_seconds
        self._revoked: frozenset[str] = frozenset()
        self._local: dict[str, float] = {}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    def _load(self) -> frozenset[str]:
        since = datetime.now(UTC) - timedelta(seconds=self._window)
        with Session(self.engine) as session:
            rows = session.exec(select(TokenFamily.id).where(col(TokenFamily.revoked_at) >= since)).all()
        return frozenset(rows)

    async def refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._loaded_at < self._refresh_every:
                return
            try:
                revoked = await anyio.to_thread.run_sync(self._load)
            except Exception:
                log.warning("could not read revoked sessions; keeping the last known set", exc_info=True)
                revoked = self._revoked
            now = time.monotonic()
            self._revoked, self._loaded_at = revoked, now
            self._local = {sid: t for sid, t in self._local.items() if now - t < self._window}
        await self._publish(revoked - self._published)

    async def _publish(self, sids: Iterable[str]) -> None:
        """Write revoked families to the shared deny-list (when there is one)."""
        sids = set(sids)
        if self.deny_list is None or not sids:
            return
        try:
            await self.deny_list.add(sids, self._window)
        except Exception as exc:  # noqa: BLE001 - retried from the next read of the database
            log.warning("could not write revoked sessions to the shared deny-list", extra={"error": type(exc).__name__})
            return
        self._published |= sids
        if len(self._published) > 100_000:
            self._published = set(sids)

    async def is_revoked(self, sid: str) -> bool:
        if time.monotonic() - self._loaded_at >= self._refresh_every:
            await self.refresh()
        return sid in self._revoked or sid in self._local

    def note(self, sids: Iterable[str]) -> None:
        """Revocations this replica just committed apply immediately here."""
        now = time.monotonic()
        sids = list(sids)
        for sid in sids:
            self._local[sid] = now
        if self.deny_list is not None and sids:
            try:
                task = asyncio.get_running_loop().create_task(self._publish(sids))
            except RuntimeError:  # no loop here: the next refresh publishes them
                return
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.deny_list is not None:
            await self.deny_list.close()
