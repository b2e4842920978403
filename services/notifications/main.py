"""The notifications service app: messages by e-mail and in each person's inbox.

When ``NOTIFICATIONS_CLIENT_ID`` / ``NOTIFICATIONS_CLIENT_SECRET`` are set, the
lifespan runs: one feed consumer per source (participants, matching, sessions),
which plans messages and reminders (``intake``); the reminder loop, which fires
the reminders and gathers the digests that are due (``reminders``, ``digests``);
and the delivery loop, which sends
what is due over SMTP (``delivery``). All are safe on several replicas.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session

from servicekit import clock, scopes
from servicekit import data_rights as data_rights_routes
from servicekit.app import create_service_app
from servicekit.auth import KeySource
from servicekit.consumer import Background, FeedConsumer
from servicekit.http import make_async_client
from servicekit.service_auth import ServiceTokenProvider

from services.notifications import data_rights as notifications_data_rights
from services.notifications import digests, intake, reminders
from services.notifications.clients.participants import Participants, Tokens
from services.notifications.config import Settings
from services.notifications.delivery import Sender
from services.notifications.domain import compose
from services.notifications.models import FeedCursor, HandledEvent
from services.notifications.routers import router

log = logging.getLogger("notifications.main")

DESCRIPTION = """Messages to the people of a program: by e-mail (plain text and HTML, in her language and time zone,
with calendar invitations for meetings) and in her inbox. Her preferences per kind of message, one-click unsubscribe,
and, for coordinators, every delivery's outcome."""

TAGS = [
    {"name": "inbox", "description": "Her messages and marking them read."},
    {"name": "preferences", "description": "Which kinds of message she gets by e-mail; unsubscribe links."},
    {"name": "deliveries", "description": "What was sent, skipped or failed, for the institution's coordinators."},
]

SOURCES = ("participants", "matching", "sessions")


def consumers(settings: Settings, engine: Engine, tokens: Tokens) -> list[FeedConsumer]:
    urls = {"participants": settings.participants_url, "matching": settings.matching_url, "sessions": settings.sessions_url}
    handle = intake.handler(timedelta(hours=settings.max_event_age_hours))
    return [FeedConsumer(source=source, feed_url=urls[source].rstrip("/") + "/internal/events", tokens=tokens,  # type: ignore[arg-type]
                         engine=engine, cursor_model=FeedCursor, handled_model=HandledEvent, handler=handle)
            for source in SOURCES]


def scheduled_round(engine: Engine, digest_every: timedelta) -> int:
    """Fire the reminders that are due and gather the digests that are due; how many messages that made."""
    with Session(engine) as session:
        made = reminders.fire_due(session, clock.now()) + digests.collect(session, clock.now(), digest_every)
        session.commit()
        return made


async def reminder_loop(engine: Engine, stop: asyncio.Event, interval: float, digest_every: timedelta) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(scheduled_round, engine, digest_every)
        except Exception as exc:  # try again on the next round
            log.warning("reminder round failed", extra={"error": type(exc).__name__})
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass


def create_app(settings: Settings | None = None, *, key_source: KeySource | None = None, engine: Engine | None = None,
               tokens: Tokens | None = None) -> FastAPI:
    """``tokens``: this service's own token source (tests pass their own); by default the
    client-credentials grant with ``NOTIFICATIONS_CLIENT_ID`` / ``_SECRET``."""
    settings = settings or Settings()
    compose.load()
    background = Background()

    async def start(app: FastAPI) -> None:
        source = tokens
        secret = settings.client_secret.get_secret_value()
        if source is None and settings.client_id and secret:
            source = ServiceTokenProvider(settings.token_url, settings.client_id, secret, [scopes.EVENTS_READ, scopes.CONTACTS_READ])
        if source is None:
            log.warning("NOTIFICATIONS_CLIENT_ID/SECRET are not set: no feed is read and nothing is sent")
            return
        if not settings.unsubscribe_key.get_secret_value():
            log.warning("NOTIFICATIONS_UNSUBSCRIBE_KEY is not set: messages go out without unsubscribe links")
        client = make_async_client(timeout=10.0)
        app.state.http_client = client
        sender = Sender(settings, app.state.engine, Participants(settings.participants_url, source, client))
        app.state.sender = sender
        for consumer in consumers(settings, app.state.engine, source):
            background.start(consumer.run(background.stop, settings.feed_poll_seconds))
        background.start(reminder_loop(app.state.engine, background.stop, settings.reminder_poll_seconds,
                                       timedelta(hours=settings.digest_every_hours)))
        await sender.runner.start()

    async def halt(app: FastAPI) -> None:
        sender = getattr(app.state, "sender", None)
        if sender is not None:
            await sender.runner.stop()
        await background.halt()
        client = getattr(app.state, "http_client", None)
        if client is not None:
            await client.aclose()

    return create_service_app(
        settings=settings,
        title="Aliada notifications service",
        description=DESCRIPTION,
        routers=[router, data_rights_routes.router(notifications_data_rights)],
        key_source=key_source,
        engine=engine,
        on_startup=[start],
        on_shutdown=[halt],
        openapi_tags=TAGS,
    )
