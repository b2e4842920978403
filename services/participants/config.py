"""Settings of the participants service (env prefix ``PARTICIPANTS_``).

For example ``PARTICIPANTS_DATABASE_URL=postgresql://...``; without it the
service uses the embedded SQLite file ``var/participants.db``.
"""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PARTICIPANTS_", extra="ignore")

    service_name: str = "participants"

    # Roster imports (services.participants.roster). An upload larger than
    # roster_max_bytes is refused with 413 before it is stored; rows are
    # checked and written roster_batch_size at a time, each batch with its
    # progress in one transaction. A running job holds a lease that each batch
    # renews; a job whose lease ran out (its process died) is resumed by the
    # next replica that answers a poll of it. An all-or-nothing commit writes
    # in one transaction, under the longer roster_write_lease_seconds. At most
    # roster_workers jobs run at once per process. Uploads not committed are
    # deleted roster_file_retention_days after the upload.
    roster_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    roster_batch_size: int = Field(default=1000, ge=1, le=10000)
    roster_lease_seconds: float = Field(default=60.0, gt=0)
    roster_write_lease_seconds: float = Field(default=900.0, gt=0)
    roster_workers: int = Field(default=2, ge=1, le=16)
    roster_file_retention_days: int = Field(default=7, ge=1)
