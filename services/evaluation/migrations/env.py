from servicekit.migrations import run_env

from services.evaluation.config import Settings
from services.evaluation.models import Base

run_env(Base.metadata, default_url=lambda: Settings().effective_database_url)
