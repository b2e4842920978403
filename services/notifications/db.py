"""Database wiring of the notifications service: migrations live beside this file."""

from pathlib import Path

from servicekit.migrations import upgrade

from services.notifications.config import Settings

SERVICE_DIR = Path(__file__).resolve().parent


def migrate(url: str | None = None) -> None:
    upgrade(SERVICE_DIR, url or Settings().effective_database_url)
