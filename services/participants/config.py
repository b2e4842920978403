"""Settings of the participants service (env prefix ``PARTICIPANTS_``).

For example ``PARTICIPANTS_DATABASE_URL=postgresql://...``; without it the
service uses the embedded SQLite file ``var/participants.db``.
"""

from pydantic_settings import SettingsConfigDict

from servicekit.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PARTICIPANTS_", extra="ignore")

    service_name: str = "participants"
