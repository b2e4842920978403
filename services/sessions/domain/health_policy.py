"""Dyad health, its vocabulary and its policy: the signals, their kinds and units,
and the floors and ceilings a program may set (``HealthPolicy``). See ``health``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from .model import DomainError

ROLES = ("mentee", "mentor")
COUNTERPART = {"mentee": "mentor", "mentor": "mentee"}
DAY = 86400.0


class Health(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Health.GREEN: 0, Health.AMBER: 1, Health.RED: 2}


@dataclass(frozen=True)
class SignalInfo:
    kind: str
    """the kind of evidence: rapport, meetings, engagement or progress"""
    unit: str
    """the unit of the policy's floors and ceilings"""
    per_member: bool


SIGNALS: Mapping[str, SignalInfo] = {
    "rating_drop": SignalInfo("rapport", "points", True),
    "missed_streak": SignalInfo("meetings", "meetings", False),
    "meeting_gap": SignalInfo("meetings", "intervals", False),
    "reschedules": SignalInfo("meetings", "moves", False),
    "one_sided": SignalInfo("engagement", "meetings", True),
    "silence": SignalInfo("engagement", "intervals", True),
    "form_overdue": SignalInfo("engagement", "days", True),
    "progress_stalled": SignalInfo("progress", "intervals", False),
    "milestone_overdue": SignalInfo("progress", "days", False),
}
KINDS = ("rapport", "meetings", "engagement", "progress")


# -- the policy ----------------------------------------------------------------------------------------------------


class PolicyError(DomainError):
    """An inconsistent policy; ``problems`` lists each (dotted field, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems))


@dataclass(frozen=True)
class Level:
    """One level of one signal: it may warn from ``floor`` (when beyond the
    program's usual level) and always warns from ``ceiling``."""

    floor: float
    ceiling: float


@dataclass(frozen=True)
class Rule:
    """A signal's amber and red levels; ``None`` switches that level off.
    ``alone``: its amber flags a dyad by itself; when false, only together
    with a sign of another kind."""

    amber: Level | None = None
    red: Level | None = None
    alone: bool = True


@dataclass(frozen=True, kw_only=True)
class HealthPolicy:
    """A program's supervision policy. The defaults suit the pilots (12 weekly
    meetings, feedback due 48 h after a meeting) and were tuned on
    ``bench/supervision``; time-based signals are in meeting intervals, so
    they also suit biweekly or monthly meetings."""

    rating_drop: Rule = Rule(Level(0.75, 1.25), Level(1.5, 2.0))
    """points her ratings fell from her own earlier level"""
    missed_streak: Rule = Rule(Level(1, 1), Level(2, 2), alone=False)
    """consecutive meetings not held: one is common and counts only with another sign; two are always red"""
    meeting_gap: Rule = Rule(Level(2.5, 3.5), Level(3.5, 5.0))
    """meeting intervals since the last held meeting"""
    reschedules: Rule = Rule(Level(3, 5), None)
    """moves in the last ``recent_intervals`` meeting intervals"""
    one_sided: Rule = Rule(Level(2, 3), Level(3, 4))
    """held meetings in a row only her counterpart confirmed"""
    silence: Rule = Rule(Level(2.0, 3.0), Level(3.0, 4.5))
    """meeting intervals since her own last sign of life"""
    form_overdue: Rule = Rule(Level(10, 28), Level(21, 42))
    """days her oldest unsubmitted form is overdue"""
    progress_stalled: Rule = Rule(Level(5.0, 8.0), None, alone=False)
    """meeting intervals without progress on an open objective (common: it counts only with another sign)"""
    milestone_overdue: Rule = Rule(Level(14, 28), None)
    """days a milestone is not reported, from the first meeting on or after its date (at most one interval after it)"""
    confirmation_grace_hours: Level = Level(48, 168)
    """after a meeting's end, how long an unconfirmed meeting waits before it counts as not held:
    the program's usual confirmation delay, between these bounds"""
    rating_window: int = 6
    """her last N ratings are looked at"""
    min_ratings: int = 2
    """rating_drop needs at least this many of her ratings"""
    recent_ratings: int = 1
    """her recent level is the mean of her last N ratings (fewer while she has few)"""
    one_sided_habit: float = 0.75
    """one_sided is measured for a member who acknowledged (confirmed, or sent her form for) at least this share of
    the two or more held meetings before"""
    recent_intervals: float = 4.0
    """the window of ``reschedules``, in meeting intervals"""
    norm_fence: float = 1.5
    """the program's usual level: q3 + norm_fence * (q3 - q1)"""
    norm_far_fence: float = 3.0
    """the program's usual level for red: q3 + norm_far_fence * (q3 - q1)"""
    min_norm_sample: int = 8
    """a norm needs this many values (dyads, members, forms or milestones)"""
    red_when_kinds: int | None = 2
    """red when signs come from this many kinds of evidence, one of them amber by itself (None: never)"""
    default_interval_days: float = 7.0
    """the meeting interval of a dyad with fewer than two planned meetings"""

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise PolicyError(problems)

    def rule(self, signal: str) -> Rule:
        return getattr(self, signal)  # type: ignore[no-any-return]

    def problems(self) -> list[tuple[str, str]]:
        """Every inconsistency, as (dotted field, message)."""
        out: list[tuple[str, str]] = []

        def level(name: str, lv: Level | None) -> bool:
            if lv is None:
                return True
            if not (math.isfinite(lv.floor) and math.isfinite(lv.ceiling)) or lv.floor < 0:
                out.append((f"{name}.floor", "must be a finite number, not negative"))
            elif lv.ceiling < lv.floor:
                out.append((f"{name}.ceiling", f"must not be below the floor ({lv.floor:g})"))
            else:
                return True
            return False

        for signal in SIGNALS:
            rule = self.rule(signal)
            consistent = level(f"{signal}.amber", rule.amber) & level(f"{signal}.red", rule.red)
            if rule.amber and rule.red and consistent:
                if rule.red.floor < rule.amber.floor:
                    out.append((f"{signal}.red.floor", f"must not be below the amber floor ({rule.amber.floor:g})"))
                elif rule.red.ceiling < rule.amber.ceiling:
                    out.append((f"{signal}.red.ceiling", f"must not be below the amber ceiling ({rule.amber.ceiling:g})"))
        level("confirmation_grace_hours", self.confirmation_grace_hours)
        for name in ("rating_window", "min_ratings"):
            if getattr(self, name) < 2:
                out.append((name, "must be at least 2"))
        if self.min_ratings > self.rating_window:
            out.append(("min_ratings", f"must not exceed rating_window ({self.rating_window})"))
        if not 1 <= self.recent_ratings < max(self.min_ratings, 2):
            out.append(("recent_ratings", f"must be at least 1 and below min_ratings ({self.min_ratings})"))
        for name in ("recent_intervals", "default_interval_days"):
            if not getattr(self, name) > 0:
                out.append((name, "must be positive"))
        if not 0 <= self.norm_fence <= self.norm_far_fence:
            out.append(("norm_far_fence", f"must be at least norm_fence ({self.norm_fence:g}), which must not be negative"))
        if self.min_norm_sample < 4:
            out.append(("min_norm_sample", "must be at least 4 (quartiles need values)"))
        if self.red_when_kinds is not None and not 2 <= self.red_when_kinds <= len(KINDS):
            out.append(("red_when_kinds", f"must be between 2 and {len(KINDS)}, or null"))
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HealthPolicy:
        """A policy from its ``to_dict`` form; omitted fields keep the defaults,
        an unknown field is an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PolicyError([(name, "not a field of the policy") for name in unknown])
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in SIGNALS:
                value = Rule(*(None if value.get(lv) is None else Level(**value[lv]) for lv in ("amber", "red")),
                             alone=bool(value.get("alone", True)))
            elif name == "confirmation_grace_hours":
                value = Level(**value)
            values[name] = value
        return cls(**values)
