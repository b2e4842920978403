"""The matching service app: matching profiles, settings, runs, matches.

When ``MATCHING_CLIENT_ID`` / ``MATCHING_CLIENT_SECRET`` are set, the lifespan runs
the participants feed consumer: ``participant.withdrawn`` dissolves her live matches
in that program (services.matching.withdrawals). Safe on several replicas.
"""

import logging

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from servicekit import scopes
from servicekit import data_rights as data_rights_routes
from servicekit.app import create_service_app
from servicekit.auth import KeySource
from servicekit.consumer import Background, FeedConsumer
from servicekit.db import SESSION_DEPENDENCY
from servicekit.outbox import EVENTS_SCOPE, feed_router
from servicekit.service_auth import ServiceTokenProvider, TokenSource

from services.matching.clients.participants import ParticipantsClient
from services.matching.config import Settings
from services.matching.models import FeedCursor, HandledEvent, IdempotencyRecord, OutboxEvent
from services.matching import data_rights as matching_data_rights
from services.matching import withdrawals
from services.matching.routers import router

log = logging.getLogger("matching.main")

DESCRIPTION = """Matching profiles (the questionnaire), per-program matching settings and
hard rules, explainable pair scores, whole-cohort matching runs, dyads and substitutes."""

TAGS = [
    {"name": "profiles", "description": "The matching questionnaire each confirmed member fills."},
    {"name": "settings", "description": "Weights, hard rules, objective and algorithm of a program."},
    {"name": "runs", "description": "Whole-cohort runs, their reports, adjustments, publication and explanations."},
    {"name": "matches", "description": "Dyads, their lifecycle, substitutes and re-matching."},
]


def make_consumer(settings: Settings, engine: Engine, tokens: TokenSource | None = None) -> FeedConsumer | None:
    """The participants feed's consumer (withdrawals end matches), or None without credentials."""
    tokens = tokens if tokens is not None else ServiceTokenProvider.from_settings(settings, [EVENTS_SCOPE])
    if tokens is None:
        log.warning("MATCHING_CLIENT_ID/SECRET are not set: a withdrawal from a program does not end her matches")
        return None
    return FeedConsumer(
        source="participants", feed_url=settings.participants_url.rstrip("/") + "/internal/events", tokens=tokens,  # type: ignore[arg-type]
        engine=engine, cursor_model=FeedCursor, handled_model=HandledEvent, handler=withdrawals.handle,
    )


def create_app(
    settings: Settings | None = None,
    *,
    key_source: KeySource | None = None,
    engine: Engine | None = None,
    participants_transport: httpx.AsyncBaseTransport | None = None,
    identity_tokens: TokenSource | None = None,
) -> FastAPI:
    settings = settings or Settings()
    background = Background()

    async def start(app: FastAPI) -> None:
        consumer = make_consumer(settings, app.state.engine)
        app.state.consumer = consumer
        if consumer is not None:
            background.start(consumer.run(background.stop, settings.feed_poll_seconds))

    async def close(app: FastAPI) -> None:
        await background.halt()
        await app.state.participants.aclose()

    app = create_service_app(
        settings=settings,
        title="Aliada matching service",
        description=DESCRIPTION,
        routers=[router, feed_router(OutboxEvent, SESSION_DEPENDENCY), data_rights_routes.router(matching_data_rights)],
        key_source=key_source,
        engine=engine,
        on_startup=[start],
        on_shutdown=[close],
        openapi_tags=TAGS,
        idempotency_model=IdempotencyRecord,
    )
    app.state.participants = ParticipantsClient(
        settings.participants_url, timeout=settings.participants_timeout, transport=participants_transport
    )
    app.state.identity_tokens = (
        identity_tokens if identity_tokens is not None else ServiceTokenProvider.from_settings(settings, [scopes.IDENTITY_READ])
    )
    return app
