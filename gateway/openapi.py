"""The merged OpenAPI document: the gateway's own plus each service's.

``merge_openapi`` is a pure function (used at runtime by ``/openapi.json`` and
by ``tools/openapi.py``):

- the gateway's document is the base; from each service only the public paths
  (``/v1/...``, what the gateway proxies) are taken, with the components they
  reach; health, metrics and ``/internal/*`` of the services are left out;
- components with the same name are shared when identical, otherwise the
  service's one is renamed with the service as prefix (``ParticipantsPage``)
  and every ``$ref`` of that service is rewritten (security schemes too);
- every operation keeps its ``operationId``; only if two services used the same
  id would the later one (services in name order) be prefixed ``service_``;
- operations are tagged by service: ``participants/institutions`` (or
  ``participants`` when untagged), with ``x-tagGroups`` grouping by service;
- a service given as an empty document was unavailable: it contributes
  nothing and ``info.description`` says so.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

log = logging.getLogger("gateway.openapi")

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_REF_PREFIX = "#/components/"
# Components referenced by name rather than by $ref.
_SECURITY = "securitySchemes"


def _walk_refs(node: Any, found: set[tuple[str, str]]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            section, _, name = ref[len(_REF_PREFIX):].partition("/")
            found.add((section, name))
        for key, value in node.items():
            if key == "security" and isinstance(value, list):
                for requirement in value:
                    if isinstance(requirement, dict):
                        found.update((_SECURITY, scheme) for scheme in requirement)
            else:
                _walk_refs(value, found)
    elif isinstance(node, list):
        for item in node:
            _walk_refs(item, found)


def _rewrite(node: Any, renames: dict[tuple[str, str], str]) -> Any:
    if not renames:
        return node
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF_PREFIX):
                section, _, name = value[len(_REF_PREFIX):].partition("/")
                new = renames.get((section, name))
                out[key] = f"{_REF_PREFIX}{section}/{new}" if new else value
            elif key == "security" and isinstance(value, list):
                out[key] = [
                    {renames.get((_SECURITY, s), s): v for s, v in req.items()} if isinstance(req, dict) else req
                    for req in value
                ]
            else:
                out[key] = _rewrite(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite(item, renames) for item in node]
    return node


def _reachable(doc: dict[str, Any], roots: Any) -> set[tuple[str, str]]:
    components = doc.get("components", {})
    seen: set[tuple[str, str]] = set()
    frontier: set[tuple[str, str]] = set()
    _walk_refs(roots, frontier)
    while frontier:
        key = frontier.pop()
        if key in seen:
            continue
        seen.add(key)
        target = components.get(key[0], {}).get(key[1])
        if target is not None:
            found: set[tuple[str, str]] = set()
            _walk_refs(target, found)
            frontier |= found - seen
    return {k for k in seen if k[1] in components.get(k[0], {})}


def _prefixed(service: str, name: str, taken: dict[str, Any]) -> str:
    base = service[:1].upper() + service[1:] + name
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}{n}", n + 1
    return candidate


def merge_openapi(gateway_doc: dict[str, Any], service_docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = copy.deepcopy(gateway_doc)
    paths: dict[str, Any] = merged.setdefault("paths", {})
    components: dict[str, dict[str, Any]] = merged.setdefault("components", {})
    operation_ids = {
        op["operationId"]
        for item in paths.values()
        for method, op in item.items()
        if method in HTTP_METHODS and isinstance(op, dict) and "operationId" in op
    }
    gateway_tags = sorted({t for item in paths.values() for m, op in item.items() if m in HTTP_METHODS for t in op.get("tags", [])})
    tag_entries: dict[str, dict[str, Any]] = {t["name"]: t for t in merged.get("tags", []) if "name" in t}
    tag_groups: list[dict[str, Any]] = [{"name": "gateway", "tags": gateway_tags}] if gateway_tags else []
    included: list[str] = []
    unavailable: list[str] = []
    conflicts: list[str] = []
    renamed: set[tuple[str, str]] = set()

    for service in sorted(service_docs):
        doc = service_docs[service]
        if not doc:
            unavailable.append(service)
            continue
        selected = {p: item for p, item in doc.get("paths", {}).items() if p.startswith("/v1/")}
        reachable = _reachable(doc, selected)
        source = doc.get("components", {})

        renames: dict[tuple[str, str], str] = {}
        changed = True
        while changed:
            changed = False
            for key in sorted(reachable):
                if key in renames:
                    continue
                existing = components.get(key[0], {}).get(key[1])
                if existing is not None and _rewrite(source[key[0]][key[1]], renames) != existing:
                    section = components.get(key[0], {})
                    taken = set(section) | {v for (s, _), v in renames.items() if s == key[0]}
                    renames[key] = _prefixed(service, key[1], dict.fromkeys(taken))
                    changed = True
        for key in sorted(reachable):
            section, name = key
            target = renames.get(key, name)
            if target not in components.setdefault(section, {}):
                component = _rewrite(copy.deepcopy(source[section][name]), renames)
                if target != name and isinstance(component, dict) and component.get("title") == name:
                    # Generators name classes by title: a renamed schema keeps no clashing title.
                    component["title"] = target
                if target != name:
                    renamed.add((section, target))
                components[section][target] = component

        doc_tags = {t["name"]: t for t in doc.get("tags", []) if isinstance(t, dict) and "name" in t}
        service_tags: set[str] = set()
        for path, item in sorted(selected.items()):
            item = _rewrite(copy.deepcopy(item), renames)
            target_item = paths.setdefault(path, {})
            for method, op in item.items():
                if method not in HTTP_METHODS:
                    target_item.setdefault(method, op)  # parameters, summary...
                    continue
                if method in target_item:
                    conflicts.append(f"{method.upper()} {path} ({service})")
                    continue
                original_tags = op.get("tags") or []
                op["tags"] = [f"{service}/{t}" for t in original_tags] or [service]
                for original, new in zip(original_tags, op["tags"], strict=False):
                    entry = {"name": new}
                    if doc_tags.get(original, {}).get("description"):
                        entry["description"] = doc_tags[original]["description"]
                    tag_entries.setdefault(new, entry)
                if not original_tags:
                    tag_entries.setdefault(service, {"name": service, "description": doc.get("info", {}).get("title", service)})
                service_tags.update(op["tags"])
                op_id = op.get("operationId")
                if op_id in operation_ids:
                    op["operationId"] = f"{service}_{op_id}"
                if op.get("operationId"):
                    operation_ids.add(op["operationId"])
                target_item[method] = op
        info = doc.get("info", {})
        included.append(f"{service} ({' '.join(str(v) for v in (info.get('title'), info.get('version')) if v) or service})")
        if service_tags:
            tag_groups.append({"name": service, "tags": sorted(service_tags)})

    # A renamed schema whose own title is still another's (a generic's, "Page[DeliveryPublic]",
    # from two services paging different items) takes its new name as title too.
    titles = Counter(c.get("title") for section in components.values() for c in section.values() if isinstance(c, dict))
    for section, name in renamed:
        component = components[section][name]
        if isinstance(component, dict) and component.get("title") is not None and titles[component["title"]] > 1:
            component["title"] = name

    if tag_entries:
        merged["tags"] = [tag_entries[name] for name in sorted(tag_entries)]
    if tag_groups:
        merged["x-tagGroups"] = tag_groups
    notes: list[str] = []
    if included:
        notes.append("Services included: " + ", ".join(included) + ".")
    if unavailable:
        notes.append(
            "Not included, because the service was unavailable when this document was built: "
            + ", ".join(unavailable)
            + ". Its paths still work through the gateway once it is up."
        )
    if conflicts:
        notes.append("Operations left out because the path and method were already taken: " + ", ".join(conflicts) + ".")
    if notes:
        info = merged.setdefault("info", {})
        info["description"] = "\n\n".join([info.get("description", "").rstrip(), *notes]).strip()
    if not components.get(_SECURITY):
        components.pop(_SECURITY, None)
    return merged


class OpenAPIAggregator:
    """Fetches each service's ``/openapi.json`` (cached for ``ttl`` seconds; a
    failed fetch is not cached, so the next request tries again) and merges."""

    def __init__(self, gateway_doc: Callable[[], dict[str, Any]], urls: dict[str, str], *, timeout: float, ttl: float) -> None:
        self._gateway_doc = gateway_doc
        self.urls = urls
        self.timeout = timeout
        self.ttl = ttl
        self.client: httpx.AsyncClient | None = None  # set in the lifespan
        self._docs: dict[str, tuple[dict[str, Any], float]] = {}
        self._version = 0
        self._merged: tuple[int, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def _fetch(self, name: str) -> dict[str, Any] | None:
        assert self.client is not None
        try:
            resp = await self.client.get(f"{self.urls[name]}/openapi.json", timeout=self.timeout)
            if resp.status_code == 200:
                doc = resp.json()
                if isinstance(doc, dict) and isinstance(doc.get("paths"), dict):
                    return doc
            log.warning("service OpenAPI document unusable", extra={"service": name, "status": resp.status_code})
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("service OpenAPI document unavailable", extra={"service": name, "error": type(exc).__name__})
        return None

    async def document(self) -> dict[str, Any]:
        async with self._lock:
            now = time.monotonic()
            stale = [n for n in self.urls if n not in self._docs or now - self._docs[n][1] >= self.ttl]
            if stale:
                fetched = await asyncio.gather(*(self._fetch(n) for n in stale))
                for name, doc in zip(stale, fetched, strict=True):
                    previous = self._docs.pop(name, None)
                    if doc is not None:
                        self._docs[name] = (doc, now)
                    if (previous[0] if previous else None) != doc:
                        self._version += 1
            if self._merged is None or self._merged[0] != self._version:
                docs = {n: self._docs[n][0] if n in self._docs else {} for n in self.urls}
                self._merged = (self._version, merge_openapi(self._gateway_doc(), docs))
            return self._merged[1]
