"""Fixtures of the evaluation API tests.

The evaluation database is built by its alembic migrations and emptied after
each test. The participants, matching and sessions services are replaced at the
httpx transport level (``httpx.MockTransport``) by ``FakeUpstreams``, whose
payloads follow those services' public schemas (ParticipantPublic, ProgramPublic,
FunnelPublic, TrainingStats, MatchingOutcomes, ProgramOutcomesOut, DyadPublic) and
whose access rules follow theirs: the report's inputs answer the program's
coordinators and a client with scope ``reports:read`` (the evaluation service's own
token, ``ServiceTokens``); the research roster (ResearchMember) answers coordinators
and a client with scope ``research:read``, which opens nothing else; a person's own
records answer her token.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from servicekit.db import make_engine
from servicekit.testing import TEST_AUDIENCE, TEST_ISSUER, Mint, bearer

from services.evaluation.config import Settings
from services.evaluation.db import migrate
from services.evaluation.main import create_app
from services.evaluation.models import Base

PARTICIPANTS, MATCHING, SESSIONS = "http://participants.test", "http://matching.test", "http://sessions.test"
NOW = "2026-01-10T12:00:00Z"
REPORTS_SCOPE = "reports:read"
RESEARCH_SCOPE = "research:read"


class ServiceTokens:
    """The evaluation service's own client-credentials token (as the gateway would issue it), with one scope."""

    def __init__(self, mint: Mint, scope: str = REPORTS_SCOPE) -> None:
        self.mint = mint
        self.scope = scope

    async def token(self) -> str:
        return self.mint(sub="svc-evaluation", roles=[], scope=self.scope, client_id="svc-evaluation")


def _page(items: list[Any]) -> dict[str, Any]:
    return {"items": items, "next_cursor": None}


@dataclass
class FakeUpstreams:
    """What the three services answer. ``people[sub]`` is her participant record."""

    programs: dict[str, dict[str, Any]] = field(default_factory=dict)
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    dyad_ids: dict[str, list[str]] = field(default_factory=dict)  # program id -> its 14 dyads (the first dissolved)
    dyads_of: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sub -> her dyads (DyadPublic)
    institutions: dict[str, str] = field(default_factory=dict)  # id -> name
    assessments: dict[str, bool] = field(default_factory=dict)  # program id -> its members assessed their objectives
    down: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)  # "<service> <path> <client|person>"

    def program(self, institution_id: uuid.UUID, name: str = "Mentoras STEM 2026") -> uuid.UUID:
        pid = uuid.uuid4()
        self.programs[str(pid)] = {
            "id": str(pid), "institution_id": str(institution_id), "name": name, "description": "", "languages": ["es"],
            "mode": "one_to_one", "delivery": "hybrid", "max_mentees_per_mentor": 1, "meetings_count": 12,
            "meeting_cadence": "weekly", "feedback_deadline_hours": 48, "confirmation_days": 7, "status": "running",
            "status_changed_at": NOW, "criteria": [],
            "phases": [{"kind": "call", "starts_on": "2025-08-04", "ends_on": "2025-08-29"},
                       {"kind": "training", "starts_on": "2025-09-01", "ends_on": "2025-09-26"},
                       {"kind": "mentoring", "starts_on": "2025-10-06", "ends_on": "2026-01-09"},
                       {"kind": "evaluation", "starts_on": "2026-01-12", "ends_on": "2026-01-30"}], "privacy_notice": None, "roles": ["mentor", "mentee"],
            "applications_close_at": None, "created_at": NOW, "updated_at": NOW,
        }
        self.dyad_ids[str(pid)] = [str(uuid.uuid4()) for _ in range(14)]
        self.institutions.setdefault(str(institution_id), f"Universidad Juárez de Prueba {str(institution_id)[:4]}")
        return pid

    def join_dyad(self, sub: str, program_id: uuid.UUID, dyad: int, status: str | None = None, activated_at: str = NOW) -> str:
        """She is a member of the program's dyad number ``dyad`` (as sessions' /v1/dyads/mine lists it)."""
        dyad_id = self.dyad_ids[str(program_id)][dyad]
        self.dyads_of.setdefault(sub, []).append({
            "id": dyad_id, "program_id": str(program_id), "status": status or ("dissolved" if dyad == 0 else "completed"),
            "activated_at": activated_at,
        })
        return dyad_id

    def person(self, institution_id: uuid.UUID, program_id: uuid.UUID, role: str, sub: str | None = None, *,
               career_stage: str | None = None, stem_fields: tuple[str, ...] = (),
               consents: tuple[str, ...] = ("program", "research"), status: str = "active") -> tuple[str, uuid.UUID]:
        """She is a member of the program; ``consents`` are the purposes active on her application."""
        sub = sub or f"acct-{uuid.uuid4().hex[:10]}"
        pid = uuid.uuid4()
        record = self.people.setdefault(sub, {
            "id": str(pid), "institution_id": str(institution_id), "account_id": sub, "display_name": "Ana", "pronouns": None,
            "languages": ["es"], "timezone": "America/Mexico_City", "campus_id": None, "academic_unit_id": None,
            "career_stage": career_stage, "stem_fields": list(stem_fields), "bio": None, "lms_id": None, "hr_id": None,
            "sis_id": None, "memberships": [], "created_at": NOW, "updated_at": NOW,
        })
        record["memberships"].append({
            "id": str(uuid.uuid4()), "institution_id": str(institution_id), "program_id": str(program_id),
            "participant_id": record["id"], "application_id": str(uuid.uuid4()), "role": role, "status": status,
            "status_reason": None, "trained": True, "trained_at": NOW, "created_at": NOW, "updated_at": NOW,
            "consents": list(consents),
        })
        return sub, uuid.UUID(record["id"])

    def research_roster(self, program_id: str) -> list[dict[str, Any]]:
        """The participants service's research roster (ResearchMember): current members consenting to research."""
        out = []
        for person in self.people.values():
            for m in person["memberships"]:
                if m["program_id"] == program_id and m["status"] in ("active", "substitute", "completed") and "research" in m["consents"]:
                    out.append({"participant_id": person["id"], "membership_id": m["id"], "application_id": m["application_id"],
                                "role": m["role"], "status": m["status"], "career_stage": person["career_stage"],
                                "stem_fields": person["stem_fields"], "quotes": "quotes" in m["consents"]})
        return sorted(out, key=lambda i: i["membership_id"])

    # ------------------------------------------------------------ the report's inputs (Mexico-like pilot)

    def report_payloads(self, program_id: str) -> dict[str, Any]:
        stages = lambda a, ac, c, t, co: {"applied": a, "accepted": ac, "invited": ac, "confirmed": c, "trained": t,  # noqa: E731
                                          "completed": co, "withdrawn": 0}
        status = {k: 0 for k in ("draft", "submitted", "accepted", "waitlisted", "rejected", "invited", "confirmed",
                                 "declined", "expired", "withdrawn")}
        dyad_ids = self.dyad_ids[program_id]
        matching = {
            "program_id": program_id,
            "run": {"id": str(uuid.uuid4()), "status": "completed", "algorithm": "optimal", "published_at": NOW, "mentors": 16,
                    "mentees": 14, "matched": 14, "blocking_pairs": 0, "substitutes": 2,
                    "pair_scores": [0.5 + i / 50 for i in reversed(range(14))]},
            "matches": {"proposed": 0, "active": 0, "completed": 13, "dissolved": 1}, "matched_mentors": 14, "matched_mentees": 14,
        }
        # Dyad 0 stopped after its third meeting; the rest held twelve. Forms: 150 on time, 10 never sent, the rest late.
        on_time = [3, 12, 12, 12, 12] + [11] * 9
        unsent = [0, 0, 0, 0, 1] + [1] * 9
        items, late_no = [], 0
        for i, d in enumerate(dyad_ids):
            held = 3 if i == 0 else 12
            late = 2 * held - on_time[i] - unsent[i]
            late_days = sorted((late_no + j) % 14 + 1 for j in range(late))
            late_no += late
            # Milestones (the verified measure): dyad i confirmed i of its 2 x 4 milestones (dyad 0 none of 4).
            milestones = 4 if i == 0 else 8
            confirmed = 0 if i == 0 else min(i, 8)
            assessed = self.assessments.get(program_id, False) and i > 0
            items.append({
                "dyad_id": d, "status": "dissolved" if i == 0 else "completed", "health": None, "at_risk": False,
                "meetings": {"scheduled": 12, "planned_to_date": 12, "held": held, "rescheduled": 1 if i % 3 == 0 else 0,
                             "cancelled": 9 if i == 0 else 0, "no_show": 0, "in_person": 3 if i % 2 else 1},
                "feedback": {"due": 2 * held, "submitted": 2 * held - unsent[i], "on_time": on_time[i], "late": late,
                             "unsubmitted": unsent[i], "late_days": late_days},
                "objectives": {"objectives": 1 if i == 0 else 2, "with_progress": 0 if i == 0 else 2, "achieved": 1 if i > 10 else 0,
                               "milestones": milestones, "milestones_reported": 1, "milestones_confirmed": confirmed,
                               "milestones_overdue": 0, "measured_mean": 100.0 * confirmed / milestones,
                               "self_reported_mean": 0.0 if i == 0 else 40.0 + 4 * i,
                               "perceived_mentee_mean": 60.0 + 3 * i if assessed else None,
                               "perceived_mentor_mean": 50.0 + 2 * i if assessed else None,
                               "assessed_by_mentee": 2 if assessed else 0, "assessed_by_mentor": 2 if assessed else 0},
                "rapport": {"mentee_rates_mentor": 3.0 + (i % 3) / 2, "mentor_rates_mentee": 3.5 + (i % 2) / 2,
                            "mean": (3.0 + (i % 3) / 2 + 3.5 + (i % 2) / 2) / 2, "forms_rated": 2 * held - unsent[i]},
            })
        due, submitted = sum(x["feedback"]["due"] for x in items), sum(x["feedback"]["submitted"] for x in items)
        outcomes = {
            "program_id": program_id, "meetings_per_dyad": 12, "feedback_deadline_hours": 48, "dyads": 14,
            "meetings": {"planned": 168, "held": 159, "rescheduled": 5, "cancelled": 9, "no_show": 0, "held_rate": 159 / 168,
                         "reschedule_rate": 5 / 168, "cancellation_rate": 9 / 168, "no_show_rate": 0.0},
            "feedback": {"due": due, "submitted": submitted, "on_time": 150, "late": submitted - 150, "unsubmitted": due - submitted,
                         "on_time_rate": 150 / due, "delays": [], "mean_delay_days": 7.5, "median_delay_days": 7.5,
                         "max_delay_days": 14},
            "items": items, "computed_at": NOW,
        }
        return {
            "funnel": {"program_id": program_id, "total": stages(60, 32, 30, 30, 26), "by_status": status, "by_role": [
                {"role": "mentor", "stages": stages(25, 17, 16, 16, 13), "by_status": status},
                {"role": "mentee", "stages": stages(35, 15, 14, 14, 13), "by_status": status},
            ]},
            "training": {"program_id": program_id, "training_starts_on": "2026-04-01", "members": 30, "trained": 30,
                         "completion_rate": 1.0, "required_modules": 5, "days_to_completion": None,
                         "modules": [{"module_id": str(uuid.uuid4()), "title": f"Módulo {m}", "kind": "online_module",
                                      "required": True, "completed": 30, "completion_rate": 1.0} for m in range(1, 6)]},
            "matching": matching,
            "outcomes": outcomes,
        }

    # ------------------------------------------------------------ the transport

    def handler(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host.split(".")[0], request.url.path
        self.calls.append(f"{host} {path}")
        if host in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        claims = jwt.get_unverified_claims(token)
        tid, roles = claims.get("tid"), claims.get("roles", [])
        client = claims.get("client_id") is not None
        report_client = client and REPORTS_SCOPE in claims.get("scope", "").split()
        research_client = client and RESEARCH_SCOPE in claims.get("scope", "").split()
        self.calls[-1] += " client" if client else " person"

        def program_or_404(pid: str) -> dict[str, Any] | None:
            p = self.programs.get(pid)
            visible = p is not None and (p["institution_id"] == tid or ((report_client or research_client) and tid is None))
            return p if visible else None

        parts = path.strip("/").split("/")
        if host == "participants" and len(parts) == 3 and parts[:2] == ["v1", "institutions"]:
            name = self.institutions.get(parts[2])
            visible = name is not None and (report_client and tid in (None, parts[2]) or (not client and tid == parts[2]))
            if not visible:
                return httpx.Response(404, json={"title": "Not Found", "status": 404})
            return httpx.Response(200, json={"id": parts[2], "name": name, "slug": "ujat", "country": "MX",
                                             "timezone": "America/Mexico_City", "default_languages": ["es"],
                                             "created_at": NOW, "updated_at": NOW})
        if host == "participants" and path == "/v1/participants/me":
            person = self.people.get(claims["sub"])
            if client or person is None or person["institution_id"] != tid:
                return httpx.Response(404, json={"title": "Not Found", "status": 404})
            return httpx.Response(200, json=person)
        if host == "sessions" and path == "/v1/dyads/mine":
            mine = [] if client else [d for d in self.dyads_of.get(claims["sub"], [])
                                      if self.programs[d["program_id"]]["institution_id"] == tid]
            return httpx.Response(200, json=_page(mine))
        pid = next((p for p in parts if p in self.programs), None)
        program = program_or_404(pid) if pid else None
        if program is None:
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        if path == f"/v1/programs/{pid}/research-roster":  # coordinators and the research:read client only
            if "coordinator" not in roles and not research_client or (client and not research_client):
                return httpx.Response(403, json={"title": "Forbidden", "status": 403})
            return httpx.Response(200, json=_page(self.research_roster(pid)))
        if research_client and not report_client:  # research:read opens nothing else
            return httpx.Response(403, json={"title": "Forbidden", "status": 403})
        if path != f"/v1/programs/{pid}" and "coordinator" not in roles and not report_client:
            return httpx.Response(403, json={"title": "Forbidden", "status": 403})
        data = self.report_payloads(pid)
        routes = {
            ("participants", f"/v1/programs/{pid}"): program,
            ("participants", f"/v1/programs/{pid}/funnel"): data["funnel"],
            ("participants", f"/v1/programs/{pid}/training-stats"): data["training"],
            ("matching", f"/v1/matching/programs/{pid}/outcomes"): data["matching"],
            ("sessions", f"/v1/dyads/programs/{pid}/outcomes"): data["outcomes"],
        }
        body = routes.get((host, path))
        if body is None:
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        return httpx.Response(200, json=body)


@pytest.fixture(scope="session")
def database_url(database_factory: Any) -> str:
    url = database_factory.new("evaluation")
    migrate(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=8, max_overflow=4)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def fake() -> FakeUpstreams:
    return FakeUpstreams()


@pytest.fixture(scope="session")
def app(database_url: str, engine: Engine, key_source: Any, fake: FakeUpstreams, mint: Mint) -> FastAPI:
    settings = Settings(
        database_url=database_url, jwt_issuer=TEST_ISSUER, jwt_audience=TEST_AUDIENCE, threadpool_size=8, log_level="WARNING",
        participants_url=PARTICIPANTS, matching_url=MATCHING, sessions_url=SESSIONS, pseudonym_key="test-pseudonym-key",
    )
    return create_app(settings, key_source=key_source, engine=engine, upstream_transport=httpx.MockTransport(fake.handler),
                      report_tokens=ServiceTokens(mint), research_tokens=ServiceTokens(mint, RESEARCH_SCOPE))


@pytest.fixture(scope="session")
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture(autouse=True)
def _clean(engine: Engine, fake: FakeUpstreams) -> Iterator[None]:
    yield
    fake.programs.clear()
    fake.people.clear()
    fake.dyad_ids.clear()
    fake.dyads_of.clear()
    fake.institutions.clear()
    fake.assessments.clear()
    fake.down.clear()
    fake.calls.clear()
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


def all_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t))] for t in Base.metadata.sorted_tables}


@dataclass
class World:
    """One institution with a program, its coordinator and evaluator, and helpers."""

    http: TestClient
    fake: FakeUpstreams
    mint: Mint
    institution_id: uuid.UUID
    program_id: uuid.UUID
    coordinator: dict[str, str]
    evaluator: dict[str, str]

    def person(self, role: str, **kw: Any) -> tuple[dict[str, str], str, uuid.UUID]:
        sub, participant_id = self.fake.person(self.institution_id, self.program_id, role, **kw)
        roles = ["mentor"] if role in ("mentor", "peer_mentor") else ["mentee"]
        return bearer(self.mint(sub=sub, tid=str(self.institution_id), roles=roles)), sub, participant_id

    def staff(self, sub: str, *roles: str) -> dict[str, str]:
        """A person of the institution with these roles (an evaluator named on the interview team, say)."""
        return bearer(self.mint(sub=sub, tid=str(self.institution_id), roles=list(roles)))

    def dyad_member(self, role: str, dyad: int, **kw: Any) -> tuple[dict[str, str], str, uuid.UUID]:
        """A mentee or mentor of the program's dyad number ``dyad``."""
        headers, sub, participant_id = self.person(role)
        self.fake.join_dyad(sub, self.program_id, dyad, **kw)
        return headers, sub, participant_id

    def builtin_id(self, key: str) -> str:
        items = self.http.get("/v1/instruments", params={"builtin": "true"}, headers=self.coordinator).json()["items"]
        return next(i["id"] for i in items if i["key"] == key)

    def administer(self, key: str = "soft-skills", *, moment: str = "pre", audience: str = "everyone", anonymous: bool = False,
                   opens_in: timedelta = timedelta(hours=-1), closes_in: timedelta = timedelta(days=7),
                   instrument_id: str | None = None) -> dict[str, Any]:
        now = datetime.now(UTC)
        body = {"instrument_id": instrument_id or self.builtin_id(key), "program_id": str(self.program_id), "audience": audience,
                "moment": moment, "opens_at": (now + opens_in).isoformat(), "closes_at": (now + closes_in).isoformat(),
                "anonymous": anonymous}
        r = self.http.post("/v1/administrations", json=body, headers=self.coordinator)
        assert r.status_code == 201, r.text
        return r.json()

    def answer(self, adm_id: str, headers: dict[str, str], answers: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"/v1/administrations/{adm_id}/responses/mine/submission", json={"answers": answers}, headers=headers)


def make_world(http: TestClient, fake: FakeUpstreams, mint: Mint) -> World:
    inst = uuid.uuid4()
    program = fake.program(inst)
    return World(
        http, fake, mint, inst, program,
        bearer(mint(sub=f"coord-{inst.hex[:6]}", tid=str(inst), roles=["coordinator"])),
        bearer(mint(sub=f"eval-{inst.hex[:6]}", tid=str(inst), roles=["evaluator"])),
    )


@pytest.fixture
def world(http: TestClient, fake: FakeUpstreams, mint: Mint) -> World:
    return make_world(http, fake, mint)


@pytest.fixture
def other_world(http: TestClient, fake: FakeUpstreams, mint: Mint) -> World:
    return make_world(http, fake, mint)
