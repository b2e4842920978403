"""bench/soak's locust users: bench/load's people, imported unchanged, plus a
request hook that keeps each minute's figures (read by ``locust -f``).

Minutes are counted from the moment every user has started (locust's
``spawning_complete``); what came before is the ramp (minute 0). Per minute:
requests, their statuses (0: the connection failed or was cut), the failures
by group and message (as the load model marks them), p50 and p99 of the
response times. Each time a minute ends, every finished minute is
written as JSON to the file named by ``ALIADA_SOAK_MINUTES`` (and all of
them, the last partial one included, when locust quits).
"""

from __future__ import annotations

import collections
import json
import os
import time
from pathlib import Path
from typing import Any

from locust import events

# The users locust runs: the load model itself (bench/load/locustfile.py).
from bench.load.locustfile import Coordinator, Evaluator, Lms, Mentee, Mentor  # noqa: F401

OUT = Path(os.environ["ALIADA_SOAK_MINUTES"])
_started: list[float] = []
_minutes: dict[int, dict[str, Any]] = {}
_written: list[int] = [0]


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest rank."""
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _summary(minute: int) -> dict[str, Any]:
    m = _minutes[minute]
    ordered = sorted(m["times"])
    return {"minute": minute, "requests": len(ordered), "statuses": dict(m["statuses"]),
        "failures": dict(m["failures"]),
            "p50": _percentile(ordered, 50), "p99": _percentile(ordered, 99)}  # fmt: skip


def _write(upto: int) -> None:
    OUT.write_text(
        json.dumps([_summary(k) for k in sorted(_minutes) if k < upto]),
        encoding="utf-8",
    )
    _written[0] = upto


@events.spawning_complete.add_listener
def _spawned(user_count: int, **_: Any) -> None:
    if not _started:
        _started.append(time.monotonic())


@events.request.add_listener
def _request(
    name: str,
    response_time: float,
    response: Any = None,
    exception: Any = None,
    **_: Any,
) -> None:
    minute = 0 if not _started else 1 + int((time.monotonic() - _started[0]) // 60)
    m = _minutes.setdefault(
        minute,
        {
            "times": [],
            "statuses": collections.Counter(),
            "failures": collections.Counter(),
        },
    )
    m["times"].append(response_time)
    status = str(getattr(response, "status_code", 0) or 0)
    m["statuses"][status] += 1
    if (
        exception is not None
    ):  # what the load model counts as a failure (bench/load/locustfile.py)
        m["failures"][f"{name} | {str(exception)[:80]}"] += 1
    if minute > _written[0]:  # a minute began: the ones before it are finished
        _write(minute)


@events.quitting.add_listener
def _quitting(**_: Any) -> None:
    # Everything, the minute cut short by the end included (__main__ reports only whole minutes, but counts its 5xx).
    _write(max(_minutes, default=0) + 1)
