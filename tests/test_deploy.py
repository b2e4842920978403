"""The deployment artefacts, checked offline: docker-compose.yml against the
Compose Specification schema, every Kubernetes manifest against the Kubernetes
OpenAPI schemas (kubernetes-validate, strict), the kustomization wired together
as kustomize would need it, and the facts every artefact must agree on (the app
modules and ports of the Procfile, the probe paths, one database per app).

No Docker engine or cluster runs here, so nothing is built, started or applied;
deploy/postgres/init.sh is the exception: it runs against a real PostgreSQL
(the suite's server, see servicekit.testing) and the compose migration commands
then run against the roles it made.

The validators are imported at module level on purpose: if one is missing the
module fails to import and the run fails; nothing here is skipped.
"""

from __future__ import annotations

import base64
import copy
import importlib.resources
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jsonschema
import kubernetes_validate.utils as kv
import psycopg
import pytest
import yaml
from cryptography.fernet import Fernet
from pydantic import TypeAdapter

from gateway.config import ServiceClientSpec
from gateway.config import Settings as GatewaySettings
from gateway.routers.auth import router as gateway_auth_router
from servicekit.scopes import SERVICE_SCOPES

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
INIT_SCRIPT = DEPLOY / "postgres" / "init.sh"
ENV_EXAMPLE = DEPLOY / "env.example"
GEN_ENV = DEPLOY / "gen-env.py"
K8S_BASE = DEPLOY / "k8s" / "base"
K8S_PRODUCTION = DEPLOY / "k8s" / "overlays" / "production"

# The facts (issue 2, item 6): app -> (python package, uvicorn factory, port).
APPS: dict[str, tuple[str, str, int]] = {
    "gateway": ("gateway", "gateway.main:create_app", 8000),
    "participants": ("services.participants", "services.participants.main:create_app", 8001),
    "matching": ("services.matching", "services.matching.main:create_app", 8002),
    "sessions": ("services.sessions", "services.sessions.main:create_app", 8003),
    "evaluation": ("services.evaluation", "services.evaluation.main:create_app", 8004),
    "notifications": ("services.notifications", "services.notifications.main:create_app", 8005),
}
SERVICES = [app for app in APPS if app != "gateway"]

# Kubernetes versions the manifests must be valid for: an old one still offered
# by the managed providers, and the newest kubernetes-validate ships.
K8S_VERSIONS = ("1.31", kv.latest_version())

# Connections one app may open at most (maxReplicas x (threadpool + overflow))
# and all of them together; deploy/README.md ("Connections") states the same.
K8S_CONNECTIONS_PER_APP = 100
K8S_CONNECTIONS_TOTAL = 400

# The services with their own client-credentials identity, and its scopes
# (tools/dev_env.py is the source); the gateway provisions them from
# GATEWAY_SERVICE_CLIENTS (gateway/service_clients.py).
CLIENT_APPS = list(SERVICE_SCOPES)
CLIENT_SECRET_KEYS = {f"{app.upper()}_CLIENT_SECRET" for app in CLIENT_APPS}
SERVICE_CLIENTS_KEY = "GATEWAY_SERVICE_CLIENTS"
# The token endpoint, as the gateway routes it.
TOKEN_PATH = "/v1/auth/token"


def parse_service_clients(value: str) -> list[ServiceClientSpec]:
    """GATEWAY_SERVICE_CLIENTS the way the gateway's settings read it."""
    return TypeAdapter(list[ServiceClientSpec]).validate_json(value)


def service_clients_without_secrets(value: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in spec.items() if k != "secret"} for spec in json.loads(value)]


# --- helpers -------------------------------------------------------------------


def load_yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose-style interpolation: ${VAR}, ${VAR:-default}, ${VAR-default},
    ${VAR:?message}, ${VAR?message}, $VAR and $$."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value
    pattern = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)")

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("name") or m.group("bare")
        op, arg = m.group("op"), m.group("arg")
        current = env.get(name)
        if op in (":-", "-"):
            if current is None or (op == ":-" and current == ""):
                return arg
            return current
        if op in (":?", "?"):
            if current is None or (op == ":?" and current == ""):
                raise KeyError(f"required variable {name} is not set: {arg}")
            return current
        return current or ""

    return pattern.sub(repl, value)


def required_compose_variables(text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?", text))


def generated_env() -> dict[str, str]:
    out = subprocess.run([sys.executable, str(GEN_ENV)], capture_output=True, text=True, check=True).stdout
    return parse_env_file(out)


def parse_env_file(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not KEY=VALUE: {line!r}"
        values[key.strip()] = value
    return values


def uvicorn_args(command: list[str]) -> dict[str, Any]:
    """The app, host, port and flags of a uvicorn command line."""
    args = list(command)
    assert Path(args[0]).name == "uvicorn", command
    parsed: dict[str, Any] = {"flags": set(), "app": None, "host": None, "port": None, "workers": None}
    i = 1
    while i < len(args):
        arg = args[i]
        if arg in ("--host", "--port", "--workers", "--timeout-graceful-shutdown", "--timeout-keep-alive", "--forwarded-allow-ips"):
            key = arg[2:]
            if key in ("host", "port", "workers"):
                parsed[key] = args[i + 1]
            i += 2
            continue
        if arg.startswith("--"):
            parsed["flags"].add(arg)
        else:
            assert parsed["app"] is None, f"two apps in {command}"
            parsed["app"] = arg
        i += 1
    return parsed


# Procfile entries that are no app: the development mail server (tools/mailsink.py).
DEV_ONLY = {"mail"}


def procfile() -> dict[str, dict[str, Any]]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, cmd = line.partition(":")
        if name.strip() in DEV_ONLY:
            continue
        entries[name.strip()] = uvicorn_args(shlex.split(cmd))
    return entries


# --- docker-compose.yml --------------------------------------------------------


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


def schema_errors(validator: jsonschema.protocols.Validator, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_compose_file_matches_the_compose_specification(compose_raw, compose, compose_validator) -> None:
    assert schema_errors(compose_validator, compose_raw) == []
    assert schema_errors(compose_validator, compose) == []


def test_compose_schema_check_is_not_vacuous(compose_raw, compose_validator) -> None:
    broken = copy.deepcopy(compose_raw)
    broken["services"]["gateway"]["depends_on"]["postgres"]["condition"] = "service_ready"
    broken["services"]["gateway"]["helthcheck"] = {"test": ["CMD", "true"]}
    assert len(schema_errors(compose_validator, broken)) >= 1


def test_check_jsonschema_cli_accepts_the_compose_file() -> None:
    cli = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(cli), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_refuses_to_start_without_its_secrets(compose_raw) -> None:
    required = required_compose_variables(COMPOSE_FILE.read_text())
    assert {
        "POSTGRES_PASSWORD",
        "GATEWAY_BOOTSTRAP_ADMIN_PASSWORD",
        "GATEWAY_KEY_ENCRYPTION_KEY",
        *(f"{app.upper()}_DB_PASSWORD" for app in APPS),
        *CLIENT_SECRET_KEYS,
    } <= required
    with pytest.raises(KeyError, match="GATEWAY_KEY_ENCRYPTION_KEY|_PASSWORD"):
        interpolate(compose_raw, {})


def test_every_required_variable_is_documented_and_generated(compose_env) -> None:
    required = required_compose_variables(COMPOSE_FILE.read_text())
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.M))
    assert required <= documented, f"undocumented in deploy/env.example: {sorted(required - documented)}"
    assert required <= set(compose_env), f"not generated by deploy/gen-env.py: {sorted(required - set(compose_env))}"
    optional = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):-", COMPOSE_FILE.read_text()))
    assert optional <= documented, f"undocumented in deploy/env.example: {sorted(optional - documented)}"
    # No value is committed in the example.
    for line in ENV_EXAMPLE.read_text().splitlines():
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            assert line.endswith("="), f"deploy/env.example must not carry a value: {line}"


def test_generated_secrets_are_fresh_url_safe_and_usable(compose_env) -> None:
    again = generated_env()
    Fernet(compose_env["GATEWAY_KEY_ENCRYPTION_KEY"].encode())  # raises if it is not a Fernet key
    assert len(base64.urlsafe_b64decode(compose_env["GATEWAY_KEY_ENCRYPTION_KEY"])) == 32
    for key, value in compose_env.items():
        if key.endswith("_PASSWORD"):
            assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", value), key
            assert value != again[key], f"{key} is not random"
    # Client secrets: what ServiceClientSpec accepts (>= 32), URL-safe so they go
    # into GATEWAY_SERVICE_CLIENTS' JSON unescaped, one per service.
    assert CLIENT_SECRET_KEYS <= set(compose_env)
    for key in CLIENT_SECRET_KEYS:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", compose_env[key]), key
        assert compose_env[key] != again[key], f"{key} is not random"
    assert len({compose_env[key] for key in CLIENT_SECRET_KEYS}) == len(CLIENT_SECRET_KEYS)


def test_each_app_runs_its_module_on_its_port_like_the_procfile(compose) -> None:
    services = compose["services"]
    local = procfile()
    assert set(local) == set(APPS)
    for app, (_pkg, factory, port) in APPS.items():
        svc = services[app]
        cmd = uvicorn_args(svc["command"])
        assert cmd["app"] == factory == local[app]["app"]
        assert int(cmd["port"]) == port == int(local[app]["port"]), f"{app}: compose and Procfile disagree on the port"
        assert cmd["host"] == "0.0.0.0"
        assert {"--factory", "--no-proxy-headers"} <= cmd["flags"] and "--proxy-headers" not in cmd["flags"]
        assert "--no-proxy-headers" in local[app]["flags"], f"{app}: the Procfile must not let uvicorn trust loopback peers"
        assert cmd["workers"] in (None, "1") and "--reload" not in cmd["flags"]
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile" and (ROOT / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
        assert svc["image"] == services["gateway"]["image"], "one image for every app"


def test_each_app_gets_only_its_own_database(compose) -> None:
    services = compose["services"]
    for app in APPS:
        prefix = app.upper() + "_"
        for name in (app, f"{app}-migrate"):
            env = services[name]["environment"]
            url = urlsplit(env[f"{prefix}DATABASE_URL"])
            assert url.scheme == "postgresql"
            assert (url.hostname, url.port) == ("postgres", 5432)
            assert url.path == f"/{app}", f"{name} must use the {app} database"
            assert url.username == app, f"{name} must log in as the {app} role"
            assert url.password, f"{name}: no password in the database URL"
            assert "FORWARDED_ALLOW_IPS" not in env, "trusted proxies are the apps' own setting (<APP>_TRUSTED_PROXIES)"
            foreign = [k for k in env if not k.startswith(prefix)]
            assert foreign == [], f"{name} sees another app's settings: {foreign}"
    # The passwords the apps use are the ones the init script gives the roles.
    pg_env = services["postgres"]["environment"]
    for app in APPS:
        url = urlsplit(services[app]["environment"][f"{app.upper()}_DATABASE_URL"])
        assert url.password == pg_env[f"{app.upper()}_DB_PASSWORD"]


def test_migrations_run_once_before_each_app(compose) -> None:
    services = compose["services"]
    for app, (pkg, _factory, _port) in APPS.items():
        migrate = services[f"{app}-migrate"]
        assert migrate["command"] == ["python", "-m", pkg, "migrate"]
        assert migrate["restart"] == "no"
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
        deps = services[app]["depends_on"]
        assert deps[f"{app}-migrate"]["condition"] == "service_completed_successfully"
        assert deps["postgres"]["condition"] == "service_healthy"


def test_health_checks_and_startup_order(compose) -> None:
    services = compose["services"]
    for app, (_pkg, _factory, port) in APPS.items():
        test = " ".join(services[app]["healthcheck"]["test"])
        assert re.search(rf"http://127\.0\.0\.1:{port}/(readyz|healthz)\b", test), f"{app}: {test}"
    gateway_deps = services["gateway"]["depends_on"]
    for svc in SERVICES:
        assert gateway_deps[svc]["condition"] == "service_healthy"
        # A service must not wait for the gateway: the gateway waits for it.
        assert "gateway" not in services[svc].get("depends_on", {})
    assert gateway_deps["redis"]["condition"] == "service_healthy"
    pg = services["postgres"]
    assert "pg_isready" in pg["healthcheck"]["test"]
    assert " ".join(services["redis"]["healthcheck"]["test"]).endswith("redis-cli ping")


def test_postgres_is_pinned_persistent_and_initialised_by_the_init_script(compose) -> None:
    pg = compose["services"]["postgres"]
    assert re.fullmatch(r"postgres:\d+(\.\d+)?(-[a-z0-9.]+)?", pg["image"]), pg["image"]
    assert re.fullmatch(r"redis:\d+(\.\d+)*(-[a-z0-9.]+)?", compose["services"]["redis"]["image"])
    volumes = pg["volumes"]
    assert any(v.startswith("pgdata:/var/lib/postgresql/data") for v in volumes)
    assert "pgdata" in compose["volumes"]
    init = [v for v in volumes if "docker-entrypoint-initdb.d" in v]
    assert len(init) == 1
    source = init[0].split(":")[0]
    assert (ROOT / source).resolve() == INIT_SCRIPT.resolve()
    assert os.access(INIT_SCRIPT, os.X_OK), "the postgres entrypoint executes an executable .sh"


def test_only_the_gateway_is_published(compose) -> None:
    published = {name: svc["ports"] for name, svc in compose["services"].items() if svc.get("ports")}
    assert set(published) == {"gateway"}
    (port,) = published["gateway"]
    assert str(port).rsplit(":", 1)[-1] == "8000"
    for name, svc in compose["services"].items():
        if name != "gateway":
            assert "edge" not in svc.get("networks", []), f"{name} must stay on the internal network"
        if name != "notifications":
            assert "mail" not in svc.get("networks", []), f"{name} has no business with the mail server"
    assert compose["networks"]["backend"]["internal"] is True
    assert "internal" not in compose["networks"]["mail"], "the notifications service reaches an outside SMTP server"


def test_gateway_wiring(compose) -> None:
    services = compose["services"]
    env = services["gateway"]["environment"]
    for svc in SERVICES:
        assert env[f"GATEWAY_{svc.upper()}_URL"] == f"http://{svc}:{APPS[svc][2]}"
        assert services[svc]["environment"][f"{svc.upper()}_JWKS_URL"] == "http://gateway:8000/.well-known/jwks.json"
        assert services[svc]["environment"][f"{svc.upper()}_JWT_ISSUER"] == env["GATEWAY_JWT_ISSUER"]
    assert env["GATEWAY_RATE_LIMIT_STORAGE"].startswith("redis://redis:6379/")
    # Trusted proxies: nobody unless the operator names the reverse proxy (a valid list either way).
    assert env["GATEWAY_TRUSTED_PROXIES"] == ""
    assert GatewaySettings(trusted_proxies=env["GATEWAY_TRUSTED_PROXIES"]).trusted_proxies == []
    assert isinstance(json.loads(env["GATEWAY_CORS_ORIGINS"]), list)
    assert {"GATEWAY_BOOTSTRAP_ADMIN_PASSWORD", "GATEWAY_KEY_ENCRYPTION_KEY"} <= required_compose_variables(COMPOSE_FILE.read_text())


def test_token_path_is_the_gateways_token_endpoint() -> None:
    assert TOKEN_PATH in {route.path for route in gateway_auth_router.routes}


def test_compose_service_clients(compose, compose_env) -> None:
    """Each service its own client id, secret and token URL; the gateway the
    same clients, exactly those, with the scopes of tools/dev_env.py."""
    services = compose["services"]
    gateway_env = services["gateway"]["environment"]
    for app in CLIENT_APPS:
        env = services[app]["environment"]
        prefix = app.upper() + "_"
        assert env[f"{prefix}CLIENT_ID"] == f"svc-{app}"
        assert env[f"{prefix}CLIENT_SECRET"] == compose_env[f"{prefix}CLIENT_SECRET"]
        url = urlsplit(env[f"{prefix}TOKEN_URL"])
        assert (url.scheme, url.hostname, url.port, url.path) == ("http", "gateway", APPS["gateway"][2], TOKEN_PATH)
    # No container but the owner sees a client secret: not by name, not by value
    # (the gateway holds them all in GATEWAY_SERVICE_CLIENTS, and nothing else).
    for name, svc in services.items():
        env = {k: str(v) for k, v in (svc.get("environment") or {}).items()}
        for app in CLIENT_APPS:
            key = f"{app.upper()}_CLIENT_SECRET"
            secret = compose_env[key]
            if name == app:
                assert [k for k, v in env.items() if secret in v] == [key]
            elif name == "gateway":
                assert [k for k, v in env.items() if secret in v] == [SERVICE_CLIENTS_KEY]
            else:
                assert key not in env and not any(secret in v for v in env.values()), f"{name} sees {key}"
        if name not in CLIENT_APPS:
            assert not any(k.endswith(("_CLIENT_ID", "_CLIENT_SECRET", "_TOKEN_URL")) for k in env), name
    specs = parse_service_clients(gateway_env[SERVICE_CLIENTS_KEY])
    assert [s.client_id for s in specs] == [f"svc-{app}" for app in CLIENT_APPS]
    for spec, app in zip(specs, CLIENT_APPS):
        assert spec.scopes == SERVICE_SCOPES[app], f"{spec.client_id}: scopes differ from servicekit.scopes"
        assert spec.secret.get_secret_value() == compose_env[f"{app.upper()}_CLIENT_SECRET"]
        assert spec.name
    # A missing secret stops compose rather than provisioning an empty one.
    for key in CLIENT_SECRET_KEYS:
        with pytest.raises(KeyError, match=key):
            interpolate(gateway_env_raw(), {k: v for k, v in compose_env.items() if k != key})


def gateway_env_raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]["gateway"]["environment"]


def test_compose_connection_budget_fits_postgres(compose) -> None:
    """docs/architecture.md sizes the DB pool to the threadpool; all apps' pools must
    fit in the server's max_connections (less the superuser reserve)."""
    command = compose["services"]["postgres"]["command"]
    max_connections = int(next(a.split("=", 1)[1] for a in command if a.startswith("max_connections=")))
    total = 0
    for app in APPS:
        env = compose["services"][app]["environment"]
        total += int(env[f"{app.upper()}_THREADPOOL_SIZE"]) + int(env[f"{app.upper()}_DB_POOL_OVERFLOW"])
    assert total <= max_connections - 3 - 10, f"{total} pooled connections for max_connections={max_connections}"


# --- deploy/Dockerfile ---------------------------------------------------------


def dockerfile_stages() -> list[list[str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    stages: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(stripped)
    return stages


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


# --- deploy/postgres/init.sh, run for real --------------------------------------


def _psql() -> str:
    candidates = [shutil.which("psql") or ""] + sorted(str(p) for p in Path("/usr/lib/postgresql").glob("*/bin/psql"))
    found = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
    if found is None:
        pytest.fail("psql is needed to run deploy/postgres/init.sh: apt-get install postgresql-client (or brew install libpq)")
    return found


@pytest.fixture(scope="module")
def initialised_server(postgres_server_url: str) -> Iterator[dict[str, Any]]:
    """deploy/postgres/init.sh run on the suite's PostgreSQL server, with a
    unique name prefix so it cannot collide with anything already there."""
    server = urlsplit(postgres_server_url)
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    passwords = {app: secrets.token_urlsafe(24) for app in APPS}
    psql = _psql()
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


def _app_url(info: dict[str, Any], app: str, dbname: str | None = None) -> str:
    server = info["server"]
    role = f"{info['prefix']}{app}"
    netloc = f"{role}:{info['passwords'][app]}@{server.hostname}:{server.port or 5432}"
    return urlunsplit(("postgresql", netloc, "/" + (dbname or role), "", ""))


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
        with psycopg.connect(_app_url(info, app), autocommit=True) as conn:
            conn.execute("CREATE TABLE deploy_probe (id int)")
            conn.execute("DROP TABLE deploy_probe")
        other = next(a for a in APPS if a != app)
        with pytest.raises(psycopg.OperationalError, match="permission denied|CONNECT privilege"):
            psycopg.connect(_app_url(info, app, dbname=f"{prefix}{other}"), connect_timeout=5).close()


@pytest.mark.parametrize("app", list(APPS))
def test_compose_migration_command_runs_against_the_init_roles(app, initialised_server, compose) -> None:
    """The {app}-migrate service's command, with exactly its compose environment
    (the database URL pointed at the test server), as the app's own role."""
    service = compose["services"][f"{app}-migrate"]
    env = dict(service["environment"])
    key = f"{app.upper()}_DATABASE_URL"
    compose_url = urlsplit(env[key])
    assert compose_url.username == app and compose_url.path == f"/{app}"
    env[key] = _app_url(initialised_server, app)
    env.update({"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "PYTHONDONTWRITEBYTECODE": "1"})
    command = [sys.executable if service["command"][0] == "python" else service["command"][0], *service["command"][1:]]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"{' '.join(service['command'])} failed:\n{result.stdout}\n{result.stderr}"
    with psycopg.connect(_app_url(initialised_server, app)) as conn:
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'alembic_version'").fetchone()
    assert owner == (f"{initialised_server['prefix']}{app}",)


# --- Kubernetes: kustomize base and overlay ------------------------------------


def kustomization(directory: Path) -> dict[str, Any]:
    return yaml.safe_load((directory / "kustomization.yaml").read_text())


@pytest.fixture(scope="module")
def base_docs() -> list[dict[str, Any]]:
    docs = []
    for name in kustomization(K8S_BASE)["resources"]:
        docs.extend(load_yaml_docs(K8S_BASE / name))
    return docs


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def generated_configmap(directory: Path = K8S_BASE) -> dict[str, str]:
    (gen,) = kustomization(directory)["configMapGenerator"]
    data: dict[str, str] = {}
    for env_file in gen.get("envs", []):
        data.update(parse_env_file((directory / env_file).read_text()))
    return data


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def env_refs(container: dict[str, Any], ref: str) -> dict[str, tuple[str, str]]:
    return {
        e["name"]: (e["valueFrom"][ref]["name"], e["valueFrom"][ref]["key"])
        for e in container.get("env", [])
        if ref in e.get("valueFrom", {})
    }


def env_values(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def k8s_validate(doc: dict[str, Any]) -> None:
    for version in K8S_VERSIONS:
        try:
            kv.validate(doc, version, strict=True)
        except kv.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            raise AssertionError(f"{doc['kind']}/{doc['metadata']['name']} invalid for Kubernetes {version}: {where}: {exc.message}") from None
        # SchemaNotFoundError propagates: an unknown kind or apiVersion fails the test.


def test_kustomization_lists_exactly_the_resource_files() -> None:
    k = kustomization(K8S_BASE)
    assert k["apiVersion"] == "kustomize.config.k8s.io/v1beta1" and k["kind"] == "Kustomization"
    listed = k["resources"]
    assert len(listed) == len(set(listed))
    for name in listed:
        assert (K8S_BASE / name).is_file(), f"kustomization lists a missing file: {name}"
    on_disk = {p.name for p in K8S_BASE.iterdir() if p.suffix in (".yaml", ".yml") and p.name != "kustomization.yaml"}
    assert on_disk == set(listed), f"not listed in resources: {sorted(on_disk - set(listed))}"
    generator_files = {f for gen in k.get("configMapGenerator", []) + k.get("secretGenerator", []) for f in gen.get("envs", []) + gen.get("files", [])}
    for name in generator_files:
        assert (K8S_BASE / name).is_file(), name
    others = {p.name for p in K8S_BASE.iterdir()} - on_disk - generator_files - {"kustomization.yaml"}
    assert others == set(), f"files in the base that kustomize never reads: {others}"


def test_every_base_manifest_is_valid_kubernetes(base_docs) -> None:
    kinds = {d["kind"] for d in base_docs}
    assert {"Namespace", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"} <= kinds
    for doc in base_docs:
        k8s_validate(doc)
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "aliada-config"}, "data": generated_configmap()}
    k8s_validate(configmap)


def test_kubernetes_validation_is_not_vacuous(base_docs) -> None:
    broken = copy.deepcopy(find(base_docs, "Deployment", "matching"))
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"path": "/healthz", "port": "http"}}
    with pytest.raises(AssertionError, match="livenesProbe"):
        k8s_validate(broken)
    with pytest.raises(kv.SchemaNotFoundError):
        kv.validate({"apiVersion": "autoscaling/v9", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"}}, K8S_VERSIONS[-1], strict=True)


def test_each_app_deployment_matches_the_facts(base_docs) -> None:
    config = generated_configmap()
    for app, (pkg, factory, port) in APPS.items():
        dep = find(base_docs, "Deployment", app)
        pod = dep["spec"]["template"]
        spec = pod["spec"]
        assert "replicas" not in dep["spec"], f"{app}: the HPA owns replicas"
        assert dep["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        (main,) = spec["containers"]
        cmd = uvicorn_args(main["command"])
        assert cmd["app"] == factory and int(cmd["port"]) == port and cmd["host"] == "0.0.0.0"
        assert {"--factory", "--no-proxy-headers"} <= cmd["flags"] and cmd["workers"] in (None, "1")
        assert "FORWARDED_ALLOW_IPS" not in {e["name"] for c in containers(dep) for e in c.get("env", [])}
        assert [(p["name"], p["containerPort"]) for p in main["ports"]] == [("http", port)]
        assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert main["readinessProbe"]["httpGet"]["path"] == "/readyz?scope=local"
        assert main["startupProbe"]["httpGet"]["path"] == "/healthz"
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert main[probe]["httpGet"]["port"] in ("http", port)
        # Migrations: an init container with the same image runs `python -m <pkg> migrate`.
        (init,) = spec["initContainers"]
        assert init["command"] == ["python", "-m", pkg, "migrate"] and init["image"] == main["image"]
        # Security and resources, for every container.
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec["automountServiceAccountToken"] is False and spec["enableServiceLinks"] is False
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for c in containers(dep):
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][kind]), f"{app}/{c['name']}: {kind}"
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert any(m["mountPath"] == "/tmp" and m["name"] in tmp_volumes for m in c["volumeMounts"]), f"{app}/{c['name']}: /tmp"
        assert spec.get("topologySpreadConstraints") or spec.get("affinity", {}).get("podAntiAffinity")
        # Settings: the database URL from the Secret under the app's own key, only
        # the app's own secrets, and config keys that exist.
        prefix = app.upper() + "_"
        for c in containers(dep):
            secret_refs = env_refs(c, "secretKeyRef")
            assert secret_refs[f"{prefix}DATABASE_URL"] == ("aliada-secrets", f"{prefix}DATABASE_URL")
            for var, (_name, key) in secret_refs.items():
                assert key.startswith(prefix) or (app == "gateway" and key == "REDIS_PASSWORD"), f"{app} reads {key}"
            for var, (name, key) in env_refs(c, "configMapKeyRef").items():
                assert name == "aliada-config" and key in config, f"{app}: {var} -> {name}/{key}"
        # Client-credentials secrets: the app container only, never the migration.
        assert not CLIENT_SECRET_KEYS & {key for _n, key in env_refs(init, "secretKeyRef").values()}
        assert SERVICE_CLIENTS_KEY not in {key for _n, key in env_refs(init, "secretKeyRef").values()}
        if app in CLIENT_APPS:
            assert env_refs(main, "secretKeyRef")[f"{prefix}CLIENT_SECRET"] == ("aliada-secrets", f"{prefix}CLIENT_SECRET")
        env_names = {e["name"] for e in main["env"]}
        assert {f"{prefix}{s}" for s in ("DATABASE_URL", "JWT_ISSUER", "LOG_LEVEL", "THREADPOOL_SIZE")} <= env_names
        if app != "gateway":
            assert env_refs(main, "configMapKeyRef")[f"{prefix}JWKS_URL"] == ("aliada-config", "ALIADA_JWKS_URL")


def test_procfile_and_kubernetes_agree_on_modules_and_ports(base_docs) -> None:
    for app, entry in procfile().items():
        cmd = uvicorn_args(find(base_docs, "Deployment", app)["spec"]["template"]["spec"]["containers"][0]["command"])
        assert (cmd["app"], cmd["port"]) == (entry["app"], entry["port"])


def test_services_hpas_and_pdbs_point_at_the_deployments(base_docs) -> None:
    for app, (_pkg, _factory, port) in APPS.items():
        dep = find(base_docs, "Deployment", app)
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        port_names = {p["name"] for p in dep["spec"]["template"]["spec"]["containers"][0]["ports"]}
        svc = find(base_docs, "Service", app)
        assert svc["spec"]["selector"].items() <= pod_labels.items()
        assert svc["spec"].get("type", "ClusterIP") == "ClusterIP"
        (sport,) = svc["spec"]["ports"]
        assert sport["port"] == port and sport["targetPort"] in port_names | {port}
        hpa = find(base_docs, "HorizontalPodAutoscaler", app)
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": app}
        assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
        (metric,) = hpa["spec"]["metrics"]
        assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"]["type"] == "Utilization"
        pdb = find(base_docs, "PodDisruptionBudget", app)
        assert pdb["apiVersion"] == "policy/v1"
        assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        assert pdb["spec"].get("minAvailable", 0) < hpa["spec"]["minReplicas"], "a PDB that blocks every drain"


def test_ingress_routes_everything_to_the_gateway_only(base_docs) -> None:
    ingresses = [d for d in base_docs if d["kind"] == "Ingress"]
    assert len(ingresses) == 1 and ingresses[0]["apiVersion"] == "networking.k8s.io/v1"
    gateway_ports = {p.get("name") for p in find(base_docs, "Service", "gateway")["spec"]["ports"]}
    backends = []
    for rule in ingresses[0]["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backends.append(path["backend"]["service"])
    assert "/" in [p["path"] for r in ingresses[0]["spec"]["rules"] for p in r["http"]["paths"]]
    assert backends and all(b["name"] == "gateway" for b in backends)
    assert all(b["port"].get("name") in gateway_ports or b["port"].get("number") == 8000 for b in backends)
    for svc in [d for d in base_docs if d["kind"] == "Service"]:
        assert svc["spec"].get("type", "ClusterIP") == "ClusterIP", "nothing but the Ingress is reachable from outside"


def test_the_gateway_trusts_the_proxies_the_config_names_and_nobody_by_default(base_docs) -> None:
    gateway = find(base_docs, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]
    assert env_refs(gateway, "configMapKeyRef")["GATEWAY_TRUSTED_PROXIES"] == ("aliada-config", "ALIADA_TRUSTED_PROXIES")
    assert generated_configmap()["ALIADA_TRUSTED_PROXIES"] == ""
    production = kustomization(K8S_PRODUCTION)
    (literal,) = [v for g in production["configMapGenerator"] for v in g["literals"] if v.startswith("ALIADA_TRUSTED_PROXIES=")]
    assert GatewaySettings(trusted_proxies=literal.split("=", 1)[1]).trusted_proxies  # a valid, explicit list


def test_gateway_reaches_services_and_redis_by_their_service_names(base_docs) -> None:
    gateway = find(base_docs, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]
    values = env_values(gateway)
    for svc in SERVICES:
        url = urlsplit(values[f"GATEWAY_{svc.upper()}_URL"])
        assert (url.scheme, url.hostname, url.port) == ("http", svc, APPS[svc][2])
        assert find(base_docs, "Service", svc)["spec"]["ports"][0]["port"] == url.port
    names = [e["name"] for e in gateway["env"]]
    assert names.index("REDIS_PASSWORD") < names.index("GATEWAY_RATE_LIMIT_STORAGE"), "$(REDIS_PASSWORD) must be defined first"
    storage = urlsplit(values["GATEWAY_RATE_LIMIT_STORAGE"].replace("$(REDIS_PASSWORD)", "x"))
    redis_port = find(base_docs, "Service", "redis")["spec"]["ports"][0]["port"]
    assert (storage.scheme, storage.hostname, storage.port) == ("redis", "redis", redis_port)
    jwks = urlsplit(generated_configmap()["ALIADA_JWKS_URL"])
    assert (jwks.hostname, jwks.port, jwks.path) == ("gateway", 8000, "/.well-known/jwks.json")


def test_kubernetes_service_clients(base_docs) -> None:
    """Each service reads its own client secret (and no other), its client id
    and the in-cluster token URL; the gateway reads GATEWAY_SERVICE_CLIENTS."""
    config = generated_configmap()
    gateway_port = find(base_docs, "Service", "gateway")["spec"]["ports"][0]["port"]
    for dep in [d for d in base_docs if d["kind"] == "Deployment"]:
        name = dep["metadata"]["name"]
        main = dep["spec"]["template"]["spec"]["containers"][0]
        keys = {key for c in containers(dep) for _n, key in env_refs(c, "secretKeyRef").values()}
        own = {f"{name.upper()}_CLIENT_SECRET"} if name in CLIENT_APPS else set()
        assert keys & CLIENT_SECRET_KEYS == own, f"{name} reads {sorted(keys & CLIENT_SECRET_KEYS)}"
        assert (SERVICE_CLIENTS_KEY in keys) == (name == "gateway"), name
        if name in CLIENT_APPS:
            prefix = name.upper() + "_"
            assert env_values(main)[f"{prefix}CLIENT_ID"] == f"svc-{name}"
            _cm, key = env_refs(main, "configMapKeyRef")[f"{prefix}TOKEN_URL"]
            url = urlsplit(config[key])
            assert (url.scheme, url.hostname, url.port, url.path) == ("http", "gateway", gateway_port, TOKEN_PATH)
        else:
            assert not any(e["name"].endswith(("_CLIENT_ID", "_CLIENT_SECRET", "_TOKEN_URL")) for e in main.get("env", [])), name
    gateway = find(base_docs, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]
    assert env_refs(gateway, "secretKeyRef")[SERVICE_CLIENTS_KEY] == ("aliada-secrets", SERVICE_CLIENTS_KEY)


def test_production_service_clients_template_agrees_with_compose(compose_raw, base_docs) -> None:
    """secrets.env.example: GATEWAY_SERVICE_CLIENTS names exactly the three
    clients with tools/dev_env.py's scopes and the very placeholders of the
    services' own keys (the same secret goes in both places); compose and
    Kubernetes agree on clients, scopes, names and token endpoint."""
    (gen,) = kustomization(K8S_PRODUCTION)["secretGenerator"]
    template = parse_env_file((K8S_PRODUCTION / f"{gen['envs'][0]}.example").read_text())
    raw = json.loads(template[SERVICE_CLIENTS_KEY])
    assert [spec["client_id"] for spec in raw] == [f"svc-{app}" for app in CLIENT_APPS]
    for spec, app in zip(raw, CLIENT_APPS):
        assert spec["scopes"] == SERVICE_SCOPES[app]
        assert spec["secret"] == template[f"{app.upper()}_CLIENT_SECRET"], f"{app}: the two places differ"
    # Filled in with real secrets, the template is what the gateway accepts.
    filled = template[SERVICE_CLIENTS_KEY]
    for key in CLIENT_SECRET_KEYS:
        filled = filled.replace(template[key], secrets.token_urlsafe(32))
    assert len(parse_service_clients(filled)) == len(CLIENT_APPS)
    compose_clients = compose_raw["services"]["gateway"]["environment"][SERVICE_CLIENTS_KEY]
    compose_clients = interpolate(compose_clients, {key: "x" * 32 for key in CLIENT_SECRET_KEYS})
    assert service_clients_without_secrets(compose_clients) == service_clients_without_secrets(template[SERVICE_CLIENTS_KEY])
    token_url = generated_configmap()["ALIADA_TOKEN_URL"]
    for app in CLIENT_APPS:
        compose_env = compose_raw["services"][app]["environment"]
        assert compose_env[f"{app.upper()}_TOKEN_URL"] == token_url
        main = find(base_docs, "Deployment", app)["spec"]["template"]["spec"]["containers"][0]
        assert env_values(main)[f"{app.upper()}_CLIENT_ID"] == compose_env[f"{app.upper()}_CLIENT_ID"]


def test_namespace_enforces_the_restricted_pod_security_standard(base_docs) -> None:
    namespace = find(base_docs, "Namespace", kustomization(K8S_BASE)["namespace"])
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for dep in [d for d in base_docs if d["kind"] == "Deployment"]:
        spec = dep["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        for c in containers(dep):
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
            assert {"requests", "limits"} <= set(c["resources"])


# The production overlay, applied the way kustomize would for what it uses:
# strategic-merge patches on maps (lists replaced), images, generators.


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


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


def test_production_overlay_files_are_all_used_and_present() -> None:
    k = kustomization(K8S_PRODUCTION)
    assert (K8S_PRODUCTION / k["resources"][0] / "kustomization.yaml").is_file()
    used = {"kustomization.yaml", *(p["path"] for p in k.get("patches", []))}
    for name in used:
        assert (K8S_PRODUCTION / name).is_file(), name
    for gen in k.get("secretGenerator", []):
        for env_file in gen.get("envs", []):
            # Never committed: git-ignored, with a committed template beside it.
            assert (K8S_PRODUCTION / f"{env_file}.example").is_file(), env_file
            used.add(f"{env_file}.example")
            ignored = subprocess.run(
                ["git", "check-ignore", "-q", str(K8S_PRODUCTION / env_file)], cwd=ROOT, capture_output=True
            )
            assert ignored.returncode == 0, f"{env_file} must be git-ignored"
    on_disk = {p.name for p in K8S_PRODUCTION.iterdir() if not (p.name.endswith(".env") and f"{p.name}.example" in used)}
    assert on_disk == used, f"files the overlay never reads: {sorted(on_disk - used)}"


def test_production_overlay_renders_valid_manifests(production_docs) -> None:
    k = kustomization(K8S_PRODUCTION)
    # Generated objects must share the base's namespace, or kustomize does not
    # rewrite the references to their hashed names (and puts them elsewhere).
    assert k["namespace"] == kustomization(K8S_BASE)["namespace"]
    for doc in production_docs:
        k8s_validate(doc)
    (image,) = k["images"]
    assert image["newTag"] and image["newTag"] != "latest"
    for app in APPS:
        dep = find(production_docs, "Deployment", app)
        assert all(c["image"] == f"{image['newName']}:{image['newTag']}" for c in containers(dep)), app
    (cm_gen,) = k["configMapGenerator"]
    assert cm_gen["name"] == "aliada-config" and cm_gen["behavior"] == "merge"
    base_config = generated_configmap()
    overrides = dict(item.split("=", 1) for item in cm_gen["literals"])
    assert set(overrides) <= set(base_config)
    json.loads(overrides.get("ALIADA_CORS_ORIGINS", "[]"))
    hosts = {rule["host"] for rule in find(production_docs, "Ingress", "aliada")["spec"]["rules"]}
    assert {urlsplit(overrides["ALIADA_PUBLIC_URL"]).hostname} == hosts, "the JWT issuer is the public host"


def test_production_secret_template_has_exactly_the_referenced_keys(base_docs) -> None:
    k = kustomization(K8S_PRODUCTION)
    (gen,) = k["secretGenerator"]
    assert gen["name"] == "aliada-secrets"
    template = parse_env_file((K8S_PRODUCTION / f"{gen['envs'][0]}.example").read_text())
    referenced = {
        key
        for dep in base_docs
        if dep["kind"] == "Deployment"
        for c in containers(dep)
        for _name, key in env_refs(c, "secretKeyRef").values()
    }
    assert set(template) == referenced
    for key, value in template.items():
        assert "CHANGE-ME" in value, f"{key}: the template carries a value that is not a placeholder"
    for app in APPS:
        url = urlsplit(template[f"{app.upper()}_DATABASE_URL"])
        assert url.scheme == "postgresql" and url.username == app and url.path == f"/{app}"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "aliada-secrets"}, "type": "Opaque", "stringData": template}
    k8s_validate(secret)


@pytest.mark.parametrize("overlay", ["base", "production"])
def test_kubernetes_connection_budget(overlay, base_docs, production_docs) -> None:
    docs = base_docs if overlay == "base" else production_docs
    total = 0
    for app in APPS:
        main = find(docs, "Deployment", app)["spec"]["template"]["spec"]["containers"][0]
        values = env_values(main)
        per_pod = int(values[f"{app.upper()}_THREADPOOL_SIZE"]) + int(values[f"{app.upper()}_DB_POOL_OVERFLOW"])
        ceiling = per_pod * find(docs, "HorizontalPodAutoscaler", app)["spec"]["maxReplicas"]
        assert ceiling <= K8S_CONNECTIONS_PER_APP, f"{app}: up to {ceiling} connections"
        total += ceiling
    assert total <= K8S_CONNECTIONS_TOTAL, f"{total} connections at full scale"
    readme = (DEPLOY / "README.md").read_text()
    assert str(K8S_CONNECTIONS_TOTAL) in readme


# --- peers: where each app is told the others live -----------------------------


def peer_url_settings(app: str) -> dict[str, str]:
    """The environment variables naming an address ``app`` reaches, derived from its Settings class: every ``*_url``
    setting whose default is a loopback address (meaningful under `make run` only) and not the app itself, mapped
    to the peer app it names (or "" for an address that is not one app's, e.g. the public base URL)."""
    settings_class = importlib.import_module(f"{APPS[app][0]}.config").Settings
    prefix = settings_class.model_config["env_prefix"]
    out = {}
    for name, field in settings_class.model_fields.items():
        default = field.default
        if not name.endswith("_url") or not isinstance(default, str) or not default.startswith("http"):
            continue
        url = urlsplit(default)
        if url.hostname not in ("127.0.0.1", "localhost") or url.port == APPS[app][2]:
            continue  # not a loopback default, or the app itself (its own keys, token and session endpoints)
        peer = name.removesuffix("_url")
        out[f"{prefix}{name}".upper()] = peer if peer in APPS else ""
    return out


def test_peer_url_settings_are_derived_from_the_settings_classes() -> None:
    # What the services call today (issue 15): the derivation is not vacuous.
    assert peer_url_settings("matching")["MATCHING_PARTICIPANTS_URL"] == "participants"
    assert peer_url_settings("sessions")["SESSIONS_MATCHING_URL"] == "matching"
    assert {k: v for k, v in peer_url_settings("evaluation").items() if v in APPS} == {
        "EVALUATION_PARTICIPANTS_URL": "participants", "EVALUATION_MATCHING_URL": "matching", "EVALUATION_SESSIONS_URL": "sessions"}
    assert set(peer_url_settings("gateway").values()) == set(SERVICES)
    assert "SESSIONS_PUBLIC_BASE_URL" in peer_url_settings("sessions")


def test_every_service_is_told_where_its_peers_are(compose, base_docs) -> None:
    """A peer address left at its loopback default would point a container at itself: every one is set in compose
    and in the Kubernetes base, a peer app's to its service name and port. Two are asked only in one case (servicekit
    settings): the revocation endpoint when the app does not share the Redis deny-list (no REVOCATION_STORAGE), the
    token endpoint when the app has its own client identity (a CLIENT_ID)."""
    missing = []
    for app in APPS:
        compose_env = compose["services"][app]["environment"]
        (container,) = find(base_docs, "Deployment", app)["spec"]["template"]["spec"]["containers"]
        k8s_names = {e["name"] for e in container.get("env", [])}
        k8s_values = env_values(container)
        for variable, peer in peer_url_settings(app).items():
            for where, names, values in (("compose", set(compose_env), compose_env), ("k8s", k8s_names, k8s_values)):
                if variable.endswith("_REVOCATION_URL") and values.get(variable.replace("_REVOCATION_URL", "_REVOCATION_STORAGE")):
                    continue
                if variable.endswith("_TOKEN_URL") and variable.replace("_TOKEN_URL", "_CLIENT_ID") not in names:
                    continue
                if variable not in names:
                    missing.append(f"{where}: {app} lacks {variable}")
                elif peer in APPS and variable in values:
                    url = urlsplit(values[variable])
                    assert (url.hostname, url.port) == (peer, APPS[peer][2]), (where, variable, values[variable])
    assert missing == []
