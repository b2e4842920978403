"""The people of bench/load, as locust users (read by ``locust -f``).

The world (bench/load/world.py) is read from the JSON file named by
``ALIADA_LOAD_WORLD``; each user takes the next person of her kind and her token
(tokens expire in 15 minutes: she logs in again with her password on a 401),
then works with a think time of ``ALIADA_LOAD_THINK`` seconds
("low-high", uniform).

Requests are named by endpoint group, which is what the bench reports on:

- ``people: read``: her dyads, meetings, objectives, overdue forms;
- ``people: write``: confirming a meeting that is due, filing its feedback
  (mentees and mentors); a diary entry, progress on her objective (mentees
  only: both are the mentee's);
- ``coordinator: views``: the at-risk list, the statistics, the dyads;
- ``evaluator: report``: the program report (JSON);
- ``lms: xapi``: one xAPI statement of a completed module.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser
from servicekit import clock

WORLD: dict[str, Any] = json.loads(Path(os.environ["ALIADA_LOAD_WORLD"]).read_text(encoding="utf-8"))
# bench/faults: every acknowledged create is written here (one JSON line each) to be checked afterwards.
ACKS = os.environ.get("ALIADA_LOAD_ACKS")
RETRYABLE = (0, 502, 503, 504)  # 0: the connection failed or was cut
LOW, HIGH = (float(x) for x in os.environ.get("ALIADA_LOAD_THINK", "0.5-2").split("-"))
RATINGS = {"preparation": 5, "listening": 4, "usefulness": 5, "rapport": 4}

_members = {role: itertools.cycle([m for p in WORLD["programs"] for m in p["members"] if m["role"] == role]) for role in ("mentee", "mentor")}
_programs = itertools.cycle(WORLD["programs"])


def problem(r: Any) -> str:
    """A failure as the report groups it: the status and the problem's type or first field."""
    try:
        body = r.json()
        what = (body.get("errors") or [{}])[0].get("field") or f"{body.get('type', '').rsplit(':', 1)[-1]}: {body.get('detail', '')[:70]}"
    except (ValueError, AttributeError):
        what = ""
    return f"{r.status_code} {what}".strip()


class Signed(FastHttpUser):
    abstract = True
    wait_time = between(LOW, HIGH)
    connection_timeout, network_timeout = 5.0, 30.0  # the gateway's own read timeout is shorter
    email = ""

    def login(self) -> None:
        with self.client.post("/v1/auth/token", data={"grant_type": "password", "username": self.email, "password": WORLD["password"]},
                              name="login", catch_response=True) as r:  # fmt: skip
            if r.status_code != 200:
                r.failure(f"login {r.status_code}")
                return
            self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}

    def create(self, path: str, kind: str, body: dict[str, Any], marker_field: str) -> None:
        """A create as a careful client makes it: one Idempotency-Key, repeated
        with the same key after a connection failure, a 502, 503 or 504 (at most
        four times, half a second apart). The body carries the key as a marker,
        so bench/faults can count duplicates; an acknowledged create is recorded."""
        key = str(uuid.uuid4())
        body = {**body, marker_field: f"{body.get(marker_field, '')} [{key}]".strip()}
        for attempt in range(4):
            with self.client.post(path, json=body, headers={**self.headers, "Idempotency-Key": key}, name="people: write",
                                  catch_response=True) as r:  # fmt: skip
                if r.status_code == 401 and attempt == 0:
                    r.success()
                    self.login()
                    continue
                if r.status_code == 201:
                    r.success()
                    if ACKS:
                        with open(ACKS, "a", encoding="utf-8") as acks:
                            acks.write(json.dumps({"kind": kind, "id": r.json()["id"], "key": key, "email": self.email, **self.scope(kind)}) + "\n")
                    return
                r.failure(problem(r))
                if r.status_code not in RETRYABLE:
                    return
            time.sleep(0.5)

    def scope(self, kind: str) -> dict[str, Any]:
        return {}

    def call(self, method: str, path: str, group: str, ok: tuple[int, ...] = (200, 201), **kw: Any) -> Any:
        for attempt in range(2):
            with self.client.request(method, path, headers=self.headers, name=group, catch_response=True, **kw) as r:
                if r.status_code == 401 and attempt == 0:
                    r.success()  # an expired token: log in again and repeat
                    self.login()
                    continue
                if r.status_code in ok:
                    r.success()
                    return r.json() if r.content else None
                r.failure(problem(r))
                return None
        return None


class Member(Signed):
    abstract = True
    role = ""

    def on_start(self) -> None:
        self.member = next(_members[self.role])
        self.email = self.member["email"]
        self.headers = {"Authorization": f"Bearer {self.member['token']}"}
        self.filed: set[str] = set()  # meetings she confirmed and gave feedback on

    @task(4)
    def my_dyads(self) -> None:
        self.call("GET", "/v1/dyads/mine", "people: read")

    @task(3)
    def meetings(self) -> None:
        self.call("GET", f"/v1/dyads/{self.member['dyad_id']}/meetings", "people: read", params={"limit": 50})

    @task(2)
    def objectives(self) -> None:
        self.call("GET", f"/v1/dyads/{self.member['dyad_id']}/objectives", "people: read")

    @task(1)
    def overdue_forms(self) -> None:
        self.call("GET", "/v1/feedback/overdue", "people: read")

    def scope(self, kind: str) -> dict[str, Any]:
        return {"dyad_id": self.member["dyad_id"], "objective_id": self.member["objective_id"]}

    @task(2)
    def confirm_and_give_feedback(self) -> None:
        """The next meeting that is due and not yet filed by her: she confirms
        it took place and files her form. With none left, she reads instead."""
        page = self.call("GET", f"/v1/dyads/{self.member['dyad_id']}/meetings", "people: read", params={"limit": 50})
        now = clock.now()  # the platform's simulation clock (bench/load moved it ten weeks on)
        due = [m for m in (page or {}).get("items", [])
               if m["id"] not in self.filed and m["status"] in ("scheduled", "rescheduled", "held") and datetime.fromisoformat(m["end"]) < now]
        if not due:
            return
        meeting = min(due, key=lambda m: m["number"])
        self.filed.add(meeting["id"])
        # The other member may have confirmed it first (409 then means "already held").
        self.call("POST", f"/v1/meetings/{meeting['id']}/confirmation", "people: write", ok=(200, 409), json={})
        self.call("POST", "/v1/feedback", "people: write", ok=(201, 409),
                  json={"meeting_id": meeting["id"], "ratings": RATINGS, "meeting_took_place": True})  # fmt: skip


class Mentee(Member):
    weight = 10
    role = "mentee"

    # The diary and the objective are hers: the platform answers a mentor 403 "Only the mentee may do this".
    @task(2)
    def diary(self) -> None:
        self.create("/v1/diary", "diary", {"dyad_id": self.member["dyad_id"], "entry_date": clock.now().date().isoformat(),
                    "text": "Notas de la semana: avances y dudas para la próxima sesión.", "shared": False}, "text")  # fmt: skip

    @task(2)
    def progress(self) -> None:
        self.create(f"/v1/objectives/{self.member['objective_id']}/progress", "progress", {"value": random.randint(0, 2)}, "note")


class Mentor(Member):
    weight = 8
    role = "mentor"


class Coordinator(Signed):
    weight = 2

    def on_start(self) -> None:
        self.program = next(_programs)
        self.email = self.program["coordinator"]
        self.headers = {"Authorization": f"Bearer {self.program['coordinator_token']}"}

    @task(3)
    def at_risk(self) -> None:
        self.call("GET", f"/v1/dyads/programs/{self.program['program_id']}/at-risk", "coordinator: views")

    @task(2)
    def statistics(self) -> None:
        self.call("GET", f"/v1/dyads/programs/{self.program['program_id']}/statistics", "coordinator: views")

    @task(1)
    def dyads(self) -> None:
        self.call("GET", f"/v1/dyads/programs/{self.program['program_id']}", "coordinator: views")


class Evaluator(Signed):
    weight = 1

    def on_start(self) -> None:
        self.program = next(_programs)
        self.email = self.program["evaluator"]
        self.headers = {"Authorization": f"Bearer {self.program['evaluator_token']}"}

    @task
    def report(self) -> None:
        self.call("GET", f"/v1/reports/programs/{self.program['program_id']}", "evaluator: report")


class Lms(FastHttpUser):
    weight = 1
    wait_time = between(LOW, HIGH)
    connection_timeout, network_timeout = 5.0, 30.0

    def on_start(self) -> None:
        self.program = next(_programs)
        self.lms = self.program["lms"]
        self.headers = {"Authorization": f"Bearer {self.lms['token']}", "X-Experience-API-Version": "1.0.3"}

    def token(self) -> None:
        r = self.client.post("/v1/auth/token", name="login", data={
            "grant_type": "client_credentials", "client_id": self.lms["client_id"],
            "client_secret": self.lms["client_secret"], "scope": "training:write",
        })  # fmt: skip
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}", "X-Experience-API-Version": "1.0.3"}

    @task
    def statement(self) -> None:
        member = random.choice(self.program["members"])
        statement = {
            "id": str(uuid.uuid4()),
            "actor": {"objectType": "Agent", "account": {"homePage": WORLD["lms_home"], "name": member["lms_id"]}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
            "object": {"objectType": "Activity", "id": self.lms["activity"]},
            "timestamp": clock.now().isoformat(),
        }
        with self.client.post("/v1/xapi/statements", json=[statement], headers=self.headers, name="lms: xapi", catch_response=True) as r:
            if r.status_code == 401:
                r.success()
                self.token()
            elif r.status_code != 200:
                r.failure(problem(r))
