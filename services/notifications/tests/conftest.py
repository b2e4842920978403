"""Fixtures of the notifications tests.

The database is built by the service's migrations and emptied after each test.
Mail goes over real SMTP to an aiosmtpd server on a loopback port (``smtp``),
which keeps what it accepted and can refuse (4xx or 5xx) or be stopped and
started again. Feeds are served to the real feed consumer over an in-process
transport (``Feeds``), and so are participants' contact answers
(``Contacts``). Time is frozen by patching ``servicekit.clock.now``.
"""

from __future__ import annotations

import email
import email.policy
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from servicekit import clock
from servicekit.consumer import FeedConsumer
from servicekit.db import make_engine
from servicekit.testing import TEST_AUDIENCE, TEST_ISSUER

from services.notifications import intake
from services.notifications.clients.participants import Participants
from services.notifications.config import Settings
from services.notifications.db import migrate
from services.notifications.delivery import Sender
from services.notifications.main import create_app
from services.notifications.models import Base, FeedCursor, HandledEvent

UNSUBSCRIBE_KEY = "test-unsubscribe-key-0123456789"
INSTITUTION = str(uuid.UUID("0190a000-0000-7000-8000-000000000001"))
OTHER_INSTITUTION = str(uuid.UUID("0190a000-0000-7000-8000-000000000002"))


@pytest.fixture(scope="session")
def database_url(database_factory: Any) -> str:
    url = database_factory.new("notifications")
    migrate(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=8, max_overflow=4)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _clean(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at = self.at + timedelta(**delta)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """16:00 UTC: daytime for the people of the tests (10:00 in Mexico City, 18:00 in Madrid), outside quiet hours."""
    c = Clock(datetime(2026, 8, 1, 16, 0, tzinfo=UTC))
    monkeypatch.setattr(clock, "now", c)
    return c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """The aiosmtpd handler: keeps each accepted message; ``refuse_rcpt`` / ``refuse_data``
    make it answer that SMTP reply instead (e.g. "451 4.3.0 Try again later")."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self.refuse_rcpt: str | None = None
        self.refuse_data: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:  # noqa: N802
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse_data:
            return self.refuse_data
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 Message accepted"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[EmailMessage]:
        return self.mailbox.received


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@dataclass
class Contacts:
    """participants' ``/internal/institutions/{id}/contacts/{account}`` answers, over an in-process transport."""

    people: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    down: bool = False
    asked: int = 0

    def add(self, account: str, *, name: str, email: str | None, language: str | None = "es",
            timezone: str | None = "America/Mexico_City", institution: str = INSTITUTION, participant_id: str | None = None,
            institution_language: str | None = "es") -> None:
        self.people[(institution, account)] = {
            "account_id": account, "participant_id": participant_id, "name": name, "email": email, "language": language,
            "timezone": timezone, "institution_name": "Universidad Juárez Autónoma de Tabasco",
            "institution_timezone": "America/Mexico_City", "institution_language": institution_language}

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.asked += 1
        if self.down:
            raise httpx.ConnectError("participants down", request=request)
        assert request.headers["authorization"] == "Bearer svc-notifications-token"
        _, _, institution, _, account = request.url.path.strip("/").split("/")
        found = self.people.get((institution, account))
        return httpx.Response(200, json=found) if found else httpx.Response(404, json={"status": 404})


class StaticTokens:
    async def token(self) -> str:
        return "svc-notifications-token"


@pytest.fixture
def contacts() -> Contacts:
    return Contacts()


def settings_for(database_url: str, smtp_port: int = 25, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url, "jwt_issuer": TEST_ISSUER, "jwt_audience": TEST_AUDIENCE, "threadpool_size": 8,
        "log_level": "WARNING", "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_timeout_seconds": 5.0,
        "mail_from": "programa@aliada.test", "public_base_url": "https://api.aliada.test",
        "app_base_url": "https://app.aliada.test", "unsubscribe_key": SecretStr(UNSUBSCRIBE_KEY),
        "reply_to": {INSTITUTION: "mentoria@ujat.test"}, "max_attempts": 3, "retry_base_seconds": 60.0,
    }
    values.update(over)
    return Settings(**values)


def sender_for(settings: Settings, engine: Engine, contacts: Contacts) -> Sender:
    client = httpx.AsyncClient(transport=httpx.MockTransport(contacts.handle))
    return Sender(settings, engine, Participants("http://participants.test", StaticTokens(), client))


@pytest.fixture
def sender(database_url: str, engine: Engine, smtp: SmtpServer, contacts: Contacts) -> Sender:
    return sender_for(settings_for(database_url, smtp.port), engine, contacts)


class Feeds:
    """A source's outbox feed (``GET /internal/events?after=``), served to the real consumer."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, event_type: str, payload: dict[str, Any], *, tenant: str = INSTITUTION, event_id: str | None = None,
            occurred_at: datetime | None = None) -> str:
        """Events are stamped with the real time (servicekit.outbox), whatever the frozen clock says."""
        event_id = event_id or str(uuid.uuid4())
        stamp = (occurred_at or datetime.now(UTC)).isoformat()
        self.events.append({"event_id": event_id, "type": event_type, "tenant_id": tenant, "subject": str(uuid.uuid4()),
                            "occurred_at": stamp, "payload": payload, "cursor": str(len(self.events) + 1)})
        return event_id

    def handle(self, request: httpx.Request) -> httpx.Response:
        after = int(request.url.params.get("after", "0"))
        return httpx.Response(200, json={"items": self.events[after:], "next_cursor": None})

    def consumer(self, engine: Engine, source: str = "sessions") -> FeedConsumer:
        return FeedConsumer(source=source, feed_url="http://source.test/internal/events", tokens=StaticTokens(),  # type: ignore[arg-type]
                            engine=engine, cursor_model=FeedCursor, handled_model=HandledEvent,
                            handler=intake.handler(timedelta(hours=72)),
                            client=httpx.AsyncClient(transport=httpx.MockTransport(self.handle)))


@pytest.fixture
def feeds() -> Feeds:
    return Feeds()


@pytest.fixture(scope="session")
def app(database_url: str, engine: Engine, key_source: Any) -> FastAPI:
    return create_app(settings_for(database_url), key_source=key_source, engine=engine)


@pytest.fixture(scope="session")
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def meeting_payload(meeting_id: str, *, start: datetime, sequence: int = 0, number: int = 1, mentee: str = "mentee-1",
                    mentor: str = "mentor-1", dyad_id: str | None = None, program_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A meeting event's payload, shaped as the sessions service writes it (services/sessions/dyads.py)."""
    return {"meeting_id": meeting_id, "dyad_id": dyad_id or str(uuid.uuid4()), "program_id": program_id or str(uuid.uuid4()),
            "number": number, "start": start.isoformat(), "duration_minutes": 60, "modality": "virtual", "status": "scheduled",
            "sequence": sequence, "mentee_account_id": mentee, "mentor_account_id": mentor, **extra}


def parts(message: EmailMessage) -> dict[str, str]:
    """content type -> decoded text, for every leaf part."""
    found = {}
    for part in message.walk():
        if not part.is_multipart():
            found[part.get_content_type()] = part.get_content()
    return found
