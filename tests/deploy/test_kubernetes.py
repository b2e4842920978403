"""The Kubernetes manifests: every base manifest and the production overlay valid for the
Kubernetes versions named in facts.py (kubernetes-validate, strict), the kustomization
wired as kustomize would need it, each deployment agreeing with the facts, and where
each app is told its peers live. (See tests/deploy/__init__.py.)"""

from __future__ import annotations

import copy
import json
import secrets
import subprocess
from urllib.parse import urlsplit

import kubernetes_validate.utils as kv
import pytest
from servicekit.scopes import SERVICE_SCOPES

from gateway.config import Settings as GatewaySettings
from tests.deploy.facts import (
    APPS,
    CLIENT_APPS,
    CLIENT_SECRET_KEYS,
    DEPLOY,
    K8S_BASE,
    K8S_CONNECTIONS_PER_APP,
    K8S_CONNECTIONS_TOTAL,
    K8S_PRODUCTION,
    K8S_VERSIONS,
    ROOT,
    SERVICE_CLIENTS_KEY,
    SERVICES,
    TOKEN_PATH,
    containers,
    env_refs,
    env_values,
    find,
    generated_configmap,
    interpolate,
    k8s_validate,
    kustomization,
    parse_env_file,
    parse_service_clients,
    peer_url_settings,
    procfile,
    service_clients_without_secrets,
    uvicorn_args,
)


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
