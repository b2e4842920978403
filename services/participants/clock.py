"""The service's notion of "now" (timezone-aware UTC).

Deadlines (the call's close, invitations to confirm) are compared with
``clock.now()``; tests move time by patching this function. Always call it as
``clock.now()`` so the patch is seen.
"""

from datetime import datetime

from servicekit.outbox import utcnow


def now() -> datetime:
    return utcnow()
