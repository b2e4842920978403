"""A whole pilot, played through the gateway's public API (``make demo``).

Every step is a request a real actor would make with her own token: the
platform admin opens the institution, the coordinator runs the program, each
applicant signs up and applies, the LMS posts xAPI statements, each member
fills her questionnaire, confirms her meetings, gives feedback, sets and
measures her objectives and answers the surveys. The development platform's
simulation clock (servicekit.clock) moves forward between steps, so twelve
weeks of meetings, and feedback that arrives on time or 1 to 14 days late,
play in a few minutes.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tools.demo.api import DemoError, Person, SimulationClock, client_token, log_in, wait_for
from tools.demo.pilots import FAMILY, GIVEN, INTERESTS, MENTEE_WORDS, MENTOR_WORDS, OBJECTIVES, SLOTS, STEM_FIELDS, Pilot

PASSWORD = "demo-contraseña-" + uuid.uuid4().hex[:8]
XAPI_VERBS = "http://adlnet.gov/expapi/verbs/"


@dataclass
class Member:
    person: Person
    email: str
    role: str
    index: int
    campus: int
    unit: int
    name: str
    application_id: str = ""
    participant_id: str = ""


@dataclass
class Demo:
    pilot: Pilot
    http: httpx.Client
    clock: SimulationClock
    admin: Person
    out_dir: Path
    say: Callable[[str], None]
    rng: random.Random = field(default_factory=lambda: random.Random(20261122))
    members: list[Member] = field(default_factory=list)
    coordinator: Person | None = None
    program: dict[str, Any] = field(default_factory=dict)
    institution_id: str = ""
    campuses: list[str] = field(default_factory=list)
    units: list[list[str]] = field(default_factory=list)
    modules: list[dict[str, Any]] = field(default_factory=list)
    tally: Counter = field(default_factory=Counter)
    active: list[str] = field(default_factory=list)  # match ids of the dyads still meeting

    # -- time -----------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.pilot.timezone)

    def at(self, day: date, hour: int = 12) -> datetime:
        return datetime.combine(day, time(hour), self.tz)

    def phase(self, kind: str) -> tuple[date, date]:
        p = next(p for p in self.program["phases"] if p["kind"] == kind)
        return date.fromisoformat(p["starts_on"]), date.fromisoformat(p["ends_on"])

    def enter(self, kind: str) -> None:
        """Move the clock to the first morning of a phase and the program into it."""
        start, _ = self.phase(kind)
        self.clock.advance_to(self.at(start, 9))
        self.program = self.c.post(f"/v1/programs/{self.program['id']}/transitions", {"to": kind})
        self.say(f"  {self.clock.now():%Y-%m-%d}  program enters {kind}")

    @property
    def c(self) -> Person:
        assert self.coordinator is not None
        return self.coordinator

    @property
    def mentors(self) -> list[Member]:
        return [m for m in self.members if m.role == "mentor"]

    @property
    def mentees(self) -> list[Member]:
        return [m for m in self.members if m.role == "mentee"]

    def by_participant(self) -> dict[str, Member]:
        return {m.participant_id: m for m in self.members}

    # -- 1. set-up --------------------------------------------------------------

    def set_up(self) -> None:
        p = self.pilot
        tag = uuid.uuid4().hex[:6]
        self.say(f"1. Set-up: {p.institution}")
        inst = self.admin.post("/v1/institutions", {
            "name": f"{p.institution} {tag}", "slug": f"{p.slug}-{tag}", "country": p.country, "timezone": p.timezone,
        })  # fmt: skip
        self.institution_id = inst["id"]
        email = f"coordinacion-{tag}@{p.slug}.example"
        self.admin.post("/v1/admin/accounts", {"email": email, "password": PASSWORD, "roles": ["coordinator"],
                                               "institution_id": self.institution_id})  # fmt: skip
        self.coordinator = log_in(self.http, email, PASSWORD, "coordinator")
        for ci, campus in enumerate(p.campuses):
            row = self.c.post(f"/v1/institutions/{self.institution_id}/campuses", {"name": campus, "city": campus})
            self.campuses.append(row["id"])
            self.units.append([
                self.c.post(f"/v1/institutions/{self.institution_id}/academic-units", {
                    "name": f"Programa {STEM_FIELDS[(ci + u) % len(STEM_FIELDS)].replace('_', ' ')} ({campus})",
                    "kind": "faculty", "code": f"P{ci}{u}", "campus_id": row["id"],
                })["id"]
                for u in range(p.units_per_campus)
            ])  # fmt: skip
        d0 = self.clock.now().astimezone(self.tz).date()
        spans = [("call", 0, 13), ("selection", 14, 20), ("training", 21, 76), ("matching", 77, 83),
                 ("mentoring", 84, 188), ("evaluation", 189, 220)]  # fmt: skip
        phases = [{"kind": k, "starts_on": str(d0 + timedelta(days=a)), "ends_on": str(d0 + timedelta(days=b))} for k, a, b in spans]
        self.program = self.c.post(f"/v1/institutions/{self.institution_id}/programs", {
            "name": f"Mentoras STEM {d0.year} ({p.key})",
            "description": "Programa de mentoría estructurada para mujeres en STEM: convocatoria, formación, "
                           "emparejamiento, doce reuniones semanales y evaluación.",
            "languages": ["es", "en"], "mode": "one_to_one", "delivery": "hybrid",
            "max_mentees_per_mentor": p.capacity, "meetings_count": 12, "meeting_cadence": "weekly",
            "feedback_deadline_hours": 48, "phases": phases,
            "criteria": [
                {"id": "woman", "field": "identifies_as_woman", "op": "is_true", "description": "Mujer"},
                {"id": "stem", "field": "stem_field", "op": "in", "value": list(STEM_FIELDS), "description": "Trabaja o estudia en STEM"},
                {"id": "training", "field": "willing_to_train", "op": "is_true", "description": "Dispuesta a formarse"},
                {"id": "funding", "field": "funding_experience", "op": "is_true", "roles": ["mentor"],
                 "description": "Experiencia en convocatorias de financiamiento"},
            ],
            "privacy_notice": {"version": f"{d0.year}-1", "text": "Aviso de privacidad: tus datos se usan para operar el "
                               "programa y, si lo consientes, para su evaluación."},
        })  # fmt: skip
        self.say(f"   program {self.program['id']} with phases from {phases[0]['starts_on']} to {phases[-1]['ends_on']}")

    # -- 2. call and applications -------------------------------------------------

    def call(self) -> None:
        p = self.pilot
        self.program = self.c.post(f"/v1/programs/{self.program['id']}/transitions", {"to": "call_open"})
        self.say(f"2. Open call: {p.mentors + p.mentees} applications")
        anonymous = Person(self.http, None, "anonymous")
        public = anonymous.get(f"/v1/calls/{self.program['id']}")
        assert public["privacy_notice"]["version"], public
        roles = ["mentor"] * p.mentors + ["mentee"] * p.mentees
        n_campus, n_unit = len(p.campuses), p.units_per_campus
        counts = Counter()
        for n, role in enumerate(roles):
            k = counts[role]
            counts[role] += 1
            name = f"{GIVEN[n % len(GIVEN)]} {FAMILY[(n * 7) % len(FAMILY)]}"
            email = f"{role}{k:02d}-{uuid.uuid4().hex[:6]}@{p.slug}.example"
            anonymous.post("/v1/auth/signup", {"email": email, "password": PASSWORD, "institution_id": self.institution_id})
            person = log_in(self.http, email, PASSWORD, name)
            mentor = role == "mentor"
            form = {
                "program_id": self.program["id"], "role": role, "full_name": name, "email": email, "preferred_language": "es",
                "affiliation": "full_time_faculty" if mentor else ("graduate" if k % 2 else "undergraduate"),
                "career_stage": "mid_career" if mentor else ("graduate_student" if k % 2 else "undergraduate_student"),
                "stem_field": STEM_FIELDS[n % len(STEM_FIELDS)], "identifies_as_woman": True, "willing_to_train": True,
                "interest": "Quiero crecer profesionalmente y apoyar a otras mujeres en STEM.",
                "expectations": "Acompañamiento para definir y alcanzar objetivos profesionales.",
                "experience": "Docencia e investigación." if mentor else "Proyectos de laboratorio.",
                "evidence": [f"https://cv.{p.slug}.example/{k}"],
                "consents": {"privacy_notice_version": self.program["privacy_notice"]["version"], "purposes": ["program", "research"]},
            }  # fmt: skip
            if mentor:
                form.update(funding_experience=True, has_recognition=True, recognition="SNI nivel I", years_of_experience=10 + k)
            application = person.post("/v1/applications", form)
            person.post(f"/v1/applications/{application['id']}/submit")
            campus = k % n_campus
            unit = (k // n_campus) % n_unit
            self.members.append(Member(person, email, role, k, campus, unit, name, application["id"]))
        self.say(f"   {counts['mentor']} mentors and {counts['mentee']} mentees applied")

    # -- 3. selection and confirmation ----------------------------------------------

    def selection(self) -> None:
        self.enter("selection")
        pid = self.program["id"]
        self.c.post(f"/v1/programs/{pid}/decisions", {"decisions": [
            {"application_id": m.application_id, "decision": "accepted", "reason": "Cumple los criterios de la convocatoria"}
            for m in self.members
        ]})  # fmt: skip
        self.c.post(f"/v1/programs/{pid}/invitations", {})
        for m in self.members:
            m.person.post(f"/v1/applications/{m.application_id}/confirm")
            me = m.person.get("/v1/participants/me")
            m.participant_id = me["id"]
            self.c.patch(f"/v1/participants/{me['id']}", {"campus_id": self.campuses[m.campus],
                                                          "academic_unit_id": self.units[m.campus][m.unit]})  # fmt: skip
        funnel = self.c.get(f"/v1/programs/{pid}/funnel")
        self.say(f"   selected and confirmed: {funnel['total']}")

    # -- 4. training, completions from the LMS as xAPI ---------------------------------

    def training(self) -> None:
        self.enter("training")
        pid = self.program["id"]
        lms = f"https://moodle.{self.pilot.slug}.example"
        # The coordinator tells Aliada which LMS speaks for the institution, and which course activity is which module.
        self.c.put(f"/v1/institutions/{self.institution_id}/xapi-settings", {"home_page": lms, "actor_id": "lms_id"})
        for k, (title, kind, minutes) in enumerate(self.pilot.modules):
            module = self.c.post(f"/v1/programs/{pid}/training-modules", {
                "title": title, "kind": kind, "expected_minutes": minutes,
                "lms_activity_id": f"{lms}/mod/scorm/view.php?id={4200 + k}",
            })  # fmt: skip
            self.modules.append(module)
        lms_client = self.integration_client("LMS", "training:write")
        # Each member gets her LMS account (the external id the LMS knows her by).
        for m in self.members:
            self.c.patch(f"/v1/participants/{m.participant_id}", {"lms_id": f"lms-{m.participant_id[-12:]}"})
        start, end = self.phase("training")
        weeks = max(1, (end - start).days // 7)
        statements = []
        for k, module in enumerate(self.modules):
            for m in self.members:
                day = start + timedelta(days=min((end - start).days - 1, 7 * (k * weeks // len(self.modules)) + self.rng.randint(0, 6)))
                verb = "attended" if module["kind"] == "accompaniment_session" else "completed"
                statements.append((self.at(day, self.rng.randint(9, 20)), m, module, verb))
        statements.sort(key=lambda s: s[0])
        for week, batch in itertools.groupby(statements, key=lambda s: s[0].isocalendar()[:2]):
            batch = list(batch)
            self.clock.advance_to(max(s[0] for s in batch) + timedelta(minutes=5))
            lms_client.post("/v1/xapi/statements", [
                {"id": str(uuid.uuid4()), "timestamp": when.isoformat(),
                 "actor": {"objectType": "Agent", "account": {"homePage": lms, "name": f"lms-{m.participant_id[-12:]}"}},
                 "verb": {"id": XAPI_VERBS + verb, "display": {"en-US": verb}},
                 "object": {"objectType": "Activity", "id": module["lms_activity_id"]}}
                for when, m, module, verb in batch
            ], headers={"X-Experience-API-Version": "1.0.3"})  # fmt: skip
            self.tally["xapi"] += len(batch)
        stats = self.c.get(f"/v1/programs/{pid}/training-stats")
        self.say(f"   {self.tally['xapi']} xAPI statements from the LMS; trained: {stats.get('trained', stats)}")

    def integration_client(self, name: str, scope: str) -> Person:
        created = self.admin.post("/v1/admin/clients", {"name": f"{name} {self.pilot.slug}", "scopes": [scope],
                                                        "institution_id": self.institution_id})  # fmt: skip
        return client_token(self.http, created["client_id"], created["client_secret"], scope, name)

    # -- 5. matching ---------------------------------------------------------------------

    def matching(self) -> dict[str, Any]:
        self.enter("matching")
        pid = self.program["id"]
        base = f"/v1/matching/programs/{pid}"
        for k, m in enumerate(self.members):
            body = {
                "objectives": list(OBJECTIVES[k % 6: k % 6 + 2]) if m.role == "mentee" else [],
                "expertise": list(OBJECTIVES[k % 6: k % 6 + 3]) if m.role == "mentor" else [],
                # Mentors offer three consecutive weekdays, mentees two days apart: every pair shares one.
                "availability": [SLOTS[(k + d) % 5] for d in ((0, 1, 2) if m.role == "mentor" else (0, 2))],
                "timezone": self.pilot.timezone,
                "interests": sorted({INTERESTS[k % 7], INTERESTS[(k * 3 + 1) % 7]}),
                "languages": ["es"] + (["en"] if k % 2 else []), "delivery": ("hybrid", "virtual", "in_person")[k % 3],
            }  # fmt: skip
            if m.role == "mentor":
                body.update(capacity=self.pilot.capacity, willing_to_substitute=True)
            m.person.put(f"{base}/profiles/me", body)
        run = self.c.post(f"{base}/runs", {})
        published = self.c.post(f"{base}/runs/{run['id']}/publish")
        people = self.by_participant()
        for offer in published["substitute_offers"]:
            people[offer["mentor_participant_id"]].person.post(f"/v1/matching/substitute-offers/{offer['id']}/accept")
        for match in published["matches"]:
            for who in ("mentee_participant_id", "mentor_participant_id"):
                people[match[who]].person.post(f"/v1/matching/matches/{match['id']}/accept")
        same_campus = sum(people[x["mentee_participant_id"]].campus == people[x["mentor_participant_id"]].campus
                          for x in published["matches"])  # fmt: skip
        self.say(f"   run {run['id'][:8]}: {len(published['matches'])} dyads, "
                 f"{len(published['substitute_offers'])} substitutes, same campus in {same_campus} dyads")  # fmt: skip
        return published

    # -- 6. twelve weeks ------------------------------------------------------------------

    def mentoring(self, published: dict[str, Any]) -> None:
        self.enter("mentoring")
        people = self.by_participant()
        dyads = {}
        for match in published["matches"]:
            mentee = people[match["mentee_participant_id"]]
            dyads[match["id"]] = wait_for(lambda mentee=mentee, mid=match["id"]: next(
                (d for d in mentee.person.get("/v1/dyads/mine")["items"] if d["id"] == mid), None), "the proposed schedules")
        self.say(f"   sessions heard match.activated and proposed {len(dyads)} schedules of 12 meetings")
        template = self.c.get(f"/v1/feedback/programs/{self.program['id']}/template")
        codes = [item["code"] for item in template["items"]]

        lost = published["matches"][0]["id"] if self.pilot.dissolve_after else None
        self.active = [m["id"] for m in published["matches"]]
        queue: list[tuple[datetime, int, Callable[[], None]]] = []
        order = itertools.count()

        def later(when: datetime, action: Callable[[], None]) -> None:
            heapq.heappush(queue, (when, next(order), action))

        def follow(match: dict[str, Any], stop_after: int | None) -> None:
            mentee, mentor = people[match["mentee_participant_id"]], people[match["mentor_participant_id"]]
            meetings = sorted(mentee.person.get(f"/v1/dyads/{match['id']}/meetings", params={"limit": 50})["items"],
                              key=lambda x: x["number"])  # fmt: skip
            # As the semester ends, one dyad in four moves its eleventh meeting a week later.
            if len(meetings) >= 11 and self.rng.random() < 0.25:
                eleventh = meetings[10]
                moved = datetime.fromisoformat(eleventh["start"]) + timedelta(days=7)
                later(datetime.fromisoformat(eleventh["start"]) - timedelta(days=2), lambda: self.reschedule(mentee, eleventh, moved))
            objectives: list[dict[str, Any]] = []
            for meeting in meetings[:stop_after]:
                later(datetime.fromisoformat(meeting["end"]) + timedelta(minutes=15),
                      lambda meeting=meeting: self.meeting_held(meeting["id"], mentee, mentor, codes, later, objectives, match, len(meetings)))  # fmt: skip
            if stop_after is not None:
                end = datetime.fromisoformat(meetings[stop_after - 1]["end"]) + timedelta(days=9)
                later(end, lambda: self.dissolve_and_rematch(match, mentee, follow))

        for match in published["matches"]:
            follow(match, self.pilot.dissolve_after if match["id"] == lost else None)
        while queue:
            when, _, action = heapq.heappop(queue)
            self.clock.advance_to(when)
            action()
            if self.tally["meetings"] and self.tally["meetings"] % 28 == 0 and self.tally["_said"] != self.tally["meetings"]:
                self.tally["_said"] = self.tally["meetings"]
                self.say(f"  {self.clock.now():%Y-%m-%d}  {self.tally['meetings']} meetings held, "
                         f"{self.tally['on_time']} forms on time, {self.tally['late']} late")  # fmt: skip
        # The twelfth meeting closes a dyad: the coordinator marks every one still active completed,
        # and the program places of the women in them.
        finished: set[str] = set()
        for match_id in self.active:
            done = self.c.post(f"/v1/matching/matches/{match_id}/completion")
            finished |= {done["mentee_participant_id"], done["mentor_participant_id"]}
        memberships = self.c.get(f"/v1/programs/{self.program['id']}/memberships", params={"limit": 100})["items"]
        for membership in memberships:
            if membership["participant_id"] in finished and membership["status"] == "active":
                self.c.patch(f"/v1/programs/{self.program['id']}/memberships/{membership['id']}", {
                    "status": "completed", "reason": "Completó las doce reuniones"})  # fmt: skip
        self.say(f"   {len(self.active)} dyads completed ({len(finished)} women)")
        stats = self.c.get(f"/v1/dyads/programs/{self.program['id']}/statistics")
        self.say(f"   meetings held {stats['meetings']['held']} of {stats['meetings']['planned']} planned; "
                 f"feedback on time {stats['feedback']['on_time']}, late {stats['feedback']['late']}")  # fmt: skip

    def reschedule(self, mentee: Member, meeting: dict[str, Any], when: datetime) -> None:
        mentee.person.post(f"/v1/meetings/{meeting['id']}/reschedule", {
            "start": when.isoformat(), "reason": "Cierre del semestre: exámenes finales"})  # fmt: skip
        self.tally["rescheduled"] += 1

    def meeting_held(self, meeting_id: str, mentee: Member, mentor: Member, codes: list[str],
                     later: Callable[[datetime, Callable[[], None]], None], objectives: list[dict[str, Any]],
                     match: dict[str, Any], planned: int) -> None:
        meeting = mentee.person.get(f"/v1/meetings/{meeting_id}")
        if datetime.fromisoformat(meeting["start"]) > self.clock.now():  # moved later: come back then
            later(datetime.fromisoformat(meeting["end"]) + timedelta(minutes=15),
                  lambda: self.meeting_held(meeting_id, mentee, mentor, codes, later, objectives, match, planned))  # fmt: skip
            return
        for who in (mentee, mentor):
            who.person.post(f"/v1/meetings/{meeting_id}/confirmation", {})
        self.tally["meetings"] += 1
        ends = datetime.fromisoformat(meeting["end"])
        for who in (mentee, mentor):
            # The pilot's mix: half the forms within the 48 h, the rest 1 to 14 days late.
            if self.rng.random() < 0.5:
                when = ends + timedelta(hours=self.rng.uniform(1, 46))
            else:
                when = ends + timedelta(hours=48) + timedelta(days=self.rng.randint(1, 14)) - timedelta(hours=self.rng.uniform(1, 20))
            later(when, lambda who=who: self.feedback(who, meeting_id, codes))
        number = meeting["number"]
        if number == 1:
            later(ends + timedelta(days=1), lambda: self.set_objectives(mentee, match, objectives))
        elif number in (4, 8, 12) and objectives:
            later(ends + timedelta(days=2), lambda: self.progress(mentee, objectives, number, planned, meeting_id))
        if number == planned and objectives:
            later(ends + timedelta(days=3), lambda: self.assess(mentee, mentor, objectives))
        if number % 3 == 0:
            later(ends + timedelta(days=4), lambda: mentee.person.post("/v1/diary", {
                "dyad_id": match["id"], "text": "Avancé en mi plan: revisé el borrador con los comentarios de mi mentora.",
                "entry_date": str((ends + timedelta(days=4)).astimezone(self.tz).date()),
            }))  # fmt: skip

    def feedback(self, who: Member, meeting_id: str, codes: list[str]) -> None:
        ratings = {code: self.rng.choice((4, 4, 5, 5, 5, 3)) for code in codes}
        form = who.person.post("/v1/feedback", {"meeting_id": meeting_id, "ratings": ratings, "meeting_took_place": True})
        self.tally["on_time" if form["on_time"] else "late"] += 1

    def set_objectives(self, mentee: Member, match: dict[str, Any], objectives: list[dict[str, Any]]) -> None:
        _, mentoring_end = self.phase("mentoring")
        plans = [
            ("Enviar dos solicitudes a convocatorias de financiamiento nacionales", "solicitudes enviadas", 0, 2, "solicitudes"),
            ("Presentar mi investigación en tres seminarios", "presentaciones", 0, 3, "presentaciones"),
        ]
        for statement, metric, baseline, target, unit in plans[: 1 + mentee.index % 2]:
            objectives.append(mentee.person.post("/v1/objectives", {
                "dyad_id": match["id"], "statement": statement, "metric": metric, "baseline": baseline, "target": target,
                "unit": unit, "direction": "increase", "plan": "Un avance revisado con mi mentora cada mes",
                "resources": ["revisión de la mentora", "taller de redacción"], "career_goal": "Consolidar mi carrera en investigación",
                "due_date": str(mentoring_end),
            }))  # fmt: skip

    def progress(self, mentee: Member, objectives: list[dict[str, Any]], number: int, planned: int, meeting_id: str) -> None:
        for k, objective in enumerate(objectives):
            reach = (0.4 + 0.6 * ((mentee.index + k) % 4) / 3) * number / planned  # some reach the target, some half
            value = round(objective["baseline"] + reach * (objective["target"] - objective["baseline"]))
            mentee.person.post(f"/v1/objectives/{objective['id']}/progress", {"value": value, "meeting_id": meeting_id,
                                                                              "note": "Avance registrado tras la reunión"})  # fmt: skip

    def assess(self, mentee: Member, mentor: Member, objectives: list[dict[str, Any]]) -> None:
        # Mentees were more optimistic than their mentors (DOMAIN.md, step 6).
        for objective in objectives:
            measured = mentee.person.get(f"/v1/objectives/{objective['id']}")["achievement"]["self_reported"] or 0
            mentee.person.put(f"/v1/objectives/{objective['id']}/assessment", {"achievement": min(100, measured + 15 + self.rng.randint(0, 10))})
            mentor.person.put(f"/v1/objectives/{objective['id']}/assessment", {"achievement": max(0, min(100, measured - 5 + self.rng.randint(0, 10)))})

    def dissolve_and_rematch(self, match: dict[str, Any], mentee: Member, follow: Callable[[dict[str, Any], int | None], None]) -> None:
        health = self.c.get(f"/v1/dyads/programs/{self.program['id']}/at-risk")
        top = health[0] if health else {}
        self.say(f"  {self.clock.now():%Y-%m-%d}  at-risk list: top dyad {str(top.get('dyad_id'))[:8]} is {top.get('status')}")
        mentee.person.post(f"/v1/matching/matches/{match['id']}/dissolution", {"reason": "Falta de afinidad después de la tercera reunión"})
        self.active.remove(match["id"])
        options = self.c.get(f"/v1/matching/matches/{match['id']}/substitutes")
        if not options:
            self.say("   no substitute is available: the mentee waits for the next call")
            return
        # The coordinator explains each candidate pair and picks the best-scored
        # substitute whose week overlaps the mentee's (they must be able to meet).
        def overlap(option: dict[str, Any]) -> float:
            pair = self.c.get(f"/v1/matching/programs/{self.program['id']}/pairs/{match['mentee_participant_id']}/"
                              f"{option['mentor_participant_id']}/explanation")  # fmt: skip
            return next((c["value"] for c in pair["components"] if c["name"] == "availability"), 0.0)

        pick = max(options, key=lambda o: (overlap(o) > 0, o["unmatched"], o["score"]))
        rematch = self.c.post(f"/v1/matching/programs/{self.program['id']}/rematches", {
            "mentee_participant_id": match["mentee_participant_id"], "mentor_participant_id": pick["mentor_participant_id"]})  # fmt: skip
        people = self.by_participant()
        for who in ("mentee_participant_id", "mentor_participant_id"):
            people[rematch[who]].person.post(f"/v1/matching/matches/{rematch['id']}/accept")
        wait_for(lambda: any(d["id"] == rematch["id"] for d in mentee.person.get("/v1/dyads/mine")["items"]), "the new dyad's schedule")
        planned = mentee.person.get(f"/v1/dyads/{rematch['id']}/meetings", params={"limit": 50})["items"]
        self.say(f"  {self.clock.now():%Y-%m-%d}  dyad {match['id'][:8]} dissolved after {self.pilot.dissolve_after} meetings; "
                 f"the mentee is re-matched with substitute {people[pick['mentor_participant_id']].name} "
                 f"({len(planned)} meetings proposed)")  # fmt: skip
        self.active.append(rematch["id"])
        follow(rematch, None)

    # -- 7. evaluation ------------------------------------------------------------------

    def administer(self, key: str, moment: str, opens: datetime, days: int, audience: str = "everyone") -> dict[str, Any]:
        library = {i["key"]: i for i in self.c.get("/v1/instruments", params={"builtin": "true", "limit": 50})["items"]}
        return self.c.post("/v1/administrations", {
            "instrument_id": library[key]["id"], "program_id": self.program["id"], "audience": audience, "moment": moment,
            "anonymous": True, "opens_at": opens.isoformat(), "closes_at": (opens + timedelta(days=days)).isoformat(),
        })  # fmt: skip

    def answer(self, administration: dict[str, Any], who: Member, moment: str) -> None:
        definition = who.person.get(f"/v1/instruments/{administration['instrument_id']}")["definition"]
        answers: dict[str, Any] = {}
        for section in definition["sections"]:
            if section.get("audience", "everyone") not in ("everyone", who.role + "s"):
                continue
            for item in section["items"]:
                if item.get("audience") not in (None, "everyone", who.role + "s"):
                    continue
                kind = item["type"]
                if kind == "likert":
                    points = len(item["scale"])
                    lift = 1 if moment == "post" and (who.index + len(answers)) % 3 else 0
                    answers[item["id"]] = max(1, min(points, 2 + (who.index + len(answers)) % 2 + lift + (points > 5)))
                elif kind == "numeric":
                    low, high = item.get("minimum", 0), item.get("maximum", 100)
                    optimism = 15 if who.role == "mentee" else 0
                    answers[item["id"]] = max(low, min(high, 55 + optimism + self.rng.randint(0, 25)))
                elif kind == "single_choice":
                    answers[item["id"]] = item["options"][who.index % len(item["options"])]["value"]
                elif kind == "multiple_choice":
                    answers[item["id"]] = [o["value"] for o in item["options"][: 1 + who.index % 2]]
                elif kind == "open_text" and (item.get("required", True) or who.index % 2):
                    words = MENTEE_WORDS if who.role == "mentee" else MENTOR_WORDS
                    answers[item["id"]] = words[who.index % len(words)]
        who.person.put(f"/v1/administrations/{administration['id']}/responses/mine", {"answers": answers})
        who.person.post(f"/v1/administrations/{administration['id']}/responses/mine/submission")

    def surveys_before(self) -> dict[str, Any]:
        start, _ = self.phase("training")
        self.clock.advance_to(self.at(start, 10))
        pre = self.administer("soft-skills", "pre", self.clock.now(), 14)
        self.clock.advance_to(self.clock.now() + timedelta(days=2))
        for m in self.members:
            self.answer(pre, m, "pre")
        self.say(f"   pre self-assessment answered by {len(self.members)}")
        return pre

    def surveys_after(self) -> None:
        self.enter("evaluation")
        opens = self.clock.now()
        post = self.administer("soft-skills", "post", opens, 14)
        closing = self.administer("closing-assessment", "closing", opens, 14)
        self.clock.advance_to(opens + timedelta(days=3))
        for m in self.members:
            self.answer(post, m, "post")
            self.answer(closing, m, "closing")
        self.say(f"   post self-assessment and closing questionnaire answered by {len(self.members)}")

    def report(self) -> Path:
        pid = self.program["id"]
        report = self.c.get(f"/v1/reports/programs/{pid}")
        funnel = ", ".join(f"{f['key']} {f['total']}" for f in report["funnel"])
        self.say(f"   funnel: {funnel}")
        retention = report.get("retention", {})
        self.say(f"   retention: {retention.get('completed')} of {retention.get('started')} dyads completed")
        html = self.c.call("GET", f"/v1/reports/programs/{pid}/report.html", params={"lang": self.pilot.lang}, expect=200)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"{self.pilot.key}-report.html"
        path.write_bytes(html if isinstance(html, bytes) else str(html).encode())
        return path


def play(pilot: Pilot, gateway: str, admin_email: str, admin_password: str, clock_file: Path, out_dir: Path,
         say: Callable[[str], None] = print) -> Path:
    with httpx.Client(base_url=gateway, timeout=120) as http:
        try:
            http.get("/healthz").raise_for_status()
        except httpx.HTTPError as exc:
            raise DemoError(f"the platform does not answer at {gateway} ({exc}); start it with `make run`") from None
        admin = log_in(http, admin_email, admin_password, "admin")
        demo = Demo(pilot, http, SimulationClock(clock_file), admin, out_dir, say)
        say(f"Aliada demo: the {pilot.key.capitalize()} pilot, through {gateway} "
            f"(simulation clock {clock_file}: {demo.clock.now():%Y-%m-%d %H:%M})")  # fmt: skip
        demo.set_up()
        demo.call()
        demo.selection()
        demo.training()
        demo.say("   soft-skills self-assessment, before")
        demo.surveys_before()
        published = demo.matching()
        demo.mentoring(published)
        demo.surveys_after()
        path = demo.report()
        say(f"Done at simulated {demo.clock.now():%Y-%m-%d}. The program report: {path.resolve()}")
        return path
