"""Every OAuth scope the platform knows, once.

A scope is what an API client (an integration, or a service's own client)
may do; people act through their roles instead. Routes declare the client
scopes they accept (``servicekit.auth.allow_clients`` / ``require_scopes``);
the gateway mints client tokens with the scopes their client was given.

``SERVICE_SCOPES`` is what each service's own API client holds: the
development environment (``tools/dev_env.py``), the tests' stack and the
deployment manifests (checked by ``tests/deploy/``) all take it from
here.
"""

from __future__ import annotations

EVENTS_READ = "events:read"
"""A service's outbox feed (``GET /internal/events``)."""
REPORTS_READ = "reports:read"
"""The program report's inputs: aggregates and pseudonymous dyads."""
RESEARCH_READ = "research:read"
"""Who consented to research and to quotes."""
IDENTITY_READ = "identity:read"
"""Consented identity data, for identity-aware matching."""
TRAINING_WRITE = "training:write"
"""An LMS: training modules, completions and xAPI statements."""
INSTITUTIONS_READ = "institutions:read"
"""The gateway's own reads of institutions."""
ACCOUNTS_READ = "accounts:read"
"""Whether an account is still active (calendar feeds)."""
DATA_SUBJECTS_INTERNAL = "data-subjects:internal"
"""The gateway's export and erasure steps in each service."""
SCIM = "scim"
"""SCIM 2.0 provisioning of users and groups."""
CONTACTS_READ = "contacts:read"
"""How to reach a person: name, e-mail, language and time zone (the notifications service)."""

ALL = frozenset({EVENTS_READ, REPORTS_READ, RESEARCH_READ, IDENTITY_READ, TRAINING_WRITE, INSTITUTIONS_READ,
                 ACCOUNTS_READ, DATA_SUBJECTS_INTERNAL, SCIM, CONTACTS_READ})  # fmt: skip

SERVICE_SCOPES: dict[str, list[str]] = {
    # Consented identity data; the participants feed (a withdrawal ends her matches).
    "matching": [IDENTITY_READ, EVENTS_READ],
    # The matching feed; whether a calendar feed's owner is still an active account.
    "sessions": [EVENTS_READ, ACCOUNTS_READ],
    # The program report's inputs (aggregates, pseudonymous dyads), read after evaluation authorized its caller;
    # who consents to research and to quotes (interview samples, consent checks); the participants feed
    # (consent withdrawals and erasures reach the interviews). Each call asks for its one scope.
    "evaluation": [REPORTS_READ, RESEARCH_READ, EVENTS_READ],
    # The feeds it turns into messages; how to reach each recipient.
    "notifications": [EVENTS_READ, CONTACTS_READ],
}
