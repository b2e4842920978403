"""The sessions service app: meetings, feedback, objectives, diary, dyad health.

When ``SESSIONS_CLIENT_ID`` / ``SESSIONS_CLIENT_SECRET`` are set, the lifespan
runs the matching feed consumer (match.activated → dyad + schedule;
match.dissolved / match.completed → dyad ended), the overdue-feedback sweep and
the health sweep (programs whose stored assessment is getting old are assessed
again). All are safe on several replicas.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session

from servicekit import scopes
from servicekit import data_rights as data_rights_routes
from servicekit.app import create_service_app
from servicekit.auth import KeySource
from servicekit.consumer import Background, FeedConsumer
from servicekit.db import SESSION_DEPENDENCY
from servicekit.outbox import feed_router
from servicekit.service_auth import ServiceTokenProvider, TokenSource
from servicekit import clock

from services.sessions import dyads, feedback, supervision
from services.sessions.config import Settings
from services.sessions.models import FeedCursor, HandledEvent, IdempotencyRecord, OutboxEvent
from services.sessions.owners import ACCOUNTS_SCOPE, AccountStatuses
from services.sessions import data_rights as sessions_data_rights
from services.sessions.routers import router

log = logging.getLogger("sessions.main")

DESCRIPTION = """Meetings and their schedule, group events and attendance, feedback forms with deadlines,
SMART objectives with milestones (verified achievement) and progress, the private diary, and dyad health."""

TAGS = [
    {"name": "dyads", "description": "Dyads from the matching feed, their health, and program views."},
    {"name": "meetings", "description": "The schedule, confirmations, reschedules and the iCalendar feed."},
    {"name": "feedback", "description": "Forms after each held meeting, deadlines and overdue lists."},
    {"name": "objectives", "description": "SMART objectives, their milestones and progress, and verified, self-reported and perceived achievement."},
    {"name": "diary", "description": "The mentee's private diary."},
    {"name": "group events", "description": "Kickoff, accompaniment sessions, cohort meetings and attendance."},
]


def make_consumer(settings: Settings, engine: Engine, tokens: TokenSource | None = None) -> FeedConsumer | None:
    """The matching feed's consumer, or None without credentials."""
    tokens = tokens if tokens is not None else ServiceTokenProvider.from_settings(settings, [scopes.EVENTS_READ])
    if tokens is None:
        return None
    return FeedConsumer(
        source="matching", feed_url=settings.matching_url.rstrip("/") + "/internal/events", tokens=tokens,  # type: ignore[arg-type]
        engine=engine, cursor_model=FeedCursor, handled_model=HandledEvent, handler=dyads.handle,
    )


def sweep_all(engine: Engine) -> int:
    with Session(engine) as session:
        count = feedback.sweep(session)
        session.commit()
        return count


def sweep_health(engine: Engine) -> int:
    """Assess again the programs whose stored assessment is getting old, one transaction each."""
    swept = 0
    with Session(engine) as session:
        due = supervision.programs_to_sweep(session, clock.now())
    for program_id in due:
        with Session(engine) as session:
            swept += supervision.sweep_program(session, program_id, clock.now())
            session.commit()
    return swept


async def sweep_loop(engine: Engine, stop: asyncio.Event, interval: float, sweep: Callable[[Engine], int] = sweep_all,
                     name: str = "overdue sweep") -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(sweep, engine)
        except Exception as exc:  # keep sweeping later
            log.warning(f"{name} failed", extra={"error": type(exc).__name__})
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass


def account_statuses(settings: Settings) -> AccountStatuses:
    """The gateway's answer on a calendar feed owner's account, asked with this
    service's own client token (scope accounts:read); without a client identity
    every feed answers 503 (fail closed, services.sessions.owners)."""
    tokens = ServiceTokenProvider.from_settings(settings, [ACCOUNTS_SCOPE])
    if tokens is None:
        log.warning("SESSIONS_CLIENT_ID/SECRET are not set: calendar feeds answer 503 (their owners' status cannot be checked)")
    return AccountStatuses(settings.gateway_url, tokens, cache_seconds=settings.account_status_cache_seconds)


def create_app(settings: Settings | None = None, *, key_source: KeySource | None = None, engine: Engine | None = None,
               statuses: AccountStatuses | None = None) -> FastAPI:
    """``statuses``: who answers whether a calendar feed's owner is active (tests pass their own)."""
    settings = settings or Settings()
    background = Background()

    async def start(app: FastAPI) -> None:
        consumer = make_consumer(settings, app.state.engine)
        app.state.consumer = consumer
        if consumer is not None:
            stop = background.stop
            background.start(consumer.run(stop, settings.feed_poll_seconds))
            if settings.overdue_sweep_seconds > 0:
                background.start(sweep_loop(app.state.engine, stop, settings.overdue_sweep_seconds))
            if settings.health_sweep_seconds > 0:
                background.start(sweep_loop(app.state.engine, stop, settings.health_sweep_seconds, sweep_health, "health sweep"))

    async def halt(app: FastAPI) -> None:
        await background.halt()
        await app.state.account_statuses.aclose()

    app = create_service_app(
        settings=settings,
        title="Aliada sessions service",
        description=DESCRIPTION,
        routers=[router, feed_router(OutboxEvent, SESSION_DEPENDENCY), data_rights_routes.router(sessions_data_rights)],
        key_source=key_source,
        engine=engine,
        on_startup=[start],
        on_shutdown=[halt],
        openapi_tags=TAGS,
        idempotency_model=IdempotencyRecord,
    )
    app.state.account_statuses = statuses if statuses is not None else account_statuses(settings)
    return app
