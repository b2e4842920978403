"""The service's notion of "now" (timezone-aware UTC; servicekit.clock, which a
development platform may run as a simulation clock).

Deadlines (the call's close, invitations to confirm) are compared with
``clock.now()``; tests move time by patching this function. Always call it as
``clock.now()`` so the patch is seen.
"""

from datetime import datetime

from servicekit import clock as _platform_clock


def now() -> datetime:
    return _platform_clock.now()
