"""A run's inputs: the one shape between participants' data and the domain.

A run keeps its inputs as a snapshot (``matching_runs.inputs``), so it can be
explained, adjusted and run again later on exactly the same data. ``take``
builds one from participants' data, the questionnaires and the settings;
``Snapshot.cohort`` and ``Snapshot.rules`` give the domain its inputs.

Availability: each profile keeps her slots in her own time zone; the domain
gets them in UTC, converted on the first occurrence of each weekday on or after
the program's mentoring start (so daylight saving time is the one in force when
the meetings begin).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from servicekit import clock

from services.matching import domain
from services.matching.clients.participants import IdentityRecord, Membership, Participant, Program
from services.matching.enums import CURRENT, MENTOR_ROLES, Delivery, IdentityMatching, IdentityTrait, Mode, Role
from services.matching.models import MatchingProfile
from services.matching.schemas.profiles import Requests, Slot, minutes
from services.matching.schemas.settings import SettingsUpdate

MODES = {"peer": Mode.peer, "group": Mode.group}


class _Stored(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    def stored(self) -> dict[str, Any]:
        """The JSON stored with the run."""
        return self.model_dump(mode="json")


class Member(_Stored):
    """One person of the run, as her questionnaire and participants gave her."""

    id: str
    account_id: str
    role: Role
    campus_id: str
    academic_unit_id: str
    career_stage: str | None
    objectives: list[str]
    expertise: list[str]
    interests: list[str]
    languages: list[str]
    timezone: str
    availability_local: list[Slot]
    availability: list[tuple[int, int, int]]
    delivery: Delivery
    capacity: int
    willing_to_substitute: bool
    requests: Requests | None
    identity_tags: list[str]
    # Mentees, when identity data was read: the traits she asked for that she has (else left out).
    identity_match: list[str] | None = None

    @model_serializer(mode="wrap")
    def _identity_match_left_out_when_unread(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if self.identity_match is None:
            data.pop("identity_match", None)
        return data

    def profile(self) -> dict[str, Any]:
        """What the domain's mentors and mentees share."""
        return {
            "id": self.id,
            "campus_id": self.campus_id,
            "academic_unit_id": self.academic_unit_id,
            "career_stage": self.career_stage,
            "objectives": frozenset(self.objectives),
            "expertise": frozenset(self.expertise),
            "interests": frozenset(self.interests),
            "languages": frozenset(self.languages),
            "availability": tuple(self.availability),
            "delivery": self.delivery,
        }

    def mentor(self) -> domain.Mentor:
        return domain.Mentor(**self.profile(), capacity=self.capacity, identity_tags=frozenset(self.identity_tags))

    def mentee(self) -> domain.Mentee:
        asked = self.requests
        identity_match = frozenset(self.identity_match or [])
        requested = str(asked.requested_mentor_participant_id) if asked and asked.requested_mentor_participant_id else None
        avoid = frozenset(str(a) for a in asked.avoid_participant_ids) if asked else frozenset()
        requests = None
        if identity_match or requested or avoid:
            requests = domain.Requests(identity_match=identity_match, requested_mentor_id=requested, avoid_ids=avoid)
        return domain.Mentee(**self.profile(), requests=requests)


class ProgramInfo(_Stored):
    """The program as participants gave it, with its mentoring dates."""

    id: uuid.UUID
    institution_id: uuid.UUID
    mode: str
    delivery: str
    max_mentees_per_mentor: int
    meetings_count: int
    meeting_cadence: str
    feedback_deadline_hours: int
    mentoring_starts_on: date | None
    mentoring_ends_on: date | None

    @classmethod
    def of(cls, program: Program) -> ProgramInfo:
        mentoring = program.phase("mentoring")
        return cls(
            id=program.id,
            institution_id=program.institution_id,
            mode=program.mode,
            delivery=program.delivery,
            max_mentees_per_mentor=program.max_mentees_per_mentor,
            meetings_count=program.meetings_count,
            meeting_cadence=program.meeting_cadence,
            feedback_deadline_hours=program.feedback_deadline_hours,
            mentoring_starts_on=mentoring.starts_on if mentoring else None,
            mentoring_ends_on=mentoring.ends_on if mentoring else None,
        )


class Snapshot(_Stored):
    program: ProgramInfo
    anchor: date
    labels: dict[str, str]
    settings: SettingsUpdate
    mentors: list[Member]
    mentees: list[Member]
    missing_profiles: list[str]
    identity_matching: IdentityMatching

    def member(self, participant_id: str) -> Member | None:
        return next((p for p in (*self.mentors, *self.mentees) if p.id == participant_id), None)

    def cohort(self) -> domain.Cohort:
        return domain.Cohort(
            mentors=[m.mentor() for m in self.mentors], mentees=[m.mentee() for m in self.mentees], labels=self.labels
        )

    def rules(self, settings: SettingsUpdate | None = None, also_forbidden: Iterable[tuple[str, str]] = ()) -> domain.Settings:
        """The domain's settings: the snapshot's own, or ``settings`` (the program's now); pairs that
        name someone outside the snapshot are left out."""
        body = settings or self.settings
        mentor_ids = {p.id for p in self.mentors}
        mentee_ids = {p.id for p in self.mentees}

        def pairs(found: Iterable[tuple[str, str]]) -> frozenset[domain.Pair]:
            return frozenset(domain.Pair(a, b) for a, b in found if a in mentee_ids and b in mentor_ids)

        def refs(given: Iterable[Any]) -> set[tuple[str, str]]:
            return {(str(r.mentee_participant_id), str(r.mentor_participant_id)) for r in given}

        forbidden = pairs(refs(body.forbidden_pairs)) | pairs(also_forbidden)
        rules = domain.HardRules(
            different_campus=body.rules.different_campus,
            different_academic_unit=body.rules.different_academic_unit,
            shared_language=body.rules.shared_language,
            min_weekly_overlap_minutes=body.rules.min_weekly_overlap_minutes,
            mentor_capacity=body.rules.mentor_capacity,
            forbidden_pairs=forbidden,
            pinned_pairs=pairs(refs(body.pinned_pairs)) - forbidden,
        )
        return domain.Settings(
            weights=domain.Weights(**body.weights.model_dump()),
            rules=rules,
            objective=body.objective,
            algorithm=body.algorithm,
            mode=MODES.get(self.program.mode, Mode.one_to_one),
            max_capacity=max(1, self.program.max_mentees_per_mentor),
            availability_target_minutes=body.meeting_minutes,
        )


def anchor_date(program: Program) -> date:
    mentoring = program.phase("mentoring")
    return mentoring.starts_on if mentoring else clock.now().date()


def to_utc(slots: Iterable[Slot], timezone: str, anchor: date) -> list[tuple[int, int, int]]:
    """Local weekly slots → the domain's slots ``(weekday, start, end)`` in UTC."""
    zone = ZoneInfo(timezone)
    out = []
    for slot in slots:
        day = anchor + timedelta(days=(slot.weekday - anchor.weekday()) % 7)
        start, end = minutes(slot.start), minutes(slot.end)
        local = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(minutes=start)
        utc = local.astimezone(UTC)
        begin = utc.hour * 60 + utc.minute
        out.append((utc.weekday(), begin, begin + (end - start)))
    return sorted(out)


def _member(profile: MatchingProfile, participant: Participant | None, anchor: date) -> Member:
    pid = str(profile.participant_id)
    slots = [Slot.model_validate(s) for s in profile.availability]
    return Member(
        id=pid,
        account_id=profile.account_id,
        role=Role(profile.role),
        # A missing campus or unit never equals anyone else's.
        campus_id=str(participant.campus_id) if participant and participant.campus_id else f"none:{pid}",
        academic_unit_id=str(participant.academic_unit_id) if participant and participant.academic_unit_id else f"none:{pid}",
        career_stage=participant.career_stage if participant else None,
        objectives=sorted(profile.objectives),
        expertise=sorted(profile.expertise),
        interests=sorted(profile.interests),
        languages=sorted(profile.languages),
        timezone=profile.timezone,
        availability_local=slots,
        availability=to_utc(slots, profile.timezone, anchor),
        delivery=Delivery(profile.delivery),
        capacity=profile.capacity,
        willing_to_substitute=profile.willing_to_substitute,
        requests=Requests.model_validate(profile.requests) if profile.requests is not None else None,
        identity_tags=[],
    )


def _tags(record: IdentityRecord | None, traits: Iterable[str]) -> list[str]:
    if record is None:
        return []
    return sorted(f"{t}:{getattr(record, t)}" for t in traits if getattr(record, t) is not None)


def take(
    program: Program,
    memberships: list[Membership],
    participants: dict[uuid.UUID, Participant],
    profiles: list[MatchingProfile],
    labels: dict[str, str],
    settings: SettingsUpdate,
    identity: dict[str, IdentityRecord] | None,
) -> Snapshot:
    """The program's cohort now: its current members with a questionnaire. ``identity``:
    consented identity data by participant id, or None when this service cannot read it."""
    anchor = anchor_date(program)
    current = {m.participant_id: m for m in memberships if m.status in CURRENT}
    by_participant = {p.participant_id: p for p in profiles}
    mentors, mentees = [], []
    for pid, membership in sorted(current.items(), key=lambda kv: str(kv[0])):
        profile = by_participant.get(pid)
        if profile is None:
            continue
        member = _member(profile, participants.get(pid), anchor)
        (mentors if membership.role in MENTOR_ROLES else mentees).append(member)
    status = IdentityMatching.not_requested
    if any(m.requests and m.requests.identity_match for m in mentees):
        status = IdentityMatching.used if identity is not None else IdentityMatching.unavailable
    if identity is not None:
        mentors = [m.model_copy(update={"identity_tags": _tags(identity.get(m.id), IdentityTrait)}) for m in mentors]
        mentees = [
            m.model_copy(update={"identity_match": _tags(identity.get(m.id), m.requests.identity_match if m.requests else [])})
            for m in mentees
        ]
    return Snapshot(
        program=ProgramInfo.of(program),
        anchor=anchor,
        labels=labels,
        settings=settings,
        mentors=mentors,
        mentees=mentees,
        missing_profiles=sorted(str(pid) for pid in current if pid not in by_participant),
        identity_matching=status,
    )
