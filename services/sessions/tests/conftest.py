"""Fixtures of the sessions API tests.

The sessions database is built by its alembic migrations and emptied after each
test. Dyads arrive as the matching service announces them: tests call the feed
handler with ``match.activated`` payloads shaped exactly like matching's
(``activated``), and one test polls a real matching app's feed on a loopback
port. Time is frozen by patching ``servicekit.clock.now`` (``frozen``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from servicekit.db import make_engine
from servicekit.outbox import EventOut
from servicekit.testing import TEST_AUDIENCE, TEST_ISSUER, Mint, bearer
from servicekit import clock

from services.sessions import dyads
from services.sessions.config import Settings
from services.sessions.db import migrate
from services.sessions.main import create_app
from services.sessions.models import Base, OutboxEvent
from services.sessions.owners import AccountStatuses

WEEKDAYS_MORNING = [{"weekday": d, "start": "09:00", "end": "13:00"} for d in range(5)]


@pytest.fixture(scope="session")
def database_url(database_factory: Any) -> str:
    url = database_factory.new("sessions")
    migrate(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=8, max_overflow=4)
    yield engine
    engine.dispose()


def sessions_settings(database_url: str, **over: Any) -> Settings:
    return Settings(database_url=database_url, jwt_issuer=TEST_ISSUER, jwt_audience=TEST_AUDIENCE, threadpool_size=8,
                    log_level="WARNING", **over)


class FakeGateway:
    """The gateway's account-status answers (``/internal/accounts/{id}/status``) over an
    in-process transport: every account is active unless ``suspended`` holds it; ``down``
    makes every call fail as an unreachable gateway would. ``asked`` counts the calls."""

    def __init__(self) -> None:
        self.suspended: set[str] = set()
        self.down = False
        self.asked = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.asked += 1
        if self.down:
            raise httpx.ConnectError("gateway down", request=request)
        assert request.headers["authorization"] == "Bearer svc-sessions-token"
        account_id = request.url.path.split("/")[3]
        return httpx.Response(200, json={"account_id": account_id,
                                         "status": "suspended" if account_id in self.suspended else "active"})

    def reset(self) -> None:
        self.suspended.clear()
        self.down = False
        self.asked = 0


class StaticTokens:
    async def token(self) -> str:
        return "svc-sessions-token"


@pytest.fixture(scope="session")
def fake_gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture(scope="session")
def app(database_url: str, engine: Engine, key_source: Any, fake_gateway: FakeGateway) -> FastAPI:
    statuses = AccountStatuses("http://gateway.test", StaticTokens(), cache_seconds=0,
                               transport=httpx.MockTransport(fake_gateway.handle))
    return create_app(sessions_settings(database_url), key_source=key_source, engine=engine, statuses=statuses)


@pytest.fixture(scope="session")
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture(autouse=True)
def _clean(engine: Engine, fake_gateway: FakeGateway) -> Iterator[None]:
    yield
    fake_gateway.reset()
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


class Clock:
    """A frozen clock tests move by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at

    def advance(self, **delta: float) -> None:
        self.at = self.at + timedelta(**delta)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(datetime(2026, 8, 1, 12, 0, tzinfo=UTC))
    monkeypatch.setattr(clock, "now", c)
    return c


def events(engine: Engine, *types: str) -> list[dict[str, Any]]:
    table = OutboxEvent.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        found = [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]
    return [e for e in found if not types or e["type"] in types]


def snapshot(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t))) for t in Base.metadata.sorted_tables}


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    return response.json()


class Caller:
    def __init__(self, http: TestClient, token: str | None, name: str) -> None:
        self.http, self.name = http, name
        self.headers = bearer(token) if token else {}

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", url, **kw)


def activated(
    institution_id: str, program_id: str, *, mentee_account: str, mentor_account: str,
    mentee_tz: str = "America/Mexico_City", mentor_tz: str = "America/Mexico_City",
    mentee_slots: list[dict[str, Any]] | None = None, mentor_slots: list[dict[str, Any]] | None = None,
    starts_on: date = date(2026, 8, 3), ends_on: date = date(2026, 11, 27), meetings_count: int = 12,
    cadence: str = "weekly", delivery: str = "hybrid", preferred: str = "virtual", deadline_hours: int = 48,
    match_id: str | None = None,
) -> dict[str, Any]:
    """A match.activated payload, shaped exactly as the matching service writes it."""

    def side(account: str, tz: str, slots: list[dict[str, Any]] | None) -> dict[str, Any]:
        return {"participant_id": str(uuid.uuid4()), "account_id": account, "timezone": tz,
                "availability": slots if slots is not None else WEEKDAYS_MORNING, "availability_utc": [], "delivery": preferred}

    return {
        "match_id": match_id or str(uuid.uuid4()), "program_id": program_id, "institution_id": institution_id,
        "mentee": side(mentee_account, mentee_tz, mentee_slots), "mentor": side(mentor_account, mentor_tz, mentor_slots),
        "preferred_delivery": preferred,
        "meetings": {"delivery": delivery, "meetings_count": meetings_count, "cadence": cadence, "duration_minutes": 60,
                     "mentoring_starts_on": starts_on.isoformat(), "mentoring_ends_on": ends_on.isoformat(),
                     "feedback_deadline_hours": deadline_hours},
        "activated_at": datetime(2026, 7, 30, tzinfo=UTC).isoformat(),
    }


def deliver(engine: Engine, kind: str, payload: dict[str, Any], *, event_id: uuid.UUID | None = None) -> None:
    event = EventOut(event_id=event_id or uuid.uuid4(), type=kind, tenant_id=payload["institution_id"], subject=payload["match_id"],
                     occurred_at=datetime(2026, 7, 30, tzinfo=UTC), payload=payload, cursor="x")
    with Session(engine) as session:
        dyads.handle(session, event)
        session.commit()


@dataclass
class Dyad:
    id: str
    program_id: str
    institution_id: str
    mentee: Caller
    mentor: Caller
    payload: dict[str, Any]

    def meetings(self, caller: Caller | None = None) -> list[dict[str, Any]]:
        return ok((caller or self.mentee).get(f"/v1/dyads/{self.id}/meetings", params={"limit": 200}))["items"]


@dataclass
class Institution:
    id: str
    program_id: str
    coordinator: Caller
    admin: Caller


@dataclass
class World:
    http: TestClient
    engine: Engine
    mint: Mint

    def caller(self, name: str, **claims: Any) -> Caller:
        return Caller(self.http, self.mint(**claims), name)

    def institution(self) -> Institution:
        iid, pid = str(uuid.uuid4()), str(uuid.uuid4())
        return Institution(iid, pid, self.caller("coordinator", sub=f"coord-{iid[:8]}", tid=iid, roles=["coordinator"]),
                           self.caller("admin", sub="admin-1", roles=["admin"]))

    def dyad(self, inst: Institution, n: int = 0, **payload: Any) -> Dyad:
        tag = uuid.uuid4().hex[:6]
        mentee_sub, mentor_sub = f"mentee-{tag}-{n}", f"mentor-{tag}-{n}"
        body = activated(inst.id, inst.program_id, mentee_account=mentee_sub, mentor_account=mentor_sub, **payload)
        deliver(self.engine, "match.activated", body)
        return Dyad(body["match_id"], inst.program_id, inst.id,
                    self.caller(f"mentee{n}", sub=mentee_sub, tid=inst.id, roles=["mentee"]),
                    self.caller(f"mentor{n}", sub=mentor_sub, tid=inst.id, roles=["mentor"]), body)


@pytest.fixture
def world(http: TestClient, engine: Engine, mint: Mint) -> World:
    return World(http, engine, mint)


RATINGS = {"preparation": 5, "listening": 4, "usefulness": 5, "rapport": 4}


def objective_body(dyad_id: str, **over: Any) -> dict[str, Any]:
    body = {
        "dyad_id": dyad_id, "statement": "Submit two research grant applications to national calls",
        "metric": "applications submitted", "baseline": 0, "target": 2, "unit": "applications", "direction": "increase",
        "plan": "Draft one proposal per month with review", "resources": ["mentor review"],
        "career_goal": "Lead my own research group", "due_date": "2026-11-20",
    }
    body.update(over)
    return body
