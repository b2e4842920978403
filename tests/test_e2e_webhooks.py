"""Outgoing webhooks end to end: a change in the participants service reaches
the subscribing institution's receiver (on loopback, verifying every request
with the ``standardwebhooks`` package) through the outbox feed and the
gateway's dispatcher; another institution's receiver gets nothing; a receiver
that is down gets every event once it is back; the delivery log and manual
redelivery work through the public API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from gateway.tests.webhook_receiver import Receiver, wait_for
from tools.stack import Stack

# Played on PostgreSQL too (scripts/run-tests): exactly-once deliveries claim their rows with SKIP LOCKED, on PostgreSQL only (servicekit.jobs).
pytestmark = pytest.mark.production_database

SUBS = "/v1/webhooks/subscriptions"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def gw(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway, timeout=15) as client:
        yield client


@pytest.fixture()
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for r in made:
        r.stop()


@pytest.fixture()
def subscriptions(gw: httpx.Client, admin_token: str) -> Iterator[list[str]]:
    """Deleted at the end: with no subscription left, the gateway stops
    reading the feeds (the other tests pay nothing for this one)."""
    made: list[str] = []
    yield made
    for sub_id in made:
        gw.delete(f"{SUBS}/{sub_id}", headers=auth(admin_token))


def institution(gw: httpx.Client, admin: str) -> str:
    tag = uuid.uuid4().hex[:6]
    body = {"name": f"Universidad {tag}", "slug": f"u-{tag}", "country": "MX", "timezone": "America/Mexico_City"}
    r = gw.post("/v1/institutions", json=body, headers=auth(admin))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def coordinator(gw: httpx.Client, admin: str, institution_id: str) -> str:
    email, password = f"coord-{uuid.uuid4().hex[:8]}@uni.test", "a long passphrase " + uuid.uuid4().hex
    body = {"email": email, "password": password, "roles": ["coordinator"], "institution_id": institution_id}
    assert gw.post("/v1/admin/accounts", json=body, headers=auth(admin)).status_code == 201
    return gw.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": password}).json()["access_token"]


def rename(gw: httpx.Client, admin: str, institution_id: str) -> None:
    r = gw.patch(f"/v1/institutions/{institution_id}", json={"name": f"Universidad {uuid.uuid4().hex[:8]}"}, headers=auth(admin))
    assert r.status_code == 200, r.text


def log(gw: httpx.Client, token: str, sub_id: str) -> list[dict]:
    r = gw.get(f"{SUBS}/{sub_id}/deliveries", params={"limit": 200}, headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_events_reach_the_institutions_receiver_signed_and_survive_an_outage(gw: httpx.Client, admin_token: str, receivers, subscriptions) -> None:
    admin = admin_token
    inst_a, inst_b = institution(gw, admin), institution(gw, admin)
    coord_a = coordinator(gw, admin, inst_a)
    ra, rb = Receiver().start(), Receiver().start()
    receivers.extend([ra, rb])

    created = gw.post(SUBS, json={"url": ra.url, "event_types": ["institution.*"], "description": "e2e"}, headers=auth(coord_a))
    assert created.status_code == 201, created.text
    sub_a = created.json()
    ra.secret = sub_a["secret"]
    sub_b = gw.post(SUBS, json={"url": rb.url, "event_types": ["*"], "institution_id": inst_b}, headers=auth(admin)).json()
    rb.secret = sub_b["secret"]
    subscriptions.extend([sub_a["id"], sub_b["id"]])

    # A change in the participants service, made through the gateway.
    rename(gw, admin, inst_a)
    (first,) = wait_for(lambda: ra.accepted(), timeout=60, message="the first delivery")
    assert first.payload["type"] == "institution.updated" and first.payload["institution_id"] == inst_a
    assert first.payload["data"]["institution"]["id"] == inst_a and first.payload["source"] == "participants"
    assert not ra.unverified()
    # Fan-out is one transaction per event: B's subscription got no delivery of A's event.
    assert log(gw, admin, sub_b["id"]) == [] and not rb.received

    # The receiver goes down; two more changes happen meanwhile.
    ra.stop()
    rename(gw, admin, inst_a)
    rename(gw, admin, inst_a)
    # An attempt is counted when it is claimed, before it is sent: a failed one has its error recorded.
    failing = lambda: [d for d in log(gw, coord_a, sub_a["id"]) if d["status"] == "pending" and d["last_error"]]
    wait_for(lambda: len(failing()) == 2, timeout=60, message="two failed attempts while the receiver is down")
    ra.start()  # back, on the same port
    wait_for(lambda: all(d["status"] == "succeeded" for d in log(gw, coord_a, sub_a["id"])) and len(ra.accepted()) == 3, timeout=60, message="catch-up")
    deliveries = log(gw, coord_a, sub_a["id"])
    assert len(deliveries) == 3
    assert dict(ra.accepted_counts()) == {d["event_id"]: 1 for d in deliveries}  # each event once, none lost
    retried = [d for d in deliveries if d["attempts"] > 1]
    assert len(retried) == 2
    detail = gw.get(f"{SUBS}/{sub_a['id']}/deliveries/{retried[0]['id']}", headers=auth(coord_a)).json()
    assert detail["attempt_log"][0]["status_code"] is None and detail["attempt_log"][0]["error"]
    assert detail["attempt_log"][-1]["status_code"] == 200

    # Manual redelivery: the same event again, with the same webhook-id.
    again = gw.post(f"{SUBS}/{sub_a['id']}/deliveries/{deliveries[0]['id']}/redeliver", headers=auth(coord_a))
    assert again.status_code == 202, again.text
    wait_for(lambda: ra.accepted_counts()[deliveries[0]["event_id"]] == 2, timeout=30, message="the redelivery")
    detail_path = f"{SUBS}/{sub_a['id']}/deliveries/{deliveries[0]['id']}"
    recorded = wait_for(
        lambda: (d := gw.get(detail_path, headers=auth(coord_a)).json())["status"] == "succeeded" and d["attempts"] == 2 and d,
        timeout=30,
        message="the redelivery in the log",
    )
    manual = recorded["attempt_log"][-1]
    assert manual["trigger"] == "manual" and manual["status_code"] == 200
    # Another institution's coordinator sees none of it.
    assert gw.get(f"{SUBS}/{sub_b['id']}/deliveries", headers=auth(coord_a)).status_code == 404
