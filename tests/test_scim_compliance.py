"""SCIM 2.0 compliance of the real /scim/v2, checked by scim2-tester.

The five apps run as processes (the session ``stack``); an admin makes an
institution and an integration client with scope ``scim`` through the public
API, and scim2-tester's ``check_server`` runs every check it has against the
gateway over real HTTP (discovery, create, read, query with attributes,
replace, delete, PATCH add/replace/remove of every published attribute, for
Users and Groups), the participants service storing each user's profile with
the client's forwarded token. Any ERROR or CRITICAL result fails the test.

scim2-client ships an engine for httpx2 only; the adapter below sends its
requests with the httpx the project pins (the same calls the httpx2 engine
makes). The run is bounded: a few hundred requests on loopback, one client
token (15 minutes), a 15 s timeout per request.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from scim2_client import BaseSyncSCIMClient
from scim2_client.errors import RequestNetworkException
from scim2_tester import Status, check_server

from tools.stack import Stack


class HttpxSCIMClient(BaseSyncSCIMClient):
    """scim2-client over an ``httpx.Client`` whose base URL is the SCIM root."""

    def __init__(self, client: httpx.Client, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = self.client.base_url
        try:
            url = self.client.build_request("GET", endpoint).url
        except httpx.InvalidURL:
            return False
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port) and url.raw_path.startswith(base.raw_path)

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.request(method, url, **kwargs)
        except httpx.RequestError as exc:
            raise RequestNetworkException() from exc


def test_scim2_tester_finds_no_failure(stack: Stack, admin_token: str) -> None:
    admin = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=stack.gateway, timeout=15) as gw:
        slug = f"scim-{uuid.uuid4().hex[:8]}"
        institution = gw.post(
            "/v1/institutions",
            json={"name": "Universidad SCIM", "slug": slug, "country": "MX", "timezone": "America/Mexico_City"},
            headers=admin,
        )
        assert institution.status_code == 201, institution.text
        client = gw.post(
            "/v1/admin/clients",
            json={"name": "Campus IdP", "scopes": ["scim"], "institution_id": institution.json()["id"]},
            headers=admin,
        )
        assert client.status_code == 201, client.text
        token = gw.post(
            "/v1/auth/token",
            data={"grant_type": "client_credentials", "scope": "scim"},
            auth=(client.json()["client_id"], client.json()["client_secret"]),
        )
        assert token.status_code == 200, token.text

    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    with httpx.Client(base_url=f"{stack.gateway}/scim/v2/", headers=headers, timeout=15) as http:
        results = check_server(HttpxSCIMClient(http))

    failures = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
    assert not failures, "\n".join(f"{r.resource_type or '-'} {r.title}: {r.reason}" for r in failures)
    # Every resource type went through the whole cycle, not just discovery.
    passed = {(r.resource_type, r.title) for r in results if r.status == Status.SUCCESS}
    for resource in ("User", "Group"):
        for check in ("object_creation", "object_query", "object_replacement", "object_deletion", "check_add_attribute",
                      "check_replace_attribute", "check_remove_attribute"):  # fmt: skip
            assert (resource, check) in passed, (resource, check)
    assert ("User", "check_remove_attribute") in passed
