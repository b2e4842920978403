"""The coordinator's weekly digest: what changed in a program since a week ago.

Both moments are assessed on the same data (``health.assess_cohort`` at
``since`` and at ``as_of``, each with the program's norms at that moment), so
nothing needs to be stored:

* **new flags**: green (or not yet active) a week ago, amber or red now;
* **escalations**: amber a week ago, red now;
* **recoveries**: amber or red a week ago, green now;
* **eased**: red a week ago, amber now;
* **ended**: active a week ago, completed or dissolved since;
* **without a meeting**: active now, a meeting was planned in the window
  (at its planned or its current time) and none was held in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .health_policy import Health, HealthPolicy
from .judgement import DyadHealth, assess_cohort, rank_key
from .model import DomainError, DyadActivity, MeetingStatus, require_aware
from .norms import ProgramNorms

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Change:
    """One dyad whose colour changed: ``before`` is ``None`` when it was not active then.
    ``health`` is its assessment now (a recovery: the assessment then, with its reasons)."""

    dyad_id: str
    before: Health | None
    now: Health
    health: DyadHealth


@dataclass(frozen=True)
class Unmet:
    """An active dyad that held no meeting in the window although one was planned in it."""

    dyad_id: str
    planned: int
    """meetings planned in the window (at their planned or current time)"""
    last_held: datetime | None
    """the start of its last held meeting, if any"""


@dataclass(frozen=True)
class Digest:
    since: datetime
    as_of: datetime
    active: int
    flagged: int
    red: int
    new_flags: tuple[Change, ...]
    escalations: tuple[Change, ...]
    recoveries: tuple[Change, ...]
    eased: tuple[Change, ...]
    ended: tuple[DyadHealth, ...]
    """each as it was assessed a week before"""
    without_meeting: tuple[Unmet, ...]
    norms: ProgramNorms


def _unmet(activity: DyadActivity, since: datetime, now: datetime) -> Unmet | None:
    seen = activity.as_of(now)
    planned = [m for m in seen.meetings if since < m.planned_start <= now or since < m.start <= now]
    if not planned:
        return None
    held = [m.start for m in seen.meetings if m.status is MeetingStatus.HELD]
    if any(since < start <= now for start in held):
        return None
    return Unmet(activity.dyad_id, len(planned), max(held, default=None))


def weekly_digest(activities: Iterable[DyadActivity], as_of: datetime, policy: HealthPolicy | None = None,
                  window: timedelta = WEEK) -> Digest:
    """What changed in the program between ``as_of - window`` and ``as_of``."""
    require_aware(as_of, "as_of")
    if window <= timedelta(0):
        raise DomainError("the digest's window must be positive")
    policy = policy or HealthPolicy()
    every = list(activities)
    since = as_of - window
    _, then = assess_cohort(every, since, policy)
    norms, current = assess_cohort(every, as_of, policy)
    before = {h.dyad_id: h for h in then}
    now = {h.dyad_id: h for h in current}
    new_flags: list[Change] = []
    escalations: list[Change] = []
    recoveries: list[Change] = []
    eased: list[Change] = []
    for h in current:
        old = before.get(h.dyad_id)
        was = old.status if old else None
        if h.status is not Health.GREEN and (was is None or was is Health.GREEN):
            new_flags.append(Change(h.dyad_id, was, h.status, h))
        elif h.status is Health.RED and was is Health.AMBER:
            escalations.append(Change(h.dyad_id, was, h.status, h))
        elif h.status is Health.GREEN and old is not None and was is not Health.GREEN:
            recoveries.append(Change(h.dyad_id, was, h.status, old))
        elif h.status is Health.AMBER and was is Health.RED:
            eased.append(Change(h.dyad_id, was, h.status, h))
    ended = [old for old in then if old.dyad_id not in now]
    unmet = [u for a in every if a.dyad_id in now and (u := _unmet(a, since, as_of)) is not None]

    def ordered(changes: list[Change]) -> tuple[Change, ...]:
        return tuple(sorted(changes, key=lambda c: rank_key(c.health)))

    return Digest(
        since=since, as_of=as_of, active=len(current), flagged=sum(1 for h in current if h.status is not Health.GREEN),
        red=sum(1 for h in current if h.status is Health.RED), new_flags=ordered(new_flags),
        escalations=ordered(escalations), recoveries=ordered(recoveries), eased=ordered(eased), ended=tuple(sorted(ended, key=rank_key)),
        without_meeting=tuple(sorted(unmet, key=lambda u: (u.last_held is not None, u.last_held or as_of, u.dyad_id))),
        norms=norms,
    )
