"""Settings of the matching service (env prefix ``MATCHING_``).

- ``MATCHING_PARTICIPANTS_URL``: the participants service (programs, memberships, profiles).
- ``MATCHING_CLIENT_ID`` / ``MATCHING_CLIENT_SECRET`` / ``MATCHING_TOKEN_URL``: this
  service's own client-credentials identity (scopes ``identity:read``, to read
  consented identity data, and ``events:read``, to read the participants feed).
  Unset: identity requests are ignored and each run report says identity matching
  was unavailable, and the feed consumer does not run (a withdrawal does not end
  her matches).
- ``MATCHING_FEED_POLL_SECONDS``: how often the participants feed is polled
  (up to four times less often while it is quiet: ``servicekit.consumer``;
  ``participant.withdrawn`` dissolves her live matches in that program).
- ``MATCHING_PARTICIPANTS_TIMEOUT``: seconds per call to participants.
"""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHING_", extra="ignore")

    service_name: str = "matching"
    participants_url: str = "http://127.0.0.1:8001"
    participants_timeout: float = Field(default=5.0, gt=0, le=60)
    feed_poll_seconds: float = Field(default=2.0, gt=0, le=3600)
