"""The platform's notion of "now" for domain decisions (timezone-aware UTC).

Deadlines, windows and lateness (a call closing, a feedback form due 48 h after
its meeting, a survey window) compare against :func:`now`. In production it is
the system clock.

For demonstrations and rehearsals a development platform can run on a
*simulation clock*: when the environment variable ``ALIADA_CLOCK_FILE`` names a
file, :func:`now` is the system clock plus the offset (seconds, a decimal
number) written in that file, so that every service of one platform agrees on
the simulated date and time keeps flowing. ``make run`` sets it to
``var/clock``; ``make demo`` moves it forward to play twelve weeks in minutes.
Deployments (compose, Kubernetes) never set it. Security time (token expiry,
rate limits, event timestamps) always uses the real clock.

Tests move time by patching a service's ``clock.now``; always call it as
``clock.now()`` so the patch is seen.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

ENV = "ALIADA_CLOCK_FILE"

_cache: tuple[str, int, int, float] | None = None  # (path, inode, mtime_ns, offset)


def offset(path: str | Path | None = None) -> float:
    """Seconds the simulation clock is ahead of the system clock (0 when off):
    the file ``path`` names, or else the one ``ALIADA_CLOCK_FILE`` names."""
    global _cache
    name = str(path) if path is not None else os.environ.get(ENV)
    if not name:
        return 0.0
    try:
        st = os.stat(name)
    except FileNotFoundError:
        return 0.0
    if _cache is not None and _cache[:3] == (name, st.st_ino, st.st_mtime_ns):
        return _cache[3]
    text = Path(name).read_text().strip()
    try:
        value = float(text) if text else 0.0
    except ValueError:
        raise RuntimeError(f"{ENV} names {name!r}, which does not hold a number of seconds") from None
    _cache = (name, st.st_ino, st.st_mtime_ns, value)
    return value


def now() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=offset())


def set_simulated_now(path: str | Path, when: datetime) -> None:
    """Move the simulation clock in ``path`` so that :func:`now` reads ``when``."""
    if when.tzinfo is None:
        raise ValueError("a simulated time must be timezone-aware")
    path = Path(path)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{(when - datetime.now(UTC)).total_seconds():.6f}\n")
    tmp.replace(path)  # atomic: a reader sees the old or the new offset, never half
