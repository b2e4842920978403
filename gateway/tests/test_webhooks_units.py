"""Webhooks, the parts without a database (the SSRF rules are servicekit's
outbound-URL policy, tested in libs/servicekit/tests/test_outbound.py): Standard Webhooks
signatures (verified by the ``standardwebhooks`` package), secrets at rest,
backoff bounds, the delivery lease against them, and the event-type catalogue
against what services emit."""

from __future__ import annotations

import ast
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
from gateway.webhooks.dispatcher import (
    LEASE_MARGIN_SECONDS,
    backoff_delay,
    delivery_lease_seconds,
    retry_after_seconds,
)
from gateway.webhooks.signing import SecretBox, new_secret, signature_headers

REPO = Path(__file__).resolve().parents[2]


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


class Longest(random.Random):
    """Jitter at its top: the longest delay ``backoff_delay`` can give."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.mark.parametrize(
    ("timeout", "base", "cap"),
    [(10.0, 15.0, 3 * 3600.0), (10.0, 2.0, 60.0), (5.0, 0.05, 0.2), (60.0, 30.0, 20.0), (1.0, 600.0, 600.0)],
)
def test_a_delivery_lease_outlasts_an_attempt_and_ends_before_a_failed_attempt_would_be_retried(
    timeout: float, base: float, cap: float
) -> None:
    """Issue 15, fault 5: a delivery whose replica died mid-attempt is tried again
    no later than one whose attempt failed, and a live attempt keeps its lease."""
    settings = Settings(webhooks_timeout_seconds=timeout, webhooks_backoff_base_seconds=base, webhooks_backoff_cap_seconds=cap)
    lease = delivery_lease_seconds(settings)
    assert lease > timeout  # an attempt (bounded by the timeout) never outlives its lease
    assert lease <= timeout + backoff_delay(1, base, cap, Longest())  # an attempt, then its first retry
    assert lease <= timeout + LEASE_MARGIN_SECONDS


def test_the_default_delivery_lease_is_one_attempt_and_the_margin_to_record_it() -> None:
    assert delivery_lease_seconds(Settings()) == Settings().webhooks_timeout_seconds + LEASE_MARGIN_SECONDS


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

EMITTERS = {"emit": 2, "emit_many": 2, "emit_event": 2, "_event": 1, "emit_meeting": 1}  # function -> index of the type argument


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
