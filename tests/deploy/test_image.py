"""deploy/Dockerfile (multi-stage, slim, non-root, healthy) and .dockerignore; and
deploy/postgres/init.sh, run for real against the suite's PostgreSQL server, with the
compose migration commands run against the roles it made. (See tests/deploy/__init__.py.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.deploy.facts import (
    APPS,
    DOCKERFILE,
    ROOT,
    app_url,
    dockerfile_stages,
    uvicorn_args,
)


def test_dockerfile_is_multi_stage_slim_non_root_and_healthy() -> None:
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, flags=re.M)
    assert base and re.fullmatch(r"python:3\.11(\.\d+)?-slim(-[a-z]+)?", base.group(1)), "python:3.11-slim, pinned by tag"
    stages = dockerfile_stages()
    assert len(stages) >= 2
    build, final = "\n".join(stages[0]), "\n".join(stages[-1])
    assert "pip install --no-cache-dir -r requirements.lock" in build
    assert re.search(r"pip install --no-cache-dir --no-deps \.(\s|$)", build)
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert not re.search(r"apt-get|build-essential|gcc|pip install", final), "no build tools or installs in the final stage"
    user = re.search(r"^USER (\S+)$", final, flags=re.M)
    assert user and not user.group(1).startswith(("root", "0")) and user.group(1).split(":")[0].isdigit(), "numeric non-root USER"
    assert "HEALTHCHECK" in final and "/healthz" in final
    expose = re.search(r"^EXPOSE (.+)$", final, flags=re.M)
    assert expose and {int(p) for p in expose.group(1).split()} == {port for *_, port in APPS.values()}
    assert re.search(r"PYTHONDONTWRITEBYTECODE=1", final) and re.search(r"PYTHONUNBUFFERED=1", final)
    cmd = re.search(r"^CMD (\[.*\])$", final, flags=re.M)
    assert cmd, "exec-form CMD"
    parsed = uvicorn_args(json.loads(cmd.group(1)))
    assert parsed["app"] == APPS["gateway"][1] and parsed["host"] == "0.0.0.0" and "--no-proxy-headers" in parsed["flags"]


def test_dockerignore_lets_in_what_the_dockerfile_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = set()
    for stage in dockerfile_stages():
        for line in stage:
            if line.startswith("COPY ") and "--from=" not in line:
                copied.update(p.rstrip("/").removeprefix("./") for p in line.split()[1:-1])
    assert copied and copied <= allowed, f"copied but ignored: {copied - allowed}"
    for path in copied:
        assert (ROOT / path).exists(), path
    assert ".env" in " ".join(ignore)


def test_init_script_gives_each_app_its_own_database_and_role(initialised_server) -> None:
    info, prefix = initialised_server, initialised_server["prefix"]
    with psycopg.connect(info["url"], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT d.datname, r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole "
            "FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname LIKE %s",
            (prefix.replace("_", r"\_") + "%",),
        ).fetchall()
    assert {row[0]: row[1] for row in rows} == {f"{prefix}{app}": f"{prefix}{app}" for app in APPS}
    assert all(row[2:] == (False, False, False) for row in rows), "app roles must be unprivileged"
    for app in APPS:
        with psycopg.connect(app_url(info, app), autocommit=True) as conn:
            conn.execute("CREATE TABLE deploy_probe (id int)")
            conn.execute("DROP TABLE deploy_probe")
        other = next(a for a in APPS if a != app)
        with pytest.raises(psycopg.OperationalError, match="permission denied|CONNECT privilege"):
            psycopg.connect(app_url(info, app, dbname=f"{prefix}{other}"), connect_timeout=5).close()


@pytest.mark.parametrize("app", list(APPS))
def test_compose_migration_command_runs_against_the_init_roles(app, initialised_server, compose) -> None:
    """The {app}-migrate service's command, with exactly its compose environment
    (the database URL pointed at the test server), as the app's own role."""
    service = compose["services"][f"{app}-migrate"]
    env = dict(service["environment"])
    key = f"{app.upper()}_DATABASE_URL"
    compose_url = urlsplit(env[key])
    assert compose_url.username == app and compose_url.path == f"/{app}"
    env[key] = app_url(initialised_server, app)
    env.update({"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "PYTHONDONTWRITEBYTECODE": "1"})
    command = [sys.executable if service["command"][0] == "python" else service["command"][0], *service["command"][1:]]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"{' '.join(service['command'])} failed:\n{result.stdout}\n{result.stderr}"
    with psycopg.connect(app_url(initialised_server, app)) as conn:
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'alembic_version'").fetchone()
    assert owner == (f"{initialised_server['prefix']}{app}",)
