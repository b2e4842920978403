"""The evaluation service app: instruments, administrations, analysis, reports, interviews.

At start-up, with its client credentials, it follows the participants service's
feed (servicekit's FeedConsumer): consent withdrawals and erasures reach the
interviews (``interviews.handle``).
"""

import logging
import secrets

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from servicekit import data_rights as data_rights_routes
from servicekit.app import create_service_app
from servicekit.auth import KeySource
from servicekit.consumer import Background, FeedConsumer
from servicekit.db import SESSION_DEPENDENCY
from servicekit.outbox import feed_router
from servicekit import scopes
from servicekit.service_auth import ServiceTokenProvider, TokenSource

from services.evaluation.domain import i18n
from services.evaluation import data_rights, interviews
from services.evaluation.clients import Upstreams
from services.evaluation.config import Settings
from services.evaluation.models import FeedCursor, HandledEvent, IdempotencyRecord, OutboxEvent
from services.evaluation import data_rights as evaluation_data_rights
from services.evaluation.routers import router

log = logging.getLogger("evaluation")

DESCRIPTION = """Instruments, pre/post administrations, responses, analysis, charts and funder reports that
protect respondents."""

TAGS = [
    {"name": "instruments", "description": "The built-in library, institutions' copies and their versions."},
    {"name": "administrations", "description": "Instruments given to a program's group in a window; drafts and one submission."},
    {"name": "reports", "description": "Aggregates only: skill change, distributions, text, themes, the program report."},
    {"name": "interviews", "description": "Interview guides, the interview team, proposed samples, interviews, the codebook, "
                                          "coding by several coders with Cohen's kappa, consented quotes."},
]


def pseudonym_key(settings: Settings) -> bytes:
    key = settings.pseudonym_key.get_secret_value()
    if key:
        return key.encode()
    log.warning("EVALUATION_PSEUDONYM_KEY is not set: using a random key for this process only; "
                "anonymous pre/post pairing will not survive a restart or span replicas. Set it from a secret store.")
    return secrets.token_bytes(32)


REPORTS_SCOPE = scopes.REPORTS_READ
RESEARCH_SCOPE = scopes.RESEARCH_READ
EVENTS_SCOPE = scopes.EVENTS_READ


def report_token_provider(settings: Settings) -> TokenSource | None:
    """This service's own token for the report's inputs, or None without credentials."""
    provider = ServiceTokenProvider.from_settings(settings, [REPORTS_SCOPE])
    if provider is None:
        log.warning("EVALUATION_CLIENT_ID/SECRET are not set: the program report forwards the caller's token, "
                    "so evaluators cannot read it")
    return provider


def make_consumer(settings: Settings, engine: Engine, tokens: TokenSource | None = None) -> FeedConsumer | None:
    """The participants feed's consumer (consent withdrawals, erasures), or None without credentials."""
    tokens = tokens if tokens is not None else ServiceTokenProvider.from_settings(settings, [EVENTS_SCOPE])
    if tokens is None:
        log.warning("EVALUATION_CLIENT_ID/SECRET are not set: withdrawn consents and erasures in the participants "
                    "service do not reach the interviews")
        return None
    return FeedConsumer(
        source="participants", feed_url=settings.participants_url.rstrip("/") + "/internal/events", tokens=tokens,  # type: ignore[arg-type]
        engine=engine, cursor_model=FeedCursor, handled_model=HandledEvent, handler=interviews.handle,
    )


def create_app(
    settings: Settings | None = None,
    *,
    key_source: KeySource | None = None,
    engine: Engine | None = None,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    report_tokens: TokenSource | None = None,
    research_tokens: TokenSource | None = None,
    follow_feed: bool = True,
) -> FastAPI:
    """``report_tokens`` / ``research_tokens``: anything with ``async token() -> str`` (tests); default: from the
    settings. ``follow_feed``: run the participants feed's consumer when credentials are set."""
    settings = settings or Settings()
    i18n.load()  # the report's catalogs, compiled now: a broken catalog stops the start, not a report
    background = Background()

    async def start(app: FastAPI) -> None:
        consumer = make_consumer(settings, app.state.engine) if follow_feed else None
        app.state.consumer = consumer
        if consumer is not None:
            background.start(consumer.run(background.stop, settings.feed_poll_seconds))

    async def close(app: FastAPI) -> None:
        await background.halt()
        await app.state.upstreams.aclose()

    app = create_service_app(
        settings=settings,
        title="Aliada evaluation service",
        description=DESCRIPTION,
        routers=[router, feed_router(OutboxEvent, SESSION_DEPENDENCY), data_rights_routes.router(evaluation_data_rights)],
        key_source=key_source,
        engine=engine,
        on_startup=[start],
        on_shutdown=[close],
        openapi_tags=TAGS,
        idempotency_model=IdempotencyRecord,
    )
    app.state.upstreams = Upstreams(
        participants_url=settings.participants_url, matching_url=settings.matching_url, sessions_url=settings.sessions_url,
        timeout=settings.upstream_timeout, transport=upstream_transport,
    )
    app.state.pseudonym_key = pseudonym_key(settings)
    data_rights.use_pseudonym_key(app.state.pseudonym_key)  # her anonymous responses are found with it
    app.state.report_tokens = report_tokens if report_tokens is not None else report_token_provider(settings)
    app.state.research_tokens = (
        research_tokens if research_tokens is not None else ServiceTokenProvider.from_settings(settings, [RESEARCH_SCOPE])
    )
    return app
