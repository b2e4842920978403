"""The evaluation service app: instruments, administrations, analysis, reports."""

import logging
import secrets

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from servicekit.app import create_service_app
from servicekit.auth import KeySource
from servicekit.db import SESSION_DEPENDENCY
from servicekit.outbox import feed_router

from services.evaluation.analytics import i18n
from services.evaluation.clients import Upstreams
from services.evaluation.config import Settings
from services.evaluation.models import OutboxEvent
from services.evaluation.routers import router

log = logging.getLogger("evaluation")

DESCRIPTION = """Instruments, pre/post administrations, responses, analysis, charts and funder reports that
protect respondents."""

TAGS = [
    {"name": "instruments", "description": "The built-in library, institutions' copies and their versions."},
    {"name": "administrations", "description": "Instruments given to a program's group in a window; drafts and one submission."},
    {"name": "reports", "description": "Aggregates only: skill change, distributions, text, themes, the program report."},
]


def pseudonym_key(settings: Settings) -> bytes:
    key = settings.pseudonym_key.get_secret_value()
    if key:
        return key.encode()
    log.warning("EVALUATION_PSEUDONYM_KEY is not set: using a random key for this process only; "
                "anonymous pre/post pairing will not survive a restart or span replicas. Set it from a secret store.")
    return secrets.token_bytes(32)


REPORTS_SCOPE = "reports:read"


def report_token_provider(settings: Settings) -> object | None:
    """This service's own token for the report's inputs, or None without credentials."""
    secret = settings.client_secret.get_secret_value()
    if not settings.client_id or not secret:
        log.warning("EVALUATION_CLIENT_ID/SECRET are not set: the program report forwards the caller's token, "
                    "so evaluators cannot read it")
        return None
    from servicekit.service_auth import ServiceTokenProvider

    return ServiceTokenProvider(settings.token_url, settings.client_id, secret, [REPORTS_SCOPE])


def create_app(
    settings: Settings | None = None,
    *,
    key_source: KeySource | None = None,
    engine: Engine | None = None,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    report_tokens: object | None = None,
) -> FastAPI:
    """``report_tokens``: anything with ``async token() -> str`` (tests); default: from the settings."""
    settings = settings or Settings()
    i18n.load()  # the report's catalogs, compiled now: a broken catalog stops the start, not a report

    async def close(app: FastAPI) -> None:
        await app.state.upstreams.aclose()

    app = create_service_app(
        settings=settings,
        title="Aliada evaluation service",
        description=DESCRIPTION,
        routers=[router, feed_router(OutboxEvent, SESSION_DEPENDENCY)],
        key_source=key_source,
        engine=engine,
        on_shutdown=[close],
        openapi_tags=TAGS,
    )
    app.state.upstreams = Upstreams(
        participants_url=settings.participants_url, matching_url=settings.matching_url, sessions_url=settings.sessions_url,
        timeout=settings.upstream_timeout, transport=upstream_transport,
    )
    app.state.pseudonym_key = pseudonym_key(settings)
    app.state.report_tokens = report_tokens if report_tokens is not None else report_token_provider(settings)
    return app
