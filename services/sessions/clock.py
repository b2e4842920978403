"""The service's notion of "now" (timezone-aware UTC; servicekit.clock, which a
development platform may run as a simulation clock).

Server time is the truth for submissions: a feedback form is on time or late by
comparing ``clock.now()`` with its due moment. Tests freeze time by patching
this function; always call it as ``clock.now()`` so the patch is seen.
"""

from datetime import datetime

from servicekit import clock as _platform_clock


def now() -> datetime:
    return _platform_clock.now()
