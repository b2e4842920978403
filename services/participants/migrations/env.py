from servicekit.migrations import run_env

from services.participants.config import Settings
from services.participants.models import Base

run_env(Base.metadata, default_url=lambda: Settings().effective_database_url)
