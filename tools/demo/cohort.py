"""The people of a pilot, drawn once from a seeded generator: who they are,
what they ask for, and how they will behave (punctual or late with forms, how
they answer questionnaires). Nothing here talks to the platform."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tools.demo.pilots import INTERESTS, OBJECTIVE_CODES, STANDINGS, Pilot

SKILLS = ("assertiveness", "networking", "leadership", "active_listening", "self_confidence", "smart_objectives",
          "time_planning")  # fmt: skip


@dataclass
class Person:
    n: int
    name: str
    sought: str
    assigned: str | None  # None: turned away at selection
    confirms: bool
    standing: str
    campus: int
    unit: int
    stem_field: str
    note: str
    punctual: bool  # sends her feedback forms within the deadline, as half the pilot's participants did
    skills_before: dict[str, float]
    skills_change: dict[str, float]
    mood: float  # how favourably she answers the closing questionnaire, around 0
    interests: tuple[str, ...]
    codes: tuple[str, ...]  # matching objectives (mentees) or expertise (mentors)
    consents: tuple[str, ...] = ("program", "research")  # the purposes she consents to with her application
    email: str = ""
    application_id: str = ""
    participant_id: str = ""
    person: object = field(default=None, repr=False)  # her api.Person once she has an account

    @property
    def role(self) -> str:
        """The role she holds once accepted (before that, the one she seeks)."""
        return self.assigned or self.sought

    @property
    def is_member(self) -> bool:
        return self.assigned is not None and self.confirms


def _name(rng: random.Random, pilot: Pilot, taken: set[str]) -> str:
    while True:
        name = f"{rng.choice(pilot.given_names)} {rng.choice(pilot.family_names)} {rng.choice(pilot.family_names)}"
        if name not in taken and len(set(name.split()[-2:])) == 2:
            taken.add(name)
            return name


def _skills(rng: random.Random, role: str) -> tuple[dict[str, float], dict[str, float]]:
    """Where she stands on each soft skill (1-5) before the program, and how it moves.

    Mentors start higher. Mentees start low on self-confidence (the pilot's
    observation) and gain most there. Most people improve a little, some stay
    where they were, and a few end lower (a harder semester, a stricter look
    at themselves)."""
    level = rng.gauss(3.6 if role == "mentor" else 2.9, 0.35)
    before, change = {}, {}
    temper = rng.random()
    for skill in SKILLS:
        offset = rng.gauss(0, 0.3) - (0.5 if role == "mentee" and skill == "self_confidence" else 0)
        before[skill] = min(4.7, max(1.4, level + offset))
        if temper < 0.12:  # a few end lower
            move = rng.gauss(-0.35, 0.2)
        elif temper < 0.30:  # some stay put
            move = rng.gauss(0.0, 0.15)
        else:  # most improve a little
            move = rng.gauss(0.45 if role == "mentee" else 0.35, 0.25)
        if role == "mentee" and skill in ("self_confidence", "time_planning", "smart_objectives") and temper >= 0.12:
            move += 0.25
        change[skill] = move
    return before, change


def draw(pilot: Pilot, seed: int = 20261122) -> list[Person]:
    rng = random.Random(f"{pilot.key}-{seed}")
    people: list[Person] = []
    taken: set[str] = set()
    seen_per_campus = [0] * len(pilot.campuses)
    for group in pilot.groups:
        for k in range(group.count):
            n = len(people)
            campus = group.campuses[k % len(group.campuses)]
            units = pilot.campuses[campus].units
            unit = seen_per_campus[campus] % len(units)
            seen_per_campus[campus] += 1
            fields = units[unit].fields
            role = group.assigned or group.sought
            before, change = _skills(rng, role)
            start = rng.randrange(len(OBJECTIVE_CODES))
            width = 3 if role == "mentor" else 2
            people.append(Person(
                n=n, name=_name(rng, pilot, taken), sought=group.sought, assigned=group.assigned,
                confirms=group.confirms, standing=group.standing, campus=campus, unit=unit,
                stem_field=fields[k % len(fields)], note=group.note, punctual=False, skills_before=before,
                skills_change=change, mood=rng.gauss(0, 0.45),
                interests=tuple(sorted(rng.sample(INTERESTS, 2))),
                codes=tuple(OBJECTIVE_CODES[(start + i) % len(OBJECTIVE_CODES)] for i in range(width)),
            ))  # fmt: skip
    # Some also agree to be quoted in the program's reports (the pilots that interview).
    agrees = random.Random(f"{pilot.key}-{seed}-quotes")  # its own draws: the rest of the cohort stays as it was
    for p in people:
        if agrees.random() < pilot.quotes_share:
            p.consents = ("program", "research", "quotes")
    # Half the members are punctual with their forms; the other half send them 1 to 14 days late.
    members = [p for p in people if p.is_member]
    for p in rng.sample(members, len(members) // 2):
        p.punctual = True
    return people


def form(pilot: Pilot, p: Person, program: dict, campuses: list[str], units: list[list[str]]) -> dict:
    """Her application, as she fills it in."""
    affiliation, stage, funding, recognition, years = STANDINGS[p.standing]
    mentor_like = p.sought == "mentor" or funding
    body = {
        "program_id": program["id"], "role": p.sought, "full_name": p.name, "email": p.email,
        "preferred_language": "es", "campus_id": campuses[p.campus], "academic_unit_id": units[p.campus][p.unit],
        "affiliation": affiliation, "career_stage": stage, "stem_field": p.stem_field,
        "identifies_as_woman": True, "willing_to_train": True,
        "interest": ("Acompañar a otra mujer en los primeros pasos de su carrera científica."
                     if p.sought == "mentor" else "Tener una guía para decidir los siguientes pasos de mi carrera."),
        "expectations": ("Compartir lo que aprendí en convocatorias y proyectos." if p.sought == "mentor"
                         else "Fijar metas claras y cumplirlas con el apoyo de una mentora."),
        "experience": ("Docencia, dirección de tesis y proyectos con financiamiento." if funding
                       else "Proyectos de laboratorio y apoyo en docencia." if p.sought == "mentor"
                       else "Servicio social y proyectos de laboratorio."),
        "evidence": [f"https://cv.{pilot.slug}.example/{p.n:03d}"],
        "consents": {"privacy_notice_version": program["privacy_notice"]["version"], "purposes": list(p.consents)},
    }  # fmt: skip
    if mentor_like:
        body.update(funding_experience=bool(funding), has_recognition=bool(recognition),
                    years_of_experience=years or 1)  # fmt: skip
        if recognition:
            body["recognition"] = "Investigadora nacional, nivel I" if pilot.country == "MX" else "Investigadora RENACYT"
    return body
