"""The service's notion of "now" (timezone-aware UTC).

Server time is the truth for submissions: a feedback form is on time or late by
comparing ``clock.now()`` with its due moment. Tests freeze time by patching
this function; always call it as ``clock.now()`` so the patch is seen.
"""

from datetime import datetime

from servicekit.outbox import utcnow


def now() -> datetime:
    return utcnow()
