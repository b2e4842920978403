"""Mechanism shared by the gateway and the services.

servicekit holds no tables and no domain schemas, and never imports from
``services/`` or ``gateway/``. Each module is one mechanism:

- ``settings``: the settings base every app extends (env prefix per app).
- ``db``: engine, per-service declarative base, the request-scoped session.
- ``migrations``: alembic helpers so every service migrates the same way.
- ``problems``: RFC 9457 problem+json errors, handlers and OpenAPI docs.
- ``auth``: the one hardened JWT verification function and role checks.
- ``pagination``: opaque keyset cursors and the ``Page`` envelope.
- ``logging``: JSON logs with the request id on every line.
- ``observability``: request-id middleware, /healthz, /readyz, /metrics.
- ``http``: the httpx client factory (timeouts, idempotent-only retries).
- ``outbound``: the one policy for fetching URLs someone else chose (SSRF).
- ``inputs``: the one input rule: every text storable (``InputModel``).
- ``types``: annotated types request schemas share (``TimeZoneName``).
- ``limits``: request body limits and route patterns.
- ``outbox``: the transactional outbox and its ordered feed.
- ``app``: ``create_service_app`` assembling all of the above.
- ``testing``: pytest fixtures (keys, tokens, databases).
"""
