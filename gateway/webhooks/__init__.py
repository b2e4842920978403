"""Outgoing webhooks (docs/architecture.md, "Events").

An institution's coordinators (and admins) subscribe a URL to event types.
The gateway's dispatcher reads every service's outbox feed with its own cursor,
keeps the events of subscribing institutions, and delivers each one to each
matching subscription, signed the Standard Webhooks way, with retries,
exponential backoff with jitter, a delivery log and manual redelivery. Which
targets may be called is servicekit's outbound-URL policy (``servicekit.outbound``),
checked at subscription and again at every delivery.

- ``catalog``: the event types of the services, documented;
- ``models``: subscriptions, stored events, deliveries, attempts, feed cursors;
- ``signing``: secrets (``whsec_``), encryption at rest, Standard Webhooks headers;
- ``service``: subscription and delivery-log logic on a session;
- ``dispatcher``: feed consumption and delivery, safe on several replicas;
- ``router``: ``/v1/webhooks/...``.
"""
