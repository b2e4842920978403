"""Issue 6 over real HTTP through the gateway: a matched cohort answers the
soft-skills self-assessment before and after (anonymously, paired by keyed
pseudonym) and the closing questionnaire; the program report gathers the
funnel (participants), matching quality (matching), adherence and retention
(sessions) and skill change with effect sizes, and renders as one offline HTML
page. Evaluators get aggregates, never a person's answers."""

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from services.evaluation.analytics import soft_skills
from services.evaluation.tests.test_api_analysis import closing_answers
from services.matching.tests.conftest import profile_body
from services.participants.tests.conftest import phases
from tests.journeys import PASSWORD, Client, confirmed_cohort, login, matched_and_active
from tools.stack import Stack


@pytest.fixture(scope="module")
def http(stack: Stack):
    with httpx.Client(base_url=stack.gateway, timeout=60) as client:
        yield client


def skills(person: int, moment: str) -> dict[str, int]:
    """Deterministic answers: two in three people rate themselves higher after."""
    lift = 1 if moment == "post" and person % 3 else 0
    return {item.id: min(5, 2 + (person + i) % 3 + lift) for i, item in enumerate(soft_skills().items())}


def test_pre_post_and_closing_questionnaires_make_the_program_report(http: httpx.Client, admin_token: str) -> None:
    admin = Client(http, admin_token, "admin")
    placements = [("mentor", k % 3, (k // 3) % 3) for k in range(16)] + [("mentee", k % 3, (k // 3) % 3) for k in range(14)]
    cohort = confirmed_cohort(http, admin, placements)
    coordinator, program_id = cohort.coordinator, cohort.id
    coordinator.ok("PATCH", f"/v1/programs/{program_id}", json={"phases": phases(date.today() - timedelta(days=200))})
    matched_and_active(cohort, profile_body)

    library = {i["key"]: i for i in coordinator.ok("GET", "/v1/instruments", params={"builtin": "true", "limit": 50})["items"]}
    now = datetime.now(UTC)
    window = {"opens_at": (now - timedelta(hours=1)).isoformat(), "closes_at": (now + timedelta(hours=2)).isoformat()}

    def administer(key: str, moment: str) -> dict:
        return coordinator.ok("POST", "/v1/administrations", 201, json={
            "instrument_id": library[key]["id"], "program_id": program_id, "audience": "everyone", "moment": moment,
            "anonymous": True, **window,
        })  # fmt: skip

    pre, post, closing = administer("soft-skills", "pre"), administer("soft-skills", "post"), administer("closing-assessment", "closing")
    members = [*cohort.mentors, *cohort.mentees]
    for n, member in enumerate(members):
        for administration, answers in ((pre, skills(n, "pre")), (post, skills(n, "post")), (closing, closing_answers(member.role, n))):
            member.client.ok("PUT", f"/v1/administrations/{administration['id']}/responses/mine", json={"answers": answers})
            member.client.ok("POST", f"/v1/administrations/{administration['id']}/responses/mine/submission", 201)
    again = members[0].client.post(f"/v1/administrations/{pre['id']}/responses/mine/submission")
    assert again.status_code == 409

    report = coordinator.ok("GET", f"/v1/reports/programs/{program_id}")
    stages = {f["key"]: f for f in report["funnel"]}
    assert stages["applied"]["total"] == 30 and stages["matched"]["mentees"] == 14
    assert report["retention"]["started"] == 14
    rows = {(r["skill"], r["group"]): r for r in report["skills"]["rows"]}
    assert {r["n_pairs"] for (skill, group), r in rows.items() if group == "all"} == {30}
    assert all(r["rank_biserial"] is not None and r["rank_biserial_ci"] for (s, g), r in rows.items() if g == "all")
    assert any(cloud["terms"] for cloud in report["clouds"])

    html = coordinator.get(f"/v1/reports/programs/{program_id}/report.html", params={"lang": "es"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.text.count("data:image/svg+xml") >= 4
    assert not re.search(r"""(?:src|href)\s*=\s*["']?https?://""", html.text)

    # An evaluator of the institution sees aggregates; nobody reads a person's answers.
    evaluator_email = f"evaluadora-{uuid.uuid4().hex[:6]}@uni.example"
    admin.ok("POST", "/v1/admin/accounts", 201, json={
        "email": evaluator_email, "password": PASSWORD, "roles": ["evaluator"], "institution_id": cohort.institution_id,
    })  # fmt: skip
    evaluator = Client(http, login(http, evaluator_email), "evaluator")
    assert evaluator.ok("GET", f"/v1/reports/programs/{program_id}/skills")["rows"]
    respondents = coordinator.ok("GET", f"/v1/administrations/{pre['id']}/respondents")
    assert "answers" not in str(respondents)
    assert members[1].client.ok("GET", f"/v1/administrations/{pre['id']}/responses/mine")["answers"] == skills(1, "pre")
