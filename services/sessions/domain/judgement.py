"""Dyad health: the judgment of one dyad's signals against the policy and the
program's norms (green, amber or red, with every reason in plain words), and
the ranking of a program's dyads. See ``health``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from .health import Signals, measure
from .health_policy import COUNTERPART, KINDS, SIGNALS, Health, HealthPolicy, Level
from .model import DyadActivity, require_aware
from .norms import ProgramNorms, observe

# -- the judgment --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """One signal that flagged the dyad: its value, the threshold that applied
    (``value <comparison> threshold`` held), the program's usual level when it
    has a norm, in ``unit``; ``member`` names the member by role when the sign
    is hers alone."""

    signal: str
    kind: str
    level: Health
    member: str | None
    value: float
    threshold: float
    comparison: str
    norm: float | None
    unit: str
    message: str


@dataclass(frozen=True)
class DyadHealth:
    dyad_id: str
    status: Health
    reasons: tuple[Reason, ...]
    signals: Signals
    summary: str
    at: datetime

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of evidence among the reasons, in the order of ``KINDS``."""
        present = {r.kind for r in self.reasons}
        return tuple(k for k in KINDS if k in present)


def _threshold(level: Level, usual: float | None) -> tuple[float, str]:
    """The value a signal must reach: the floor, raised to the program's usual
    level (to be passed), never above the ceiling; the ceiling alone without a norm."""
    if usual is None or usual >= level.ceiling:
        return level.ceiling, ">="
    if usual < level.floor:
        return level.floor, ">="
    return usual, ">"


def _reached(value: float, threshold: float, comparison: str) -> bool:
    return value > threshold if comparison == ">" else value >= threshold


_WHO = {"mentee": "the mentee", "mentor": "the mentor"}


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def _plural(n: float, one: str, many: str) -> str:
    return f"{_fmt(n)} {one if abs(n - 1) < 1e-9 else many}"


def _describe(signal: str, member: str | None, s: Signals, shown: float) -> str:
    who = _WHO.get(member or "", "")
    if signal == "rating_drop":
        return f"{who.capitalize()}'s ratings of her {COUNTERPART[member or 'mentee']} fell by {shown:.2f} points from her own earlier level"
    if signal == "missed_streak":
        return f"The last {_plural(shown, 'meeting was', 'meetings were')} not held (cancelled, missed or never confirmed)"
    if signal == "meeting_gap":
        return (f"No meeting held for {_plural(shown, 'day', 'days')} (the dyad meets every "
                f"{_plural(s.interval_days, 'day', 'days')})")
    if signal == "reschedules":
        return f"Meetings were moved on {_plural(shown, 'day', 'days')} in the last {_fmt(s.interval_days * 4)} days"
    if signal == "one_sided":
        return (f"{who.capitalize()} has neither confirmed nor sent a form for the last "
                f"{_plural(shown, 'held meeting', 'held meetings')}; her {COUNTERPART[member or 'mentee']} confirmed them")
    if signal == "silence":
        if member is None:
            return f"Neither member has been active for {_plural(shown, 'day', 'days')}"
        other = COUNTERPART[member]
        other_days = s.silence_days.get(other)
        tail = f" while her {other} was active {_plural(other_days, 'day', 'days')} ago" if other_days is not None else ""
        return f"{who.capitalize()} has not been active for {_plural(shown, 'day', 'days')}{tail}"
    if signal == "form_overdue":
        return f"{who.capitalize()}'s feedback form is {_plural(shown, 'day', 'days')} overdue"
    if signal == "progress_stalled":
        return f"No progress recorded on an open objective for {_plural(shown, 'day', 'days')}"
    return f"A milestone is {_plural(shown, 'day', 'days')} late and not reported (counted from the first meeting after its date)"


def _why(level: Health, threshold: float, comparison: str, usual: float | None, ceiling: float, unit: str) -> str:
    """Why this threshold applied, in the reason's unit."""
    u = "" if unit == "points" else f" {unit}"
    if comparison == ">":
        return f"{level.value}: beyond this program's usual level of {_fmt(usual or 0.0)}{u}"
    if usual is None:
        return f"{level.value} from {_fmt(threshold)}{u}; no program norm yet"
    if usual >= ceiling:
        return f"{level.value} from {_fmt(threshold)}{u} whatever is usual in this program"
    return f"{level.value} from {_fmt(threshold)}{u}; usual in this program up to {_fmt(usual)}{u}"


def judge(dyad_id: str, s: Signals, now: datetime, policy: HealthPolicy, norms: ProgramNorms) -> DyadHealth:
    """Compare one dyad's signals with the policy and the program's norms."""
    reasons: list[Reason] = []
    for signal, info in SIGNALS.items():
        rule = policy.rule(signal)
        values = s.values(signal)
        if not values or (rule.amber is None and rule.red is None):
            continue
        norm = norms.signals.get(signal)
        found: dict[str | None, tuple[Health, float, float, str, float | None, float]] = {}
        for member, value in values.items():
            for level, lv, usual in ((Health.RED, rule.red, norm.far if norm else None),
                                     (Health.AMBER, rule.amber, norm.usual if norm else None)):
                if lv is None:
                    continue
                threshold, comparison = _threshold(lv, usual)
                if _reached(value, threshold, comparison):
                    found[member] = (level, value, threshold, comparison, usual, lv.ceiling)
                    break
        if signal == "silence" and len(found) == 2:  # both silent: one sign of the dyad, at the milder level
            mild = min(found.values(), key=lambda f: (f[0].severity, f[1]))
            found = {None: mild}
        # Values in intervals are shown in days of this dyad.
        scale = s.interval_days if info.unit == "intervals" else 1.0
        unit = "days" if info.unit == "intervals" else info.unit
        for member, (level, value, threshold, comparison, usual, ceiling) in found.items():
            shown_usual = None if usual is None else usual * scale
            why = _why(level, threshold * scale, comparison, shown_usual, ceiling * scale, unit)
            reasons.append(Reason(
                signal=signal, kind=info.kind, level=level, member=member, value=value * scale, threshold=threshold * scale,
                comparison=comparison, norm=shown_usual, unit=unit,
                message=f"{_describe(signal, member, s, value * scale)} ({why}).",
            ))
    reasons.sort(key=lambda r: (-r.level.severity, KINDS.index(r.kind)))
    kinds = [k for k in KINDS if any(r.kind == k for r in reasons)]
    strong = any(r.level is Health.AMBER and policy.rule(r.signal).alone for r in reasons)
    red = [r for r in reasons if r.level is Health.RED]
    if red:
        status = Health.RED
        summary = "Act now: " + "; ".join(_LABEL[r.signal] for r in red) + "."
    elif strong and policy.red_when_kinds is not None and len(kinds) >= policy.red_when_kinds:
        status = Health.RED
        summary = f"Act now: warning signs of {len(kinds)} kinds at once ({', '.join(kinds)})."
    elif strong or len(kinds) >= 2:
        status = Health.AMBER
        summary = "Watch: " + "; ".join(_LABEL[r.signal] for r in reasons) + "."
    else:  # a common sign alone: it counts only together with another
        status, summary, reasons = Health.GREEN, "Nothing unusual.", []
    return DyadHealth(dyad_id=dyad_id, status=status, reasons=tuple(reasons), signals=s, summary=summary, at=now)


_LABEL = {
    "rating_drop": "ratings falling", "missed_streak": "meetings not held", "meeting_gap": "no recent meeting",
    "reschedules": "meetings moved again and again", "one_sided": "one member stopped confirming",
    "silence": "silence", "form_overdue": "a feedback form long overdue", "progress_stalled": "objectives stalled",
    "milestone_overdue": "a milestone long overdue",
}


def assess(activity: DyadActivity, now: datetime, policy: HealthPolicy | None = None,
           norms: ProgramNorms | None = None) -> DyadHealth:
    """One dyad's health at ``now``, from what existed then, judged against the
    program's norms (``None``: no norm, every signal against its ceiling)."""
    require_aware(now, "now")
    policy = policy or HealthPolicy()
    norms = norms or ProgramNorms.none(now, policy)
    seen = activity.as_of(now)
    return judge(activity.dyad_id, measure(seen, now, policy, norms.confirmation_grace_hours), now, policy, norms)


def assess_cohort(activities: Iterable[DyadActivity], now: datetime,
                  policy: HealthPolicy | None = None) -> tuple[ProgramNorms, list[DyadHealth]]:
    """Every dyad active at ``now``: the program's norms first, then each dyad
    judged against them (in the order given)."""
    policy = policy or HealthPolicy()
    cohort = observe(activities, now, policy)
    return cohort.norms, [judge(a.dyad_id, s, now, policy, cohort.norms) for a, s in zip(cohort.activities, cohort.signals, strict=True)]


def rank_key_of(status: Health, reasons: Sequence[Reason], dyad_id: str) -> tuple[int, int, int, int, float, str]:
    """The ranking key of a dyad's colour and reasons (see ``rank_dyads``)."""
    kinds = len({r.kind for r in reasons})
    red = sum(1 for r in reasons if r.level is Health.RED)
    excess = max((r.value / r.threshold if r.threshold else r.value for r in reasons), default=0.0)
    return (-status.severity, -kinds, -red, -len(reasons), -excess, dyad_id)


def rank_key(h: DyadHealth) -> tuple[int, int, int, int, float, str]:
    return rank_key_of(h.status, h.reasons, h.dyad_id)


def rank_dyads(healths: Iterable[DyadHealth]) -> list[DyadHealth]:
    """Worst first: red, amber, green; then more kinds of evidence, more red
    reasons, more reasons, the value furthest beyond its threshold; then dyad id."""
    return sorted(healths, key=rank_key)


def at_risk(healths: Iterable[DyadHealth]) -> list[DyadHealth]:
    """The dyads that are not green, worst first (the coordinator's view)."""
    return [h for h in rank_dyads(healths) if h.status is not Health.GREEN]
