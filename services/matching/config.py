"""Settings of the matching service (env prefix ``MATCHING_``).

- ``MATCHING_PARTICIPANTS_URL``: the participants service (programs, memberships, profiles).
- ``MATCHING_CLIENT_ID`` / ``MATCHING_CLIENT_SECRET`` / ``MATCHING_TOKEN_URL``: this
  service's own client-credentials identity, used only to read consented identity
  data (scope ``identity:read``). Unset: identity requests are ignored and each run
  report says identity matching was unavailable.
- ``MATCHING_PARTICIPANTS_TIMEOUT``: seconds per call to participants.
"""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from servicekit.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHING_", extra="ignore")

    service_name: str = "matching"
    participants_url: str = "http://127.0.0.1:8001"
    participants_timeout: float = Field(default=5.0, gt=0, le=60)
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    token_url: str = "http://127.0.0.1:8000/v1/auth/token"
