"""The Peru pilot end to end through the matching API (issue 4: < 50 ms).

In process: the matching app over ASGI (httpx), its own SQLite database built
by its migrations, the real token verification, and the participants service
answered at the httpx transport level with realistic payloads (one program, its
60 memberships, the 60 participants, two campuses and their units). Each
measured request is ``POST /v1/matching/programs/{id}/runs``: it reads the
program, memberships, participants and places from "participants", snapshots
the inputs, scores and solves 40 mentees x 20 mentors (capacity 2) on a worker
thread, and stores the run with its report. Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import httpx

RUNS = 25


def _payloads(institution: uuid.UUID, program: uuid.UUID, mentors: int, mentees: int) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    now = datetime.now(UTC).isoformat()
    start = date.today() + timedelta(days=30)
    prog = {
        "id": str(program), "institution_id": str(institution), "name": "Peru pilot", "status": "matching",
        "mode": "one_to_one", "delivery": "hybrid", "languages": ["es"], "max_mentees_per_mentor": 2,
        "meetings_count": 12, "meeting_cadence": "weekly", "feedback_deadline_hours": 48,
        "phases": [{"kind": "mentoring", "starts_on": start.isoformat(), "ends_on": (start + timedelta(days=150)).isoformat()}],
    }  # fmt: skip
    campuses = [uuid.uuid4() for _ in range(2)]
    units = [[uuid.uuid4() for _ in range(3)] for _ in campuses]
    places = [{"id": str(c), "name": f"Campus {i}"} for i, c in enumerate(campuses)] + [
        {"id": str(u), "name": f"Unidad {i}-{j}"} for i, row in enumerate(units) for j, u in enumerate(row)
    ]
    memberships, people = [], []
    for k in range(mentors + mentees):
        role = "mentor" if k < mentors else "mentee"
        pid = uuid.UUID(int=k + 1)
        memberships.append({
            "id": str(uuid.uuid4()), "institution_id": str(institution), "program_id": str(program), "participant_id": str(pid),
            "application_id": str(uuid.uuid4()), "role": role, "status": "active", "status_reason": None, "trained": True,
            "trained_at": now, "created_at": now, "updated_at": now,
        })  # fmt: skip
        c = (k % 2) if role == "mentor" else ((k + 1) % 2)
        people.append({
            "id": str(pid), "institution_id": str(institution), "account_id": f"pe-{k:03d}", "display_name": f"Persona {k}",
            "languages": ["es"], "timezone": "America/Lima", "campus_id": str(campuses[c]), "academic_unit_id": str(units[c][k % 3]),
            "career_stage": "senior" if role == "mentor" else "graduate_student", "memberships": [], "created_at": now, "updated_at": now,
        })  # fmt: skip
    return prog, memberships, people, places


def _transport(prog: dict[str, Any], memberships: list[dict[str, Any]], people: list[dict[str, Any]], places: list[dict[str, Any]]) -> httpx.MockTransport:
    campuses = [p for p in places if p["name"].startswith("Campus")]
    units = [p for p in places if not p["name"].startswith("Campus")]

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/memberships"):
            body: Any = {"items": memberships, "next_cursor": None}
        elif path.endswith("/participants"):
            body = {"items": people, "next_cursor": None}
        elif path.endswith("/campuses"):
            body = {"items": campuses, "next_cursor": None}
        elif path.endswith("/academic-units"):
            body = {"items": units, "next_cursor": None}
        elif path == f"/v1/programs/{prog['id']}":
            body = prog
        else:
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handle)


async def measure() -> dict[str, Any]:
    from sqlmodel import Session

    from servicekit.auth import StaticKeySource
    from servicekit.db import make_engine
    from servicekit.tokens import SigningKey, access_claims
    from services.matching.config import Settings
    from services.matching.db import migrate
    from services.matching.main import create_app
    from services.matching.models import MatchingProfile

    institution, program = uuid.uuid4(), uuid.uuid4()
    prog, memberships, people, places = _payloads(institution, program, 20, 40)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'matching.db'}"
        migrate(url)
        engine = make_engine(url, pool_size=4, max_overflow=0)
        slots = [{"weekday": d, "start": s, "end": e} for d, s, e in ((0, "09:00", "12:00"), (1, "10:00", "13:00"), (2, "08:00", "10:00"), (3, "11:00", "14:00"), (4, "07:00", "09:00"))]
        topics = ("funding", "publishing", "leadership", "networking", "teaching", "career_plan")
        with Session(engine) as session:
            for k, m in enumerate(memberships):
                mentor = m["role"] == "mentor"
                session.add(MatchingProfile(
                    institution_id=institution, program_id=program, participant_id=uuid.UUID(m["participant_id"]),
                    account_id=people[k]["account_id"], role=m["role"],
                    objectives=[] if mentor else list(topics[k % 6 : k % 6 + 2]), expertise=list(topics[k % 6 : k % 6 + 3]) if mentor else [],
                    availability=[slots[k % 5], slots[(k + 2) % 5]], timezone="America/Lima", capacity=2 if mentor else 0,
                    willing_to_substitute=mentor, interests=sorted({f"tag{k % 7}", f"tag{(3 * k + 1) % 7}"}), languages=["es"],
                    delivery=("hybrid", "virtual", "in_person")[k % 3],
                ))  # fmt: skip
            session.commit()
        key = SigningKey.generate(kid="bench")
        settings = Settings(database_url=url, jwt_issuer="bench", jwt_audience="aliada", log_level="WARNING", threadpool_size=4)
        app = create_app(settings, key_source=StaticKeySource({"keys": [key.public_jwk]}), engine=engine,
                         participants_transport=_transport(prog, memberships, people, places))  # fmt: skip
        token = key.sign(access_claims(issuer="bench", audience="aliada", subject="coord", tenant_id=str(institution), roles=["coordinator"], scope=""))
        walls, last = [], None
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://matching") as client:
                path = f"/v1/matching/programs/{program}/runs"
                headers = {"Authorization": f"Bearer {token}"}
                for i in range(RUNS + 3):
                    start = perf_counter()
                    resp = await client.post(path, json={}, headers=headers)
                    elapsed = perf_counter() - start
                    assert resp.status_code == 201, resp.text
                    if i >= 3:  # warm-up
                        walls.append(elapsed)
                    last = resp.json()
        engine.dispose()
    assert last is not None
    return {
        "median": statistics.median(walls), "min": min(walls), "max": max(walls), "runs": len(walls),
        "matched": last["report"]["matched"], "mentees": last["report"]["mentees"], "engine_ms": last["duration_ms"],
    }  # fmt: skip


def report(f: dict[str, Any]) -> None:
    verdict = "meets" if f["median"] < 0.05 else "misses"
    print("== peru through the API: POST /v1/matching/programs/{id}/runs, 40 mentees, 20 mentors, capacity 2, optimal")
    print(
        f"   wall {f['median'] * 1000:.1f} ms (median of {f['runs']}, range {f['min'] * 1000:.1f}-{f['max'] * 1000:.1f} ms)"
        f"   goal < 50 ms end to end: {verdict}"
    )
    print(f"   matched {f['matched']}/{f['mentees']}; engine {f['engine_ms']:.1f} ms of it; participants answered in process")


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure())))
