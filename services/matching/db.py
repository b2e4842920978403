"""Database wiring of the matching service: migrations live beside this file."""

from pathlib import Path

from servicekit.migrations import upgrade

from services.matching.config import Settings

SERVICE_DIR = Path(__file__).resolve().parent


def migrate(url: str | None = None) -> None:
    upgrade(SERVICE_DIR, url or Settings().effective_database_url)
