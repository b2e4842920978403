"""Each service, called directly (in-process, real verification path, a key it
trusts), refuses every attack token with a 401 problem. With the key trusted,
each attack differs from a valid token in one property only, so each refusal
proves one check: algorithm pinning, typ, kid, signature, exp, iat/nbf, aud,
iss, size, JWE."""

import importlib
import uuid

import pytest
from fastapi.testclient import TestClient

from servicekit.testing import attack_tokens, bearer
from tools.stack import SERVICES


@pytest.fixture(scope="module", params=[s for s in SERVICES], ids=lambda s: s.name)
def service_client(request, database_factory, key_source):
    app_spec = request.param
    main = importlib.import_module(f"{app_spec.package}.main")
    config = importlib.import_module(f"{app_spec.package}.config")
    url = database_factory.new(app_spec.name)
    importlib.import_module(f"{app_spec.package}.db").migrate(url)
    app = main.create_app(config.Settings(database_url=url, log_level="WARNING"), key_source=key_source)
    with TestClient(app) as client:
        yield client


def probe(service_client) -> str:
    """An authenticated route of the service: its outbox feed, or (the notifications service has none) her preferences."""
    return "/v1/notifications/preferences" if service_client.app.title == "Aliada notifications service" else "/internal/events"


def test_service_refuses_every_attack(service_client, signing_key) -> None:
    answers = {
        name: service_client.get(probe(service_client), headers=bearer(token)).status_code
        for name, token in attack_tokens(signing_key).items()
    }
    assert answers == {name: 401 for name in answers}


def test_service_accepts_the_valid_token_the_attacks_were_derived_from(service_client, mint) -> None:
    path = probe(service_client)
    if path == "/internal/events":
        token = mint(sub="svc", scope="events:read", client_id="svc")
    else:
        token = mint(sub="ana", tid=str(uuid.uuid4()), roles=["mentee"])
    assert service_client.get(path, headers=bearer(token)).status_code == 200
