"""Issue 6 over real HTTP through the gateway, on the simulated Mexico cohort.

Sixteen mentors and fourteen mentees are matched; everyone answers the soft-skills
self-assessment before the mentoring (anonymously, paired by keyed pseudonym).
Then the platform's simulation clock (servicekit.clock, one file for every
service) plays the twelve weeks: each dyad meets weekly, the mentee sets a SMART
objective of four milestones and records progress, her mentor confirms the
milestones she reports done (the verified measure), and after every meeting both
members send their
feedback form, half within the 2-day deadline and the rest 1 to 14 days late, as
in the pilot. One dyad stops after its third meeting and is dissolved; the other
thirteen are completed. At the end everyone answers the soft-skills
self-assessment again and the closing questionnaire, and each member of a
completed dyad rates how far the objectives were achieved.

The program report then shows the funnel, 13 of 14 dyads completed, the real
feedback mix, meetings per dyad, skill changes with effect sizes, measured
(verified by confirmed milestones) against perceived achievement per dyad, word clouds, and suppressed small groups,
to the coordinator and to an evaluator (who reads aggregates only), in JSON and
in one offline HTML page that carries every figure.

The clock only ever moves forward from the real time, and is put back (offset 0)
whatever happens: the platform is shared by every cross-service test.
"""

from __future__ import annotations

import base64
import html as html_lib
import re
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from servicekit import clock
from services.evaluation.domain import soft_skills
from services.evaluation.tests.test_api_analysis import closing_answers
from services.matching.tests.conftest import profile_body
from services.participants.tests.conftest import phases
from services.sessions.tests.conftest import RATINGS, objective_body
from tests.journeys import PASSWORD, Client, confirmed_cohort, login, matched_and_active
from tests.test_e2e_sessions import wait_for
from tools.stack import Stack

K = 5  # EVALUATION_MIN_CELL's default


def skills(person: int, moment: str) -> dict[str, int]:
    """Deterministic answers: two in three people rate themselves higher after; of the rest, some lower."""
    def after(i: int) -> int:
        return 0 if moment == "pre" else 1 if person % 3 else -((person + i) % 2)

    return {item.id: min(5, 2 + (person + i) % 3 + after(i)) for i, item in enumerate(soft_skills().items())}


def closing(role: str, n: int) -> dict[str, Any]:
    """The closing questionnaire; one in seven is neutral (small cells the report must hide)."""
    return {k: (3 if n % 7 == 0 else v) if isinstance(v, int) else v for k, v in closing_answers(role, n).items()}


def set_clock(path: Path, when: datetime) -> None:
    assert when >= datetime.now(UTC), "the shared clock only moves forward"
    clock.set_simulated_now(path, when)


def reset_clock(path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("0\n")
    tmp.replace(path)


def test_the_mexico_cohort_makes_the_program_report(http: httpx.Client, admin_token: str, stack: Stack) -> None:
    try:
        run_cohort(http, admin_token, stack.clock_file)
    finally:
        reset_clock(stack.clock_file)


def run_cohort(http: httpx.Client, admin_token: str, clock_file: Path) -> None:
    admin = Client(http, admin_token, "admin")
    placements = [("mentor", k % 3, (k // 3) % 3) for k in range(16)] + [("mentee", k % 3, (k // 3) % 3) for k in range(14)]
    cohort = confirmed_cohort(http, admin, placements)
    coordinator, program_id = cohort.coordinator, cohort.id
    # The twelve weeks of mentoring start the day after tomorrow.
    start = date.today() - timedelta(days=104)
    coordinator.ok("PATCH", f"/v1/programs/{program_id}", json={"phases": phases(start)})
    mentoring_ends = start + timedelta(days=200)
    published = matched_and_active(cohort, profile_body)
    people = cohort.by_participant()
    members = [*cohort.mentors, *cohort.mentees]
    # Everyone took the online training (the LMS reports completions).
    module = coordinator.ok("POST", f"/v1/programs/{program_id}/training-modules", 201, json={
        "title": "Curso en línea", "kind": "online_module", "expected_minutes": 600})  # fmt: skip
    trained_at = datetime.combine(start + timedelta(days=60), datetime.min.time(), UTC).isoformat()
    for member in members:
        coordinator.ok("POST", f"/v1/training-modules/{module['id']}/completions", 201,
                       json={"participant_id": member.participant_id, "completed_at": trained_at})
    library = {i["key"]: i for i in coordinator.ok("GET", "/v1/instruments", params={"builtin": "true", "limit": 50})["items"]}

    def administer(key: str, moment: str, audience: str, at: datetime) -> dict[str, Any]:
        return coordinator.ok("POST", "/v1/administrations", 201, json={
            "instrument_id": library[key]["id"], "program_id": program_id, "audience": audience, "moment": moment,
            "anonymous": True, "opens_at": (at - timedelta(hours=1)).isoformat(), "closes_at": (at + timedelta(hours=3)).isoformat(),
        })  # fmt: skip

    def submit(member: Any, administration: dict[str, Any], answers: dict[str, Any]) -> None:
        member.client.ok("POST", f"/v1/administrations/{administration['id']}/responses/mine/submission", 201, json={"answers": answers})

    # Before the mentoring: the soft-skills self-assessment.
    pre = administer("soft-skills", "pre", "everyone", datetime.now(UTC))
    for n, member in enumerate(members):
        submit(member, pre, skills(n, "pre"))
    assert members[0].client.post(f"/v1/administrations/{pre['id']}/responses/mine/submission").status_code == 409

    # Sessions heard match.activated and proposed each dyad's twelve weekly meetings.
    matches = published["matches"]

    def dyads_ready() -> bool:
        outcomes = coordinator.get(f"/v1/dyads/programs/{program_id}/outcomes")
        return outcomes.status_code == 200 and outcomes.json()["dyads"] == 14

    wait_for(dyads_ready, "the dyads")
    schedule = {}
    for match in matches:
        mentee = people[match["mentee_participant_id"]].client
        items = mentee.ok("GET", f"/v1/dyads/{match['id']}/meetings", params={"limit": 50})["items"]
        schedule[match["id"]] = sorted(items, key=lambda m: m["number"])
        assert len(items) == 12

    # The twelve weeks, every action at its own simulated time, in time order.
    events: list[tuple[datetime, int, Callable[[], None]]] = []

    def at(when: datetime, action: Callable[[], None]) -> None:
        events.append((when, len(events), action))

    lost = matches[0]
    deadline = timedelta(hours=cohort.program["feedback_deadline_hours"])
    objectives: dict[str, str] = {}
    milestones: dict[str, list[str]] = {}
    forms = {"sent": 0, "late": 0}
    measured: dict[str, float] = {}  # verified: confirmed milestones of four
    for n, match in enumerate(matches):
        mentee = people[match["mentee_participant_id"]].client
        mentor = people[match["mentor_participant_id"]].client
        held = 3 if match is lost else 12
        if match is not lost:
            measured[match["id"]] = 25.0 * (1 + n % 4)  # 1 to 4 of its 4 milestones confirmed (and as much self-reported)
        for week, meeting in enumerate(schedule[match["id"]][:held]):
            begins = datetime.fromisoformat(meeting["start"])
            due = begins + timedelta(minutes=meeting["duration_minutes"]) + deadline
            at(begins + timedelta(minutes=70), lambda m=meeting, c=mentee: c.ok("POST", f"/v1/meetings/{m['id']}/confirmation", json={}))
            for member in (mentee, mentor):
                # Half on time (the mentee one week, the mentor the next), the rest 1 to 14 days late in turn.
                late = (forms["sent"] + forms["sent"] // 2) % 2 == 1
                delay = forms["late"] % 14 + 1 if late else 0
                forms["sent"] += 1
                forms["late"] += late
                when = due + timedelta(days=delay - 1, hours=1) if late else due - timedelta(hours=1)

                def send(m: dict[str, Any] = meeting, c: Client = member, expected: int = delay) -> None:
                    form = c.ok("POST", "/v1/feedback", 201, json={"meeting_id": m["id"], "ratings": RATINGS, "meeting_took_place": True})
                    assert form["delay_days"] == expected and form["on_time"] is (expected == 0)

                at(when, send)
            if week == 0:
                def set_objective(d: str = match["id"], c: Client = mentee, day0: datetime = begins) -> None:
                    steps = [{"title": f"Artículo {k + 1} enviado", "due_on": (day0 + timedelta(weeks=2 * k + 2)).date().isoformat()}
                             for k in range(4)]
                    body = objective_body(d, target=4, due_date=(mentoring_ends - timedelta(days=5)).isoformat(), milestones=steps)
                    created = c.ok("POST", "/v1/objectives", 201, json=body)
                    objectives[d], milestones[d] = created["id"], [m["id"] for m in created["milestones"]]

                at(begins + timedelta(minutes=80), set_objective)
            if week in (4, 8) and match is not lost:
                value = 1 if week == 4 else 1 + n % 4
                at(begins + timedelta(minutes=90), lambda d=match["id"], c=mentee, v=value: c.ok(
                    "POST", f"/v1/objectives/{objectives[d]}/progress", 201, json={"value": v}))
                # The verified measure: she reports each step done with evidence, her mentor confirms it.
                for k in ([0] if week == 4 else range(1, 1 + n % 4)):
                    def verify(d: str = match["id"], c: Client = mentee, reviewer: Client = mentor, k: int = k) -> None:
                        c.ok("POST", f"/v1/milestones/{milestones[d][k]}/evidence", json={"note": "Acuse de recibo de la revista"})
                        reviewer.ok("POST", f"/v1/milestones/{milestones[d][k]}/confirmation")

                    at(begins + timedelta(minutes=95), verify)
    lost_mentee = people[lost["mentee_participant_id"]].client

    def dissolve() -> None:  # two meetings missed after the third: the dyad is red, then dissolved
        at_risk = coordinator.ok("GET", f"/v1/dyads/programs/{program_id}/at-risk")
        assert at_risk[0]["dyad_id"] == lost["id"] and at_risk[0]["status"] == "red"
        lost_mentee.ok("POST", f"/v1/matching/matches/{lost['id']}/dissolution", json={"reason": "Sin sintonía tras la tercera reunión"})

    at(datetime.fromisoformat(schedule[lost["id"]][4]["start"]) + timedelta(hours=50), dissolve)
    events.sort(key=lambda e: (e[0], e[1]))
    for when, _, action in events:
        set_clock(clock_file, when)
        action()
    end = events[-1][0] + timedelta(hours=1)
    set_clock(clock_file, end)
    for match in matches[1:]:
        coordinator.ok("POST", f"/v1/matching/matches/{match['id']}/completion")

    def ended() -> bool:
        rows = coordinator.ok("GET", f"/v1/dyads/programs/{program_id}/outcomes")["items"]
        return Counter(r["status"] for r in rows) == {"completed": 13, "dissolved": 1}

    wait_for(ended, "the completions and the dissolution to reach sessions")
    finished = {m[side] for m in matches[1:] for side in ("mentee_participant_id", "mentor_participant_id")}
    for membership in coordinator.ok("GET", f"/v1/programs/{program_id}/memberships", params={"limit": 200})["items"]:
        if membership["participant_id"] in finished:
            coordinator.ok("PATCH", f"/v1/programs/{program_id}/memberships/{membership['id']}", json={"status": "completed"})

    # At the end: the self-assessment again, the closing questionnaire, perceived achievement per dyad.
    survey = end + timedelta(hours=2)
    set_clock(clock_file, survey)
    post = administer("soft-skills", "post", "everyone", survey)
    final = administer("closing-assessment", "closing", "everyone", survey)
    by_mentee = administer("objectives-mentee", "post", "mentees", survey)
    by_mentor = administer("objectives-mentor", "post", "mentors", survey)
    for n, member in enumerate(members):
        submit(member, post, skills(n, "post"))
        submit(member, final, closing(member.role, n))
    perceived = {}
    for n, match in enumerate(matches[1:]):
        m = measured[match["id"]]
        # Mentees are more optimistic than mentors (the pilot), mentors close to the measure.
        perceived[match["id"]] = (min(100.0, m + 10 + 5 * (n % 3)), max(0.0, min(100.0, m + 5 * (n % 3) - 5)))
        submit(people[match["mentee_participant_id"]], by_mentee, {"achieved": int(perceived[match["id"]][0])})
        submit(people[match["mentor_participant_id"]], by_mentor, {"achieved": int(perceived[match["id"]][1])})

    # The report, as an evaluator reads it (aggregates only; its inputs read with the service's own token).
    evaluator_email = f"evaluadora-{uuid.uuid4().hex[:6]}@uni.example"
    admin.ok("POST", "/v1/admin/accounts", 201, json={
        "email": evaluator_email, "password": PASSWORD, "roles": ["evaluator"], "institution_id": cohort.institution_id,
    })  # fmt: skip
    evaluator = Client(http, login(http, evaluator_email), "evaluator")
    report = evaluator.ok("GET", f"/v1/reports/programs/{program_id}")
    page = evaluator.get(f"/v1/reports/programs/{program_id}/report.html", params={"lang": "en"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    check_report(report, page.text, measured, perceived)

    # Nobody reads a person's answers: the coordinator sees who answered, never what; the evaluator not even that.
    respondents = coordinator.ok("GET", f"/v1/administrations/{pre['id']}/respondents")
    assert respondents["submitted"] == 30 and "answers" not in str(respondents)
    assert evaluator.get(f"/v1/administrations/{pre['id']}/respondents").status_code == 403
    assert evaluator.get(f"/v1/administrations/{pre['id']}/responses/mine").status_code == 404
    assert members[1].client.ok("GET", f"/v1/administrations/{pre['id']}/responses/mine")["answers"] == skills(1, "pre")
    # An evaluator of another institution is refused.
    tag = uuid.uuid4().hex[:8]
    other = admin.ok("POST", "/v1/institutions", 201, json={
        "name": f"Universidad {tag}", "slug": f"u-{tag}", "country": "MX", "timezone": "America/Mexico_City",
    })  # fmt: skip
    other_email = f"evaluadora-{tag}@otra.example"
    admin.ok("POST", "/v1/admin/accounts", 201, json={
        "email": other_email, "password": PASSWORD, "roles": ["evaluator"], "institution_id": other["id"],
    })  # fmt: skip
    stranger = Client(http, login(http, other_email), "other evaluator")
    assert stranger.get(f"/v1/reports/programs/{program_id}").status_code == 404


def row(*cells: object) -> re.Pattern[str]:
    """A table row of the page whose cells read ``cells`` in order (class attributes aside)."""
    return re.compile("<tr>" + "".join(rf"<td[^>]*>{re.escape(str(c))}</td>" for c in cells))


def kpi(value: str, label: str) -> str:
    return f"<b>{value}</b><span>{label}</span>"


def check_report(report: dict[str, Any], page: str, measured: dict[str, float], perceived: dict[str, tuple[float, float]]) -> None:
    text = html_lib.unescape(page)
    # The header names the institution and the program period.
    assert f'<p class="institution">{report["program"]["institution"]}</p>' in text
    assert "Program period: " in text
    # The funnel.
    stages = {f["key"]: f for f in report["funnel"]}
    assert [f["key"] for f in report["funnel"]] == ["applied", "selected", "confirmed", "trained", "matched", "completed"]
    assert (stages["applied"]["total"], stages["confirmed"]["total"], stages["trained"]["total"]) == (30, 30, 30)
    assert (stages["matched"]["mentors"], stages["matched"]["mentees"]) == (14, 14)
    assert (stages["completed"]["mentors"], stages["completed"]["mentees"]) == (13, 13) and report["training_rate"] == 1.0
    for f in report["funnel"]:
        assert row(f["label"]["en"], f"{f['mentors']:,}", f"{f['mentees']:,}", f"{f['total']:,}").search(text), f["key"]
    # Retention: 13 of 14 dyads completed, one dissolved.
    retention = report["retention"]
    assert (retention["started"], retention["completed"], retention["dissolved"], retention["active"]) == (14, 13, 1, 0)
    assert "13 of 14 dyads completed (93 %)." in text
    # Meetings per dyad, from sessions: twelve for the thirteen, three for the one that stopped; the share
    # held is of the meetings planned to date, exactly as the sessions statistics count them.
    adherence = report["adherence"]
    held = adherence["meetings_held"]
    assert (held["n"], held["minimum"], held["median"], held["maximum"]) == (14, 3, 12, 12)
    assert adherence["dyads_all_meetings"] == 13 and (adherence["held"], adherence["planned_to_date"]) == (13 * 12 + 3, 168)
    assert adherence["share_of_planned"] == (13 * 12 + 3) / 168
    assert kpi("159 / 168", "Meetings held of those planned to date") in text
    assert kpi(f"{round(100 * adherence['share_of_planned'])} %", "Share held") in text
    # Feedback: 318 forms, half on time, the rest 1 to 14 days late (every delay as sessions measured it).
    mix = {key: n for key, _, n in adherence["feedback_mix"]}
    assert (adherence["feedback_expected"], adherence["feedback_submitted"], adherence["feedback_on_time"]) == (318, 318, 159)
    assert mix == {"on_time": 159, "late_1_3": 36, "late_4_7": 46, "late_8_14": 77, "late_15": 0, "missing": 0}
    assert kpi("159 / 318", "Forms on time") in text
    for key, label, n in adherence["feedback_mix"]:
        assert row(label["en"], f"{n:,}", f"{round(100 * n / 318)} %").search(text), key
    # Skill change with effect sizes, every skill, every group.
    rows = report["skills"]["rows"]
    assert {r["n_pairs"] for r in rows if r["group"] == "all"} == {30} and len({r["skill"] for r in rows}) == 7
    assert any(r["rank_biserial"] < 1 for r in rows)  # some declined
    for r in rows:
        assert r["rank_biserial"] is not None and r["rank_biserial_ci"] and r["p_value"] is not None
        lo, hi = r["rank_biserial_ci"]
        assert f'{r["rank_biserial"]:+.2f}<span class="sub">[{lo:+.2f}, {hi:+.2f}]</span>' in text
        if r["mean_change"] is not None:
            assert f"{r['mean_change']:+.2f}" in text
    # Measured (verified milestones) against self-reported and perceived achievement, per dyad (never
    # named), mentees more optimistic.
    obj = report["objectives"]
    assert obj["published"] and obj["dyads"] == 14 and obj["hidden"] == []
    assert (obj["measured_source"], obj["perceived_source"]) == ("milestones", "survey")
    expected_points = {(measured[d], measured[d], *perceived[d]) for d in perceived} | {(0.0, None, None, None)}
    assert {tuple(p) for p in obj["points"]} == expected_points
    summaries, gaps = obj["summaries"], obj["gaps"]
    assert (summaries["measured"]["n"], summaries["mentee"]["n"], summaries["mentor"]["n"]) == (14, 13, 13)
    assert gaps["mentee_vs_measured"]["mean_change"] > gaps["mentor_vs_measured"]["mean_change"]
    assert gaps["mentee_vs_mentor"]["n_pairs"] == 13 and gaps["mentee_vs_mentor"]["mean_change"] > 0
    for key, name in (("measured", "Measured: verified milestones"), ("self_reported", "Self-reported progress"),
                      ("mentee", "Perceived by the mentee"), ("mentor", "Perceived by the mentor")):
        s = summaries[key]
        assert row(name, s["n"], f"{s['mean']:.1f}", f"{s['median']:.1f}").search(text), key
    for key in ("mentee_vs_measured", "mentor_vs_measured", "mentee_vs_mentor"):
        lo, hi = gaps[key]["mean_change_ci"]
        assert f'{gaps[key]["mean_change"]:+.1f}<span class="sub">[{lo:+.1f}, {hi:+.1f}]</span>' in text, key
    # Word clouds of the open answers, published above the open-text threshold.
    clouds = [c for c in report["clouds"] if c["published"]]
    assert clouds and all(c["terms"] for c in clouds)
    for c in clouds:
        top = c["terms"][0]
        assert row(top["term"], f"{top['count']:,}", f"{top['documents']:,}").search(text)
    # Small groups are suppressed: no published answer count under k, hidden cells marked in the page.
    sat = report["satisfaction"]
    cells = [v for it in sat["items"] for r in it["table"]["cells"] for v in r]
    assert None in cells and all(v >= K or v == 0 for v in cells if v is not None)
    assert '<td class="hidden">hidden</td>' in text
    # One offline page: every chart embedded, nothing fetched.
    charts = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert len(charts) >= 8 and all(b"<svg" in base64.b64decode(c) for c in charts)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?https?://""", page)
