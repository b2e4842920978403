"""Facts and helpers of the deployment checks (tests/deploy/): the apps, their
modules and ports, the connection budgets, the service clients, and the readers
of the compose file, the env files, the Procfile and the manifests."""

from __future__ import annotations

import copy
import importlib.resources
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jsonschema
import kubernetes_validate.utils as kv
import pytest
import yaml
from pydantic import TypeAdapter
from servicekit.scopes import SERVICE_SCOPES

from gateway.config import ServiceClientSpec

ROOT = Path(__file__).resolve().parents[2]


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


def schema_errors(validator: jsonschema.protocols.Validator, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def gateway_env_raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]["gateway"]["environment"]


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


def psql_binary() -> str:
    candidates = [shutil.which("psql") or ""] + sorted(str(p) for p in Path("/usr/lib/postgresql").glob("*/bin/psql"))
    found = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
    if found is None:
        pytest.fail("psql is needed to run deploy/postgres/init.sh: apt-get install postgresql-client (or brew install libpq)")
    return found


def app_url(info: dict[str, Any], app: str, dbname: str | None = None) -> str:
    server = info["server"]
    role = f"{info['prefix']}{app}"
    netloc = f"{role}:{info['passwords'][app]}@{server.hostname}:{server.port or 5432}"
    return urlunsplit(("postgresql", netloc, "/" + (dbname or role), "", ""))


def kustomization(directory: Path) -> dict[str, Any]:
    return yaml.safe_load((directory / "kustomization.yaml").read_text())


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


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


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
