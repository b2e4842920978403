"""Building blocks of the cross-service journeys: people with their own
gateway tokens, and a university with a confirmed cohort, all made through the
public API of a running platform (tools.stack.Stack)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from services.matching.tests.conftest import application_form
from services.participants.tests.conftest import phases

PASSWORD = "una-contraseña-larga-1"


class Client:
    """One person (or integration) talking to the gateway with her own token."""

    def __init__(self, http: httpx.Client, token: str | None, name: str = "") -> None:
        self.http = http
        self.name = name
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        r = self.request(method, path, **kw)
        assert r.status_code == status, f"{self.name} {method} {path}: {r.status_code} {r.text[:2000]}"
        return r.json()


def login(http: httpx.Client, email: str, password: str = PASSWORD) -> str:
    r = http.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


@dataclass
class Member:
    client: Client
    participant_id: str
    role: str
    campus: int
    unit: int


@dataclass
class Cohort:
    coordinator: Client
    institution_id: str
    program: dict[str, Any]
    campuses: list[str]
    units: list[list[str]]
    mentors: list[Member] = field(default_factory=list)
    mentees: list[Member] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.program["id"]

    def by_participant(self) -> dict[str, Member]:
        return {m.participant_id: m for m in (*self.mentors, *self.mentees)}


def university(http: httpx.Client, admin: Client, *, campuses: int = 3, units_per_campus: int = 3) -> tuple[str, Client, list[str], list[list[str]]]:
    """An institution, its coordinator (logged in), its campuses and units."""
    tag = uuid.uuid4().hex[:8]
    inst = admin.ok("POST", "/v1/institutions", 201, json={
        "name": f"Universidad {tag}", "slug": f"u-{tag}", "country": "MX", "timezone": "America/Mexico_City",
    })  # fmt: skip
    email = f"coordinacion-{tag}@uni.example"
    admin.ok("POST", "/v1/admin/accounts", 201, json={
        "email": email, "password": PASSWORD, "roles": ["coordinator"], "institution_id": inst["id"],
    })  # fmt: skip
    coordinator = Client(http, login(http, email), "coordinator")
    campus_ids, unit_ids = [], []
    for c in range(campuses):
        campus = coordinator.ok("POST", f"/v1/institutions/{inst['id']}/campuses", 201, json={"name": f"Campus {c}", "city": "Pachuca"})
        campus_ids.append(campus["id"])
        unit_ids.append([
            coordinator.ok("POST", f"/v1/institutions/{inst['id']}/academic-units", 201, json={
                "name": f"Unidad {c}-{u}", "kind": "faculty", "code": f"U{c}{u}", "campus_id": campus["id"],
            })["id"]
            for u in range(units_per_campus)
        ])  # fmt: skip
    return inst["id"], coordinator, campus_ids, unit_ids


def confirmed_cohort(http: httpx.Client, admin: Client, placements: list[tuple[str, int, int]], **program: Any) -> Cohort:
    """A program whose members (role, campus index, unit index) signed up at the
    gateway, applied, were accepted and confirmed, and were placed on their
    campus and academic unit by the coordinator."""
    iid, coordinator, campus_ids, unit_ids = university(http, admin)
    body = {
        "name": "Mentoras STEM", "description": "Programa de mentoría.", "languages": ["es", "en"], "mode": "one_to_one",
        "delivery": "hybrid", "phases": phases(date.today()), "criteria": [],
        "privacy_notice": {"version": "2026-1", "text": "Aviso de privacidad del programa de mentoría."}, **program,
    }  # fmt: skip
    prog = coordinator.ok("POST", f"/v1/institutions/{iid}/programs", 201, json=body)
    coordinator.ok("POST", f"/v1/programs/{prog['id']}/transitions", json={"to": "call_open"})
    cohort = Cohort(coordinator, iid, prog, campus_ids, unit_ids)
    anonymous = Client(http, None)
    applied = []
    for n, (role, campus, unit) in enumerate(placements):
        email = f"{role}-{n:03d}-{uuid.uuid4().hex[:6]}@uni.example"
        anonymous.ok("POST", "/v1/auth/signup", 202, json={"email": email, "password": PASSWORD, "institution_id": iid})
        person = Client(http, login(http, email), f"{role}-{n}")
        application = person.ok("POST", "/v1/applications", 201, json={"program_id": prog["id"], "role": role, **application_form(role, n)})
        person.ok("POST", f"/v1/applications/{application['id']}/submit")
        applied.append((person, application["id"], role, campus, unit))
    coordinator.ok("POST", f"/v1/programs/{prog['id']}/decisions", json={"decisions": [
        {"application_id": a, "decision": "accepted", "reason": "Cumple"} for _, a, _, _, _ in applied
    ]})  # fmt: skip
    coordinator.ok("POST", f"/v1/programs/{prog['id']}/invitations", json={})
    for person, application_id, role, campus, unit in applied:
        person.ok("POST", f"/v1/applications/{application_id}/confirm")
        me = person.ok("GET", "/v1/participants/me")
        coordinator.ok("PATCH", f"/v1/participants/{me['id']}", json={
            "campus_id": campus_ids[campus], "academic_unit_id": unit_ids[campus][unit],
        })  # fmt: skip
        member = Member(person, me["id"], role, campus, unit)
        (cohort.mentors if role == "mentor" else cohort.mentees).append(member)
    return cohort


def matched_and_active(cohort: Cohort, profile_body: Any) -> dict[str, Any]:
    """Everyone fills the questionnaire; the coordinator runs and publishes
    matching; substitutes agree; both members accept every match."""
    base = f"/v1/matching/programs/{cohort.id}"
    for k, member in enumerate((*cohort.mentors, *cohort.mentees)):
        member.client.ok("PUT", f"{base}/profiles/me", json=profile_body(k, member.role))
    run = cohort.coordinator.ok("POST", f"{base}/runs", 201, json={})
    published = cohort.coordinator.ok("POST", f"{base}/runs/{run['id']}/publish")
    people = cohort.by_participant()
    for offer in published["substitute_offers"]:
        people[offer["mentor_participant_id"]].client.ok("POST", f"/v1/matching/substitute-offers/{offer['id']}/accept")
    for match in published["matches"]:
        for who in ("mentee_participant_id", "mentor_participant_id"):
            people[match[who]].client.ok("POST", f"/v1/matching/matches/{match['id']}/accept")
    return published


def wait_for(check: Callable[[], Any], what: str, seconds: float = 30.0) -> Any:
    """``check()`` until it is truthy (its value is returned), at most ``seconds``: what crosses a feed takes a
    poll or two."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
