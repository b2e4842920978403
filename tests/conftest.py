"""Cross-service fixtures: the whole platform running as processes."""

from collections.abc import Iterator

import httpx
import pytest

from tools.stack import APPS, Stack, small_pools

# The fixtures that start the platform as processes: a test that uses one is a journey
# (scripts/run-tests plays the journeys on SQLite, and the `production_database` ones on PostgreSQL too).
PLATFORM_FIXTURES = {"stack", "contract_stack", "over_http", "over_redis"}


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on the mark
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if PLATFORM_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.journey)


@pytest.fixture(scope="session")
def stack(database_factory, tmp_path_factory) -> Iterator[Stack]:
    urls = {app.name: database_factory.new(app.name) for app in APPS}
    running = Stack(
        workdir=tmp_path_factory.mktemp("stack"),
        database_urls=urls,
        # Cheap argon2 for the many sign-ups and logins of the journeys; the
        # production costs are the defaults in gateway/config.py.
        extra_env={
            **small_pools(),
            "GATEWAY_PASSWORD_TIME_COST": "1", "GATEWAY_PASSWORD_MEMORY_KIB": "1024", "GATEWAY_PASSWORD_PARALLELISM": "1",
            # Every journey signs people up and logs them in from 127.0.0.1;
            # the per-address limit itself is tested in gateway/tests.
            "GATEWAY_TOKEN_RATE_LIMIT_PER_IP": "100000/minute",
            # Consumers poll their sources often, so journeys need not wait:
            # every 0.25 s while events come, every 1 s when idle (servicekit.consumer.idle_wait).
            "SESSIONS_FEED_POLL_SECONDS": "0.25", "EVALUATION_FEED_POLL_SECONDS": "0.25", "MATCHING_FEED_POLL_SECONDS": "0.25",
            "GATEWAY_PARTICIPANT_ROLES_POLL_SECONDS": "0.25",
            # Notifications: quick feeds and deliveries, and a short backoff while no mail server listens.
            "NOTIFICATIONS_FEED_POLL_SECONDS": "0.25", "NOTIFICATIONS_DELIVERY_POLL_SECONDS": "0.3",
            "NOTIFICATIONS_RETRY_BASE_SECONDS": "0.5", "NOTIFICATIONS_RETRY_CAP_SECONDS": "2",
            "NOTIFICATIONS_MAX_ATTEMPTS": "50",
            # Journeys run at any hour: no quiet hours (services/notifications/tests/test_quiet_hours.py tests them).
            "NOTIFICATIONS_QUIET_HOURS": "",
            # Webhook receivers of the tests listen on loopback (refused in
            # production); short polls and backoff so deliveries need no wait.
            "GATEWAY_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true", "GATEWAY_WEBHOOKS_POLL_SECONDS": "0.3",
            "GATEWAY_WEBHOOKS_BACKOFF_BASE_SECONDS": "0.3", "GATEWAY_WEBHOOKS_BACKOFF_CAP_SECONDS": "1",
        },
    )
    try:
        running.start()
    except Exception:
        running.stop()
        raise
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def admin_token(stack: Stack) -> str:
    return stack.admin_token()


@pytest.fixture(scope="module")
def http(stack: Stack) -> Iterator[httpx.Client]:
    """A client of the stack's gateway, shared by the tests of a module."""
    with httpx.Client(base_url=stack.gateway, timeout=60) as client:
        yield client
