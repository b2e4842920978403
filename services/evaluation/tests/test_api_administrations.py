"""Windows, drafts, the single submission, anonymity and pseudonymous pairing."""

from __future__ import annotations

from datetime import timedelta

from services.evaluation.access import pseudonym
from services.evaluation.domain import soft_skills
from services.evaluation.tests.conftest import all_rows


def skills_answers(level: int) -> dict[str, int]:
    return {i.id: max(1, min(5, level + (n % 2))) for n, i in enumerate(soft_skills().items())}


def test_window_not_yet_open_then_open_then_closed(world):
    mentee, _, _ = world.person("mentee")
    later = world.administer(opens_in=timedelta(days=1), closes_in=timedelta(days=2))
    r = world.http.put(f"/v1/administrations/{later['id']}/responses/mine", json={"answers": {"assertiveness.1": 3}}, headers=mentee)
    assert r.status_code == 409 and r.json()["window"] == "not_yet_open" and "not open yet" in r.json()["detail"]
    assert world.http.get("/v1/administrations/mine", headers=mentee).json()["items"] == []

    adm = world.administer()
    mine = world.http.get("/v1/administrations/mine", headers=mentee).json()["items"]
    assert [(a["id"], a["my_role"], a["my_status"]) for a in mine] == [(adm["id"], "mentee", "none")]
    r = world.http.put(f"/v1/administrations/{adm['id']}/responses/mine", json={"answers": {"assertiveness.1": 3}}, headers=mentee)
    assert r.status_code == 200 and r.json()["status"] == "draft"
    assert world.http.get("/v1/administrations/mine", headers=mentee).json()["items"][0]["my_status"] == "draft"

    r = world.http.post(f"/v1/administrations/{adm['id']}/closing", headers=world.coordinator)
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert world.http.post(f"/v1/administrations/{adm['id']}/closing", headers=world.coordinator).status_code == 409
    r = world.http.post(f"/v1/administrations/{adm['id']}/responses/mine/submission", json={"answers": skills_answers(3)}, headers=mentee)
    assert r.status_code == 409 and r.json()["window"] == "closed"
    assert world.http.get("/v1/administrations/mine", headers=mentee).json()["items"] == []


def test_validation_names_the_item_and_writes_nothing(world, engine):
    mentee, _, _ = world.person("mentee")
    adm = world.administer()
    before = all_rows(engine)["responses"]
    r = world.http.put(f"/v1/administrations/{adm['id']}/responses/mine", json={"answers": {"assertiveness.1": 9, "nope": 1}}, headers=mentee)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"body.answers.assertiveness.1", "body.answers.nope"}
    assert all_rows(engine)["responses"] == before
    r = world.http.post(f"/v1/administrations/{adm['id']}/responses/mine/submission", json={"answers": {"assertiveness.1": 3}}, headers=mentee)
    assert r.status_code == 422 and any(e["code"] == "missing" for e in r.json()["errors"])


def test_submit_exactly_once(world, engine):
    mentee, _, _ = world.person("mentee")
    adm = world.administer()
    url = f"/v1/administrations/{adm['id']}/responses/mine/submission"
    first = world.http.post(url, json={"answers": skills_answers(3)}, headers={**mentee, "Idempotency-Key": "s1"})
    assert first.status_code == 201 and first.json()["status"] == "submitted"
    replay = world.http.post(url, json={"answers": skills_answers(3)}, headers={**mentee, "Idempotency-Key": "s1"})
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    again = world.http.post(url, json={"answers": skills_answers(4)}, headers=mentee)
    assert again.status_code == 409 and again.json()["submitted"] is True
    assert world.http.put(f"/v1/administrations/{adm['id']}/responses/mine", json={"answers": {}}, headers=mentee).status_code == 409
    assert world.http.get(f"/v1/administrations/{adm['id']}/responses/mine", headers=mentee).json()["answers"]["assertiveness.1"] == 3
    events = [r for r in all_rows(engine)["outbox_events"]]
    assert sum(1 for e in events if "response.submitted" in e) == 1


def test_audience_mentors_only_is_hidden_from_mentees(world):
    mentee, _, _ = world.person("mentee")
    mentor, _, _ = world.person("mentor")
    adm = world.administer(audience="mentors")
    assert world.http.get("/v1/administrations/mine", headers=mentee).json()["items"] == []
    assert len(world.http.get("/v1/administrations/mine", headers=mentor).json()["items"]) == 1
    assert world.http.put(f"/v1/administrations/{adm['id']}/responses/mine", json={"answers": {}}, headers=mentee).status_code == 404


def test_anonymous_pairs_pre_and_post_without_a_person_link(world, engine, app):
    people = [world.person("mentee") for _ in range(6)] + [world.person("mentor") for _ in range(5)]
    pre = world.administer(moment="pre", anonymous=True)
    post = world.administer(moment="post", anonymous=True)
    for n, (headers, _, _) in enumerate(people):
        assert world.answer(pre["id"], headers, skills_answers(2 + n % 2)).status_code == 201
        assert world.answer(post["id"], headers, skills_answers(3 + n % 2)).status_code == 201
    rows = all_rows(engine)
    dump = repr(rows)
    for _, sub, participant_id in people:
        assert sub not in dump and str(participant_id) not in dump and participant_id.hex not in dump
    responses = rows["responses"]
    assert len(responses) == 22
    # the pseudonym is the keyed HMAC over program + sub, the same in pre and post
    key = app.state.pseudonym_key
    expected = {pseudonym(key, world.program_id, sub) for _, sub, _ in people}
    cols = [c.name for c in __import__("services.evaluation.models", fromlist=["ResponseRow"]).ResponseRow.__table__.columns]
    pseudonyms = {r[cols.index("pseudonym")] for r in responses}
    assert pseudonyms == expected
    assert all(r[cols.index("participant_id")] is None and r[cols.index("account_id")] is None for r in responses)
    skills = world.http.get(f"/v1/reports/programs/{world.program_id}/skills", headers=world.evaluator).json()
    assert {row["n_pairs"] for row in skills["rows"] if row["group"] == "all"} == {11}
    # respondents: counts only
    r = world.http.get(f"/v1/administrations/{pre['id']}/respondents", headers=world.coordinator).json()
    assert (r["submitted"], r["participant_ids"], r["submitted_by_role"]) == (11, None, {"mentor": 5, "mentee": 6})
