"""Interviews over real HTTP through the gateway, with the real participants service behind them.

Members consent to research (and some to quotes) in the participants service; the evaluation
service reads its research roster with its own ``research:read`` token to propose a stratified
sample and to check consent when an interview is recorded; two evaluators named coders code it
and agree with a Cohen's kappa; a coder marks a quote. Then the participants service's feed
(followed with the evaluation service's ``events:read`` token) carries her withdrawn consent to
quotes, then to research, and another member's erasure, to the interviews.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from services.evaluation.tests.interview_world import MENTEE_ANSWERS, MENTOR_ANSWERS
from tests.journeys import PASSWORD, Client, confirmed_cohort, login
from tests.test_e2e_sessions import wait_for


def _evaluator(http: httpx.Client, coordinator: Client, institution_id: str, name: str) -> tuple[Client, str]:
    email = f"{name}-{uuid.uuid4().hex[:6]}@uni.example"
    coordinator.ok("POST", "/v1/admin/accounts", 201, json={"email": email, "password": PASSWORD, "roles": ["evaluator"],
                                                             "institution_id": institution_id})
    person = Client(http, login(http, email), name)
    return person, person.ok("GET", "/v1/auth/me")["subject"]


def _consent(member: Any, *purposes: str) -> str:
    application = member.client.ok("GET", "/v1/applications")["items"][0]["id"]
    for purpose in purposes:
        member.client.ok("PUT", f"/v1/applications/{application}/consents/{purpose}", json={"privacy_notice_version": "2026-1"})
    return application


def test_an_interview_from_consent_to_kappa_quote_withdrawal_and_erasure(http: httpx.Client, admin_token: str) -> None:
    admin = Client(http, admin_token, "admin")
    cohort = confirmed_cohort(http, admin, [("mentor", k % 3, 0) for k in range(3)] + [("mentee", k % 3, 1) for k in range(4)])
    coordinator, program = cohort.coordinator, cohort.id
    quoted, plain, other = cohort.mentees[0], cohort.mentees[1], cohort.mentees[2]
    quoted_application = _consent(quoted, "research", "quotes")
    for member in (plain, other, *cohort.mentors):
        _consent(member, "research")
    coder_a, sub_a = _evaluator(http, coordinator, cohort.institution_id, "coder-a")
    coder_b, sub_b = _evaluator(http, coordinator, cohort.institution_id, "coder-b")
    coordinator.ok("PUT", f"/v1/interviews/teams/{program}/members/{sub_a}", json={"coder": True, "lead_coder": True})
    coordinator.ok("PUT", f"/v1/interviews/teams/{program}/members/{sub_b}", json={"coder": True})
    guides = {role: coordinator.ok("POST", "/v1/interviews/guides", 201, json={"program_id": program, "role": role})["id"]
              for role in ("mentor", "mentee")}

    # the sample reads the research roster: the fourth mentee gave no research consent
    sample = coordinator.ok("POST", "/v1/interviews/samples", 201, json={"program_id": program, "mentors": 2, "mentees": 3})
    picked = {p["participant_id"] for p in sample["picks"] if p["role"] == "mentee"}
    assert picked == {quoted.participant_id, plain.participant_id, other.participant_id}
    assert coordinator.post("/v1/interviews/samples", json={"program_id": program, "mentors": 1, "mentees": 4}).status_code == 422

    def record(member: Any, answers: dict[str, str], quote_consent: bool = False) -> httpx.Response:
        return coordinator.post("/v1/interviews", json={
            "program_id": program, "guide_id": guides[member.role], "participant_id": member.participant_id,
            "conducted_on": "2024-02-12", "quote_consent": quote_consent, "answers": answers})

    refused = record(cohort.mentees[3], MENTEE_ANSWERS)
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "consents.research"
    assert record(plain, MENTEE_ANSWERS, quote_consent=True).json()["errors"][0]["field"] == "consents.quotes"
    interviews = {m.participant_id: record(m, MENTEE_ANSWERS if m.role == "mentee" else MENTOR_ANSWERS, m is quoted).json()
                  for m in (quoted, plain, other, cohort.mentors[0])}
    assert all(i.get("code", "").startswith("E-") for i in interviews.values()), interviews

    for code, label in (("confidence", "Confianza"), ("journeys", "Trayectorias")):
        coordinator.ok("POST", f"/v1/interviews/codebooks/{program}/themes", 201,
                       json={"code": code, "label": {"es": label, "en": label}})
    for n, made in enumerate(interviews.values()):
        coder_a.ok("POST", f"/v1/interviews/{made['id']}/codings/mine/submission", 201,
                   json={"codes": {"gains": ["confidence"], "challenges": ["journeys"] if n % 2 else []}})
        coder_b.ok("POST", f"/v1/interviews/{made['id']}/codings/mine/submission", 201,
                   json={"codes": {"gains": ["confidence"], "challenges": ["journeys"] if n in (1, 2) else []}})
    themes = coordinator.ok("GET", f"/v1/reports/programs/{program}/themes")
    kappa = {t["theme"]["code"]: t["kappa"]["kappa"] for t in themes["themes"]}
    # journeys on answer "challenges": A on interviews 2 and 4, B on 2 and 3; 20 answers, 18 agreed, kappa 0.444
    assert kappa["confidence"] == 1.0 and abs(kappa["journeys"] - (0.9 - 0.82) / 0.18) < 1e-9, themes
    seen = coder_b.ok("GET", f"/v1/interviews/{interviews[quoted.participant_id]['id']}")
    assert seen["participant_id"] is None and seen["answers"] == MENTEE_ANSWERS

    quote = coder_a.ok("POST", f"/v1/interviews/{interviews[quoted.participant_id]['id']}/quotes", 201, json={
        "question": "gains", "theme": "confidence", "excerpt": "Ahora hablo en las reuniones del [grupo]", "deidentified": True})
    assert quote["withheld_because"] == ["role_below_k_text"]  # consented and attributed; three mentee interviews, k_text 10

    # her withdrawn consent to quotes reaches the evaluation service through the participants feed
    quoted.client.ok("POST", f"/v1/applications/{quoted_application}/consents/quotes/withdrawal")
    wait_for(lambda: "no_quote_consent" in coder_a.ok("GET", f"/v1/interviews/quotes/{quote['id']}")["withheld_because"],
             "the quotes consent withdrawal to reach the interviews")
    # and so does her withdrawn research consent: her interview is withdrawn, her quote gone
    quoted.client.ok("POST", f"/v1/applications/{quoted_application}/consents/research/withdrawal")
    wait_for(lambda: coder_a.ok("GET", f"/v1/interviews/{interviews[quoted.participant_id]['id']}")["status"] == "withdrawn",
             "the research consent withdrawal to reach the interviews")
    assert coder_a.get(f"/v1/interviews/quotes/{quote['id']}").status_code == 404

    # another member's erasure in the participants service erases her interview here
    sub = other.client.ok("GET", "/v1/auth/me")["subject"]
    other.client.ok("POST", f"/v1/institutions/{cohort.institution_id}/data-subjects/{sub}/erasure", 201)
    other_id = interviews[other.participant_id]["id"]
    wait_for(lambda: coder_a.ok("GET", f"/v1/interviews/{other_id}")["status"] == "erased", "the erasure to reach the interviews")
    assert coder_a.ok("GET", f"/v1/interviews/{other_id}")["answers"] == {}
