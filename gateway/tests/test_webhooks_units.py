"""Webhooks, the parts without a database: the SSRF guard, Standard Webhooks
signatures (verified by the ``standardwebhooks`` package), secrets at rest,
backoff bounds, and the event-type catalogue against what services emit."""

from __future__ import annotations

import ast
import asyncio
import base64
import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, MultiFernet
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.config import Settings
from gateway.webhooks.catalog import BY_TYPE, matches, valid_pattern
from gateway.webhooks.dispatcher import backoff_delay, retry_after_seconds
from gateway.webhooks.signing import SecretBox, new_secret, signature_headers
from gateway.webhooks.ssrf import TargetGuard, TargetRefused, parse_target, pinned_request

REPO = Path(__file__).resolve().parents[2]
PUBLIC_V4, PUBLIC_V6 = "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"


def fake_dns(answers: dict[str, list[str]]):
    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("Name or service not known")
        return answers[host]

    return resolve


def check(url: str, *, allow_private: bool = False, dns: dict[str, list[str]] | None = None):
    guard = TargetGuard(allow_private=allow_private, resolver=fake_dns(dns or {}))
    return asyncio.run(guard.check(url))


def refused(url: str, **kw) -> str:
    with pytest.raises(TargetRefused) as info:
        check(url, **kw)
    return info.value.reason


# -- SSRF guard ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, reason",
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://127.8.9.10/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://[::]/hook", "unspecified"),
        ("https://10.1.2.3/hook", "private"),
        ("https://172.16.0.1/hook", "private"),
        ("https://192.168.1.1:8443/hook", "private"),
        ("https://[fc00::1]/hook", "private"),
        ("https://[fd12:3456::1]/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://[fec0::1]/hook", "site-local"),
        ("https://100.64.0.1/hook", "not a globally routable"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://[ff02::1]/hook", "multicast"),
        ("https://240.0.0.1/hook", "reserved"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://[::ffff:10.0.0.1]/hook", "private"),
        ("https://[::ffff:169.254.169.254]/hook", "link-local"),
        ("https://[64:ff9b::a00:1]/hook", "address"),  # NAT64 of 10.0.0.1
        ("https://[2002:7f00:1::1]/hook", "loopback"),  # 6to4 of 127.0.0.1
    ],
)
def test_non_global_address_literals_are_refused(url: str, reason: str) -> None:
    assert reason in refused(url)


def test_names_are_resolved_and_every_answer_must_be_public() -> None:
    dns = {
        "intranet.uni.example": ["10.0.0.5"],
        "metadata.uni.example": ["169.254.169.254"],
        "mapped.uni.example": ["::ffff:192.168.0.7"],
        "mixed.uni.example": [PUBLIC_V4, "127.0.0.1"],
        "public.uni.example": [PUBLIC_V4, PUBLIC_V6],
    }
    assert "private" in refused("https://intranet.uni.example/hook", dns=dns)
    assert "link-local" in refused("https://metadata.uni.example/hook", dns=dns)
    assert "private" in refused("https://mapped.uni.example/hook", dns=dns)
    assert "loopback" in refused("https://mixed.uni.example/hook", dns=dns)
    assert "does not resolve" in refused("https://nowhere.uni.example/hook", dns=dns)
    target = check("https://public.uni.example/hook", dns=dns)
    assert [str(a) for a in target.addresses] == [PUBLIC_V4, PUBLIC_V6]
    assert str(check(f"https://[{PUBLIC_V6}]:8443/x").addresses[0]) == PUBLIC_V6


def test_odd_spellings_and_localhost_are_resolved_by_the_system_and_refused() -> None:
    guard = TargetGuard(allow_private=False)  # the real resolver
    for url in ("https://localhost/hook", "https://2130706433/hook", "https://0x7f.1/hook", "https://127.1/hook"):
        with pytest.raises(TargetRefused) as info:
            asyncio.run(guard.check(url))
        assert "loopback" in info.value.reason or "does not resolve" in info.value.reason, url


def test_url_syntax_rules() -> None:
    assert "https" in refused("http://93.184.216.34/hook")  # plain http only in development
    assert "credentials" in refused("https://user:pw@93.184.216.34/hook")
    assert "https" in refused("ftp://93.184.216.34/hook")
    assert "https" in refused("file:///etc/passwd")
    assert "whitespace" in refused("https://93.184.216.34/a b")
    assert "longer" in refused("https://93.184.216.34/" + "a" * 2100)
    assert "IPv6 zone" in refused("https://[fe80::1%25eth0]/hook", allow_private=True)


def test_development_setting_allows_private_targets_and_http() -> None:
    target = check("http://127.0.0.1:9000/hook", allow_private=True)
    assert [str(a) for a in target.addresses] == ["127.0.0.1"]
    assert check("https://intranet.uni.example/x", allow_private=True, dns={"intranet.uni.example": ["10.0.0.5"]})
    with pytest.raises(TargetRefused):
        parse_target("ftp://127.0.0.1/", allow_private=True)


def test_the_request_goes_to_the_checked_address_and_keeps_the_name() -> None:
    target = check("https://hooks.uni.example:8443/in?x=1", dns={"hooks.uni.example": [PUBLIC_V6]})
    url, host, extensions = pinned_request(target, target.addresses[0])
    assert str(url) == f"https://[{PUBLIC_V6}]:8443/in?x=1"
    assert host == {"Host": "hooks.uni.example:8443"} and extensions == {"sni_hostname": "hooks.uni.example"}
    plain = check("http://127.0.0.1/x", allow_private=True)
    assert pinned_request(plain, plain.addresses[0]) == (plain.url, {"Host": "127.0.0.1"}, {})


# -- signatures and secrets -------------------------------------------------------------------


def test_secrets_are_whsec_base64_of_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_signatures_verify_with_standardwebhooks_also_during_a_rotation() -> None:
    old, new = new_secret(), new_secret()
    body = json.dumps({"id": "e1", "type": "match.activated", "data": {"match_id": "m1"}}, separators=(",", ":"))
    single = signature_headers([old], "e1", body)
    assert Webhook(old).verify(body, single)["data"] == {"match_id": "m1"}
    assert single["webhook-signature"].startswith("v1,") and " " not in single["webhook-signature"]

    rotating = signature_headers([new, old], "e1", body)
    assert len(rotating["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, rotating) and Webhook(old).verify(body, rotating)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, rotating)  # any other secret fails
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace("m1", "m2"), rotating)  # a changed body fails
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body, {**rotating, "webhook-id": "e2"})  # so does another id
    stale = signature_headers([new], "e1", body, when=datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body, stale)  # and a replay from long ago


def test_secrets_are_encrypted_at_rest_when_a_key_is_set() -> None:
    key = Fernet.generate_key()
    box = SecretBox(MultiFernet([Fernet(key)]))
    secret = new_secret()
    stored = box.seal(secret)
    assert stored.startswith("f1:") and secret not in stored
    assert box.open(stored) == secret
    assert SecretBox(None).seal(secret) == secret and box.open(secret) == secret  # stored before a key was set
    with pytest.raises(RuntimeError):
        SecretBox(None).open(stored)
    with pytest.raises(RuntimeError):
        SecretBox(MultiFernet([Fernet(Fernet.generate_key())])).open(stored)


# -- backoff ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_backoff_is_exponential_with_jitter_and_capped(seed: int) -> None:
    rng = random.Random(seed)
    base, cap = 2.0, 60.0
    delays = []
    for failures in range(1, 13):
        exp = min(cap, base * 2 ** (failures - 1))
        delay = backoff_delay(failures, base, cap, rng)
        assert exp / 2 <= delay <= exp, (failures, delay)
        delays.append(delay)
    assert max(delays) <= cap and delays[0] <= base
    # Jitter: two replicas retrying the same moment do not pick the same delay.
    assert len({round(backoff_delay(5, base, cap, rng), 6) for _ in range(20)}) > 1


def test_retry_after_is_read_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("120") == 120.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=300), usegmt=True)
    assert 290 <= (retry_after_seconds(later) or 0) <= 300
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


# -- settings and routing --------------------------------------------------------------------


def test_no_route_can_send_webhook_paths_to_a_service() -> None:
    from pydantic import ValidationError

    for prefix in ("/v1/webhooks", "/v1/webhooks/subscriptions"):
        with pytest.raises(ValidationError):
            Settings(routes={prefix: "participants"})
    settings = Settings()
    assert settings.webhooks_allow_private_targets is False and settings.webhooks_max_attempts >= 1


# -- the catalogue ----------------------------------------------------------------------------

EMITTERS = {"emit": 2, "emit_event": 2, "_event": 1, "emit_meeting": 1}  # function -> index of the type argument


def emitted_types() -> set[str]:
    """Every literal event type passed to emit() (or a service's thin wrapper
    of it) in services/."""
    found: set[str] = set()
    for path in (REPO / "services").rglob("*.py"):
        if "tests" in path.parts:
            continue
        text = path.read_text()
        if "emit" not in text and "_event(" not in text:
            continue
        for node in ast.walk(ast.parse(text, str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            index = EMITTERS.get(name or "")
            if index is None or len(node.args) <= index:
                continue
            arg = node.args[index]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and "." in arg.value:
                found.add(arg.value)
    return found


def test_the_catalogue_lists_exactly_the_types_services_emit() -> None:
    emitted = emitted_types()
    assert len(emitted) > 20
    assert emitted - set(BY_TYPE) == set(), "emitted but missing from gateway/webhooks/catalog.py"
    assert set(BY_TYPE) - emitted == set(), "listed in the catalogue but emitted nowhere"


def test_patterns() -> None:
    assert valid_pattern("*") and valid_pattern("match.*") and valid_pattern("match.activated")
    assert not valid_pattern("match.nope") and not valid_pattern("nope.*") and not valid_pattern("match*")
    assert matches(["match.*"], "match.dissolved") and matches(["*"], "feedback.overdue")
    assert matches(["feedback.submitted"], "feedback.submitted") and not matches(["feedback.submitted"], "feedback.overdue")
    assert not matches(["match.*"], "matching.x")
