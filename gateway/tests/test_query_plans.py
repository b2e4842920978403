"""The gateway's hot reads reach their rows through an index (issue 15): its own lists, by institution, and what
every request of a signed-in person runs (the token, her session). Every statement of the requests is explained
(servicekit.plans); none may read a table whole."""

from __future__ import annotations

from typing import Any

from servicekit.plans import recording, whole_table_reads

from gateway.tests.conftest import Gateway

INSTITUTION = "0190f1c2-0000-7000-8000-00000000000a"


def test_lists_by_institution_and_a_persons_token_read_through_indexes(gw: Gateway, admin: dict[str, str]) -> None:
    engine: Any = gw.app.state.engine
    _, coordinator = gw.person(admin, ["coordinator"], INSTITUTION)
    gw.person(admin, ["mentee"], "0190f1c2-0000-7000-8000-00000000000b")  # another institution's
    with recording(engine) as executed:
        for url, headers in ((f"/v1/admin/accounts?institution_id={INSTITUTION}", admin),
                             (f"/v1/admin/clients?institution_id={INSTITUTION}", admin),
                             (f"/v1/webhooks/subscriptions?institution_id={INSTITUTION}", admin),
                             ("/v1/auth/me", coordinator)):
            response = gw.client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.text)
    assert executed
    assert whole_table_reads(engine, executed) == []
