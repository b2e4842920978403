"""Statistics through the API equal the analytics' values; suppression holds in every output."""

from __future__ import annotations

import numpy as np

from services.evaluation.access import pseudonym
from services.evaluation.domain import Response, Role, closing_assessment, skill_changes, soft_skills


def answers_for(person: int, moment: str) -> dict[str, int]:
    rng = np.random.default_rng(1000 * person + (moment == "post"))
    shift = 1 if moment == "post" and person % 3 else 0
    return {i.id: int(min(5, rng.integers(1, 5) + shift)) for i in soft_skills().items()}


def test_skill_change_equals_analytics(world, app):
    people = [(world.person("mentor"), Role.MENTOR) for _ in range(6)] + [(world.person("mentee"), Role.MENTEE) for _ in range(7)]
    pre, post = world.administer(moment="pre"), world.administer(moment="post")
    expected_pre, expected_post = [], []
    for n, ((headers, sub, _), role) in enumerate(people):
        assert world.answer(pre["id"], headers, answers_for(n, "pre")).status_code == 201
        assert world.answer(post["id"], headers, answers_for(n, "post")).status_code == 201
        key = pseudonym(app.state.pseudonym_key, world.program_id, sub)
        expected_pre.append(Response(key, role, answers_for(n, "pre")))
        expected_post.append(Response(key, role, answers_for(n, "post")))
    r = world.http.get(f"/v1/reports/programs/{world.program_id}/skills", headers=world.evaluator)
    assert r.status_code == 200, r.text
    got = {(row["skill"], row["group"]): row for row in r.json()["rows"]}
    expected = skill_changes(soft_skills(), expected_pre, expected_post, seed=0)
    assert len(got) == len(expected) == 21
    for sc in expected:
        row, c = got[(sc.skill, sc.group)], sc.change
        assert row["n_pairs"] == c.n_pairs
        # a mean is withheld while the group's item answers are not published whole (it would reveal hidden cells)
        assert (row["mean_change"] is None) == row["means_withheld"]
        assert row["means_withheld"] or np.isclose(row["mean_change"], c.mean_change)
        assert (row["p_value"] is None and c.p_value is None) or np.isclose(row["p_value"], c.p_value)
        assert (row["rank_biserial"] is None and c.rank_biserial is None) or np.isclose(row["rank_biserial"], c.rank_biserial)
        assert row["rank_biserial_ci"] == (list(c.rank_biserial_ci) if c.rank_biserial_ci else None)
    assert r.json()["pre_administration_id"] == pre["id"] and r.json()["k"] == 5


def closing_answers(role: str, n: int) -> dict[str, object]:
    ins = closing_assessment()
    out: dict[str, object] = {}
    for item in ins.items():
        aud = ins.item_audience(item.id).value
        if aud not in ("everyone", role + "s"):
            continue
        if item.type.value == "likert":
            out[item.id] = 4 + n % 2
        elif item.type.value == "multiple_choice":
            out[item.id] = [item.options[0].value]
        elif item.type.value == "open_text":
            out[item.id] = "Gané confianza y una red de colegas" if n % 2 else "More confidence and networking"
    return out


def test_small_groups_are_suppressed_in_items_and_text(world):
    adm = world.administer("closing-assessment", moment="closing", anonymous=True)
    for n in range(2):
        headers, _, _ = world.person("mentor")
        assert world.answer(adm["id"], headers, closing_answers("mentor", n)).status_code == 201
    for n in range(6):
        headers, _, _ = world.person("mentee")
        assert world.answer(adm["id"], headers, closing_answers("mentee", n)).status_code == 201
    r = world.http.get(f"/v1/reports/programs/{world.program_id}/items", headers=world.coordinator)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["respondents"][adm["id"]]["cells"] == [[None, 6, None]]  # 2 mentors hidden, and the total that would reveal them
    for item in body["items"]:
        tables = [item["table"]] if item["table"] else [o["table"] for o in item["options"] or []]
        for t in tables:
            if "mentor" not in t["rows"]:
                continue  # an item for mentees only
            mentor_row = t["cells"][t["rows"].index("mentor")]
            assert all(v is None for v in mentor_row), item["item_id"]
            # no published column lets a reader subtract: mentee and total are never both published with mentor hidden
            if "all" in t["rows"]:
                mentee_row, total_row = t["cells"][t["rows"].index("mentee")], t["cells"][t["rows"].index("all")]
                for m, a in zip(mentee_row, total_row):
                    assert m is None or a is None
    text = world.http.get(f"/v1/reports/programs/{world.program_id}/text", headers=world.evaluator).json()
    assert text["k_text"] == 10
    assert text["items"] and all(not i["published"] and i["terms"] == [] for i in text["items"])


def test_themes_and_codings_counts(world):
    adm = world.administer("closing-assessment", moment="closing", anonymous=True)
    for n in range(20):  # 10 of each role: k_text (10) each, so evaluators may read their open answers
        role = "mentor" if n < 10 else "mentee"
        headers, _, _ = world.person(role)
        assert world.answer(adm["id"], headers, closing_answers(role, n)).status_code == 201
    url = f"/v1/reports/programs/{world.program_id}"
    assert world.http.post(f"{url}/themes", json={"code": "confidence", "label": {"es": "Confianza", "en": "Confidence"}},
                           headers={**world.evaluator, "Idempotency-Key": "t1"}).status_code == 201
    assert world.http.post(f"{url}/themes", json={"code": "confidence", "label": {"es": "C", "en": "C"}},
                           headers=world.coordinator).status_code == 409
    answers = world.http.get(f"{url}/open-answers", headers=world.evaluator).json()
    assert answers and all(set(a) == {"response_id", "administration_id", "role", "item_id", "text"} for a in answers)
    assert world.http.get(f"{url}/open-answers", headers=world.coordinator).status_code == 403
    coded = set()
    for a in answers:
        if a["response_id"] in coded:
            continue
        coded.add(a["response_id"])
        r = world.http.post(f"{url}/codings", json={"response_id": a["response_id"], "themes": ["confidence"]}, headers=world.evaluator)
        assert r.status_code == 201, r.text
    assert world.http.post(f"{url}/codings", json={"response_id": answers[0]["response_id"], "themes": ["confidence"]},
                           headers=world.evaluator).status_code == 409
    r = world.http.post(f"{url}/codings", json={"response_id": answers[0]["response_id"], "themes": ["nope"]}, headers=world.coordinator)
    assert r.status_code == 403
    summary = world.http.get(f"{url}/themes", headers=world.coordinator).json()
    assert summary["coded"]["cells"] == [[10, 10, 20]]
    # everyone mentioned it: nobody is left in the "not mentioned" cells (0 is published: no one to protect)
    assert summary["themes"][0]["mentioned"] == {"mentor": 10, "mentee": 10, "all": 20}
    assert summary["evaluators"] == 1
