"""From questionnaires, participants data and settings to the engine's inputs.

A run's inputs are a *snapshot*: a plain JSON document stored with the run, so
the run can be explained, adjusted and re-run later on exactly the same data.
``engine_cohort`` and ``engine_settings`` turn a snapshot into engine objects.

Availability: each profile keeps her slots in her own time zone; the engine
gets them in UTC, converted on the first occurrence of each weekday on or after
the program's mentoring start (so daylight saving time is the one in force when
the meetings begin).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from servicekit import clock

from services.matching import domain
from services.matching.clients.participants import Membership, Participant, Program
from services.matching.enums import CURRENT, MENTOR_ROLES, Delivery, IdentityMatching, IdentityTrait, Mode
from services.matching.models import MatchingProfile
from services.matching.schemas.profiles import minutes
from services.matching.schemas.settings import SettingsUpdate

MODES = {"peer": Mode.peer, "group": Mode.group}


def anchor_date(program: Program) -> date:
    mentoring = program.phase("mentoring")
    return mentoring.starts_on if mentoring else clock.now().date()


def to_utc(slots: list[dict[str, Any]], timezone: str, anchor: date) -> list[tuple[int, int, int]]:
    """Local weekly slots → engine slots ``(weekday, start, end)`` in UTC."""
    zone = ZoneInfo(timezone)
    out = []
    for slot in slots:
        day = anchor + timedelta(days=(slot["weekday"] - anchor.weekday()) % 7)
        start, end = minutes(slot["start"]), minutes(slot["end"])
        local = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(minutes=start)
        utc = local.astimezone(UTC)
        begin = utc.hour * 60 + utc.minute
        out.append((utc.weekday(), begin, begin + (end - start)))
    return sorted(out)


def person(profile: MatchingProfile, participant: Participant | None, anchor: date) -> dict[str, Any]:
    pid = str(profile.participant_id)
    return {
        "id": pid,
        "account_id": profile.account_id,
        "role": profile.role,
        # A missing campus or unit never equals anyone else's.
        "campus_id": str(participant.campus_id) if participant and participant.campus_id else f"none:{pid}",
        "academic_unit_id": str(participant.academic_unit_id) if participant and participant.academic_unit_id else f"none:{pid}",
        "career_stage": participant.career_stage if participant else None,
        "objectives": sorted(profile.objectives),
        "expertise": sorted(profile.expertise),
        "interests": sorted(profile.interests),
        "languages": sorted(profile.languages),
        "timezone": profile.timezone,
        "availability_local": profile.availability,
        "availability": to_utc(profile.availability, profile.timezone, anchor),
        "delivery": profile.delivery,
        "capacity": profile.capacity,
        "willing_to_substitute": profile.willing_to_substitute,
        "requests": profile.requests,
        "identity_tags": [],
    }


def program_info(program: Program) -> dict[str, Any]:
    mentoring = program.phase("mentoring")
    return {
        "id": str(program.id),
        "institution_id": str(program.institution_id),
        "mode": program.mode,
        "delivery": program.delivery,
        "max_mentees_per_mentor": program.max_mentees_per_mentor,
        "meetings_count": program.meetings_count,
        "meeting_cadence": program.meeting_cadence,
        "feedback_deadline_hours": program.feedback_deadline_hours,
        "mentoring_starts_on": mentoring.starts_on.isoformat() if mentoring else None,
        "mentoring_ends_on": mentoring.ends_on.isoformat() if mentoring else None,
    }


def snapshot(
    program: Program,
    memberships: list[Membership],
    participants: dict[uuid.UUID, Participant],
    profiles: list[MatchingProfile],
    labels: dict[str, str],
    settings: SettingsUpdate,
    identity: dict[str, dict[str, Any]] | None,
) -> dict[str, Any]:
    """The run's inputs. ``identity``: consented identity data by participant id,
    or None when this service cannot read it."""
    anchor = anchor_date(program)
    current = {m.participant_id: m for m in memberships if m.status in CURRENT}
    by_participant = {p.participant_id: p for p in profiles}
    mentors, mentees = [], []
    for pid, membership in sorted(current.items(), key=lambda kv: str(kv[0])):
        profile = by_participant.get(pid)
        if profile is None:
            continue
        entry = person(profile, participants.get(pid), anchor)
        (mentors if membership.role in MENTOR_ROLES else mentees).append(entry)
    missing = sorted(str(pid) for pid in current if pid not in by_participant)
    requested = any((m["requests"] or {}).get("identity_match") for m in mentees)
    status = IdentityMatching.not_requested
    if requested:
        status = IdentityMatching.used if identity is not None else IdentityMatching.unavailable
    if identity is not None:
        for m in mentors:
            m["identity_tags"] = _tags(identity.get(m["id"]), None)
        for m in mentees:
            wanted = (m["requests"] or {}).get("identity_match") or []
            m["identity_match"] = _tags(identity.get(m["id"]), wanted)
    return {
        "program": program_info(program),
        "anchor": anchor.isoformat(),
        "labels": labels,
        "settings": settings.model_dump(mode="json"),
        "mentors": mentors,
        "mentees": mentees,
        "missing_profiles": missing,
        "identity_matching": status,
    }


def _tags(record: dict[str, Any] | None, wanted: list[str] | None) -> list[str]:
    if not record:
        return []
    traits = wanted if wanted is not None else list(IdentityTrait)
    return sorted(f"{t}:{record[t]}" for t in traits if record.get(t) is not None)


def _profile_kwargs(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": p["id"],
        "campus_id": p["campus_id"],
        "academic_unit_id": p["academic_unit_id"],
        "career_stage": p["career_stage"],
        "objectives": frozenset(p["objectives"]),
        "expertise": frozenset(p["expertise"]),
        "interests": frozenset(p["interests"]),
        "languages": frozenset(p["languages"]),
        "availability": tuple(tuple(s) for s in p["availability"]),
        "delivery": Delivery(p["delivery"]),
    }


def engine_cohort(snap: dict[str, Any]) -> domain.Cohort:
    mentors = [
        domain.Mentor(**_profile_kwargs(p), capacity=p["capacity"], identity_tags=frozenset(p["identity_tags"]))
        for p in snap["mentors"]
    ]
    mentees = []
    for p in snap["mentees"]:
        asked = p["requests"] or {}
        requests = None
        identity_match = frozenset(p.get("identity_match") or [])
        requested = asked.get("requested_mentor_participant_id")
        avoid = frozenset(asked.get("avoid_participant_ids") or [])
        if identity_match or requested or avoid:
            requests = domain.Requests(identity_match=identity_match, requested_mentor_id=requested, avoid_ids=avoid)
        mentees.append(domain.Mentee(**_profile_kwargs(p), requests=requests))
    return domain.Cohort(mentors=mentors, mentees=mentees, labels=snap["labels"])


def engine_settings(snap: dict[str, Any], settings: dict[str, Any] | None = None, extra_forbidden: list[tuple[str, str]] = ()) -> domain.Settings:  # type: ignore[assignment]
    body = SettingsUpdate.model_validate(settings or snap["settings"])
    mentor_ids = {p["id"] for p in snap["mentors"]}
    mentee_ids = {p["id"] for p in snap["mentees"]}

    def pairs(refs: Any) -> frozenset[domain.Pair]:
        found = {(str(r.mentee_participant_id), str(r.mentor_participant_id)) for r in refs}
        return frozenset(domain.Pair(a, b) for a, b in found if a in mentee_ids and b in mentor_ids)

    forbidden = pairs(body.forbidden_pairs) | frozenset(
        domain.Pair(a, b) for a, b in extra_forbidden if a in mentee_ids and b in mentor_ids
    )
    rules = domain.HardRules(
        different_campus=body.rules.different_campus,
        different_academic_unit=body.rules.different_academic_unit,
        shared_language=body.rules.shared_language,
        min_weekly_overlap_minutes=body.rules.min_weekly_overlap_minutes,
        mentor_capacity=body.rules.mentor_capacity,
        forbidden_pairs=forbidden,
        pinned_pairs=pairs(body.pinned_pairs) - forbidden,
    )
    weights = domain.Weights(**body.weights.model_dump())
    return domain.Settings(
        weights=weights,
        rules=rules,
        objective=body.objective,
        algorithm=body.algorithm,
        mode=MODES.get(snap["program"]["mode"], Mode.one_to_one),
        max_capacity=max(1, int(snap["program"]["max_mentees_per_mentor"])),
        availability_target_minutes=body.meeting_minutes,
    )


def report(snap: dict[str, Any], result: domain.MatchResult) -> dict[str, Any]:
    willing = {p["id"]: bool(p["willing_to_substitute"]) for p in snap["mentors"]}
    return {
        "mentors": len(snap["mentors"]),
        "mentees": result.mentees,
        "matched": result.matched,
        "total_score": round(result.total_score, 6),
        "mean_score": round(result.mean_score, 6),
        "min_score": round(result.min_score, 6),
        "blocking_pairs": result.blocking_pairs,
        "pairs": [
            {"mentee_participant_id": p.mentee_id, "mentor_participant_id": p.mentor_id, "score": round(p.score, 6), "pinned": p.pinned}
            for p in result.pairs
        ],
        "unmatched_mentees": [
            {
                "mentee_participant_id": u.mentee_id,
                "feasible_mentors": u.feasible_mentors,
                "reasons": list(u.reasons),
                "excluded_by": dict(u.excluded_by),
                "only_rule": dict(u.only_rule),
                "message": u.message,
            }
            for u in result.unmatched_mentees
        ],
        "substitutes": [
            {
                "rank": s.rank,
                "mentor_participant_id": s.mentor_id,
                "feasible_mentees": s.feasible_mentees,
                "mean_feasible_score": round(s.mean_feasible_score, 6),
                "willing": willing.get(s.mentor_id, False),
            }
            for s in result.substitutes
        ],
        "missing_profiles": snap["missing_profiles"],
        "identity_matching": snap["identity_matching"],
        "bound": {
            "exact": result.bound.exact,
            "matched_upper": result.bound.matched_upper,
            "score_upper": round(result.bound.score_upper, 6),
            "gap": round(result.bound.gap, 6),
            "relative_gap": round(result.bound.relative_gap, 6),
        },
    }


def member(snap: dict[str, Any], participant_id: str) -> dict[str, Any] | None:
    return next((p for p in (*snap["mentors"], *snap["mentees"]) if p["id"] == participant_id), None)


def activation_context(snap: dict[str, Any], program: dict[str, Any], mentee_id: str, mentor_id: str) -> dict[str, Any]:
    """What ``match.activated`` carries, fixed when the match is created."""

    def side(p: dict[str, Any]) -> dict[str, Any]:
        return {
            "participant_id": p["id"],
            "account_id": p["account_id"],
            "timezone": p["timezone"],
            "availability": p["availability_local"],
            "availability_utc": [{"weekday": w, "start_minute": s, "end_minute": e} for w, s, e in p["availability"]],
            "delivery": p["delivery"],
        }

    mentee, mentor = member(snap, mentee_id), member(snap, mentor_id)
    assert mentee is not None and mentor is not None
    preferred = mentee["delivery"] if mentee["delivery"] == mentor["delivery"] else Delivery.hybrid
    return {
        "mentee": side(mentee),
        "mentor": side(mentor),
        "preferred_delivery": preferred,
        "meetings": {
            "delivery": program["delivery"],
            "meetings_count": program["meetings_count"],
            "cadence": program["meeting_cadence"],
            "duration_minutes": SettingsUpdate.model_validate(snap["settings"]).meeting_minutes,
            "mentoring_starts_on": program["mentoring_starts_on"],
            "mentoring_ends_on": program["mentoring_ends_on"],
            "feedback_deadline_hours": program["feedback_deadline_hours"],
        },
    }
