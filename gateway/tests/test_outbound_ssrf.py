"""Server-side request forgery through the gateway's two fetches of URLs that
institutions choose: webhook targets and identity providers' JWKS. Both go
through servicekit's one outbound-URL policy, at registration (422 naming the
field, nothing stored) and at fetch time (a refusal, never a connection and
never a 500). Name resolution is a table (``servicekit.outbound.system_resolver``
is replaced), never real DNS; a listener on loopback counts every connection
anything makes to it."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from servicekit import outbound
from servicekit.tokens import SigningKey

from gateway.db import migrate
from gateway.main import create_app
from gateway.sso.models import IdentityProvider
from gateway.tests.conftest import Gateway, base_settings
from gateway.tests.upstream import UpstreamServer
from gateway.webhooks.models import WebhookSubscription

INST_A = "0190f1c2-0000-7000-8000-00000000000a"
IDPS = "/v1/admin/identity-providers"
SUBS = "/v1/webhooks/subscriptions"
TOKEN = "/v1/auth/token"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
AUDIENCE = "aliada-client-at-the-idp"
PUBLIC = "93.184.216.34"


class Listener:
    """A TCP listener on 127.0.0.1 that counts connections and closes them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def stop(self) -> None:
        self._stop = True
        time.sleep(0.2)
        self.sock.close()


# The resolver of these tests. Names under .uni.example are the tests' own;
# a test changes an answer to play DNS rebinding.
DNS: dict[str, list[str]] = {}


async def resolve(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise OSError("Name or service not known")
    return DNS[host]


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    running = Listener()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def gw(database_factory, upstream: UpstreamServer) -> Iterator[Gateway]:
    """A gateway with the production policy: https and public hosts only."""
    url = database_factory.migrated("gateway", migrate)
    settings = base_settings(url, upstream.url, webhooks_dispatcher_enabled=False, sso_jwks_refetch_seconds=0)
    assert not settings.sso_allow_insecure_urls and not settings.webhooks_allow_private_targets
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outbound, "system_resolver", resolve)
        with TestClient(create_app(settings)) as client:
            yield Gateway(client, settings)


@pytest.fixture(scope="module")
def coordinator(gw: Gateway) -> dict[str, str]:
    return gw.person(gw.bearer(), ["coordinator"], INST_A)[1]


def hostile_urls(port: int) -> list[str]:
    """Every way of naming the listener (or another non-public address) that
    the review and these tests tried. The private names are set up here."""
    DNS.update(
        {
            "loop.uni.example": ["127.0.0.1"],
            "intranet.uni.example": ["10.0.0.7"],
            "metadata.uni.example": ["169.254.169.254"],
            "metadata6.uni.example": ["fd00:ec2::254"],
            "mapped.uni.example": ["::ffff:127.0.0.1"],
            "mixed.uni.example": [PUBLIC, "127.0.0.1"],
            "cgnat.uni.example": ["100.64.3.4"],
        }
    )
    literals = [
        "127.0.0.1", "127.1", "0x7f.1", "0x7f000001", "2130706433", "017700000001", "127.0.0.1.", "[::1]",
        "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::1]", "0", "0.0.0.0",
        "10.1.2.3", "192.168.0.1", "169.254.169.254", "[fd00:ec2::254]", "100.64.0.1", "localhost", "LocalHost.",
        "svc.internal", "127。0。0。1",
    ]  # fmt: skip
    names = sorted(DNS)
    urls = [f"https://{host}:{port}/keys" for host in literals + names]
    urls += [
        f"http://{PUBLIC}:{port}/keys",  # plain http
        f"https://{PUBLIC}@127.0.0.1:{port}/keys",  # userinfo tricks
        f"https://127.0.0.1:{port}@{PUBLIC}/keys",
        f"https://unknown.uni.example:{port}/keys",  # does not resolve
        f"file:///etc/passwd",
        f"https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:{port}/keys",
    ]
    return urls


HOSTILE = hostile_urls(1)  # the port is irrelevant at registration


def problem_field(resp: Any) -> str:
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    return resp.json()["errors"][0]["field"]


def count(gw: Gateway, model: Any) -> int:
    with Session(gw.app.state.engine) as session:
        return len(session.exec(select(model)).all())


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_urls_are_refused_at_registration_naming_the_field(gw: Gateway, coordinator: dict[str, str], url: str) -> None:
    providers, subscriptions = count(gw, IdentityProvider), count(gw, WebhookSubscription)
    idp = {"name": "IdP", "issuer": f"https://idp-{uuid.uuid4().hex[:8]}.uni.example", "jwks_url": url, "audience": AUDIENCE}
    assert problem_field(gw.client.post(IDPS, json=idp, headers=coordinator)) == "body.jwks_url"
    hook = {"url": url, "event_types": ["match.*"]}
    assert problem_field(gw.client.post(SUBS, json=hook, headers=coordinator)) == "body.url"
    assert (count(gw, IdentityProvider), count(gw, WebhookSubscription)) == (providers, subscriptions)


def test_hostile_urls_are_refused_when_a_registration_is_changed(gw: Gateway, coordinator: dict[str, str]) -> None:
    DNS["idp.uni.example"] = [PUBLIC]
    idp = {"name": "IdP", "issuer": "https://idp.uni.example/change", "jwks_url": "https://idp.uni.example/keys", "audience": AUDIENCE}
    created = gw.client.post(IDPS, json=idp, headers=coordinator)
    assert created.status_code == 201, created.text
    hook = gw.client.post(SUBS, json={"url": "https://idp.uni.example/hook", "event_types": ["*"]}, headers=coordinator)
    assert hook.status_code == 201, hook.text
    for url in HOSTILE:
        patched = gw.client.patch(f"{IDPS}/{created.json()['id']}", json={"jwks_url": url}, headers=coordinator)
        assert problem_field(patched) == "body.jwks_url", url
        patched = gw.client.patch(f"{SUBS}/{hook.json()['id']}", json={"url": url}, headers=coordinator)
        assert problem_field(patched) == "body.url", url
    assert gw.client.get(f"{IDPS}/{created.json()['id']}", headers=coordinator).json()["jwks_url"] == "https://idp.uni.example/keys"


def id_token(key: SigningKey, issuer: str) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "aud": AUDIENCE, "sub": "person-1", "iat": now, "exp": now + 300, "email": "ana@uni.example"}
    return key.sign(claims, headers={"typ": "JWT"})


def exchange(gw: Gateway, token: str) -> Any:
    return gw.client.post(TOKEN, data={"grant_type": EXCHANGE, "subject_token": token, "subject_token_type": ID_TOKEN})


def stored_registration(gw: Gateway, jwks_url: str) -> str:
    """A registration written straight to the table: one made before this
    policy existed, or by an operator. Its URL is still fetched under the policy."""
    issuer = f"https://legacy-{uuid.uuid4().hex[:10]}.uni.example"
    with Session(gw.app.state.engine) as session:
        session.add(IdentityProvider(institution_id=INST_A, name="legacy", issuer=issuer, jwks_url=jwks_url, audience=AUDIENCE))
        session.commit()
    return issuer


def test_a_token_exchange_never_fetches_from_a_hostile_url_and_never_answers_500(gw: Gateway, listener: Listener) -> None:
    """No token is needed for an exchange: anyone can make the gateway try a
    registration's keys. Whatever the stored URL, the answer is a clear
    refusal and the listener sees no connection."""
    key = SigningKey.generate(kid="k1")
    odd = [
        f"https://idp%00.uni.example:{listener.port}/keys",
        f"https://[::1:{listener.port}/keys",
        f"https://loop.uni.example:{listener.port}:{listener.port}/keys",
        f"https://{'a' * 70}.uni.example/keys",
        f"https://idp.uni.example:99999/keys",
        "not a url at all",
    ]
    for url in hostile_urls(listener.port) + odd:
        resp = exchange(gw, id_token(key, stored_registration(gw, url)))
        assert resp.status_code == 503, (url, resp.text)
        body = resp.json()
        assert body["error"] == "temporarily_unavailable" and resp.headers["content-type"] == "application/problem+json"
    assert listener.connections == 0


def test_dns_rebinding_after_registration_is_caught_at_fetch_time(gw: Gateway, coordinator: dict[str, str], listener: Listener) -> None:
    """The name resolved to a public address when the provider was registered
    and the webhook subscribed; later it resolves to loopback. The exchange
    refuses (503) without connecting."""
    DNS["rebind.uni.example"] = [PUBLIC]
    jwks_url = f"https://rebind.uni.example:{listener.port}/keys"
    issuer = f"https://rebind.uni.example/{uuid.uuid4().hex[:6]}"
    idp = {"name": "Rebinding", "issuer": issuer, "jwks_url": jwks_url, "audience": AUDIENCE}
    assert gw.client.post(IDPS, json=idp, headers=coordinator).status_code == 201
    DNS["rebind.uni.example"] = ["127.0.0.1"]
    resp = exchange(gw, id_token(SigningKey.generate(kid="k2"), issuer))
    assert resp.status_code == 503 and resp.json()["error"] == "temporarily_unavailable", resp.text
    assert listener.connections == 0
