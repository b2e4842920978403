"""Fixtures of the participants tests.

One database per test session, built by the service's alembic migrations
(never ``create_all``) on the backend ``ALIADA_TEST_BACKEND`` chooses; rows are
deleted after every test. One app and one ``TestClient`` per session; each role
is a ``Caller`` that sends that role's real signed token through the real
verification path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from servicekit.db import make_engine
from servicekit.outbox import utcnow
from servicekit.testing import TEST_AUDIENCE, TEST_ISSUER, Mint, bearer
from servicekit.tokens import SigningKey, access_claims

from servicekit import clock as service_clock
from services.participants.config import Settings
from services.participants.db import migrate
from services.participants.main import create_app
from services.participants.models import Base

# ---------------------------------------------------------------------------
# Database and app


@pytest.fixture(scope="session")
def database_url(database_factory: Any) -> str:
    url = database_factory.new("participants")
    migrate(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=8, max_overflow=4)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def app(database_url: str, engine: Engine, key_source: Any) -> FastAPI:
    settings = Settings(
        database_url=database_url,
        jwt_issuer=TEST_ISSUER,
        jwt_audience=TEST_AUDIENCE,
        threadpool_size=8,
        log_level="WARNING",
    )
    return create_app(settings, key_source=key_source, engine=engine)


@pytest.fixture(scope="session")
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def clean(engine: Engine) -> None:
    """Delete every row (children first). On PostgreSQL in one round trip."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("; ".join(f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables)))
            return
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


@pytest.fixture(autouse=True)
def _clean_tables(engine: Engine) -> Iterator[None]:
    yield
    clean(engine)


def rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as insertable dicts (see ``restore``)."""
    with engine.connect() as conn:
        return {table.name: [dict(r) for r in conn.execute(select(table)).mappings()] for table in Base.metadata.sorted_tables}


def restore(engine: Engine, saved: dict[str, list[dict[str, Any]]]) -> None:
    """Put the database back to exactly ``saved`` (a ``rows`` result)."""
    clean(engine)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if saved[table.name]:
                conn.execute(table.insert(), saved[table.name])


def snapshot(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table, comparable: proves a refused request wrote nothing.

    On PostgreSQL the whole database comes back in one query (as JSON)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            tables = Base.metadata.sorted_tables
            parts = ", ".join(
                f"'{t.name}', (SELECT coalesce(json_agg(row_to_json(r)), '[]'::json) FROM \"{t.name}\" r)" for t in tables
            )
            everything = conn.exec_driver_sql(f"SELECT json_build_object({parts})").scalar_one()
            return {name: sorted(json.dumps(row, sort_keys=True) for row in found) for name, found in everything.items()}
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }


# ---------------------------------------------------------------------------
# Callers


class Caller:
    """The session's TestClient, speaking as one principal."""

    def __init__(self, http: TestClient, token: str | None, name: str) -> None:
        self.http = http
        self.headers = bearer(token) if token else {}
        self.name = name

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, url, headers={**self.headers, **(headers or {})}, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def __repr__(self) -> str:
        return f"Caller({self.name})"


def institution_body(slug: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": f"Universidad {slug.upper()}",
        "slug": slug,
        "country": "MX",
        "timezone": "America/Mexico_City",
        "default_languages": ["es", "en"],
    }
    return {**body, **overrides}


@dataclass
class World:
    """Two institutions, each with one campus and one academic unit (not on that campus)."""

    a: dict[str, Any]
    b: dict[str, Any]
    campus_a: dict[str, Any]
    campus_b: dict[str, Any]
    unit_a: dict[str, Any]
    unit_b: dict[str, Any]


@pytest.fixture
def admin(http: TestClient, mint: Mint) -> Caller:
    return Caller(http, mint(sub="admin-1", roles=["admin"]), "admin")


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def world(admin: Caller) -> World:
    a = _created(admin.post("/v1/institutions", json=institution_body("uaeh")))
    b = _created(admin.post("/v1/institutions", json=institution_body("upch", country="PE", timezone="America/Lima")))
    campuses = {}
    units = {}
    for key, inst in (("a", a), ("b", b)):
        base = f"/v1/institutions/{inst['id']}"
        campuses[key] = _created(admin.post(f"{base}/campuses", json={"name": "Campus Norte", "city": "Ciudad"}))
        units[key] = _created(
            admin.post(f"{base}/academic-units", json={"name": "Ingeniería", "kind": "faculty", "code": "ING"})
        )
    return World(a=a, b=b, campus_a=campuses["a"], campus_b=campuses["b"], unit_a=units["a"], unit_b=units["b"])


@pytest.fixture
def coordinator(http: TestClient, mint: Mint, world: World) -> Caller:
    """A coordinator of institution A."""
    return Caller(http, mint(sub="coord-a", tid=world.a["id"], roles=["coordinator"]), "coordinator")


@pytest.fixture
def other_coordinator(http: TestClient, mint: Mint, world: World) -> Caller:
    """A coordinator of institution B."""
    return Caller(http, mint(sub="coord-b", tid=world.b["id"], roles=["coordinator"]), "other_coordinator")


@pytest.fixture
def mentee(http: TestClient, mint: Mint, world: World) -> Caller:
    """A mentee of institution A."""
    return Caller(http, mint(sub="mentee-a", tid=world.a["id"], roles=["mentee"]), "mentee")


@pytest.fixture
def reader(http: TestClient, mint: Mint) -> Caller:
    """An integration client with scope institutions:read (the gateway's)."""
    return Caller(http, mint(sub="client-gateway", scope="institutions:read", client_id="gateway"), "reader")


@pytest.fixture
def scopeless_client(http: TestClient, mint: Mint, world: World) -> Caller:
    """An integration client of institution A without any scope."""
    return Caller(http, mint(sub="client-lms", tid=world.a["id"], client_id="lms"), "scopeless_client")


@pytest.fixture
def events_client(http: TestClient, mint: Mint) -> Caller:
    """A service reading the outbox feed (scope events:read)."""
    return Caller(http, mint(sub="client-sessions", scope="events:read", client_id="sessions"), "events_client")


@pytest.fixture
def anonymous(http: TestClient) -> Caller:
    return Caller(http, None, "anonymous")


@pytest.fixture
def expired(http: TestClient, mint: Mint) -> Caller:
    """An admin token that expired an hour ago (well past the leeway)."""
    return Caller(http, mint(sub="admin-1", roles=["admin"], ttl=-3600), "expired")


@pytest.fixture(scope="session")
def impostor_key(signing_key: SigningKey) -> SigningKey:
    """Another RSA key claiming the real key's kid."""
    return SigningKey.generate(kid=signing_key.kid)


@pytest.fixture
def forged(http: TestClient, impostor_key: SigningKey) -> Caller:
    """An admin token signed by a key the service does not trust, under the trusted kid."""
    claims = access_claims(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, subject="admin-1", tenant_id=None, roles=["admin"])
    return Caller(http, impostor_key.sign(claims), "forged")


ROLES = (
    "admin",
    "coordinator",
    "other_coordinator",
    "mentee",
    "reader",
    "scopeless_client",
    "events_client",
    "anonymous",
    "expired",
    "forged",
)


@pytest.fixture
def as_role(request: pytest.FixtureRequest, world: World) -> Any:
    """``as_role("mentee")`` → that role's Caller (the world exists first)."""

    def get(role: str) -> Caller:
        assert role in ROLES, role
        return request.getfixturevalue(role)

    return get


# ---------------------------------------------------------------------------
# Time


class Clock:
    """The service's clock, moved by tests (``servicekit.clock.now``)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(service_clock, "now", moved.now)
    return moved


# ---------------------------------------------------------------------------
# Programs and applications

PRIVACY_NOTICE = {
    "version": "2026-1",
    "text": "La Universidad es responsable del tratamiento de sus datos personales para operar el programa.",
}
STEM = ["biology", "chemistry", "computer_science", "earth_sciences", "engineering", "mathematics", "physics"]
MEMBERS_OF_THE_UNIVERSITY = ["full_time_faculty", "part_time_faculty", "undergraduate", "graduate"]
# The Mexico pilot's eligibility criteria, as rules.
MEXICO_CRITERIA: list[dict[str, Any]] = [
    {"id": "woman", "field": "identifies_as_woman", "op": "is_true", "description": "A woman"},
    {"id": "stem", "field": "stem_field", "op": "in", "value": STEM, "description": "Works or studies in STEM"},
    {
        "id": "university_member",
        "field": "affiliation",
        "op": "in",
        "value": MEMBERS_OF_THE_UNIVERSITY,
        "description": "Full- or part-time professor, or enrolled undergraduate or graduate student",
    },
    {"id": "training", "field": "willing_to_train", "op": "is_true", "description": "Willing to take the training"},
    {"id": "expectations", "field": "expectations", "op": "review", "description": "Expectations fit the program"},
    {"id": "funding", "field": "funding_experience", "op": "is_true", "roles": ["mentor"], "description": "Experience with funding calls"},
    {"id": "recognition", "field": "has_recognition", "op": "is_true", "roles": ["mentor"], "description": "Recognised in her field"},
]


def phases(start: date) -> list[dict[str, str]]:
    """The six phases, the call running from five days before ``start``."""
    spans = [("call", -5, 14), ("selection", 15, 24), ("training", 25, 95), ("matching", 96, 105),
             ("mentoring", 106, 200), ("evaluation", 201, 230)]  # fmt: skip
    return [
        {"kind": k, "starts_on": (start + timedelta(days=a)).isoformat(), "ends_on": (start + timedelta(days=b)).isoformat()}
        for k, a, b in spans
    ]


def program_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Mentoras STEM 2026",
        "description": "Programa de mentoría para mujeres en STEM.",
        "languages": ["es", "en"],
        "mode": "one_to_one",
        "delivery": "hybrid",
        "phases": phases(date.today()),
        "criteria": MEXICO_CRITERIA,
        "privacy_notice": PRIVACY_NOTICE,
    }
    return {**body, **overrides}


def form(role: str, n: int = 1, **overrides: Any) -> dict[str, Any]:
    """A complete, eligible form (but for the expectations review)."""
    body: dict[str, Any] = {
        "full_name": f"Persona Aplicante {n}",
        "email": f"persona{n}@uaeh.edu.mx",
        "preferred_language": "es",
        "affiliation": "full_time_faculty" if role == "mentor" else "graduate",
        "career_stage": "mid_career" if role == "mentor" else "graduate_student",
        "stem_field": "chemistry",
        "identifies_as_woman": True,
        "willing_to_train": True,
        "interest": "Compartir mi experiencia." if role == "mentor" else "Crecer como investigadora.",
        "expectations": "Acompañar a una mentee." if role == "mentor" else "Una mentora que me oriente.",
        "experience": "Quince años de investigación." if role == "mentor" else "Dos años en el laboratorio.",
        "evidence": [f"https://cv.example.org/persona-{n}"],
    }
    if role == "mentor":
        body.update(funding_experience=True, has_recognition=True, recognition="SNI nivel II", years_of_experience=15)
    return {**body, **overrides}


CONSENTS = {"privacy_notice_version": PRIVACY_NOTICE["version"], "purposes": ["program", "research"]}


@dataclass
class Cohort:
    """Drives one program of institution A through the API."""

    coordinator: Caller
    program: dict[str, Any]
    http: TestClient
    mint: Mint
    institution_id: str

    @property
    def id(self) -> str:
        return self.program["id"]

    def person(self, sub: str, roles: list[str] | None = None) -> Caller:
        return Caller(self.http, self.mint(sub=sub, tid=self.institution_id, roles=roles or ["applicant"]), sub)

    def move(self, to: str) -> dict[str, Any]:
        response = self.coordinator.post(f"/v1/programs/{self.id}/transitions", json={"to": to})
        assert response.status_code == 200, response.text
        self.program = response.json()
        return self.program

    def draft(self, applicant: Caller, role: str = "mentee", n: int = 1, **overrides: Any) -> dict[str, Any]:
        body = {"program_id": self.id, "role": role, **form(role, n), "consents": CONSENTS, **overrides}
        response = applicant.post("/v1/applications", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def submitted(self, applicant: Caller, role: str = "mentee", n: int = 1, **overrides: Any) -> dict[str, Any]:
        draft = self.draft(applicant, role, n, **overrides)
        response = applicant.post(f"/v1/applications/{draft['id']}/submit")
        assert response.status_code == 200, response.text
        return response.json()

    def review(self, application_id: str, passed: bool = True) -> dict[str, Any]:
        response = self.coordinator.request(
            "PUT",
            f"/v1/applications/{application_id}/eligibility/overrides/expectations",
            json={"passed": passed, "reason": "Expectations fit the program." if passed else "Seeks a job, not mentoring."},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def decide(self, application_id: str, decision: str) -> dict[str, Any]:
        response = self.coordinator.post(
            f"/v1/applications/{application_id}/decision", json={"decision": decision, "reason": f"{decision} by the committee"}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def accepted(self, applicant: Caller, role: str = "mentee", n: int = 1, **overrides: Any) -> dict[str, Any]:
        application = self.submitted(applicant, role, n, **overrides)
        self.review(application["id"])
        return self.decide(application["id"], "accepted")

    def invited(
        self, applicant: Caller, role: str = "mentee", n: int = 1, confirm_by: str | None = None, **overrides: Any
    ) -> dict[str, Any]:
        application = self.accepted(applicant, role, n, **overrides)
        invitation = {"confirm_by": confirm_by} if confirm_by else {}
        response = self.coordinator.post(f"/v1/applications/{application['id']}/invitation", json=invitation)
        assert response.status_code == 200, response.text
        return response.json()

    def confirmed(self, applicant: Caller, role: str = "mentee", n: int = 1, **overrides: Any) -> dict[str, Any]:
        application = self.invited(applicant, role, n, **overrides)
        response = applicant.post(f"/v1/applications/{application['id']}/confirm")
        assert response.status_code == 200, response.text
        return response.json()


def open_cohort(coordinator: Caller, http: TestClient, mint: Mint, institution_id: str, **overrides: Any) -> Cohort:
    response = coordinator.post(f"/v1/institutions/{institution_id}/programs", json=program_body(**overrides))
    assert response.status_code == 201, response.text
    cohort = Cohort(coordinator, response.json(), http, mint, institution_id)
    cohort.move("call_open")
    return cohort


@pytest.fixture
def cohort(coordinator: Caller, http: TestClient, mint: Mint, world: World) -> Cohort:
    """A program of institution A whose call is open, with the Mexico criteria."""
    return open_cohort(coordinator, http, mint, world.a["id"])


def events(engine: Engine, *types: str) -> list[dict[str, Any]]:
    """Outbox events (of these types), in order."""
    from services.participants.models import OutboxEvent

    with engine.connect() as conn:
        stmt = select(OutboxEvent.__table__).order_by(OutboxEvent.__table__.c.id)  # type: ignore[attr-defined]
        found = [dict(r) for r in conn.execute(stmt).mappings()]
    return [e for e in found if not types or e["type"] in types]
