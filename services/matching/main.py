"""The matching service app: matching profiles, settings, runs, matches."""

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from servicekit import data_rights as data_rights_routes
from servicekit.app import create_service_app
from servicekit.auth import KeySource
from servicekit.db import SESSION_DEPENDENCY
from servicekit.outbox import feed_router

from services.matching.clients.participants import ParticipantsClient
from services.matching.config import Settings
from services.matching.models import OutboxEvent
from services.matching import data_rights as matching_data_rights
from services.matching.routers import router

DESCRIPTION = """Matching profiles (the questionnaire), per-program matching settings and
hard rules, explainable pair scores, whole-cohort matching runs, dyads and substitutes."""

TAGS = [
    {"name": "profiles", "description": "The matching questionnaire each confirmed member fills."},
    {"name": "settings", "description": "Weights, hard rules, objective and algorithm of a program."},
    {"name": "runs", "description": "Whole-cohort runs, their reports, adjustments, publication and explanations."},
    {"name": "matches", "description": "Dyads, their lifecycle, substitutes and re-matching."},
]


def identity_token_provider(settings: Settings):  # type: ignore[no-untyped-def]
    """This service's own token for identity data, or None when it has no credentials."""
    secret = settings.client_secret.get_secret_value()
    if not settings.client_id or not secret:
        return None
    from servicekit.service_auth import ServiceTokenProvider

    return ServiceTokenProvider(settings.token_url, settings.client_id, secret, ["identity:read"])


def create_app(
    settings: Settings | None = None,
    *,
    key_source: KeySource | None = None,
    engine: Engine | None = None,
    participants_transport: httpx.AsyncBaseTransport | None = None,
    identity_tokens: object | None = None,
) -> FastAPI:
    settings = settings or Settings()

    async def close(app: FastAPI) -> None:
        await app.state.participants.aclose()

    app = create_service_app(
        settings=settings,
        title="Aliada matching service",
        description=DESCRIPTION,
        routers=[router, feed_router(OutboxEvent, SESSION_DEPENDENCY), data_rights_routes.router(matching_data_rights)],
        key_source=key_source,
        engine=engine,
        on_shutdown=[close],
        openapi_tags=TAGS,
    )
    app.state.participants = ParticipantsClient(
        settings.participants_url, timeout=settings.participants_timeout, transport=participants_transport
    )
    app.state.identity_tokens = identity_tokens if identity_tokens is not None else identity_token_provider(settings)
    return app
