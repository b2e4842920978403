"""When to try a delivery again."""

from __future__ import annotations

from datetime import timedelta


def backoff(attempt: int, base_seconds: float, cap_seconds: float) -> timedelta:
    """The wait after the ``attempt``-th failure (1-based): min(cap, base * 2**(attempt-1))."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempt - 1)))


def temporary(smtp_code: int | None) -> bool:
    """A 4xx SMTP reply (or no reply at all: the server could not be reached) may succeed later; a 5xx never will."""
    return smtp_code is None or 400 <= smtp_code < 500
