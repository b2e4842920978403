from servicekit.migrations import run_env

from services.matching.config import Settings
from services.matching.models import Base

run_env(Base.metadata, default_url=lambda: Settings().effective_database_url)
