"""Data-subject export and erasure of the notifications service (services/notifications/data_rights.py):
her inbox, deliveries (her address), preferences and reminders are exported and erased; her
counterpart keeps his messages, which no longer name her."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from servicekit.personal_data import classified, traces
from servicekit.testing import Mint, bearer

from services.notifications import data_rights
from services.notifications.models import Base

from .conftest import INSTITUTION, Clock, Contacts, Feeds, SmtpServer, meeting_payload


def gateway(mint: Mint) -> dict[str, str]:
    return bearer(mint(sub="service:gateway", scope="data-subjects:internal", client_id="service:gateway"))


def test_every_table_is_classified_once() -> None:
    assert classified(Base.metadata, data_rights.PERSONAL, data_rights.NOT_PERSONAL) == []


async def test_export_then_erasure_leave_nothing_of_hers_and_keep_her_counterparts_messages(
        engine: Engine, feeds: Feeds, smtp: SmtpServer, sender, contacts: Contacts, frozen: Clock, http: TestClient, mint: Mint) -> None:
    contacts.add("ana-7731", name="Ana", email="ana-7731@ujat.test")
    contacts.add("berta", name="Berta", email="berta@ujat.test")
    feeds.add("meeting.scheduled", meeting_payload(str(uuid.uuid4()), start=frozen.at + timedelta(days=3), mentee="ana-7731", mentor="berta"))
    await feeds.consumer(engine).poll_once()
    await sender.send_due()
    me = bearer(mint(sub="ana-7731", tid=INSTITUTION, roles=["mentee"]))
    assert http.put("/v1/notifications/preferences/meeting_tomorrow", json={"setting": "off"}, headers=me).status_code == 200
    needles = ["ana-7731"]
    assert set(traces(engine, Base.metadata, needles)) == {"notifications", "deliveries", "preferences", "reminders"}

    body = {"institution_id": INSTITUTION, "account_id": "ana-7731", "participant_ids": []}
    assert http.post("/internal/data-subjects/export", json=body, headers=me).status_code == 403
    out = http.post("/internal/data-subjects/export", json=body, headers=gateway(mint)).json()["tables"]
    assert [d["to_address"] for d in out["deliveries"]] == ["ana-7731@ujat.test"]
    assert [n["kind"] for n in out["notifications"]] == ["meeting_proposed"]
    assert [(p["kind"], p["setting"]) for p in out["preferences"]] == [("meeting_tomorrow", "off")]
    assert [r["kind"] for r in out["reminders"]] == ["meeting_tomorrow"]
    assert "berta@ujat.test" not in repr(out)

    erased = http.post("/internal/data-subjects/erasure", json=body, headers=gateway(mint)).json()["tables"]
    # Hers deleted, and Berta's message and reminder no longer name her.
    assert erased == {"deliveries": 1, "notifications": 2, "preferences": 1, "reminders": 2}
    assert traces(engine, Base.metadata, needles) == {}
    berta = http.get("/v1/notifications/mine", headers=bearer(mint(sub="berta", tid=INSTITUTION, roles=["mentor"]))).json()["items"]
    assert [n["kind"] for n in berta] == ["meeting_proposed"]
    again = http.post("/internal/data-subjects/erasure", json=body, headers=gateway(mint)).json()["tables"]
    assert set(again.values()) == {0}
