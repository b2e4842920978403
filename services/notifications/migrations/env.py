from servicekit.migrations import run_env

from services.notifications.config import Settings
from services.notifications.models import Base

run_env(Base.metadata, default_url=lambda: Settings().effective_database_url)
