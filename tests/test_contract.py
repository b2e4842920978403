"""Contract: schemathesis 4 (its CLI, default checks, every phase including the
stateful one where links exist) against every app of a running platform, with
valid auth. Bounded: a fixed seed, and 10 examples per operation in the fuzzing
and stateful phases (CONTRACT_MAX_EXAMPLES). The coverage phase takes no count:
it sends every boundary and invalid case the schema defines, and is most of the
run (about 9,400 of 11,300 requests on participants at 20 examples, measured).
Reports (JUnit XML) are written under reports/schemathesis/<backend>/ for CI to keep.
`make test` runs it on PostgreSQL only (scripts/run-tests says why); run it on
SQLite with `ALIADA_TEST_BACKEND=sqlite .venv/bin/pytest tests/test_contract.py`.

The platform here is its own, so that whatever the fuzzer changes (suspended
accounts, rotated keys) cannot disturb the other cross-service tests.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from servicekit.testing import backend

from tools.stack import APPS, REPO, Stack, small_pools

REPORTS = REPO / "reports" / "schemathesis"
MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "10"))
SEED = 20261122


@pytest.fixture(scope="module")
def contract_stack(database_factory, tmp_path_factory) -> Iterator[Stack]:
    urls = {app.name: database_factory.new(f"contract_{app.name}") for app in APPS}
    stack = Stack(
        workdir=tmp_path_factory.mktemp("contract"),
        database_urls=urls,
        extra_env={**small_pools(), "GATEWAY_RATE_LIMIT_PER_TOKEN": "100000/minute"},
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def run_schemathesis(name: str, schema_url: str, token: str, *extra: str) -> subprocess.CompletedProcess:
    reports = REPORTS / backend()  # the two backends' runs may go side by side
    reports.mkdir(parents=True, exist_ok=True)
    st = Path(sys.executable).with_name("st")
    return subprocess.run(
        [
            str(st), "run", schema_url,
            "--header", f"Authorization: Bearer {token}",
            "--max-examples", str(MAX_EXAMPLES),
            "--seed", str(SEED),
            "--report", "junit",
            "--report-junit-path", str(reports / f"{name}.xml"),
            "--request-timeout", "15",
            "--no-color",
            *extra,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def contract_token(contract_stack: Stack) -> str:
    """Taken before any fuzzing: the gateway's run may suspend the admin or
    reset her password (it is allowed to), which must not starve the others."""
    return contract_stack.admin_token()


# The gateway last, for the reason above.
ORDER = [a.name for a in APPS if a.name != "gateway"] + ["gateway"]


@pytest.mark.contract
@pytest.mark.parametrize("app", ORDER)
def test_schemathesis_finds_no_failures(contract_stack: Stack, contract_token: str, app: str) -> None:
    token = contract_token
    if app == "gateway":
        # The gateway's own operations; the services' ones are exercised on
        # each service directly below, and through the gateway in e2e tests.
        extra = ("--include-path-regex", r"^/(v1/(auth|admin|webhooks|data-subject-requests)|\.well-known)")
    else:
        extra = ()
    result = run_schemathesis(app, f"{contract_stack.url(app)}/openapi.json", token, *extra)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
