"""Settings of the gateway (env prefix ``GATEWAY_``).

Lists accept JSON (``["https://a.example"]``) or a comma-separated string
(``https://a.example,https://b.example``). Secrets are ``SecretStr`` so they
never show up in a repr or a log line.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from servicekit.settings import BaseServiceSettings

SERVICES = ("participants", "matching", "sessions", "evaluation", "notifications")

# The routing table: public path prefix -> owning service. The one place that
# says which service serves what; the longest matching prefix wins, and a
# prefix matches whole path segments only (/v1/calls never serves /v1/callsx).
DEFAULT_ROUTES: dict[str, str] = {
    "/v1/institutions": "participants",
    "/v1/programs": "participants",
    "/v1/calls": "participants",
    "/v1/applications": "participants",
    "/v1/participants": "participants",
    "/v1/training-modules": "participants",
    "/v1/xapi": "participants",
    "/v1/matching": "matching",
    "/v1/meetings": "sessions",
    "/v1/feedback": "sessions",
    "/v1/objectives": "sessions",
    "/v1/milestones": "sessions",
    "/v1/diary": "sessions",
    "/v1/group-events": "sessions",
    "/v1/dyads": "sessions",
    "/v1/instruments": "evaluation",
    "/v1/administrations": "evaluation",
    "/v1/reports": "evaluation",
    "/v1/interviews": "evaluation",
    "/v1/notifications": "notifications",
}


# Public prefixes the gateway serves itself: no route may send them to a service.
GATEWAY_PREFIXES = ("/v1/auth", "/v1/admin", "/v1/webhooks", "/v1/data-subject-requests")


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class ServiceClientSpec(BaseModel):
    """One service's client: its id and secret are also set on that service."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(pattern=r"^svc-[a-z0-9-]{1,40}$")
    secret: SecretStr = Field(min_length=32)
    scopes: list[str] = Field(default_factory=list)
    name: str = ""


class Settings(BaseServiceSettings):
    """Every setting can be given as ``GATEWAY_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"

    # Where the services listen (the proxy, readiness, merged OpenAPI and the
    # institution check all use these).
    participants_url: str = "http://127.0.0.1:8001"
    matching_url: str = "http://127.0.0.1:8002"
    sessions_url: str = "http://127.0.0.1:8003"
    evaluation_url: str = "http://127.0.0.1:8004"
    notifications_url: str = "http://127.0.0.1:8005"
    routes: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ROUTES))
    # Proxied paths reachable without a token, as "METHOD /path/{param}"
    # (e.g. "GET /v1/calls/{call_id}"); "*" as method matches any method.
    # Default: the open calls of the participants service, which applicants
    # read before they have an account, the sessions service's private
    # calendar feeds (their secret is the unguessable, revocable URL), and the
    # notifications service's unsubscribe links (signed; RFC 8058 one-click
    # POSTs come from mail systems that hold no token).
    public_paths: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["GET /v1/calls", "GET /v1/calls/{program_id}", "GET /v1/meetings/calendar/{feed}",
                                 "GET /v1/notifications/unsubscribe", "POST /v1/notifications/unsubscribe"]
    )

    # Upstream calls. Each service has its own connection pool of
    # upstream_max_connections, so a stalled service exhausts its own pool and
    # never another's. upstream_timeout bounds how long a proxied request
    # waits for its answer to begin (connecting included) and each later wait
    # for more bytes: past it the caller gets a 504 problem. Routes known to
    # take longer (rendered reports, a matching run, a roster upload) get
    # their own bound in upstream_slow_routes, by route pattern.
    upstream_connect_timeout: float = Field(default=2.0, gt=0)
    upstream_timeout: float = Field(default=10.0, gt=0, le=600)
    upstream_slow_routes: dict[str, float] = Field(
        default_factory=lambda: {
            "GET /v1/reports/programs/{program_id}": 60.0,
            "GET /v1/reports/programs/{program_id}/report.pdf": 60.0,
            "GET /v1/reports/programs/{program_id}/report.html": 60.0,
            "GET /v1/reports/programs/{program_id}/report.csv": 60.0,
            "GET /v1/reports/programs/{program_id}/charts/{name}.{fmt}": 30.0,
            "GET /v1/reports/institutions/{institution_id}/comparison": 60.0,
            "POST /v1/matching/programs/{program_id}/runs": 60.0,
            "POST /v1/institutions/{institution_id}/roster-imports": 60.0,
        }
    )
    upstream_max_connections: int = Field(default=256, ge=1)
    # The proxy client's wire layer: "aiohttp" (via httpx-aiohttp) or
    # "httpcore" (httpx's default); see gateway.proxy.new_upstream_client.
    upstream_transport: Literal["aiohttp", "httpcore"] = "aiohttp"
    # Short internal calls: institution check, readiness, OpenAPI fetches.
    internal_timeout: float = Field(default=3.0, gt=0)
    readiness_timeout: float = Field(default=1.5, gt=0)
    openapi_cache_seconds: float = Field(default=300.0, ge=0)

    # Tokens.
    access_token_ttl: int = Field(default=900, ge=10, le=3600)
    refresh_token_ttl: int = Field(default=30 * 24 * 3600, ge=60)
    internal_token_ttl: int = Field(default=60, ge=10, le=300)
    # A retiring key stays published for access_token_ttl + leeway + this.
    key_rotation_grace: int = Field(default=60, ge=0)
    # How often a replica re-reads the signing keys (rotations by others).
    key_reload_seconds: float = Field(default=30.0, ge=0)
    # Fernet key(s) encrypting private signing keys at rest; comma-separated,
    # the first one encrypts (MultiFernet), the others still decrypt.
    key_encryption_key: SecretStr | None = None
    # How stale this replica's view of revoked sessions may be.
    revocation_cache_seconds: float = Field(default=2.0, ge=0, le=10)
    jwks_max_age: int = Field(default=60, ge=0, le=3600)

    # Bootstrap admin, created on the first start when no admin exists.
    bootstrap_admin_email: str = "admin@aliada.local"
    bootstrap_admin_password: SecretStr | None = None

    # The services' own API clients (client-credentials), provisioned at every
    # start: a JSON list of {"client_id", "secret", "scopes", "name"}. See
    # gateway/service_clients.py.
    service_clients: list[ServiceClientSpec] = Field(default_factory=list)

    # Rate limits (``limits`` notation). Storage is shared by all replicas when
    # it is Redis, e.g. "redis://127.0.0.1:6379/0"; "memory://" is per process.
    rate_limit_storage: str = "memory://"
    # Every token request per client address (generous: a campus NAT is one
    # address; an IPv6 client counts by its /64).
    token_rate_limit_per_ip: str = "300/minute"
    # Failed client-credentials attempts per client_id.
    token_rate_limit_per_identity: str = "10/minute"
    # Failed password attempts (gateway/ratelimit.py): per account and client
    # address, which stops one attacker without locking the person out
    # elsewhere; and per account over every address, a much higher backstop
    # against guessing spread over many addresses, which spares the addresses
    # she signed in from in the last login_known_address_days.
    login_rate_limit_per_address: str = "10/minute;50/hour"
    login_rate_limit_per_account: str = "100/hour;500/day"
    login_known_address_days: float = Field(default=30, ge=0, le=365)
    # The client address is the TCP peer unless GATEWAY_TRUSTED_PROXIES
    # (servicekit's setting) names the reverse proxies in front of the gateway.
    # All proxied traffic per token subject; empty disables it.
    rate_limit_per_token: str = "6000/minute"

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Request bodies: GATEWAY_MAX_BODY_BYTES (servicekit's setting, 1 MiB) for
    # every route, proxied or not, except these larger ones, by route pattern
    # ("METHOD /path/{param}"). The roster upload passes the participants
    # service's limit (PARTICIPANTS_ROSTER_MAX_BYTES, 20 MiB) plus a form's
    # overhead (64 KiB): keep the two in step. SCIM payloads: 2 MiB, the SCIM
    # layer's own bound (a group with thousands of members).
    body_limits: dict[str, int] = Field(
        default_factory=lambda: {
            "POST /v1/institutions/{institution_id}/roster-imports": 20 * 1024 * 1024 + 64 * 1024,
            "POST,PUT,PATCH /scim/v2/{resource}": 2 * 1024 * 1024,
            "POST,PUT,PATCH /scim/v2/{resource}/{id}": 2 * 1024 * 1024,
        }
    )

    # Participant roles (gateway/participant_roles.py): how often the participants
    # feed is read for confirmations and withdrawals that change an account's
    # roles (up to four times less often while it is quiet: servicekit.consumer);
    # 0 switches the reader off (on a replica that serves requests only).
    participant_roles_poll_seconds: float = Field(default=2.0, ge=0, le=300)

    # Outgoing webhooks (gateway/webhooks): the dispatcher reads every
    # service's outbox feed and delivers signed events to subscribers.
    # Off on a replica that should serve requests only (others deliver).
    webhooks_dispatcher_enabled: bool = True
    # How often each feed is polled (up to four times less often while it is
    # quiet: servicekit.consumer) and due deliveries are looked for.
    webhooks_poll_seconds: float = Field(default=2.0, gt=0, le=300)
    # Attempts per delivery before it is marked failed (manual redelivery
    # starts a new round), and the exponential backoff between them: the n-th
    # retry waits a random time between half and all of
    # min(cap, base * 2**(n-1)) seconds (or longer if the receiver's 429/503
    # says Retry-After, still at most cap).
    webhooks_max_attempts: int = Field(default=10, ge=1, le=50)
    webhooks_backoff_base_seconds: float = Field(default=15.0, gt=0)
    webhooks_backoff_cap_seconds: float = Field(default=3 * 3600.0, gt=0)
    # One attempt (DNS, connect, send, first 1 KiB of the answer) in total.
    webhooks_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Deliveries in flight at once on one replica.
    webhooks_concurrency: int = Field(default=8, ge=1, le=100)
    # Development only: accept private, loopback, link-local and other
    # non-global targets, and plain http. Production refuses them (SSRF).
    webhooks_allow_private_targets: bool = False

    # Data-subject requests (gateway/subject_requests): the services that hold
    # her data, in the order their steps run after the gateway's own; each
    # answers POST /internal/data-subjects/{export,erasure}. A failed erasure
    # step is retried by the sweep (every data_rights_sweep_seconds, at most
    # data_rights_sweep_batch steps per pass) after min(cap, base * 2**(n-1))
    # seconds, until it is done: never dropped.
    data_rights_services: list[Literal["participants", "matching", "sessions", "evaluation", "notifications"]] = Field(
        default_factory=lambda: list(SERVICES)
    )
    data_rights_sweeper_enabled: bool = True
    data_rights_sweep_seconds: float = Field(default=30.0, gt=0, le=3600)
    data_rights_sweep_batch: int = Field(default=20, ge=1, le=500)
    data_rights_backoff_base_seconds: float = Field(default=30.0, ge=0)
    data_rights_backoff_cap_seconds: float = Field(default=3600.0, ge=0)
    # One step's call to a service (an erasure touches many rows).
    data_rights_timeout: float = Field(default=30.0, gt=0, le=300)

    # Single sign-on with institutions' identity providers (gateway/sso). An
    # IdP's JWKS is cached per URL, refetched when an unknown kid arrives (at
    # most once per sso_jwks_refetch_seconds) and on first use after
    # sso_jwks_max_age_seconds; each connect and read of a fetch must take at
    # most sso_jwks_timeout (the whole fetch twice that).
    sso_jwks_refetch_seconds: float = Field(default=60.0, ge=0)
    sso_jwks_max_age_seconds: float = Field(default=3600.0, gt=0)
    sso_jwks_timeout: float = Field(default=3.0, gt=0, le=30)
    # Development and tests only: accept http:// issuers and JWKS URLs and
    # loopback or private hosts. Production registrations must use https.
    sso_allow_insecure_urls: bool = False

    # argon2id cost (RFC 9106 "low memory" defaults).
    password_time_cost: int = Field(default=3, ge=1)
    password_memory_kib: int = Field(default=65536, ge=8)
    password_parallelism: int = Field(default=4, ge=1)

    @field_validator("public_paths", "cors_origins", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("routes", "body_limits", "upstream_slow_routes", mode="before")
    @classmethod
    def _routes(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = json.loads(value)
        return value

    @field_validator("upstream_slow_routes")
    @classmethod
    def _check_slow_routes(cls, value: dict[str, float]) -> dict[str, float]:
        if any(not 0 < seconds <= 600 for seconds in value.values()):
            raise ValueError("a slow route's timeout is between 0 and 600 seconds")
        return value

    @field_validator("routes")
    @classmethod
    def _check_routes(cls, value: dict[str, str]) -> dict[str, str]:
        for prefix, service in value.items():
            if service not in SERVICES:
                raise ValueError(f"route {prefix!r} names unknown service {service!r}")
            if not prefix.startswith("/v1/") or prefix.endswith("/"):
                raise ValueError(f"route prefix {prefix!r} must start with /v1/ and not end with /")
            if any(prefix == own or prefix.startswith(own + "/") for own in GATEWAY_PREFIXES):
                raise ValueError(f"route prefix {prefix!r} is owned by the gateway")
        return value

    def service_url(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")

    @property
    def service_urls(self) -> dict[str, str]:
        return {name: self.service_url(name) for name in SERVICES}
