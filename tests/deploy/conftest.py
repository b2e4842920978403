"""Fixtures of the deployment checks: the compose file as written and as compose would
interpolate it, its validator, the Kubernetes base and production overlay rendered, and
deploy/postgres/init.sh run against the suite's PostgreSQL server."""

from __future__ import annotations

import copy
import importlib.resources
import json
import os
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import psycopg
import pytest
import yaml

from tests.deploy.facts import (
    APPS,
    COMPOSE_FILE,
    INIT_SCRIPT,
    K8S_BASE,
    K8S_PRODUCTION,
    containers,
    find,
    generated_env,
    interpolate,
    kustomization,
    load_yaml_docs,
    merge_patch,
    psql_binary,
)


@pytest.fixture(scope="module")
def compose_raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def compose_env() -> dict[str, str]:
    return generated_env()


@pytest.fixture(scope="module")
def compose(compose_raw: dict[str, Any], compose_env: dict[str, str]) -> dict[str, Any]:
    """The file as Compose sees it once the .env from deploy/gen-env.py is read."""
    return interpolate(compose_raw, compose_env)


@pytest.fixture(scope="module")
def compose_validator() -> jsonschema.protocols.Validator:
    # The Compose Specification schema vendored by check-jsonschema (pinned in requirements.lock).
    text = importlib.resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    schema = json.loads(text)
    assert schema.get("title") == "Compose Specification"
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.fixture(scope="module")
def initialised_server(postgres_server_url: str) -> Iterator[dict[str, Any]]:
    """deploy/postgres/init.sh run on the suite's PostgreSQL server, with a
    unique name prefix so it cannot collide with anything already there."""
    server = urlsplit(postgres_server_url)
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    passwords = {app: secrets.token_urlsafe(24) for app in APPS}
    psql = psql_binary()
    env = {
        "PATH": f"{Path(psql).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "POSTGRES_USER": server.username or "postgres",
        "PGHOST": server.hostname or "127.0.0.1",
        "PGPORT": str(server.port or 5432),
        "ALIADA_DB_PREFIX": prefix,
        **{f"{app.upper()}_DB_PASSWORD": pw for app, pw in passwords.items()},
    }
    if server.password:
        env["PGPASSWORD"] = server.password
    try:
        result = subprocess.run(["sh", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        yield {"server": server, "prefix": prefix, "passwords": passwords, "url": postgres_server_url}
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            for app in APPS:
                conn.execute(f'DROP DATABASE IF EXISTS "{prefix}{app}" WITH (FORCE)')
                conn.execute(f'DROP ROLE IF EXISTS "{prefix}{app}"')


@pytest.fixture(scope="module")
def base_docs() -> list[dict[str, Any]]:
    docs = []
    for name in kustomization(K8S_BASE)["resources"]:
        docs.extend(load_yaml_docs(K8S_BASE / name))
    return docs


@pytest.fixture(scope="module")
def production_docs(base_docs) -> list[dict[str, Any]]:
    k = kustomization(K8S_PRODUCTION)
    assert k["resources"] == ["../../base"]
    docs = copy.deepcopy(base_docs)
    for entry in k.get("patches", []):
        assert set(entry) == {"path"}, "only file patches are understood by this test"
        for patch in load_yaml_docs(K8S_PRODUCTION / entry["path"]):
            target = find(docs, patch["kind"], patch["metadata"]["name"])
            assert target["apiVersion"] == patch["apiVersion"], entry["path"]
            docs[docs.index(target)] = merge_patch(target, patch)
    for image in k.get("images", []):
        for dep in [d for d in docs if d["kind"] == "Deployment"]:
            for c in containers(dep):
                if c["image"] == image["name"]:
                    c["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    return docs
