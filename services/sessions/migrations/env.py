from servicekit.migrations import run_env

from services.sessions.config import Settings
from services.sessions.models import Base

run_env(Base.metadata, default_url=lambda: Settings().effective_database_url)
