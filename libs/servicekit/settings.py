"""Settings base: each app subclasses it with its own env prefix."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = REPO_ROOT / "var"


class BaseServiceSettings(BaseSettings):
    """What every app needs. Subclasses set ``model_config`` with their prefix,
    e.g. ``PARTICIPANTS_DATABASE_URL``."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "service"
    database_url: str = ""
    # Token verification (see servicekit.auth).
    jwt_issuer: str = "http://127.0.0.1:8000"
    jwt_audience: str = "aliada"
    # Where the gateway publishes its public keys; services fetch and cache them.
    jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=60)
    # Revoked sessions (servicekit.revocation): a Redis URI
    # ("redis://127.0.0.1:6379/0", production) for the shared deny-list, or
    # empty to ask the gateway's session check at ``revocation_url``. A revoked
    # token is refused at most ``revocation_cache_seconds`` after revocation.
    revocation_storage: str = ""
    revocation_key_prefix: str = Field(default="aliada:revoked-session:", min_length=1, max_length=100)
    revocation_url: str = "http://127.0.0.1:8000/v1/auth/session"
    revocation_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    # This app's own client-credentials identity, for calls it makes on its own
    # behalf (servicekit.service_auth); empty when it makes none.
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    token_url: str = "http://127.0.0.1:8000/v1/auth/token"
    # Concurrency: the worker threadpool and the DB pool are sized together so
    # a burst of requests can never starve the pool (see docs/architecture.md).
    threadpool_size: int = Field(default=40, ge=1, le=1000)
    db_pool_overflow: int = Field(default=10, ge=0)
    # How many of those connections stay open while idle (default: all of them). Fewer keeps a
    # quiet app's share of the server's connections small; the pool can still open one per
    # thread (plus the overflow) under load, and closes the extra ones as they come back.
    db_pool_idle: int | None = Field(default=None, ge=1, le=1000)
    log_level: str = "INFO"
    log_json: bool = True
    # The largest request body this app reads (413 problem beyond it, while it
    # streams in); routes that take uploads raise it for themselves only
    # (servicekit.limits).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    # The reverse proxies (load balancer, ingress controller) whose
    # X-Forwarded-For and X-Forwarded-Proto this app believes: addresses or
    # networks, comma-separated or a JSON list ("10.0.0.0/8,192.0.2.7"). Empty,
    # the default: nobody is trusted and the client is the TCP peer, so a
    # forged header changes nothing (rate limits per address hold). Run uvicorn
    # with --no-proxy-headers: this setting replaces its FORWARDED_ALLOW_IPS.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        networks = []
        for item in value:
            try:
                networks.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise ValueError(
                    f"trusted proxy {item!r} is not an address or a network (a wildcard is refused: name the proxies)"
                ) from None
        return networks

    def sqlite_default(self, name: str) -> str:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{VAR_DIR / (name + '.db')}"

    @property
    def db_pool(self) -> dict[str, int]:
        """``make_engine``'s pool arguments: a connection for every worker thread plus the
        overflow, of which ``db_pool_idle`` stay open while idle."""
        idle = min(self.db_pool_idle or self.threadpool_size, self.threadpool_size)
        return {"pool_size": idle, "max_overflow": self.threadpool_size - idle + self.db_pool_overflow}

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.sqlite_default(self.service_name)
