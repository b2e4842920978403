"""Settings of the sessions service (env prefix ``SESSIONS_``).

- ``SESSIONS_DATABASE_URL``: the database (embedded SQLite under var/ by default).
- ``SESSIONS_MATCHING_URL``: the matching service, whose outbox feed
  (``/internal/events``) announces ``match.activated``, ``match.dissolved`` and
  ``match.completed``.
- ``SESSIONS_CLIENT_ID`` / ``SESSIONS_CLIENT_SECRET`` / ``SESSIONS_TOKEN_URL``: this
  service's client-credentials identity (scopes ``events:read`` and
  ``accounts:read``). Unset: the feed consumer does not run, and calendar feeds
  answer 503 (their owners' status cannot be checked).
- ``SESSIONS_FEED_POLL_SECONDS``: how often the feed is polled (up to four times
  less often while it is quiet: ``servicekit.consumer``).
- ``SESSIONS_OVERDUE_SWEEP_SECONDS``: how often overdue feedback forms are
  announced (``feedback.overdue``) by the background sweep; 0 switches it off.
- ``SESSIONS_HEALTH_SWEEP_SECONDS``: how often the background sweep assesses
  again the programs whose stored assessment is older than 45 minutes (so that
  no request meets an expired one); 0 switches it off, and a request that meets
  an expired assessment makes it first.
- ``SESSIONS_PUBLIC_BASE_URL``: the public base of calendar feed URLs (the gateway).
- ``SESSIONS_GATEWAY_URL``: the gateway as the services reach it (in-cluster),
  asked whether a calendar feed's owner is still active
  (``/internal/accounts/{id}/status``, with this service's client token, scope
  ``accounts:read``).
- ``SESSIONS_ACCOUNT_STATUS_CACHE_SECONDS``: how long that answer is reused: a
  suspended owner's feed stops answering at most this long after the suspension
  (docs/security.md, "Calendar feeds").
"""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SESSIONS_", extra="ignore")

    service_name: str = "sessions"
    matching_url: str = "http://127.0.0.1:8002"
    feed_poll_seconds: float = Field(default=2.0, gt=0, le=3600)
    overdue_sweep_seconds: float = Field(default=60.0, ge=0, le=86400)
    health_sweep_seconds: float = Field(default=300.0, ge=0, le=86400)
    public_base_url: str = "http://127.0.0.1:8000"
    gateway_url: str = "http://127.0.0.1:8000"
    account_status_cache_seconds: float = Field(default=30.0, ge=0, le=300)
