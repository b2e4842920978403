from servicekit.migrations import run_env

from gateway.config import Settings
from gateway.models import Base

run_env(Base.metadata, default_url=lambda: Settings().effective_database_url)
