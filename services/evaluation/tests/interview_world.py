"""A program's interview world for the API tests: a cohort in the fake participants service (career stage, STEM
field, consents), the interview team, the guides, and helpers to record and code interviews."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from services.evaluation.tests.conftest import World

# Ten mentors and twelve mentees with the strata the sample reads; the last two of each do not consent to research.
MENTORS = [("senior", "physics"), ("senior", "physics"), ("senior", "chemistry"), ("mid_career", "physics"),
           ("mid_career", "chemistry"), ("mid_career", "biology"), ("mid_career", "physics"), ("early_career", "biology"),
           ("senior", "physics"), ("early_career", "chemistry")]
MENTEES = [("undergraduate_student", "computer_science"), ("undergraduate_student", "biology"),
           ("undergraduate_student", "mathematics"), ("undergraduate_student", "computer_science"),
           ("undergraduate_student", "biology"), ("graduate_student", "mathematics"), ("graduate_student", "computer_science"),
           ("graduate_student", "biology"), ("graduate_student", "mathematics"), ("undergraduate_student", None),
           ("graduate_student", "biology"), ("undergraduate_student", "mathematics")]
NO_RESEARCH = 2

MENTEE_ANSWERS = {
    "overall": "Me sirvió mucho; con mi mentora nos vimos cuatro veces y cada encuentro me dejó tareas claras.",
    "gains": "Ahora hablo en las reuniones del laboratorio sin pedir permiso, y eso antes no pasaba.",
    "challenges": "La huelga en la universidad cortó el semestre y perdimos semanas de trabajo.",
    "mentor_gains": "Creo que ella también repensó cómo acompaña a las estudiantes más jóvenes.",
    "anything_else": "Ojalá hubiera más sesiones presenciales; cuatro se sienten pocas.",
}
MENTOR_ANSWERS = {
    "overall": "Funcionó, aunque el tiempo fue corto para todo lo que queríamos hacer.",
    "gains": "Me obligó a mirar mi propia carrera y a nombrar los obstáculos que yo misma viví.",
    "challenges": "Coordinar horarios con dos mentoradas y mis clases fue complicado.",
    "mentee_gains": "Ganaron seguridad para pedir lo que necesitan a sus jefes y profesores.",
    "anything_else": "Me gustaría seguir en una segunda edición del programa.",
}


@dataclass
class InterviewWorld:
    world: World
    mentors: list[uuid.UUID] = field(default_factory=list)  # consenting first
    mentees: list[uuid.UUID] = field(default_factory=list)
    mentee_subs: list[str] = field(default_factory=list)
    guides: dict[str, str] = field(default_factory=dict)
    interviewer: dict[str, str] = field(default_factory=dict)
    coder_a: dict[str, str] = field(default_factory=dict)  # the lead coder
    coder_b: dict[str, str] = field(default_factory=dict)
    outsider: dict[str, str] = field(default_factory=dict)  # an evaluator of the institution, not on the team

    @property
    def http(self) -> Any:
        return self.world.http

    @property
    def program(self) -> str:
        return str(self.world.program_id)

    def record(self, participant_id: uuid.UUID, role: str, *, headers: dict[str, str] | None = None, quote_consent: bool = False,
               answers: dict[str, str] | None = None, **over: Any) -> Any:
        body = {"program_id": self.program, "guide_id": self.guides[role], "participant_id": str(participant_id),
                "conducted_on": "2024-02-12", "language": "es", "quote_consent": quote_consent,
                "answers": answers if answers is not None else (MENTOR_ANSWERS if role == "mentor" else MENTEE_ANSWERS), **over}
        return self.http.post("/v1/interviews", json=body, headers=headers or self.interviewer)

    def recorded(self, participant_id: uuid.UUID, role: str, **kw: Any) -> dict[str, Any]:
        r = self.record(participant_id, role, **kw)
        assert r.status_code == 201, r.text
        return r.json()

    def code(self, interview_id: str, headers: dict[str, str], codes: dict[str, list[str]]) -> Any:
        return self.http.post(f"/v1/interviews/{interview_id}/codings/mine/submission", json={"codes": codes}, headers=headers)

    def theme(self, code: str, es: str, en: str, parent: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"code": code, "label": {"es": es, "en": en},
                                "definition": {"es": f"Cuando habla de {es.lower()}.", "en": f"When she talks about {en.lower()}."}}
        if parent:
            body["parent"] = parent
        r = self.http.post(f"/v1/interviews/codebooks/{self.program}/themes", json=body, headers=self.world.coordinator)
        assert r.status_code == 201, r.text
        return r.json()

    def codebook(self) -> None:
        self.theme("gendered-roles", "Cuestionar los roles de género", "Challenging gendered roles")
        self.theme("confidence", "Confianza y agencia personal", "Confidence and personal agency")
        self.theme("journeys", "Trayectorias personales desafiantes", "Challenging personal journeys")
        self.theme("workplace-bias", "Sesgo en el trabajo", "Bias at work", parent="gendered-roles")
        self.theme("strike", "La huelga", "The strike", parent="journeys")


def make_interview_world(world: World) -> InterviewWorld:
    iw = InterviewWorld(world)
    for i, (stage, stem) in enumerate(MENTORS):
        consents = ("program",) if i >= len(MENTORS) - NO_RESEARCH else ("program", "research", "quotes")
        _, _, pid = world.person("mentor", career_stage=stage, stem_fields=(stem,), consents=consents)
        iw.mentors.append(pid)
    for i, (stage, stem) in enumerate(MENTEES):
        consents = ("program",) if i >= len(MENTEES) - NO_RESEARCH else ("program", "research") + (("quotes",) if i % 2 == 0 else ())
        _, sub, pid = world.person("mentee", career_stage=stage, stem_fields=(stem,) if stem else (), consents=consents)
        iw.mentees.append(pid)
        iw.mentee_subs.append(sub)
    world.person("mentee", career_stage="graduate_student", stem_fields=("physics",), status="withdrawn")  # not a member now
    team = {"int-1": {"interviewer": True}, "coder-a": {"coder": True, "lead_coder": True}, "coder-b": {"coder": True}}
    for sub, body in team.items():
        r = world.http.put(f"/v1/interviews/teams/{world.program_id}/members/{sub}-{world.institution_id.hex[:6]}", json=body,
                           headers=world.coordinator)
        assert r.status_code == 200, r.text
    suffix = world.institution_id.hex[:6]
    iw.interviewer = world.staff(f"int-1-{suffix}", "evaluator")
    iw.coder_a = world.staff(f"coder-a-{suffix}", "evaluator")
    iw.coder_b = world.staff(f"coder-b-{suffix}", "evaluator")
    iw.outsider = world.evaluator
    for role in ("mentor", "mentee"):
        r = world.http.post("/v1/interviews/guides", json={"program_id": str(world.program_id), "role": role},
                            headers=world.coordinator)
        assert r.status_code == 201, r.text
        iw.guides[role] = r.json()["id"]
    return iw
