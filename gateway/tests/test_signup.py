"""Applicant self-service sign-up."""

from __future__ import annotations

import uuid

from jose import jwt

from gateway.tests.conftest import PASSWORD, Gateway

INST_A = "0190f1c2-0000-7000-8000-00000000000a"
UNKNOWN = "0190f1c2-0000-7000-8000-000000000fff"


def new_email() -> str:
    return f"applicant-{uuid.uuid4().hex[:10]}@uni.example"


def test_an_applicant_signs_up_logs_in_and_holds_only_the_applicant_role(gw: Gateway) -> None:
    email = new_email()
    r = gw.client.post("/v1/auth/signup", json={"email": email.upper(), "password": PASSWORD, "institution_id": INST_A})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "accepted" and email not in r.text.lower()
    assert "password" not in r.text and "hash" not in r.text
    claims = jwt.get_unverified_claims(gw.token(email, PASSWORD)["access_token"])
    assert claims["roles"] == ["applicant"] and claims["tid"] == INST_A


def test_sign_up_refuses_an_unknown_institution_and_bad_input(gw: Gateway) -> None:
    email = new_email()
    assert gw.client.post("/v1/auth/signup", json={"email": email, "password": PASSWORD, "institution_id": INST_A}).status_code == 202
    unknown = gw.client.post("/v1/auth/signup", json={"email": new_email(), "password": PASSWORD, "institution_id": UNKNOWN})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.institution_id"
    for body, field in (
        ({"email": new_email(), "password": "short", "institution_id": INST_A}, "body.password"),
        ({"email": "nope", "password": PASSWORD, "institution_id": INST_A}, "body.email"),
        ({"email": new_email(), "password": PASSWORD, "institution_id": INST_A, "roles": ["admin"]}, "body.roles"),
    ):
        r = gw.client.post("/v1/auth/signup", json=body)
        assert r.status_code == 422 and field in {e["field"] for e in r.json()["errors"]}, (body, r.text)


def test_sign_up_cannot_grant_itself_roles_or_another_email_later(gw: Gateway) -> None:
    email = new_email()
    gw.client.post("/v1/auth/signup", json={"email": email, "password": PASSWORD, "institution_id": INST_A})
    token = gw.token(email, PASSWORD)["access_token"]
    # An applicant has no access to the admin surface.
    assert gw.client.get("/v1/admin/accounts", headers={"Authorization": f"Bearer {token}"}).status_code == 403


INST_B = "0190f1c2-0000-7000-8000-00000000000b"
OTHER_PASSWORD = "another-passphrase-2"


def test_sign_up_answers_the_same_whether_or_not_the_email_has_an_account(gw: Gateway) -> None:
    from gateway.tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    admin = gw.bearer()
    mentor = gw.create_account(admin, ["mentor"], INST_B)  # another institution's
    _, coordinator_a = gw.person(admin, ["coordinator"], INST_A)
    fresh = new_email()
    first = gw.client.post("/v1/auth/signup", json={"email": fresh, "password": PASSWORD, "institution_id": INST_A})
    assert first.status_code == 202
    reference = {k: v for k, v in first.json().items()}

    def accounts() -> list[dict[str, object]]:
        found = []
        for email in (fresh, mentor["email"], ADMIN_EMAIL):
            found += gw.client.get("/v1/admin/accounts", params={"email": email}, headers=admin).json()["items"]
        assert len(found) == 3
        return found

    before = {a["id"]: a for a in accounts()}
    for email, institution in (
        (fresh, INST_A),  # same institution, same spelling
        (f"  {fresh.upper()}  ", INST_A),  # case and whitespace
        (fresh, INST_B),  # now for another institution
        (mentor["email"], INST_A),  # another institution's account
        (mentor["email"].upper(), INST_B),  # her own institution, other case
        (ADMIN_EMAIL, INST_A),  # the platform admin's
    ):
        r = gw.client.post("/v1/auth/signup", json={"email": email, "password": OTHER_PASSWORD, "institution_id": institution})
        assert r.status_code == 202, (email, r.text)
        assert r.json() == reference and r.headers["content-type"] == first.headers["content-type"]
    # Nothing was created or changed: same accounts, roles, institutions; passwords unchanged.
    assert {a["id"]: a for a in accounts()} == before
    gw.token(fresh, PASSWORD)
    gw.token(mentor["email"], "a-long-passphrase-1")
    gw.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    for email in (fresh, mentor["email"], ADMIN_EMAIL):
        r = gw.client.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": OTHER_PASSWORD})
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # The coordinator sees exactly one account with the new email, in her institution.
    mine = gw.client.get("/v1/admin/accounts", params={"email": fresh}, headers=coordinator_a).json()["items"]
    assert [(a["email"], a["institution_id"], a["roles"]) for a in mine] == [(fresh, INST_A, ["applicant"])]
