"""Data-subject export and erasure of the matching service (services/matching/data_rights.py).

Her profile, run entry and match are built through the real API (participants on a
loopback port); after the erasure no column of any table holds her markers or her
account id, coordinators no longer list her profile, and the outcomes keep their counts.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import Session

from servicekit.personal_data import classified, traces

from services.matching import data_rights
from services.matching.models import Base, MatchingRun
from services.matching.tests.conftest import World, ok, profile_body

OBJECTIVES_TEXT = "XQ-objetivos-8841 ganar la convocatoria"
EXPERIENCE = "XQ-experiencia-8842 en catálisis"
DISSOLUTION = "XQ-disolucion-8843"
OTHER_TEXT = "OTRA-objetivos-propios"


@pytest.fixture
def her(world: World) -> dict[str, Any]:
    pilot = world.pilot([("mentor", 0, 0), ("mentor", 1, 1), ("mentor", 2, 2), ("mentee", 1, 0), ("mentee", 2, 1)])
    members = [*pilot.mentors, *pilot.mentees]
    for k, member in enumerate(members):
        body = profile_body(k, member.role)
        if member is pilot.mentees[0]:
            body.update(objectives_text=OBJECTIVES_TEXT, experience=EXPERIENCE)
        elif member is pilot.mentees[1]:
            body.update(objectives_text=OTHER_TEXT)
        ok(member.caller.put(f"{pilot.base}/profiles/me", json=body))
    run = ok(pilot.coordinator.post(f"{pilot.base}/runs", json={}), 201)
    matches = ok(pilot.coordinator.post(f"{pilot.base}/runs/{run['id']}/publish"))["matches"]
    me = pilot.mentees[0]
    mine = next(m for m in matches if m["mentee_participant_id"] == me.participant_id)
    other = next(m for m in matches if m["id"] != mine["id"])
    mentor = pilot.by_participant()[mine["mentor_participant_id"]]
    ok(me.caller.post(f"/v1/matching/matches/{mine['id']}/accept"))
    ok(mentor.caller.post(f"/v1/matching/matches/{mine['id']}/accept"))
    ok(me.caller.post(f"/v1/matching/matches/{mine['id']}/dissolution", json={"reason": DISSOLUTION}))
    account = me.caller.get("/v1/participants/me").json()["account_id"]
    return {"pilot": pilot, "me": me, "account": account, "mine": mine, "other": other, "run": run, "mentor": mentor}


def _args(h: dict[str, Any]) -> tuple[uuid.UUID, str, list[uuid.UUID]]:
    return uuid.UUID(h["pilot"].institution_id), h["account"], [uuid.UUID(h["me"].participant_id)]


def test_every_table_is_classified_once() -> None:
    assert classified(Base.metadata, data_rights.PERSONAL, data_rights.NOT_PERSONAL) == []


def test_export_holds_her_rows_and_nobody_elses(her: dict[str, Any], engine: Any) -> None:
    institution_id, account, pids = _args(her)
    with Session(engine) as session:
        out = data_rights.export_subject(session, institution_id, account, pids)
    assert set(out) == set(data_rights.PERSONAL)
    [profile] = out["matching_profiles"]
    assert (profile["objectives_text"], profile["experience"], profile["account_id"]) == (OBJECTIVES_TEXT, EXPERIENCE, account)
    [match] = out["matches"]
    assert (match["id"], match["role"], match["dissolution_reason"], match["account_id"]) == (her["mine"]["id"], "mentee", DISSOLUTION, account)
    [run] = out["matching_runs"]
    assert [p["id"] for p in run["inputs"]] == [her["me"].participant_id]
    text = repr(out)
    assert OTHER_TEXT not in text and her["other"]["id"] not in text
    mentor_account = her["mentor"].caller.get("/v1/participants/me").json()["account_id"]
    assert mentor_account not in text
    with Session(engine) as session:
        assert all(v == [] for v in data_rights.export_subject(session, uuid.uuid4(), account, pids).values())


def test_erasure_leaves_nothing_of_hers_and_keeps_the_counts(her: dict[str, Any], engine: Any) -> None:
    pilot, me = her["pilot"], her["me"]
    institution_id, account, pids = _args(her)
    needles = [OBJECTIVES_TEXT, EXPERIENCE, DISSOLUTION, account]
    assert set(traces(engine, Base.metadata, needles)) >= {"matching_profiles", "matches", "matching_runs", "outbox_events"}
    outcomes_before = ok(pilot.coordinator.get(f"{pilot.base}/outcomes"))
    listed = [p["participant_id"] for p in ok(pilot.coordinator.get(f"{pilot.base}/profiles", params={"limit": 50}))["items"]]
    assert me.participant_id in listed

    with Session(engine) as session:  # another institution: nothing
        assert set(data_rights.erase_subject(session, uuid.uuid4(), account, pids).values()) == {0}
        session.commit()

    with Session(engine) as session:
        counts = data_rights.erase_subject(session, institution_id, account, pids)
        session.commit()
    assert (counts["matching_profiles"], counts["matches"], counts["matching_runs"]) == (1, 1, 1)
    assert counts["outbox_events"] >= 3  # published, activated, dissolved

    # (a) nothing of hers anywhere
    assert traces(engine, Base.metadata, needles) == {}
    # (b) coordinators no longer list her profile; she has none
    after = [p["participant_id"] for p in ok(pilot.coordinator.get(f"{pilot.base}/profiles", params={"limit": 50}))["items"]]
    assert me.participant_id not in after and sorted(after) == sorted(p for p in listed if p != me.participant_id)
    assert me.caller.get(f"{pilot.base}/profiles/me").status_code == 404
    match = ok(pilot.coordinator.get(f"/v1/matching/matches/{her['mine']['id']}"))
    assert match["status"] == "dissolved" and match["mentee_participant_id"] == me.participant_id
    # (c) counts and everyone else's data stay
    assert ok(pilot.coordinator.get(f"{pilot.base}/outcomes")) == outcomes_before
    other_mentee = pilot.mentees[1]
    assert ok(other_mentee.caller.get(f"{pilot.base}/profiles/me"))["objectives_text"] == OTHER_TEXT
    assert ok(pilot.coordinator.get(f"/v1/matching/matches/{her['other']['id']}"))["status"] == "proposed"
    run = ok(pilot.coordinator.get(f"{pilot.base}/runs/{her['run']['id']}"))
    assert run["report"] == her["run"]["report"]
    # (d) a second erasure changes nothing
    with Session(engine) as session:
        again = data_rights.erase_subject(session, institution_id, account, pids)
        session.commit()
    assert set(again.values()) == {0}, again


def test_a_coordinator_is_pseudonymised_as_the_author_of_runs(her: dict[str, Any], engine: Any) -> None:
    pilot = her["pilot"]
    with Session(engine) as session:
        coordinator = session.get(MatchingRun, uuid.UUID(her["run"]["id"])).created_by  # type: ignore[union-attr]
        out = data_rights.export_subject(session, uuid.UUID(pilot.institution_id), coordinator, [])
    assert [r["run_id"] for r in out["matching_runs"]] == [her["run"]["id"]] and out["matching_profiles"] == []
    with Session(engine) as session:
        counts = data_rights.erase_subject(session, uuid.UUID(pilot.institution_id), coordinator, [])
        session.commit()
    assert counts["matching_runs"] == 1 and counts["matching_profiles"] == counts["matches"] == 0
    assert traces(engine, Base.metadata, [coordinator]) == {}
    # her profile and match are untouched
    assert ok(her["me"].caller.get(f"{pilot.base}/profiles/me"))["objectives_text"] == OBJECTIVES_TEXT
