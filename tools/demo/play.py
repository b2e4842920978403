"""A whole pilot, played through the gateway's public API (``make demo``).

Every step is a request a real actor would make with her own token: the
platform admin opens the institution, the coordinator runs the program, each
applicant signs up and applies, the coordinators select her and assign her
role, the LMS posts xAPI statements, each member fills her questionnaire,
confirms her meetings, gives feedback, sets and measures her objectives and
answers the surveys. The development platform's simulation clock
(servicekit.clock) moves forward between steps, so months of a program play
in a few minutes.

The cohort (tools.demo.cohort) and the pilot's facts (tools.demo.pilots)
decide who does what; the figures printed at the end are the program
report's own (saved beside the HTML as JSON).
"""

from __future__ import annotations

import heapq
import itertools
import json
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
from tools.demo.cohort import Person as Member
from tools.demo.cohort import draw, form
from tools.demo.interviews import CODEBOOK, MENTEES, MENTORS, Interviewee
from tools.demo.pilots import Objective, Pilot

PASSWORD = "demo-contraseña-" + uuid.uuid4().hex[:8]
XAPI_VERBS = "http://adlnet.gov/expapi/verbs/"
SLOTS = (
    {"weekday": 0, "start": "09:00", "end": "12:00"},
    {"weekday": 1, "start": "10:00", "end": "13:00"},
    {"weekday": 2, "start": "08:00", "end": "10:00"},
    {"weekday": 3, "start": "11:00", "end": "14:00"},
    {"weekday": 4, "start": "07:00", "end": "09:00"},
)
STEM = ["agricultural_sciences", "biology", "chemistry", "computer_science", "earth_sciences", "engineering",
        "environmental_sciences", "health_sciences", "mathematics", "physics", "statistics", "technology"]  # fmt: skip
UNIVERSITY = ["full_time_faculty", "part_time_faculty", "undergraduate", "graduate"]
MENTOR_BENEFITS = (("mentoring_skills", 0.85), ("giving_back", 0.6), ("network", 0.45), ("perspectives", 0.4),
                   ("collaboration", 0.25), ("recognition", 0.1))  # fmt: skip


@dataclass
class Dyad:
    """One published match, as the demo plays it."""

    match: dict[str, Any]
    mentee: Member
    mentor: Member
    level: float  # the dyad's usual rating of a meeting, 1-5
    meetings: list[dict[str, Any]] = field(default_factory=list)
    objectives: list[dict[str, Any]] = field(default_factory=list)
    reach: float = 0.8  # the share of her targets she will really reach
    breaks_after: int | None = None
    low_mentee: bool = False  # the mentee who feels she achieved little
    dissolved_on: date | None = None
    sceptical_mentor: bool = False  # a mentor who sees less achieved than her mentee does

    @property
    def id(self) -> str:
        return self.match["id"]


@dataclass
class Demo:
    pilot: Pilot
    http: httpx.Client
    clock: SimulationClock
    admin: Person
    out_dir: Path
    say: Callable[[str], None]
    rng: random.Random = field(default_factory=lambda: random.Random(20261122))
    people: list[Member] = field(default_factory=list)
    coordinator: Person | None = None
    program: dict[str, Any] = field(default_factory=dict)
    institution_id: str = ""
    campuses: list[str] = field(default_factory=list)
    units: list[list[str]] = field(default_factory=list)
    modules: list[dict[str, Any]] = field(default_factory=list)
    dyads: list[Dyad] = field(default_factory=list)
    substitutes: list[Member] = field(default_factory=list)
    tally: Counter = field(default_factory=Counter)
    queue: list[tuple[datetime, int, Callable[[], None]]] = field(default_factory=list)
    order: Any = field(default_factory=itertools.count)
    handled: set[str] = field(default_factory=set)  # meetings whose outcome is played

    # -- time -----------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.pilot.timezone)

    def at(self, day: date, hour: float = 12) -> datetime:
        return datetime.combine(day, time(0), self.tz) + timedelta(hours=hour)

    def today(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    def phase(self, kind: str) -> tuple[date, date]:
        p = next(p for p in self.program["phases"] if p["kind"] == kind)
        return date.fromisoformat(p["starts_on"]), date.fromisoformat(p["ends_on"])

    def enter(self, kind: str) -> None:
        """Move the clock to the first morning of a phase and the program into it."""
        start, _ = self.phase(kind)
        self.clock.advance_to(self.at(start, 8))
        self.program = self.c.post(f"/v1/programs/{self.program['id']}/transitions", {"to": kind})
        self.say(f"  {self.today()}  program enters {kind}")

    def later(self, when: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.queue, (when, next(self.order), action))

    def run_queue(self) -> None:
        while self.queue:
            when, _, action = heapq.heappop(self.queue)
            self.clock.advance_to(when)
            action()

    @property
    def c(self) -> Person:
        assert self.coordinator is not None
        return self.coordinator

    @property
    def members(self) -> list[Member]:
        return [p for p in self.people if p.participant_id]

    def by_participant(self) -> dict[str, Member]:
        return {p.participant_id: p for p in self.members}

    # -- 1. set-up --------------------------------------------------------------

    def opening_day(self) -> date:
        """The pilot's calendar date for the call, in the clock's year or the next: the
        phases fall in the months the pilot had them."""
        today = self.today() + timedelta(days=15)
        month, day = self.pilot.call_opens
        return next(d for d in (date(today.year, month, day), date(today.year + 1, month, day)) if d >= today)

    def set_up(self) -> None:
        p = self.pilot
        d0 = self.opening_day()
        self.clock.advance_to(self.at(d0 - timedelta(days=14), 9))
        tag = uuid.uuid4().hex[:6]
        self.say(f"Set-up, {self.today()}: {p.institution} ({p.acronym})")
        inst = self.admin.post("/v1/institutions", {
            "name": p.institution, "slug": f"{p.slug}-{tag}", "country": p.country, "timezone": p.timezone,
        })  # fmt: skip
        self.institution_id = inst["id"]
        email = f"coordinacion-{tag}@{p.slug}.example"
        self.admin.post("/v1/admin/accounts", {"email": email, "password": PASSWORD, "roles": ["coordinator"],
                                               "institution_id": self.institution_id})  # fmt: skip
        self.coordinator = log_in(self.http, email, PASSWORD, "coordinator")
        base = f"/v1/institutions/{self.institution_id}"
        for campus in p.campuses:
            row = self.c.post(f"{base}/campuses", {"name": campus.name, "city": campus.city})
            self.campuses.append(row["id"])
            self.units.append([
                self.c.post(f"{base}/academic-units", {"name": u.name, "kind": "faculty", "code": u.code,
                                                       "campus_id": row["id"]})["id"]
                for u in campus.units
            ])  # fmt: skip
        phases = [{"kind": k, "starts_on": str(d0 + timedelta(days=a)), "ends_on": str(d0 + timedelta(days=b))}
                  for k, a, b in p.spans]  # fmt: skip
        self.program = self.c.post(f"{base}/programs", {
            "name": f"{p.program_name} {d0.year}", "description": p.program_description,
            "languages": ["es", "en"], "mode": "one_to_one", "delivery": p.delivery,
            "max_mentees_per_mentor": p.capacity, "meetings_count": p.meetings, "meeting_cadence": p.cadence,
            "feedback_deadline_hours": 48, "confirmation_days": 7, "phases": phases,
            "criteria": [
                {"id": "woman", "field": "identifies_as_woman", "op": "is_true", "description": "Mujer"},
                {"id": "stem", "field": "stem_field", "op": "in", "value": STEM, "description": "Trabaja o estudia en STEM"},
                {"id": "member", "field": "affiliation", "op": "in", "value": UNIVERSITY,
                 "description": "Docente de tiempo completo o parcial, o estudiante inscrita"},
                {"id": "training", "field": "willing_to_train", "op": "is_true", "description": "Dispuesta a capacitarse"},
                {"id": "funding", "field": "funding_experience", "op": "is_true", "roles": ["mentor"],
                 "description": "Experiencia en convocatorias de financiamiento"},
                {"id": "recognition", "field": "has_recognition", "op": "is_true", "roles": ["mentor"],
                 "description": "Reconocimiento en su campo"},
            ],
            "privacy_notice": {"version": f"{d0.year}-1", "text": f"Aviso de privacidad de la {p.acronym}: tus datos "
                               "se usan para operar el programa y, si lo consientes, para evaluarlo."},
        })  # fmt: skip
        where = ", ".join(f"{c.name} ({len(c.units)})" for c in p.campuses)
        self.say(f"   campuses and academic divisions: {where}")
        self.say(f"   program {self.program['id']}: {phases[0]['starts_on']} to {phases[-1]['ends_on']}; "
                 + ", ".join(f"{x['kind']} from {x['starts_on']}" for x in phases[1:]))  # fmt: skip

    # -- 2. call and applications -------------------------------------------------

    def call(self) -> None:
        p = self.pilot
        start, end = self.phase("call")
        self.clock.advance_to(self.at(start, 9))
        self.program = self.c.post(f"/v1/programs/{self.program['id']}/transitions", {"to": "call_open"})
        anonymous = Person(self.http, None, "anonymous")
        assert anonymous.get(f"/v1/calls/{self.program['id']}")["privacy_notice"]["version"]
        self.people = draw(p)
        days = (end - start).days
        when = sorted((self.at(start, 9) + timedelta(hours=self.rng.uniform(0, 24 * days)), who) for who in self.people)
        for moment, who in when:
            self.clock.advance_to(moment)
            who.email = f"{'docente' if who.sought == 'mentor' else 'estudiante'}{who.n:02d}-{uuid.uuid4().hex[:6]}@{p.slug}.example"
            anonymous.post("/v1/auth/signup", {"email": who.email, "password": PASSWORD, "institution_id": self.institution_id}, expect=202)
            who.person = log_in(self.http, who.email, PASSWORD, who.name)
            application = who.person.post("/v1/applications", form(p, who, self.program, self.campuses, self.units))
            who.person.post(f"/v1/applications/{application['id']}/submit")
            who.application_id = application["id"]
        sought = Counter(x.sought for x in self.people)
        self.say(f"Open call {start} to {end}: {len(self.people)} applications "
                 f"({sought['mentor']} ask to mentor, {sought['mentee']} to be mentored)")  # fmt: skip

    # -- 3. selection, roles and confirmation ----------------------------------------

    def selection(self) -> None:
        self.enter("selection")
        pid = self.program["id"]
        decisions = []
        for who in self.people:
            if who.assigned is None:
                decisions.append({"application_id": who.application_id, "decision": "rejected",
                                  "reason": "No es docente ni estudiante inscrita"})  # fmt: skip
            else:
                why = who.note or ("Trayectoria y experiencia en convocatorias" if who.assigned == "mentor"
                                   else "Necesidades y objetivos de una etapa inicial")  # fmt: skip
                decisions.append({"application_id": who.application_id, "decision": "accepted",
                                  "role": who.assigned, "reason": why[0].upper() + why[1:]})  # fmt: skip
        decided = self.c.post(f"/v1/programs/{pid}/decisions", {"decisions": decisions})["items"]
        accepted = [a for a in decided if a["status"] == "accepted"]
        roles = Counter(a["assigned_role"] for a in accepted)
        moved = Counter(f"{a['role']} → {a['assigned_role']}" for a in accepted if a["assigned_role"] != a["role"])
        changes = ", ".join(f"{n} asked {change}" for change, n in moved.items())
        self.say(f"   staff select {len(accepted)} of {len(decided)} and assign the roles: {roles['mentor']} mentors, "
                 f"{roles['mentee']} mentees; " + (f"{sum(moved.values())} against their preference ({changes})"
                                                   if moved else "each as she asked"))  # fmt: skip
        confirm_by = self.at(self.today() + timedelta(days=7), 23.5)
        self.c.post(f"/v1/programs/{pid}/invitations", {"confirm_by": confirm_by.isoformat()})
        replies = sorted((self.clock.now() + timedelta(hours=self.rng.uniform(2, 24 * 6)), who)
                         for who in self.people if who.assigned and who.confirms)  # fmt: skip
        for moment, who in replies:
            self.clock.advance_to(moment)
            who.person.post(f"/v1/applications/{who.application_id}/confirm")
            who.participant_id = who.person.get("/v1/participants/me")["id"]
        self.clock.advance_to(confirm_by + timedelta(hours=9))
        expired = self.c.post(f"/v1/programs/{pid}/invitations/expire")
        funnel = self.c.get(f"/v1/programs/{pid}/funnel")
        by_role = {r["role"]: r["stages"]["confirmed"] for r in funnel["by_role"]}
        self.say(f"   {funnel['total']['confirmed']} confirm by {confirm_by:%Y-%m-%d} ({by_role.get('mentor', 0)} mentors, "
                 f"{by_role.get('mentee', 0)} mentees); invitations expired unanswered: {expired['expired']}")  # fmt: skip

    # -- 4. training, completions from the LMS as xAPI ---------------------------------

    def training(self) -> None:
        """The modules and the LMS integration; the pre self-assessment in the first days;
        then each member's completions, sent by the LMS week by week."""
        self.enter("training")
        pid = self.program["id"]
        lms = f"https://aula.{self.pilot.slug}.example"
        self.c.put(f"/v1/institutions/{self.institution_id}/xapi-settings", {"home_page": lms, "actor_id": "lms_id"})
        for k, (title, kind, minutes) in enumerate(self.pilot.modules):
            self.modules.append(self.c.post(f"/v1/programs/{pid}/training-modules", {
                "title": title, "kind": kind, "expected_minutes": minutes,
                "lms_activity_id": f"{lms}/mod/scorm/view.php?id={4200 + k}",
            }))  # fmt: skip
        lms_client = self.integration_client("LMS", "training:write")
        for m in self.members:
            self.c.patch(f"/v1/participants/{m.participant_id}", {"lms_id": f"lms-{m.participant_id[-12:]}"})
        self.surveys_before()
        start, end = self.phase("training")
        online = [m for m in self.modules if m["kind"] == "online_module"]
        sessions = [m for m in self.modules if m["kind"] != "online_module"]
        statements: list[tuple[datetime, Member, dict[str, Any], str]] = []
        for m in self.members:
            # Each at her own pace: most finish around the pilot's mark, give or take five days.
            finish = min((end - start).days - 1, max(14, round(self.rng.gauss(self.pilot.training_weeks * 7, 2.5))))
            for k, module in enumerate(online):
                day = round(finish * (k + 1) / len(online)) - self.rng.randint(0, 3 if k + 1 < len(online) else 0)
                statements.append((self.at(start + timedelta(days=day), self.rng.uniform(8, 22)), m, module, "completed"))
        for k, module in enumerate(sessions):  # the accompaniment sessions: live, everyone at once
            day = start + timedelta(days=round((k + 0.5) * self.pilot.training_weeks * 7 / len(sessions)))
            for m in self.members:
                statements.append((self.at(day, 17.5), m, module, "attended"))
        statements.sort(key=lambda s: s[0])
        for _, batch in itertools.groupby(statements, key=lambda s: s[0].isocalendar()[:2]):
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
        kinds = f"{len(online)} online modules" + (f", {len(sessions)} accompaniment sessions" if sessions else "")
        self.say(f"  {self.today()}  {self.tally['xapi']} xAPI statements from the LMS ({kinds}); "
                 f"trained: {stats.get('trained', stats)}")  # fmt: skip

    def integration_client(self, name: str, scope: str) -> Person:
        created = self.admin.post("/v1/admin/clients", {"name": f"{name} {self.pilot.slug}", "scopes": [scope],
                                                        "institution_id": self.institution_id})  # fmt: skip
        return client_token(self.http, created["client_id"], created["client_secret"], scope, name)

    # -- 5. matching ---------------------------------------------------------------------

    def matching(self) -> dict[str, Any]:
        self.enter("matching")
        pid = self.program["id"]
        base = f"/v1/matching/programs/{pid}"
        rule = self.pilot.campus_rule
        self.c.put(f"{base}/settings", {"rules": {"different_campus": rule, "different_academic_unit": rule},
                                        "meeting_minutes": self.pilot.meeting_minutes})  # fmt: skip
        for k, m in enumerate(self.members):
            mentor = m.role == "mentor"
            body = {
                "objectives": [] if mentor else list(m.codes), "expertise": list(m.codes) if mentor else [],
                # Mentors offer three consecutive weekdays, mentees two days apart: every pair shares one.
                "availability": [SLOTS[(k + d) % 5] for d in ((0, 1, 2) if mentor else (0, 2))],
                "timezone": self.pilot.timezone, "interests": list(m.interests),
                "languages": ["es"] + (["en"] if k % 3 == 0 else []),
                "delivery": "in_person" if self.pilot.delivery == "in_person" else ("hybrid", "virtual")[k % 2],
            }  # fmt: skip
            if mentor:
                body.update(capacity=self.pilot.capacity, willing_to_substitute=True)
            m.person.put(f"{base}/profiles/me", body)
        run = self.c.post(f"{base}/runs", {})
        published = self.c.post(f"{base}/runs/{run['id']}/publish")
        people = self.by_participant()
        for offer in published["substitute_offers"]:
            people[offer["mentor_participant_id"]].person.post(f"/v1/matching/substitute-offers/{offer['id']}/accept")
            self.substitutes.append(people[offer["mentor_participant_id"]])
        for match in published["matches"]:
            for who in ("mentee_participant_id", "mentor_participant_id"):
                people[match[who]].person.post(f"/v1/matching/matches/{match['id']}/accept")
        pairs = [(people[x["mentee_participant_id"]], people[x["mentor_participant_id"]]) for x in published["matches"]]
        same_campus = sum(a.campus == b.campus for a, b in pairs)
        same_unit = sum((a.campus, a.unit) == (b.campus, b.unit) for a, b in pairs)
        rule = "the campus and division rule" if self.pilot.campus_rule else "no campus rule"
        self.say(f"   matching run ({rule}): {len(pairs)} pairs, {len(published['substitute_offers'])} "
                 f"substitutes; same campus in {same_campus} pairs, same division in {same_unit}")  # fmt: skip
        return published

    # -- 6. the mentoring ------------------------------------------------------------------

    def mentoring(self, published: dict[str, Any]) -> None:
        self.enter("mentoring")
        pid = self.program["id"]
        people = self.by_participant()
        for match in published["matches"]:
            mentee, mentor = people[match["mentee_participant_id"]], people[match["mentor_participant_id"]]
            wait_for(lambda mentee=mentee, mid=match["id"]: any(
                d["id"] == mid for d in mentee.person.get("/v1/dyads/mine")["items"]), "the proposed schedules")
            level = min(4.85, max(3.3, self.rng.gauss(4.2, 0.35)))
            dyad = Dyad(match, mentee, mentor, level, reach=min(1.0, max(0.3, self.rng.gauss(0.78, 0.2))))
            dyad.meetings = sorted(mentee.person.get(f"/v1/dyads/{dyad.id}/meetings", params={"limit": 50})["items"],
                                   key=lambda x: x["number"])  # fmt: skip
            self.dyads.append(dyad)
        self.say(f"   sessions heard match.activated and proposed {len(self.dyads)} schedules of "
                 f"{len(self.dyads[0].meetings)} meetings")  # fmt: skip
        codes = [item["code"] for item in self.c.get(f"/v1/feedback/programs/{pid}/template")["items"]]

        ordered = sorted(self.dyads, key=lambda d: d.level)
        lost = None
        if self.pilot.breakdown_after:
            lost = ordered[len(ordered) // 3]
            lost.breaks_after, lost.level = self.pilot.breakdown_after, 3.9
        completing = [d for d in self.dyads if d is not lost]
        self.rng.choice([d for d in completing if d.level < 4.1] or completing).low_mentee = True
        for d in self.rng.sample([d for d in completing if not d.low_mentee], 2):
            d.sceptical_mentor = True

        first = min(datetime.fromisoformat(d.meetings[0]["start"]) for d in self.dyads)
        for event in self.pilot.group_events:
            self.group_event(event, first)
        for dyad in self.dyads:
            self.plan(dyad, codes)
        if self.pilot.stoppage:
            days, length, why = self.pilot.stoppage
            begins = self.at((first + timedelta(days=days)).astimezone(self.tz).date(), 0)
            self.later(begins - timedelta(days=2), lambda: self.stoppage(begins, timedelta(days=length), why, codes))
        _, mentoring_end = self.phase("mentoring")
        watch = Watch(self, lost)
        week = self.at(first.astimezone(self.tz).date() - timedelta(days=first.astimezone(self.tz).weekday()) + timedelta(days=7), 8)
        while week.date() <= mentoring_end:
            self.later(week, watch.read)
            week += timedelta(days=7)
        self.run_queue()

        finished: set[str] = set()
        completed = 0
        for dyad in self.dyads:
            if dyad.breaks_after is None:
                done = self.c.post(f"/v1/matching/matches/{dyad.id}/completion")
                finished |= {done["mentee_participant_id"], done["mentor_participant_id"]}
                completed += 1
        for dyad in self.dyads:  # the report reads dyads from sessions, which hears of completions on its feed
            if dyad.breaks_after is None:
                wait_for(lambda d=dyad.id: self.c.get(f"/v1/dyads/{d}")["status"] == "completed", "sessions to end the completed dyads")
        memberships = self.c.get(f"/v1/programs/{pid}/memberships", params={"limit": 100})["items"]
        for membership in memberships:
            if membership["participant_id"] in finished and membership["status"] == "active":
                self.c.patch(f"/v1/programs/{pid}/memberships/{membership['id']}", {
                    "status": "completed", "reason": "Concluyó la relación de mentoría"})  # fmt: skip
        self.say(f"  {self.today()}  {completed} pairs completed ({len(finished)} women)"
                 + (f"; the {len(self.substitutes)} substitutes were not called on" if self.substitutes else ""))
        self.say("   meetings held by month: " + self.held_by_month())
        watch.summary()

    def held_by_month(self) -> str:
        """When the pairs really met, read back from the platform."""
        months: Counter = Counter()
        for dyad in self.dyads:
            for m in self.c.get(f"/v1/dyads/{dyad.id}/meetings", params={"limit": 50})["items"]:
                if m["status"] == "held":
                    months[datetime.fromisoformat(m["start"]).astimezone(self.tz).strftime("%Y-%m")] += 1
        return ", ".join(f"{month} {n}" for month, n in sorted(months.items()))

    def plan(self, dyad: Dyad, codes: list[str]) -> None:
        """Queue everything this dyad will do."""
        p = self.pilot
        meetings = dyad.meetings
        stop = dyad.breaks_after
        # In person: Peru's sessions all are; in Mexico, the pairs who get on best meet in person more often.
        in_person: set[int] = set()
        if p.delivery != "in_person":
            wanted = max(0, min(6, round((dyad.level - 3.7) * 4 + self.rng.gauss(0, 1))))
            in_person = set(self.rng.sample(range(2, len(meetings) + 1), min(wanted, len(meetings) - 1)))
        # Pairs that move meetings do so near the end: about ``reschedule_share`` of them move at least one.
        window = max(1, len(meetings) - p.reschedule_from + 1)
        moving = 1 - (1 - p.reschedule_share) ** (1 / window)
        for meeting in meetings[:stop]:
            n = meeting["number"]
            start = datetime.fromisoformat(meeting["start"])
            if n in in_person and meeting["modality"] != "in_person":
                self.later(start - timedelta(days=3), lambda m=meeting: dyad.mentee.person.patch(
                    f"/v1/meetings/{m['id']}", {"modality": "in_person", "place": self.rng.choice(p.in_person_places)}))
            elif meeting["modality"] == "in_person" and not meeting.get("place"):
                self.later(start - timedelta(days=5), lambda m=meeting: dyad.mentor.person.patch(
                    f"/v1/meetings/{m['id']}", {"modality": "in_person", "place": self.rng.choice(p.in_person_places)}))
            if n >= p.reschedule_from and self.rng.random() < moving:
                self.later(start - timedelta(days=2), lambda m=meeting: self.reschedule(dyad, m, codes))
            self.later(start + timedelta(minutes=self.pilot.meeting_minutes + 20),
                       lambda m=meeting: self.meeting_held(dyad, m["id"], codes))  # fmt: skip
        if stop is not None:
            self.plan_breakdown(dyad)

    def reschedule(self, dyad: Dyad, meeting: dict[str, Any], codes: list[str]) -> None:
        """Move a meeting, never past its neighbours nor out of the phase: at the end of a
        semester a few days either way; in a strike or an illness, weeks later."""
        current = {m["number"]: m for m in dyad.mentee.person.get(f"/v1/dyads/{dyad.id}/meetings",
                                                                   params={"limit": 50})["items"]}  # fmt: skip
        this = current[meeting["number"]]
        if this["status"] not in ("scheduled", "rescheduled"):
            return
        start = datetime.fromisoformat(this["start"])
        _, mentoring_end = self.phase("mentoring")
        if self.pilot.cadence == "monthly":
            weeks = self.rng.randint(2, 10) if this["number"] == len(current) else self.rng.randint(1, 3)
            moved = start + timedelta(days=7 * weeks + self.rng.randint(-1, 2))
        else:
            moved = start + timedelta(days=self.rng.choice((-2, -1, 2, 3, 3, 4, 5, 6)))
        before, after = current.get(this["number"] - 1), current.get(this["number"] + 1)
        earliest = max(self.clock.now() + timedelta(hours=12),
                       datetime.fromisoformat(before["end"]) + timedelta(days=1) if before else self.clock.now())
        latest = (datetime.fromisoformat(after["start"]) - timedelta(days=1) if after
                  else self.at(mentoring_end - timedelta(days=3), 12))  # fmt: skip
        moved = min(max(moved, earliest), latest)
        who = self.rng.choice((dyad.mentee, dyad.mentor))
        if abs(moved - start) < timedelta(days=1) or self.rng.random() < 0.15:  # no other date suits them both
            who.person.post(f"/v1/meetings/{meeting['id']}/cancellation", {
                "reason": self.rng.choice(self.pilot.reschedule_reasons) + "; no encontramos otra fecha"})  # fmt: skip
            self.tally["cancelled"] += 1
            return
        who.person.post(f"/v1/meetings/{meeting['id']}/reschedule", {
            "start": moved.isoformat(), "reason": self.rng.choice(self.pilot.reschedule_reasons)})  # fmt: skip
        self.later(moved + timedelta(minutes=self.pilot.meeting_minutes + 20),
                   lambda: self.meeting_held(dyad, meeting["id"], codes))  # fmt: skip
        self.tally["rescheduled"] += 1

    def stoppage(self, begins: datetime, length: timedelta, why: str, codes: list[str]) -> None:
        """The university closes: each mentor moves every session from then on by the
        stoppage's length (the last first, so that they keep their order)."""
        moved = 0
        for dyad in self.dyads:
            meetings = dyad.mentor.person.get(f"/v1/dyads/{dyad.id}/meetings", params={"limit": 50})["items"]
            pending = [m for m in meetings if m["status"] in ("scheduled", "rescheduled")
                       and datetime.fromisoformat(m["start"]) >= begins]  # fmt: skip
            for m in sorted(pending, key=lambda m: m["number"], reverse=True):
                start = datetime.fromisoformat(m["start"]) + length
                dyad.mentor.person.post(f"/v1/meetings/{m['id']}/reschedule", {"start": start.isoformat(), "reason": why})
                self.later(start + timedelta(minutes=self.pilot.meeting_minutes + 20),
                           lambda m=m, dyad=dyad: self.meeting_held(dyad, m["id"], codes))  # fmt: skip
                moved += 1
        # Each mentee moves the target dates of the milestones she has not met yet by as much: her plan
        # moves with her sessions (never past the objective's own date).
        _, mentoring_end = self.phase("mentoring")
        shifted = 0
        for dyad in self.dyads:
            for objective in dyad.objectives:
                for m in dyad.mentee.person.get(f"/v1/objectives/{objective['id']}/milestones"):
                    due = date.fromisoformat(m["due_on"])
                    if m["status"] == "planned":
                        moved_to = min(due + length, mentoring_end)
                        dyad.mentee.person.patch(f"/v1/milestones/{m['id']}", {"due_on": str(moved_to)})
                        objective["due"][m["id"]] = moved_to
                        shifted += 1
        ends = (begins + length).astimezone(self.tz).date()
        self.say(f"  {begins.astimezone(self.tz).date()}  {why} until {ends}: the mentors move {moved} sessions, "
                 f"the mentees the dates of {shifted} milestones")  # fmt: skip

    def meeting_held(self, dyad: Dyad, meeting_id: str, codes: list[str]) -> None:
        """The pair met: both confirm, both send their forms, and the work around the meeting."""
        meeting = dyad.mentee.person.get(f"/v1/meetings/{meeting_id}")
        ends = datetime.fromisoformat(meeting["end"])
        if meeting_id in self.handled or ends > self.clock.now():  # done, or moved later (its new time is queued)
            return
        if meeting["status"] not in ("scheduled", "rescheduled"):
            return
        self.handled.add(meeting_id)
        # Both confirm it took place: one of them that evening, the other within a day or so.
        first, second = self.rng.sample((dyad.mentee, dyad.mentor), 2)
        confirmed = ends + timedelta(hours=self.rng.uniform(0.2, 4))
        for who, when in ((first, confirmed), (second, ends + timedelta(hours=self.rng.uniform(0.5, 30)))):
            self.later(when, lambda who=who: who.person.post(f"/v1/meetings/{meeting_id}/confirmation", {}))
        number = meeting["number"]
        for who, side in ((dyad.mentee, "mentee"), (dyad.mentor, "mentor")):
            sent = max(self.form_sent(who, ends, dyad, side, number), confirmed + timedelta(minutes=10))
            self.later(sent, lambda who=who, side=side: self.feedback(dyad, who, side, meeting_id, number, codes))
        planned = len(dyad.meetings)
        if number == 1:
            self.later(ends + timedelta(days=1, hours=3), lambda: self.set_objectives(dyad))
        if dyad.breaks_after is None:
            if number > 1:  # after each meeting she records any progress, and always at the checkpoints
                self.later(ends + timedelta(days=2), lambda: self.progress(dyad, number, planned, meeting_id))
            if number == planned:
                self.later(ends + timedelta(days=3), lambda: self.assess(dyad))
            if number % 3 == 0 or self.pilot.cadence == "monthly":
                self.later(ends + timedelta(days=4), lambda: dyad.mentee.person.post("/v1/diary", {
                    "dyad_id": dyad.id, "text": "Avancé en mi plan y anoté lo que conversamos para la siguiente reunión.",
                    "entry_date": str((ends + timedelta(days=4)).astimezone(self.tz).date()),
                }))  # fmt: skip
        self.tally["held"] += 1

    def form_sent(self, who: Member, ends: datetime, dyad: Dyad, side: str, number: int) -> datetime:
        """When her form comes in: the punctual half within the 48 hours (now and then a day
        late), the other half mostly 1 to 14 days late, short delays more often than long.
        In a pair losing its rapport the forms come later as it drifts: the mentee's from the
        second meeting on, 3 to 9 days late, her mentor's after the third, a few days late."""
        due = ends + timedelta(hours=48)
        if dyad.breaks_after is not None and number >= 2 and (side == "mentee" or number >= dyad.breaks_after):
            days = self.rng.randint(3, 9) if side == "mentee" else self.rng.randint(1, 4)
            return due + timedelta(days=days - 1, hours=self.rng.uniform(1, 22))
        on_time = self.rng.random() < (0.9 if who.punctual else 0.15)
        if on_time:
            return ends + timedelta(hours=self.rng.uniform(1, 46))
        days = self.rng.choices(range(1, 15), weights=[14, 12, 10, 8, 7, 6, 5, 4, 3, 3, 2, 2, 1, 1])[0]
        if who.punctual:
            days = min(days, 2)
        return due + timedelta(days=days - 1, hours=self.rng.uniform(1, 22))

    def feedback(self, dyad: Dyad, who: Member, side: str, meeting_id: str, number: int, codes: list[str]) -> None:
        level = dyad.level + (0.1 if side == "mentee" else -0.05)
        if dyad.breaks_after is not None:  # rapport falls over the second and third meetings
            level = {1: 3.9, 2: 3.0, 3: 2.2}.get(number, 2.0)
        ratings = {}
        for code in codes:
            drop = 0.4 if dyad.breaks_after is not None and code == "rapport" and number > 1 else 0
            ratings[code] = max(1, min(5, round(self.rng.gauss(level - drop, 0.55))))
        form = who.person.post("/v1/feedback", {"meeting_id": meeting_id, "ratings": ratings, "meeting_took_place": True})
        self.tally["on_time" if form["on_time"] else "late"] += 1

    def plan_breakdown(self, dyad: Dyad) -> None:
        """After its last good meeting the pair drifts: the mentee does not come to the next one
        (her mentor records it), nobody turns up to the one after, and the coordinator, who has
        been watching the dyad, dissolves it two to three weeks after the last meeting held."""
        stop = dyad.breaks_after
        assert stop is not None
        last = datetime.fromisoformat(dyad.meetings[stop - 1]["end"])
        missed = dyad.meetings[stop]
        def no_show() -> None:
            dyad.mentor.person.post(f"/v1/meetings/{missed['id']}/no-show", {"reason": "Mi mentorada no se conectó ni avisó"})
            self.tally["no_show"] += 1

        self.later(datetime.fromisoformat(missed["end"]) + timedelta(hours=2), no_show)
        self.later(last + timedelta(days=self.pilot.dissolve_after_days), lambda: self.dissolve(dyad))

    def dissolve(self, dyad: Dyad) -> None:
        pid = self.program["id"]
        at_risk = self.c.get(f"/v1/dyads/programs/{pid}/at-risk")
        rank = next((i for i, h in enumerate(at_risk, 1) if h["dyad_id"] == dyad.id), None)
        here = f"{at_risk[rank - 1]['status']}, rank {rank} of {len(at_risk)}" if rank else "not on the list"
        self.say(f"  {self.today()}  before dissolving it, the coordinator reads the at-risk list: the dyad is {here}")
        dyad.dissolved_on = self.today()
        self.c.post(f"/v1/matching/matches/{dyad.id}/dissolution", {
            "reason": "Falta de afinidad: dejaron de reunirse después de la tercera reunión"})  # fmt: skip
        # Sessions hears match.dissolved on matching's feed; the simulated days must not run on before it has.
        wait_for(lambda: self.c.get(f"/v1/dyads/{dyad.id}")["status"] == "dissolved", "sessions to end the dissolved dyad")
        memberships = self.c.get(f"/v1/programs/{pid}/memberships", params={"limit": 100})["items"]
        for membership in memberships:
            if membership["participant_id"] in (dyad.mentee.participant_id, dyad.mentor.participant_id):
                self.c.patch(f"/v1/programs/{pid}/memberships/{membership['id']}", {
                    "status": "withdrawn", "reason": "La díada se disolvió y decidieron no continuar"})  # fmt: skip
        held = sum(1 for m in dyad.mentee.person.get(f"/v1/dyads/{dyad.id}/meetings", params={"limit": 50})["items"]
                   if m["status"] == "held")  # fmt: skip
        self.say(f"  {self.today()}  the coordinator dissolves the dyad of {dyad.mentee.name} (mentee) and "
                 f"{dyad.mentor.name} (mentor) after {held} meetings held; they decided not to continue and the "
                 f"mentee is not re-matched")  # fmt: skip

    def group_event(self, event: Any, first: datetime) -> None:
        day = (first + timedelta(days=event.days_after_first)).astimezone(self.tz).date()
        while day.weekday() >= 5:
            day += timedelta(days=1)
        starts = self.at(day, event.hour)

        def create() -> None:
            created = self.c.post(f"/v1/group-events/programs/{self.program['id']}", {
                "title": event.title, "kind": event.kind, "starts_at": starts.isoformat(),
                "duration_minutes": event.minutes, "modality": "in_person", "place": event.place,
            })  # fmt: skip

            def attendance() -> None:
                records = [{"participant_id": m.participant_id, "attended": self.rng.random() < event.attendance}
                           for m in self.members if m not in self.substitutes]  # fmt: skip
                out = self.c.put(f"/v1/group-events/{created['id']}/attendance", {"records": records})
                self.say(f"  {day}  {event.title}: {out['attended']} attended, {out['absent']} absent "
                         f"(after the pairs' first meetings)")  # fmt: skip

            self.later(starts + timedelta(minutes=event.minutes + 60), attendance)

        self.later(starts - timedelta(days=10), create)

    # -- objectives: set, measured, perceived ----------------------------------------------

    def checkpoints(self, dyad: Dyad) -> list[int]:
        """The meetings at which the mentee records her progress even when it did not move: a
        third, two thirds and the end."""
        planned = len(dyad.meetings)
        return sorted(n for n in {round(planned / 3), round(2 * planned / 3), planned} if n > 1)

    def set_objectives(self, dyad: Dyad) -> None:
        """The mentee sets one or two SMART objectives, each with milestones: one step per unit
        of the target (at most four), spread evenly over the meetings, each due a few days after
        the meeting by which she plans to reach it."""
        _, mentoring_end = self.phase("mentoring")
        chosen: list[Objective] = self.rng.sample(self.pilot.objectives, 1 + (self.rng.random() < 0.55))
        planned = len(dyad.meetings)
        for o in chosen:
            steps = min(o.target, 4)
            milestones, values = [], {}
            for k in range(1, steps + 1):
                value = -(-o.target * k // steps)
                meeting = dyad.meetings[max(2, round(planned * k / steps)) - 1]
                due = min((datetime.fromisoformat(meeting["start"]) + timedelta(days=5)).astimezone(self.tz).date(), mentoring_end)
                title = f"{o.metric[0].upper()}{o.metric[1:]}: {value} de {o.target}"
                milestones.append({"title": title, "due_on": str(max(due, self.today()))})
                values[title] = value
            created = dyad.mentee.person.post("/v1/objectives", {
                "dyad_id": dyad.id, "statement": o.statement, "metric": o.metric, "baseline": 0, "target": o.target,
                "unit": o.unit, "direction": "increase", "plan": o.plan, "resources": ["revisión de la mentora"],
                "career_goal": o.career_goal, "due_date": str(mentoring_end), "milestones": milestones,
            })  # fmt: skip
            created["steps"] = {m["id"]: values[m["title"]] for m in created["milestones"]}
            created["due"] = {m["id"]: date.fromisoformat(m["due_on"]) for m in created["milestones"]}
            dyad.objectives.append(created)

    def progress(self, dyad: Dyad, number: int, planned: int, meeting_id: str) -> None:
        """She records how far each objective went and reports every milestone it reached,
        with its evidence; her mentor checks the evidence and confirms it some days later."""
        reach = 0.25 if dyad.low_mentee else dyad.reach
        for objective in dyad.objectives:
            share = reach * number / planned * self.rng.uniform(0.85, 1.1)
            last = objective.get("last", 0)
            value = max(last, min(objective["target"], round(objective["target"] * share)))
            if value == last and number not in self.checkpoints(dyad):
                continue  # nothing new to record this time
            objective["last"] = value
            dyad.mentee.person.post(f"/v1/objectives/{objective['id']}/progress", {
                "value": value, "meeting_id": meeting_id, "note": "Avance revisado en la reunión"})  # fmt: skip
            for milestone_id, step in objective["steps"].items():
                if step <= value and milestone_id not in self.handled:
                    self.handled.add(milestone_id)
                    self.report_milestone(dyad, milestone_id)
        self.replan(dyad)

    def replan(self, dyad: Dyad) -> None:
        """Behind her plan, a mentee who keeps up moves the date of a milestone she will not
        make to a few days after the next session (most do, most of the time); the mentee who
        achieves little leaves her plan as it was."""
        if dyad.low_mentee:
            return
        _, mentoring_end = self.phase("mentoring")
        today = self.today()
        meetings = dyad.mentee.person.get(f"/v1/dyads/{dyad.id}/meetings", params={"limit": 50})["items"]
        ahead = sorted(datetime.fromisoformat(m["start"]) for m in meetings
                       if m["status"] in ("scheduled", "rescheduled") and datetime.fromisoformat(m["start"]) > self.clock.now())
        target = min((ahead[0] + timedelta(days=5)).astimezone(self.tz).date() if ahead else mentoring_end, mentoring_end)
        for objective in dyad.objectives:
            for milestone_id, due in objective["due"].items():
                if milestone_id in self.handled or due > today + timedelta(days=3) or target <= due:
                    continue
                if self.rng.random() < 0.8:
                    dyad.mentee.person.patch(f"/v1/milestones/{milestone_id}", {"due_on": str(target)})
                    objective["due"][milestone_id] = target
                    self.tally["milestones_moved"] += 1

    def report_milestone(self, dyad: Dyad, milestone_id: str, again: bool = False) -> None:
        dyad.mentee.person.post(f"/v1/milestones/{milestone_id}/evidence", {
            "link": f"https://repositorio.{self.pilot.slug}.example/evidencias/{uuid.uuid4().hex[:10]}.pdf",
            "note": "Subí el comprobante corregido." if again else "Comprobante compartido con mi mentora en la reunión.",
        })  # fmt: skip
        self.tally["milestones_reported"] += 1
        self.later(self.clock.now() + timedelta(hours=self.rng.uniform(10, 24 * (3 if again else 6))),
                   lambda: self.check_milestone(dyad, milestone_id, again))

    def check_milestone(self, dyad: Dyad, milestone_id: str, again: bool) -> None:
        """Her mentor confirms the milestone, or now and then (more often a demanding mentor)
        returns it once, asking for better evidence; the mentee sends it again within days."""
        if dyad.dissolved_on is not None:
            return
        if not again and self.rng.random() < (0.3 if dyad.sceptical_mentor else 0.08):
            dyad.mentor.person.post(f"/v1/milestones/{milestone_id}/return", {
                "reason": "El enlace no muestra el comprobante completo; súbelo de nuevo, por favor."})  # fmt: skip
            self.tally["milestones_returned"] += 1
            self.later(self.clock.now() + timedelta(days=self.rng.uniform(1, 4)),
                       lambda: self.report_milestone(dyad, milestone_id, again=True))
            return
        dyad.mentor.person.post(f"/v1/milestones/{milestone_id}/confirmation")
        self.tally["milestones_confirmed"] += 1

    def assess(self, dyad: Dyad) -> None:
        """At the last meeting each rates how far the objectives went: mentees more
        optimistic than their mentors; one mentee feels she achieved little; two
        mentors see much less than their mentees do."""
        for objective in dyad.objectives:
            mentee = 35 + self.rng.uniform(-8, 8) if dyad.low_mentee else min(100, self.rng.gauss(88, 7))
            if dyad.sceptical_mentor:
                mentor = mentee - self.rng.uniform(25, 35)
            else:
                mentor = mentee - abs(self.rng.gauss(6, 5))
            dyad.mentee.person.put(f"/v1/objectives/{objective['id']}/assessment", {"achievement": round(max(0, mentee))})
            dyad.mentor.person.put(f"/v1/objectives/{objective['id']}/assessment", {"achievement": round(max(0, mentor))})

    # -- 7. evaluation ------------------------------------------------------------------

    def administer(self, key: str, moment: str, opens: datetime, days: int) -> dict[str, Any]:
        library = {i["key"]: i for i in self.c.get("/v1/instruments", params={"builtin": "true", "limit": 50})["items"]}
        return self.c.post("/v1/administrations", {
            "instrument_id": library[key]["id"], "program_id": self.program["id"], "audience": "everyone",
            "moment": moment, "anonymous": True, "opens_at": opens.isoformat(),
            "closes_at": (opens + timedelta(days=days)).isoformat(),
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
                value = self.response(item, section["id"], who, moment)
                if value is not None:
                    answers[item["id"]] = value
        who.person.put(f"/v1/administrations/{administration['id']}/responses/mine", {"answers": answers})
        who.person.post(f"/v1/administrations/{administration['id']}/responses/mine/submission")

    def response(self, item: dict[str, Any], section: str, who: Member, moment: str) -> Any:
        kind = item["type"]
        if kind == "likert":
            points = len(item["scale"])
            if section in who.skills_before:  # the soft-skills self-assessment
                level = who.skills_before[section] + (who.skills_change[section] if moment == "post" else 0)
                value = max(1, min(points, round(self.rng.gauss(level, 0.45))))
                return points + 1 - value if item.get("reverse") else value
            mean, floor = self.closing_mean(item["id"], who)
            return max(floor, min(points, round(self.rng.gauss(mean, 0.55))))
        if kind == "multiple_choice":
            picked = [v for v, p in MENTOR_BENEFITS if self.rng.random() < p]
            return picked or ["mentoring_skills"]
        if kind == "open_text":
            if item["id"].endswith("mentee"):
                return self.rng.choice(self.pilot.mentee_takeaways)
            return self.rng.choice(self.pilot.suggestions) if self.rng.random() < 0.45 else None
        if kind == "numeric":
            low, high = item.get("minimum", 0), item.get("maximum", 100)
            return max(low, min(high, round(self.rng.gauss(85 if who.role == "mentee" else 75, 10))))
        if kind == "single_choice":
            return self.rng.choice(item["options"])["value"]
        return None

    def closing_mean(self, item_id: str, who: Member) -> tuple[float, int]:
        """The closing questionnaire, as the pilot found it: favourable on the whole; the call
        never disliked, though mentees were less sure of the selection criteria and mentors of
        the dates; mentors all favourable about the training; mentees of two minds about the
        number of accompaniment sessions; here and there a neutral or unfavourable answer."""
        mentee = who.role == "mentee"
        mean, floor = 4.35 + who.mood, 1
        section = item_id.split(".")[0]
        if section == "call":
            floor = 3
            mean -= {"call.clear": 0.9 if mentee else 0.1, "call.timing": 0.25 if mentee else 0.9}.get(item_id, 0.1)
        elif section == "training":
            if not mentee:
                floor, mean = 4, mean - (0.2 if item_id in ("training.sessions", "training.useful") else 0)
            elif item_id == "training.sessions":
                floor, mean = 2, mean - 0.8
            elif item_id == "training.length":
                mean += 0.2
        elif section == "contribution" and self.pilot.cadence == "monthly" and item_id == "contribution.meetings":
            mean -= 0.6  # four sessions felt too few
        elif section == "staff":
            mean += 0.1
        return mean, floor

    def surveys_before(self) -> None:
        pre = self.administer("soft-skills", "pre", self.clock.now(), 14)
        for m in sorted(self.members, key=lambda _: self.rng.random()):
            self.clock.advance_to(self.clock.now() + timedelta(hours=self.rng.uniform(0.5, 6)))
            self.answer(pre, m, "pre")
        self.say(f"   soft-skills self-assessment, before: answered by {len(self.members)}")

    def surveys_after(self) -> None:
        self.enter("evaluation")
        opens = self.clock.now()
        post = self.administer("soft-skills", "post", opens, 21)
        closing = self.administer("closing-assessment", "closing", opens, 21)
        gone = {p for d in self.dyads if d.breaks_after is not None for p in (d.mentee.participant_id, d.mentor.participant_id)}
        answering = [m for m in self.members if m.participant_id not in gone]
        skip_mentors, skip_mentees = self.pilot.closing_skips
        skipped = set(self.rng.sample([m.n for m in answering if m.role == "mentor" and m not in self.substitutes], skip_mentors))
        skipped |= set(self.rng.sample([m.n for m in answering if m.role == "mentee"], skip_mentees))
        answering = [m for m in answering if m.n not in skipped]
        for m in sorted(answering, key=lambda _: self.rng.random()):
            self.clock.advance_to(self.clock.now() + timedelta(hours=self.rng.uniform(1, 8)))
            self.answer(post, m, "post")
            self.answer(closing, m, "closing")
        roles = Counter(m.role for m in answering)
        self.say(f"   post self-assessment and closing questionnaire answered by {roles['mentor']} mentors and "
                 f"{roles['mentee']} mentees")  # fmt: skip

    # -- 7b. interviews (Peru) --------------------------------------------------------------

    def interviews(self) -> None:
        """Ten semi-structured interviews as the Peru pilot ran them: an interviewer and two
        coders (evaluators the coordinator names), the default eight-question guides, a sample
        of five mentors and five mentees stratified by the platform, each interview entered by
        the interviewer, coded by both coders into the codebook's three themes, the lead coder's
        consensus where they differ, and quotes from those who agreed to be quoted."""
        pid = self.program["id"]
        start, _ = self.phase("evaluation")
        tag = uuid.uuid4().hex[:6]
        team: dict[str, tuple[Person, str]] = {}
        for name in ("entrevistadora", "codificadora-a", "codificadora-b"):
            email = f"{name}-{tag}@{self.pilot.slug}.example"
            self.c.post("/v1/admin/accounts", {"email": email, "password": PASSWORD, "roles": ["evaluator"],
                                               "institution_id": self.institution_id})  # fmt: skip
            person = log_in(self.http, email, PASSWORD, name)
            team[name] = (person, person.get("/v1/auth/me")["subject"])
        interviewer, coder_a, coder_b = (team[n][0] for n in ("entrevistadora", "codificadora-a", "codificadora-b"))
        self.c.put(f"/v1/interviews/teams/{pid}/members/{team['entrevistadora'][1]}", {"interviewer": True})
        self.c.put(f"/v1/interviews/teams/{pid}/members/{team['codificadora-a'][1]}", {"coder": True, "lead_coder": True})
        self.c.put(f"/v1/interviews/teams/{pid}/members/{team['codificadora-b'][1]}", {"coder": True})
        guides = {role: self.c.post("/v1/interviews/guides", {"program_id": pid, "role": role})
                  for role in ("mentor", "mentee")}  # fmt: skip
        sample = self.c.post("/v1/interviews/samples", {"program_id": pid, "mentors": 5, "mentees": 5, "seed": 2024})
        sample = self.c.post(f"/v1/interviews/samples/{sample['id']}/acceptance")
        people = self.by_participant()
        picks = {role: [people[x["participant_id"]] for x in sample["picks"] if x["role"] == role] for role in ("mentor", "mentee")}
        for code, parent, es, en, def_es, def_en in CODEBOOK:
            body: dict[str, Any] = {"code": code, "label": {"es": es, "en": en}, "definition": {"es": def_es, "en": def_en}}
            if parent:
                body["parent"] = parent
            self.c.post(f"/v1/interviews/codebooks/{pid}/themes", body)

        # The interviews: two a day on weekdays from the evaluation's first week.
        day = start + timedelta(days=2)
        made: list[tuple[dict[str, Any], Interviewee, Member]] = []
        for k, (who, script) in enumerate(itertools.chain(zip(picks["mentor"], MENTORS), zip(picks["mentee"], MENTEES))):
            while day.weekday() >= 5:
                day += timedelta(days=1)
            self.clock.advance_to(self.at(day, 17 if k % 2 else 10))
            quoted = "quotes" in who.consents
            made.append((interviewer.post("/v1/interviews", {
                "program_id": pid, "guide_id": guides[who.role]["id"], "participant_id": who.participant_id,
                "conducted_on": str(day), "language": "es", "quote_consent": quoted,
                "answers": {key: text for key, (text, _) in script.answers.items()},
            }), script, who))  # fmt: skip
            if k % 2:
                day += timedelta(days=1)
        self.say(f"  {self.today()}  {len(made)} interviews entered by the interviewer ({len(picks['mentor'])} mentors, "
                 f"{len(picks['mentee'])} mentees of the platform's stratified sample, 8 questions each); "
                 f"{sum('quotes' in w.consents for _, _, w in made)} agreed to be quoted")  # fmt: skip

        # Two coders code every answer, each departing now and then from a careful reading.
        themes = [c for c, *_ in CODEBOOK]
        parents = {c: p for c, p, *_ in CODEBOOK}
        rng = random.Random(f"{self.pilot.key}-coders")

        def coding(script: Interviewee, slip: float) -> dict[str, list[str]]:
            out: dict[str, list[str]] = {}
            for key, (_, codes) in script.answers.items():
                mine = set(codes)
                for code in codes:
                    if rng.random() < slip:  # she reads it as the theme, or misses it
                        mine.discard(code)
                        if parents[code] and rng.random() < 0.6:
                            mine.add(parents[code])  # type: ignore[arg-type]
                if rng.random() < slip / 2:
                    mine.add(rng.choice(themes))
                out[key] = sorted(mine)
            return out

        self.clock.advance_to(self.clock.now() + timedelta(days=3))
        disagreed = 0
        for interview, script, _ in made:
            a, b = coding(script, 0.08), coding(script, 0.16)
            coder_a.post(f"/v1/interviews/{interview['id']}/codings/mine/submission", {"codes": a})
            coder_b.post(f"/v1/interviews/{interview['id']}/codings/mine/submission", {"codes": b})
            if a != b:  # they meet and the lead coder writes what they agree on
                disagreed += 1
                coder_a.put(f"/v1/interviews/{interview['id']}/consensus",
                            {"codes": {key: sorted(codes) for key, (_, codes) in script.answers.items()}})
        # Quotes: one sentence from each interviewee who agreed to be quoted, under a theme of that answer.
        self.c.put(f"/v1/reports/programs/{pid}/disclosure", {"min_cell": 5, "min_text": 5})
        quotes = 0
        for interview, script, who in made:
            if "quotes" not in who.consents:
                continue
            key, (text, codes) = next((k, a) for k, a in script.answers.items() if script.quote in a[0])
            if not codes:
                continue
            excerpt = ("" if text.startswith(script.quote) else "[...] ") + script.quote + ("" if text.endswith(script.quote) else " [...]")
            coder_a.post(f"/v1/interviews/{interview['id']}/quotes", {
                "question": key, "theme": codes[0], "excerpt": excerpt, "deidentified": True})  # fmt: skip
            quotes += 1
        summary = self.c.get(f"/v1/reports/programs/{pid}/themes")
        kappas = ", ".join(f"{t['theme']['code']} " + ("n/a" if t["agreement"] is None else f"{t['agreement']:.2f}")
                           for t in summary["themes"])  # fmt: skip
        self.say(f"   two coders coded all {len(made)} into {len(themes)} codes (3 themes); they differed on "
                 f"{disagreed} and the lead coder wrote the consensus; Cohen's kappa: {kappas}; {quotes} quotes marked")  # fmt: skip

    # -- 8. the report ------------------------------------------------------------------

    def report(self) -> Path:
        pid = self.program["id"]
        self.clock.advance_to(self.clock.now() + timedelta(days=2))
        report = self.c.get(f"/v1/reports/programs/{pid}")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / f"{self.pilot.key}-report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        html = self.c.call("GET", f"/v1/reports/programs/{pid}/report.html", params={"lang": self.pilot.lang}, expect=200)
        path = self.out_dir / f"{self.pilot.key}-report.html"
        path.write_bytes(html if isinstance(html, bytes) else str(html).encode())
        pdf = self.c.call("GET", f"/v1/reports/programs/{pid}/report.pdf", params={"lang": self.pilot.lang}, expect=200)
        if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF-"):
            raise DemoError("the PDF report did not come back as a PDF")
        (self.out_dir / f"{self.pilot.key}-report.pdf").write_bytes(pdf)
        self.say("The program report says:")
        for line in summary_lines(report):
            self.say(f"   {line}")
        self.say("   " + self.counts_agree(report))
        return path

    def counts_agree(self, report: dict[str, Any]) -> str:
        """The demo's own count of what it played beside the report's (meetings held, planned to date)."""
        a = report.get("adherence") or {}
        played = self.tally["held"]
        scheduled = sum(len(d.meetings) for d in self.dyads)
        same = a.get("held") == played and a.get("planned_to_date") == scheduled
        return (f"the demo played {played} meetings held of {scheduled} scheduled ({self.tally['cancelled']} cancelled, "
                f"{self.tally['no_show']} no-show); the report counts {a.get('held')} held of {a.get('planned_to_date')}: "
                + ("they agree" if same else "THEY DISAGREE"))  # fmt: skip


class Watch:
    """The coordinator reads her weekly digest and the at-risk list every Monday of the mentoring phase."""

    def __init__(self, demo: Demo, lost: Dyad | None) -> None:
        self.demo, self.lost = demo, lost
        self.weeks: list[tuple[date, int, int]] = []
        self.first: tuple[int, date, str, int, int] | None = None  # (week, day, colour, rank, flagged)
        self.red: tuple[int, date, str, int, int] | None = None

    def read(self) -> None:
        d = self.demo
        digest = d.c.get(f"/v1/dyads/programs/{d.program['id']}/digest")
        at_risk = d.c.get(f"/v1/dyads/programs/{d.program['id']}/at-risk")
        statuses = Counter(h["status"] for h in at_risk)
        self.weeks.append((d.today(), statuses["amber"], statuses["red"]))
        d.say(f"  {d.today()}  week {len(self.weeks)} digest: " + digest_line(digest, self.lost))
        if self.lost is not None and (self.first is None or self.red is None):
            rank = next((i for i, h in enumerate(at_risk, 1) if h["dyad_id"] == self.lost.id), None)
            if rank is None:
                return
            seen = (len(self.weeks), d.today(), at_risk[rank - 1]["status"], rank, len(at_risk))
            reasons = " ".join(r["message"] for r in at_risk[rank - 1]["reasons"])
            if self.first is None:
                self.first = seen
                d.say(f"  {d.today()}  week {len(self.weeks)}: the at-risk list first shows the dyad that will break, "
                      f"{seen[2]}, rank {rank} of {len(at_risk)}: {reasons}")  # fmt: skip
            elif seen[2] == "red":
                d.say(f"  {d.today()}  week {len(self.weeks)}: the dyad that will break turns red, rank {rank} of "
                      f"{len(at_risk)}: {at_risk[rank - 1]['summary']}")  # fmt: skip
            if seen[2] == "red":
                self.red = seen

    def summary(self) -> None:
        weeks = ", ".join(f"{amber}/{red}" for _, amber, red in self.weeks)
        self.demo.say(f"   at-risk list each Monday (amber/red of {len(self.demo.dyads)} dyads): {weeks}")
        if self.lost is not None and self.first is None:
            self.demo.say("   the dyad that broke never appeared on the at-risk list")
        elif self.lost is not None and self.first is not None and self.lost.dissolved_on is not None:
            week, day, status, rank, of = self.first
            line = (f"   the dyad that broke was first flagged in week {week} ({day}), {status}, rank {rank} of {of}, "
                    f"{(self.lost.dissolved_on - day).days} days before the coordinator dissolved it")  # fmt: skip
            if self.red is not None and self.red != self.first:
                week, day, _, rank, of = self.red
                line += f"; red from week {week} ({day}), rank {rank} of {of}"
            elif self.red is None:
                line += "; it never turned red"
            self.demo.say(line)


def digest_line(digest: dict[str, Any], lost: Dyad | None) -> str:
    """The weekly digest in one line: how many are active and flagged, and what changed in the week."""
    c = digest["counts"]
    parts = [f"{c['active']} active, {c['flagged']} flagged ({c['red']} red)"]
    for key, label in (("new_flags", "new"), ("escalations", "to red"), ("recoveries", "recovered"), ("eased", "eased"),
                       ("ended", "ended"), ("without_meeting", "no meeting held")):
        if c[key]:
            mark = ""
            if lost is not None and any(x["dyad_id"] == lost.id for x in digest[key]):
                mark = " incl. the dyad that will break" if key != "ended" else " incl. the dissolved dyad"
            why = ""
            if key in ("new_flags", "escalations"):
                said = Counter(x["summary"].split(": ", 1)[-1].rstrip(".") for x in digest[key])
                why = " (" + "; ".join(f"{t}" + (f" x{n}" if n > 1 else "") for t, n in said.items()) + ")"
            parts.append(f"{label} {c[key]}{mark}{why}")
    return "; ".join(parts)


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The report's own figures: funnel, retention, meetings and forms."""
    lines = [", ".join(f"{f['key']} {f['total']} ({f['mentors']} mentors, {f['mentees']} mentees)"
                       for f in report.get("funnel", []))]  # fmt: skip
    retention = report.get("retention") or {}
    lines.append(f"retention: {retention.get('completed')} of {retention.get('started')} dyads completed, "
                 f"{retention.get('dissolved')} dissolved")  # fmt: skip
    a = report.get("adherence") or {}
    held = a.get("meetings_held") or {}
    planned = a.get("planned_per_dyad")
    if held.get("n") and held.get("mean") is not None and planned:
        total = round(held["mean"] * held["n"])
        share = a.get("share_of_planned")
        lines.append(f"meetings held {total} of {planned * held['n']} planned ({held['n']} dyads x {planned}"
                     + (f"; {share:.0%}" if share is not None else "") + ")")  # fmt: skip
    if a.get("feedback_expected") is not None:
        on_time, submitted = a.get("feedback_on_time"), a.get("feedback_submitted")
        lines.append(f"feedback forms: {submitted} of {a['feedback_expected']} submitted, {on_time} on time"
                     + (f" ({on_time / submitted:.0%})" if submitted else ""))  # fmt: skip
    return lines


def play(pilot: Pilot, gateway: str, admin_email: str, admin_password: str, clock_file: Path, out_dir: Path,
         say: Callable[[str], None] = print) -> Path:
    with httpx.Client(base_url=gateway, timeout=120) as http:
        try:
            http.get("/healthz").raise_for_status()
        except httpx.HTTPError as exc:
            raise DemoError(f"the platform does not answer at {gateway} ({exc}); start it with `make run`") from None
        admin = log_in(http, admin_email, admin_password, "admin")
        demo = Demo(pilot, http, SimulationClock(clock_file), admin, out_dir, say)
        say(f"Aliada demo: the {pilot.key.capitalize()} pilot ({pilot.acronym}), through {gateway} "
            f"(simulation clock {clock_file}: {demo.clock.now():%Y-%m-%d %H:%M})")  # fmt: skip
        demo.set_up()
        demo.call()
        demo.selection()
        demo.training()
        published = demo.matching()
        demo.mentoring(published)
        demo.surveys_after()
        if pilot.interviews:
            demo.interviews()
        path = demo.report()
        say(f"Done at simulated {demo.today()}. The program report: {path.resolve()} "
            f"(and {pilot.key}-report.pdf, {pilot.key}-report.json)")
        return path
