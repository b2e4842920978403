"""Fixtures of the matching API tests.

The participants service runs for real on a loopback port (uvicorn in a
thread, its own database built by its migrations), and the matching app calls
it over HTTP exactly as in production, forwarding the callers' tokens. Test
set-up drives participants through its public API too (``Pilot``). The
matching database is built by its alembic migrations and emptied after each
test; each test creates its own institution in participants.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from servicekit.db import make_engine
from servicekit.testing import TEST_AUDIENCE, TEST_ISSUER, Mint, bearer

from services.matching.config import Settings
from services.matching.db import migrate
from services.matching.main import create_app
from services.matching.models import Base


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self.port = _free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("participants did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def participants_url(database_factory: Any, key_source: Any) -> Iterator[str]:
    from services.participants.config import Settings as ParticipantsSettings
    from services.participants.db import migrate as migrate_participants
    from services.participants.main import create_app as create_participants

    url = database_factory.new("mparticipants")
    migrate_participants(url)
    engine = make_engine(url, pool_size=8, max_overflow=4)
    settings = ParticipantsSettings(
        database_url=url, jwt_issuer=TEST_ISSUER, jwt_audience=TEST_AUDIENCE, threadpool_size=8, log_level="WARNING"
    )
    with LoopbackServer(create_participants(settings, key_source=key_source, engine=engine)) as server:
        yield server.url
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(database_factory: Any) -> str:
    url = database_factory.new("matching")
    migrate(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=8, max_overflow=4)
    yield engine
    engine.dispose()


def matching_settings(database_url: str, participants_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        participants_url=participants_url,
        jwt_issuer=TEST_ISSUER,
        jwt_audience=TEST_AUDIENCE,
        threadpool_size=8,
        log_level="WARNING",
    )


@pytest.fixture(scope="session")
def app(database_url: str, participants_url: str, engine: Engine, key_source: Any) -> FastAPI:
    return create_app(matching_settings(database_url, participants_url), key_source=key_source, engine=engine)


@pytest.fixture(scope="session")
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="session")
def upstream(participants_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=participants_url, timeout=10) as client:
        yield client


def clean(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


@pytest.fixture(autouse=True)
def _clean(engine: Engine) -> Iterator[None]:
    yield
    clean(engine)


def snapshot(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table: proves that a refused request wrote nothing."""
    with engine.connect() as conn:
        return {t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t))) for t in Base.metadata.sorted_tables}


def events(engine: Engine, *types: str) -> list[dict[str, Any]]:
    from services.matching.models import OutboxEvent

    table = OutboxEvent.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        found = [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]
    return [e for e in found if not types or e["type"] in types]


# ---------------------------------------------------------------------------
# Callers and cohorts


class Caller:
    """Speaks as one principal, to matching (``http``) or to participants (``up``)."""

    def __init__(self, http: TestClient, up: httpx.Client, token: str | None, name: str) -> None:
        self.http, self.up, self.name = http, up, name
        self.headers = bearer(token) if token else {}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        client = self.up if not url.startswith("/v1/matching") else self.http
        return client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, **kw)

    def __repr__(self) -> str:
        return f"Caller({self.name})"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    return response.json()


OBJECTIVES = ("funding", "publishing", "leadership", "networking", "teaching", "career_plan")
INTERESTS = ("running", "reading", "music", "hiking", "chess", "cooking", "cinema")
SLOTS = (
    {"weekday": 0, "start": "09:00", "end": "12:00"},
    {"weekday": 1, "start": "10:00", "end": "13:00"},
    {"weekday": 2, "start": "08:00", "end": "10:00"},
    {"weekday": 3, "start": "11:00", "end": "14:00"},
    {"weekday": 4, "start": "07:00", "end": "09:00"},
)


def phases(start: date) -> list[dict[str, str]]:
    spans = [("call", -5, 14), ("selection", 15, 24), ("training", 25, 95), ("matching", 96, 105),
             ("mentoring", 106, 200), ("evaluation", 201, 230)]  # fmt: skip
    return [
        {"kind": k, "starts_on": (start + timedelta(days=a)).isoformat(), "ends_on": (start + timedelta(days=b)).isoformat()}
        for k, a, b in spans
    ]


def application_form(role: str, n: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "full_name": f"Persona {n}",
        "email": f"persona{n}@uni.example.org",
        "preferred_language": "es",
        "affiliation": "full_time_faculty" if role == "mentor" else "graduate",
        "career_stage": "mid_career" if role == "mentor" else "graduate_student",
        "stem_field": "chemistry",
        "identifies_as_woman": True,
        "willing_to_train": True,
        "interest": "Crecer.",
        "expectations": "Aprender.",
        "experience": "Laboratorio.",
        "evidence": [f"https://cv.example.org/{n}"],
        "consents": {"privacy_notice_version": "2026-1", "purposes": ["program"]},
    }
    if role == "mentor":
        body.update(funding_experience=True, has_recognition=True, recognition="SNI", years_of_experience=15)
    return body


@dataclass
class Member:
    caller: Caller
    participant_id: str
    membership_id: str
    role: str
    campus: int
    unit: int


@dataclass
class Pilot:
    """One institution and one program in participants, with confirmed members placed on campuses and units."""

    admin: Caller
    coordinator: Caller
    institution_id: str
    program: dict[str, Any]
    campuses: list[str]
    units: list[list[str]]
    mentors: list[Member] = field(default_factory=list)
    mentees: list[Member] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.program["id"]

    @property
    def base(self) -> str:
        return f"/v1/matching/programs/{self.id}"

    def by_participant(self) -> dict[str, Member]:
        return {m.participant_id: m for m in (*self.mentors, *self.mentees)}


@dataclass
class World:
    http: TestClient
    up: httpx.Client
    mint: Mint

    def caller(self, name: str, **claims: Any) -> Caller:
        return Caller(self.http, self.up, self.mint(**claims), name)

    def pilot(
        self,
        placements: list[tuple[str, int, int]],
        *,
        campuses: int = 3,
        units_per_campus: int = 3,
        timezone: str = "America/Mexico_City",
        **program: Any,
    ) -> Pilot:
        """``placements``: (role, campus index, unit index) of each confirmed member, in order."""
        slug = "u" + uuid.uuid4().hex[:10]
        admin = self.caller("admin", sub="admin-1", roles=["admin"])
        inst = ok(admin.post("/v1/institutions", json={
            "name": f"Universidad {slug}", "slug": slug, "country": "MX", "timezone": timezone, "default_languages": ["es", "en"],
        }), 201)  # fmt: skip
        iid = inst["id"]
        coordinator = self.caller("coordinator", sub=f"coord-{slug}", tid=iid, roles=["coordinator"])
        campus_ids, unit_ids = [], []
        for c in range(campuses):
            campus = ok(coordinator.post(f"/v1/institutions/{iid}/campuses", json={"name": f"Campus {c}", "city": "Ciudad"}), 201)
            campus_ids.append(campus["id"])
            unit_ids.append([
                ok(coordinator.post(f"/v1/institutions/{iid}/academic-units", json={
                    "name": f"Unidad {c}-{u}", "kind": "faculty", "code": f"U{c}{u}", "campus_id": campus["id"],
                }), 201)["id"]
                for u in range(units_per_campus)
            ])  # fmt: skip
        body = {
            "name": "Mentoras STEM", "description": "Programa de mentoría.", "languages": ["es", "en"], "mode": "one_to_one",
            "delivery": "hybrid", "phases": phases(date.today()), "criteria": [],
            "privacy_notice": {"version": "2026-1", "text": "Aviso de privacidad del programa de mentoría."}, **program,
        }  # fmt: skip
        prog = ok(coordinator.post(f"/v1/institutions/{iid}/programs", json=body), 201)
        ok(coordinator.post(f"/v1/programs/{prog['id']}/transitions", json={"to": "call_open"}))
        pilot = Pilot(admin, coordinator, iid, prog, campus_ids, unit_ids)
        people = []
        for n, (role, campus, unit) in enumerate(placements):
            person = self.caller(f"{role}-{n}", sub=f"{slug}-{n:03d}", tid=iid, roles=[role])
            app_ = ok(person.post("/v1/applications", json={"program_id": prog["id"], "role": role, **application_form(role, n)}), 201)
            ok(person.post(f"/v1/applications/{app_['id']}/submit"))
            people.append((person, app_["id"], role, campus, unit))
        decisions = [{"application_id": a, "decision": "accepted", "reason": "Cumple"} for _, a, _, _, _ in people]
        ok(coordinator.post(f"/v1/programs/{prog['id']}/decisions", json={"decisions": decisions}))
        ok(coordinator.post(f"/v1/programs/{prog['id']}/invitations", json={}))
        for person, application_id, role, campus, unit in people:
            ok(person.post(f"/v1/applications/{application_id}/confirm"))
            me = ok(person.get("/v1/participants/me"))
            ok(coordinator.patch(f"/v1/participants/{me['id']}", json={
                "campus_id": campus_ids[campus], "academic_unit_id": unit_ids[campus][unit],
            }))  # fmt: skip
            member = Member(person, me["id"], me["memberships"][0]["id"], role, campus, unit)
            (pilot.mentors if role == "mentor" else pilot.mentees).append(member)
        return pilot


def profile_body(k: int, role: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "objectives": list(OBJECTIVES[k % 6 : k % 6 + 2]) if role == "mentee" else [],
        "expertise": list(OBJECTIVES[k % 6 : k % 6 + 3]) if role == "mentor" else [],
        "availability": [SLOTS[k % 5], SLOTS[(k + 2) % 5]],
        "timezone": "America/Mexico_City",
        "interests": sorted({INTERESTS[k % 7], INTERESTS[(k * 3 + 1) % 7]}),
        "languages": ["es"] + (["en"] if k % 2 else []),
        "delivery": ("hybrid", "virtual", "in_person")[k % 3],
    }
    if role == "mentor":
        body.update(capacity=1, willing_to_substitute=True)
    return {**body, **overrides}


def fill_profiles(pilot: Pilot, **overrides: Any) -> None:
    for k, member in enumerate((*pilot.mentors, *pilot.mentees)):
        ok(member.caller.put(f"{pilot.base}/profiles/me", json=profile_body(k, member.role, **overrides)))


@pytest.fixture
def world(http: TestClient, upstream: httpx.Client, mint: Mint) -> World:
    return World(http, upstream, mint)
