"""The services' own API clients, provisioned from configuration.

Each service that calls another with its own identity (docs/architecture.md) holds
a client id and secret (``<APP>_CLIENT_ID`` / ``<APP>_CLIENT_SECRET``); the
gateway is given the same pairs in ``GATEWAY_SERVICE_CLIENTS`` and makes sure,
at every start, that each exists with exactly that secret and those scopes.
Rotating a service's secret is changing both settings and restarting. These
clients belong to no institution. Only their hashes are stored.

Safe on several replicas at once: a replica that loses the insert race finds
the row on its next look and leaves it as the winner wrote it.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from gateway.config import Settings
from gateway.models import ApiClient
from gateway.security import sha256_hex
from gateway.service import new_client_family, revoke_client_sessions

log = logging.getLogger("gateway.service_clients")


def ensure_service_clients(engine: Engine, settings: Settings) -> None:
    for spec in settings.service_clients:
        secret_hash = sha256_hex(spec.secret.get_secret_value())
        with Session(engine) as session:
            client = session.exec(select(ApiClient).where(ApiClient.client_id == spec.client_id)).first()
            if client is None:
                client = ApiClient(
                    client_id=spec.client_id,
                    name=spec.name or spec.client_id,
                    secret_hash=secret_hash,
                    scopes=list(spec.scopes),
                    institution_id=None,
                    family_id="",
                )
                new_client_family(session, client)
                session.add(client)
                action = "created"
            elif client.secret_hash != secret_hash or sorted(client.scopes) != sorted(spec.scopes) or not client.active:
                client.secret_hash, client.scopes, client.active = secret_hash, list(spec.scopes), True
                revoke_client_sessions(session, client, "reprovisioned")
                session.add(client)
                action = "updated"
            else:
                continue
            try:
                session.commit()
            except IntegrityError:  # another replica provisioned it first
                session.rollback()
                continue
        log.info("service client provisioned", extra={"client_id": spec.client_id, "action": action})
