"""Settings of the notifications service (env prefix ``NOTIFICATIONS_``).

- ``NOTIFICATIONS_DATABASE_URL``: the database (embedded SQLite under var/ by default).
- ``NOTIFICATIONS_PARTICIPANTS_URL`` / ``_MATCHING_URL`` / ``_SESSIONS_URL``: the
  services whose outbox feeds it reads; participants also answers who a
  recipient is (``/internal/institutions/{id}/contacts/{account_id}``).
- ``NOTIFICATIONS_CLIENT_ID`` / ``_CLIENT_SECRET`` / ``_TOKEN_URL``: this service's
  client-credentials identity (scopes ``events:read`` and ``contacts:read``).
  Unset: no feed is read and nothing is sent.
- ``NOTIFICATIONS_SMTP_HOST`` / ``_SMTP_PORT`` / ``_SMTP_SECURITY`` (``none``,
  ``starttls`` or ``tls``) / ``_SMTP_USERNAME`` / ``_SMTP_PASSWORD`` /
  ``_SMTP_TIMEOUT_SECONDS``: the mail server.
- ``NOTIFICATIONS_MAIL_FROM``: the sender address; the display name is the
  institution's name. ``NOTIFICATIONS_REPLY_TO``: a JSON object, institution id
  to the address replies go to (none: replies go nowhere but the sender).
- ``NOTIFICATIONS_PUBLIC_BASE_URL``: the gateway as people reach it (unsubscribe
  links); ``NOTIFICATIONS_APP_BASE_URL``: the front end people use (confirm and
  profile links).
- ``NOTIFICATIONS_UNSUBSCRIBE_KEY``: the secret that signs unsubscribe links.
- ``NOTIFICATIONS_MAX_ATTEMPTS`` / ``_RETRY_BASE_SECONDS`` / ``_RETRY_CAP_SECONDS``:
  a temporary failure is retried after min(cap, base * 2**(n-1)) seconds, at
  most this many attempts in all; then the delivery is failed.
- ``NOTIFICATIONS_LEASE_SECONDS``: how long a replica holds a delivery it is
  sending; a replica that dies leaves it to another after this.
- ``NOTIFICATIONS_MAX_EVENT_AGE_HOURS``: an event older than this when it is read
  reaches the inbox but is not e-mailed (a first start on a platform with a
  history, a long outage).
- ``NOTIFICATIONS_DIGEST_EVERY_HOURS``: how long a message of a kind she gets as
  a digest waits, at most, before her digest gathers it.
- ``NOTIFICATIONS_QUIET_HOURS``: ``HH:MM-HH:MM`` in the recipient's own time zone
  (default ``21:00-08:00``; empty: none); a message due inside them waits until
  they end. ``NOTIFICATIONS_QUIET_HOURS_BY_INSTITUTION``: a JSON object,
  institution id to its own ``HH:MM-HH:MM`` (or ``""`` for none).
- ``NOTIFICATIONS_FEED_POLL_SECONDS`` / ``_DELIVERY_POLL_SECONDS`` /
  ``_REMINDER_POLL_SECONDS``: how often the feeds, the deliveries due and the
  reminders due are looked at.
"""

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from servicekit.settings import BaseServiceSettings

from services.notifications.domain.quiet import QuietHours


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    participants_url: str = "http://127.0.0.1:8001"
    matching_url: str = "http://127.0.0.1:8002"
    sessions_url: str = "http://127.0.0.1:8003"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    mail_from: str = "no-reply@aliada.local"
    reply_to: dict[str, str] = Field(default_factory=dict)
    public_base_url: str = "http://127.0.0.1:8000"
    app_base_url: str = "http://127.0.0.1:8000"
    unsubscribe_key: SecretStr = SecretStr("")
    max_attempts: int = Field(default=8, ge=1, le=50)
    retry_base_seconds: float = Field(default=30.0, gt=0)
    retry_cap_seconds: float = Field(default=3 * 3600.0, gt=0)
    lease_seconds: float = Field(default=120.0, gt=0, le=3600)
    max_event_age_hours: float = Field(default=72.0, gt=0)
    digest_every_hours: float = Field(default=24.0, gt=0, le=24 * 31)
    quiet_hours: str = "21:00-08:00"
    quiet_hours_by_institution: dict[str, str] = Field(default_factory=dict)
    feed_poll_seconds: float = Field(default=2.0, gt=0, le=3600)
    delivery_poll_seconds: float = Field(default=2.0, gt=0, le=3600)
    reminder_poll_seconds: float = Field(default=30.0, gt=0, le=3600)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        QuietHours.parse(value)
        return value

    @field_validator("quiet_hours_by_institution")
    @classmethod
    def _quiet_hours_by_institution(cls, value: dict[str, str]) -> dict[str, str]:
        for spec in value.values():
            QuietHours.parse(spec)
        return value

    def quiet_hours_of(self, institution_id: str) -> QuietHours | None:
        """The institution's quiet hours, else the default; None when there are none."""
        return QuietHours.parse(self.quiet_hours_by_institution.get(institution_id, self.quiet_hours))
