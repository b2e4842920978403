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
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["email"] == email and body["roles"] == ["applicant"] and body["institution_id"] == INST_A
    assert "password" not in r.text and "hash" not in r.text
    claims = jwt.get_unverified_claims(gw.token(email, PASSWORD)["access_token"])
    assert claims["roles"] == ["applicant"] and claims["tid"] == INST_A


def test_sign_up_refuses_a_taken_email_an_unknown_institution_and_bad_input(gw: Gateway) -> None:
    email = new_email()
    assert gw.client.post("/v1/auth/signup", json={"email": email, "password": PASSWORD, "institution_id": INST_A}).status_code == 201
    again = gw.client.post("/v1/auth/signup", json={"email": email, "password": PASSWORD, "institution_id": INST_A})
    assert again.status_code == 409
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
