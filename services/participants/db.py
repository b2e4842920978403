"""Database wiring of the participants service: migrations live beside this file.

The request session is servicekit's ``SessionDep`` (one unit of work per
request, committed before the response is sent); this module only migrates.
"""

from pathlib import Path

from servicekit.migrations import upgrade

from services.participants.config import Settings

SERVICE_DIR = Path(__file__).resolve().parent


def migrate(url: str | None = None) -> None:
    """Apply every migration to ``url`` (default: the configured database)."""
    upgrade(SERVICE_DIR, url or Settings().effective_database_url)
