"""Signing keys: JWKS, rotation with a retiring key, retirement, replicas,
encryption at rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from jose import jwt
from sqlalchemy import update
from sqlmodel import Session, select

from servicekit.db import make_engine

from gateway.main import create_app
from gateway.models import SigningKeyRecord
from gateway.tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, base_settings

JWKS = "/.well-known/jwks.json"


def kids(client) -> list[str]:
    resp = client.get(JWKS)
    assert resp.status_code == 200
    return [k["kid"] for k in resp.json()["keys"]]


def test_jwks_is_public_short_cached_and_has_no_private_parts(make_gateway) -> None:
    gw = make_gateway()
    resp = gw.client.get(JWKS)
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == "public, max-age=60"
    (key,) = resp.json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()
    token = gw.token(ADMIN_EMAIL, ADMIN_PASSWORD)["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == key["kid"]


def test_rotation_serves_two_keys_until_the_old_one_retires(make_gateway) -> None:
    gw = make_gateway()
    admin = gw.bearer()
    (old_kid,) = kids(gw.client)
    old_token = gw.token(ADMIN_EMAIL, ADMIN_PASSWORD)["access_token"]

    rotated = gw.client.post("/v1/admin/keys/rotate", headers=admin)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    new_kid = body["active_kid"]
    assert new_kid != old_kid
    statuses = {k["kid"]: k for k in body["keys"]}
    assert statuses[old_kid]["status"] == "retiring" and statuses[new_kid]["status"] == "active"
    retire_after = datetime.fromisoformat(statuses[old_kid]["retire_after"])
    ttl = gw.settings.access_token_ttl + gw.settings.jwt_leeway_seconds
    assert retire_after - datetime.now(UTC) >= timedelta(seconds=ttl)

    assert sorted(kids(gw.client)) == sorted([old_kid, new_kid])
    new_token = gw.token(ADMIN_EMAIL, ADMIN_PASSWORD)["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    for token in (old_token, new_token):
        assert gw.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    # Time passes: every token of the old key has expired.
    engine = make_engine(gw.settings.database_url)
    with Session(engine) as session:
        session.execute(
            update(SigningKeyRecord).where(SigningKeyRecord.kid == old_kid).values(retire_after=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    gw.client.portal.call(gw.app.state.ring.reload)
    assert kids(gw.client) == [new_kid]
    with Session(engine) as session:
        retired = session.get(SigningKeyRecord, old_kid)
        assert retired.status == "retired" and retired.private_key == ""
    engine.dispose()
    assert gw.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    keys = gw.client.get("/v1/admin/keys", headers={"Authorization": f"Bearer {new_token}"}).json()
    assert {k["kid"]: k["status"] for k in keys["keys"]} == {old_kid: "retired", new_kid: "active"}


def test_another_replica_picks_up_a_rotation(make_gateway) -> None:
    one = make_gateway()
    two = make_gateway(database_url=one.settings.database_url, key_reload_seconds=0.0)
    (first_kid,) = kids(two.client)
    one.client.post("/v1/admin/keys/rotate", headers=one.bearer())
    new_token = one.token(ADMIN_EMAIL, ADMIN_PASSWORD)["access_token"]
    # An unknown kid makes replica two reload its keys and accept the token...
    assert two.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    # ...and it signs with the new key and publishes both.
    assert len(kids(two.client)) == 2
    assert jwt.get_unverified_header(two.token(ADMIN_EMAIL, ADMIN_PASSWORD)["access_token"])["kid"] != first_kid


def test_private_keys_are_encrypted_at_rest_when_a_key_is_set(make_gateway, upstream) -> None:
    fernet_key = Fernet.generate_key().decode()
    gw = make_gateway(key_encryption_key=fernet_key)
    assert gw.token(ADMIN_EMAIL, ADMIN_PASSWORD)["access_token"]
    engine = make_engine(gw.settings.database_url)
    with Session(engine) as session:
        (record,) = session.exec(select(SigningKeyRecord)).all()
    engine.dispose()
    assert record.encrypted and "PRIVATE KEY" not in record.private_key
    assert "PRIVATE KEY" in Fernet(fernet_key.encode()).decrypt(record.private_key.encode()).decode()
    # Without the key the gateway refuses to start rather than run keyless.
    app = create_app(base_settings(gw.settings.database_url, upstream.url))
    with pytest.raises(RuntimeError, match="GATEWAY_KEY_ENCRYPTION_KEY"):
        with TestClient(app):
            pass
