"""Program statistics from the meetings, the feedback forms and the objectives'
achievement (see README.md for the definitions in words).

* held rate = held / planned; reschedule, cancellation and no-show rates are
  over planned too. Planned = the program's meetings whose planned start is at
  or before ``now`` (all of them when ``now`` is not given).
* on-time rate = forms submitted on time / forms due (due by ``now``, or
  already submitted); forms due and not submitted count against it.
* delays: each late form's delay in whole days (``deadlines.delay_days``),
  counted in bins 1, 2, ... 13 and "14+".
* in-person meetings per dyad: held meetings whose modality is in person.
* achievement: means of verified (confirmed milestones, over the objectives
  that have milestones), self-reported (over the objectives with progress),
  mentee-perceived and mentor-perceived achievement, and of the gaps between
  perceived and verified.
* rapport of a dyad: the mean rating each member gave her counterpart over her
  submitted forms, and the mean of the two.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean, median

from .deadlines import delay_days
from .model import DomainError, FeedbackForm, Meeting, MeetingStatus, Modality, require_aware
from .smart import AchievementComparison

DELAY_BINS = 14
"""Delay histogram bins: 1 to 13 days, then "14+"."""

IN_PERSON_RAPPORT_THRESHOLD = 2
"""The pilots: pairs that met in person more than twice had better rapport."""


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


@dataclass(frozen=True)
class MeetingStats:
    planned: int
    held: int
    rescheduled: int
    cancelled: int
    no_show: int
    held_rate: float | None
    reschedule_rate: float | None
    cancellation_rate: float | None
    no_show_rate: float | None


@dataclass(frozen=True)
class DelayBin:
    days: int
    label: str
    count: int


@dataclass(frozen=True)
class FeedbackStats:
    """``due``: forms due by now or already submitted; ``unsubmitted``: due and
    not submitted; ``late``: submitted after the due instant."""

    due: int
    submitted: int
    on_time: int
    late: int
    unsubmitted: int
    on_time_rate: float | None
    delays: tuple[DelayBin, ...]
    mean_delay_days: float | None
    median_delay_days: float | None
    max_delay_days: int | None


@dataclass(frozen=True)
class InPersonStats:
    """Held in-person meetings of every dyad that has a meeting."""

    per_dyad: Mapping[str, int]
    mean_per_dyad: float | None
    dyads_over_threshold: int
    threshold: int


@dataclass(frozen=True)
class AchievementSummary:
    """Means over objectives (percentages; gaps in points), each over the
    objectives where that value exists. ``with_milestones`` counts objectives
    that can be verified; ``compared`` those rated by both members;
    ``mentee_more_optimistic`` those where the mentee rated higher than the
    mentor."""

    objectives: int
    with_milestones: int
    verified_mean: float | None
    self_reported_mean: float | None
    mentee_mean: float | None
    mentor_mean: float | None
    mentee_vs_verified_mean: float | None
    mentor_vs_verified_mean: float | None
    mentee_vs_mentor_mean: float | None
    compared: int
    mentee_more_optimistic: int


@dataclass(frozen=True)
class Rapport:
    """How the two members of one dyad rate each other: the mean of the ratings
    (1-5) each gave her counterpart over her submitted, rated forms; ``mean`` is
    the mean of the two when both exist, else the one that exists.
    ``forms_rated`` counts the forms behind them (both members)."""

    mentee_rates_mentor: float | None
    mentor_rates_mentee: float | None
    mean: float | None
    forms_rated: int


@dataclass(frozen=True)
class ProgramStats:
    meetings: MeetingStats
    feedback: FeedbackStats
    in_person: InPersonStats
    achievement: AchievementSummary


def meeting_stats(meetings: Iterable[Meeting], now: datetime | None = None) -> MeetingStats:
    planned = [m for m in meetings if now is None or m.planned_start <= now]
    count = Counter(m.status for m in planned)
    rescheduled = sum(1 for m in planned if m.was_rescheduled)
    n = len(planned)
    return MeetingStats(
        planned=n,
        held=count[MeetingStatus.HELD],
        rescheduled=rescheduled,
        cancelled=count[MeetingStatus.CANCELLED],
        no_show=count[MeetingStatus.NO_SHOW],
        held_rate=_rate(count[MeetingStatus.HELD], n),
        reschedule_rate=_rate(rescheduled, n),
        cancellation_rate=_rate(count[MeetingStatus.CANCELLED], n),
        no_show_rate=_rate(count[MeetingStatus.NO_SHOW], n),
    )


def delay_histogram(delays: Iterable[int]) -> tuple[DelayBin, ...]:
    """Counts of delays (whole days, >= 1) in bins 1..13 and "14+"."""
    counts = Counter(min(d, DELAY_BINS) for d in delays if d >= 1)
    return tuple(
        DelayBin(days, f"{days}+" if days == DELAY_BINS else str(days), counts[days])
        for days in range(1, DELAY_BINS + 1)
    )


def feedback_stats(forms: Iterable[FeedbackForm], now: datetime | None = None) -> FeedbackStats:
    due = [f for f in forms if now is None or f.submitted_at is not None or f.due <= now]
    submitted = [f for f in due if f.submitted_at is not None]
    delays = [delay_days(f.due, f.submitted_at) for f in submitted if f.submitted_at is not None]
    late = [d for d in delays if d > 0]
    on_time = len(delays) - len(late)
    return FeedbackStats(
        due=len(due),
        submitted=len(submitted),
        on_time=on_time,
        late=len(late),
        unsubmitted=len(due) - len(submitted),
        on_time_rate=_rate(on_time, len(due)),
        delays=delay_histogram(late),
        mean_delay_days=fmean(late) if late else None,
        median_delay_days=float(median(late)) if late else None,
        max_delay_days=max(late) if late else None,
    )


def in_person_stats(meetings: Iterable[Meeting], threshold: int = IN_PERSON_RAPPORT_THRESHOLD) -> InPersonStats:
    per_dyad: dict[str, int] = {}
    for m in meetings:
        held_in_person = m.status is MeetingStatus.HELD and m.modality is Modality.IN_PERSON
        per_dyad[m.dyad_id] = per_dyad.get(m.dyad_id, 0) + int(held_in_person)
    ordered = dict(sorted(per_dyad.items()))
    return InPersonStats(
        per_dyad=ordered,
        mean_per_dyad=fmean(ordered.values()) if ordered else None,
        dyads_over_threshold=sum(1 for v in ordered.values() if v > threshold),
        threshold=threshold,
    )


def achievement_summary(comparisons: Iterable[AchievementComparison]) -> AchievementSummary:
    items = list(comparisons)
    both = [c for c in items if c.mentee is not None and c.mentor is not None]
    return AchievementSummary(
        objectives=len(items),
        with_milestones=sum(1 for c in items if c.verified is not None),
        verified_mean=_mean(c.verified for c in items),
        self_reported_mean=_mean(c.self_reported for c in items),
        mentee_mean=_mean(c.mentee for c in items),
        mentor_mean=_mean(c.mentor for c in items),
        mentee_vs_verified_mean=_mean(c.mentee_vs_verified for c in items),
        mentor_vs_verified_mean=_mean(c.mentor_vs_verified for c in items),
        mentee_vs_mentor_mean=_mean(c.mentee_vs_mentor for c in items),
        compared=len(both),
        mentee_more_optimistic=sum(1 for c in both if c.mentee is not None and c.mentor is not None and c.mentee > c.mentor),
    )


def dyad_rapport(forms: Iterable[FeedbackForm]) -> Rapport:
    """One dyad's rapport from its forms (each must say its ``respondent_role``)."""
    given: dict[str, list[float]] = {"mentee": [], "mentor": []}
    for f in forms:
        if f.submitted_at is None or f.rating is None:
            continue
        if f.respondent_role not in given:
            raise DomainError(f"form for meeting {f.meeting_id}: respondent_role must be mentee or mentor, got {f.respondent_role!r}")
        given[f.respondent_role].append(f.rating)
    mentee, mentor = _mean(given["mentee"]), _mean(given["mentor"])
    return Rapport(mentee_rates_mentor=mentee, mentor_rates_mentee=mentor, mean=_mean((mentee, mentor)),
                   forms_rated=len(given["mentee"]) + len(given["mentor"]))


def program_stats(
    meetings: Iterable[Meeting],
    forms: Iterable[FeedbackForm],
    achievements: Iterable[AchievementComparison] = (),
    now: datetime | None = None,
) -> ProgramStats:
    """All the program's statistics at ``now`` (or over everything when ``None``)."""
    if now is not None:
        require_aware(now, "now")
    meeting_list = list(meetings)
    return ProgramStats(
        meetings=meeting_stats(meeting_list, now),
        feedback=feedback_stats(forms, now),
        in_person=in_person_stats(m for m in meeting_list if now is None or m.planned_start <= now),
        achievement=achievement_summary(achievements),
    )
