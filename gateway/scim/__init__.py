"""SCIM 2.0 provisioning (RFC 7643/7644) at ``/scim/v2``: the institutions'
identity providers create, change, suspend and delete accounts (Users) and
groups that grant Aliada roles (Groups).

- ``router``: the endpoints (``gateway.scim.router``): HTTP only;
- ``provisioning``: what each request does (reads, creates, writes by
  compare-and-set with retries, her profile kept in step);
- ``users`` / ``groups``: mapping to the gateway's accounts and the SCIM-only
  tables (``gateway.scim.models``, migration ``scim0001``);
- ``profiles``: her participant profile in the participants service;
- ``filters``: SCIM filters and sorting as SQL;
- ``errors``: SCIM error bodies on ``/scim/v2`` only;
- ``docs``: the OpenAPI description.

``install(app)`` is the one call the gateway makes.
"""

from __future__ import annotations

from fastapi import FastAPI

from gateway.scim import models  # noqa: F401  (the tables join the gateway's metadata)


TAG = {
    "name": "scim",
    "description": "SCIM 2.0 provisioning (RFC 7643/7644) for an institution's identity provider: Users (accounts and "
    "their participant profiles) and Groups (which may grant an Aliada role). Integration clients with scope `scim`; "
    "bodies and errors are `application/scim+json`.",
}


def install(app: FastAPI) -> None:
    """Mount ``/scim/v2`` on the gateway and describe it in its OpenAPI
    document (call before the merged document captures ``app.openapi``)."""
    from gateway.scim.docs import scim_openapi
    from gateway.scim.router import router

    app.include_router(router)
    app.openapi_tags = [*(app.openapi_tags or []), TAG]
    app.openapi = scim_openapi(app.openapi)  # type: ignore[method-assign]
