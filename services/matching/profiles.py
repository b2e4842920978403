"""The questionnaire: each confirmed member's matching profile in her program."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlmodel import Session, select

from servicekit.outbox import utcnow
from servicekit.pagination import Page, paginate
from servicekit.problems import field_problem, not_found
from servicekit.references import Ref, References, Rows

from services.matching import settings
from services.matching.clients.participants import Membership, Participant, Program
from services.matching.dependencies import Context, in_thread
from services.matching.enums import CURRENT, MENTOR_ROLES
from services.matching.models import MatchingProfile
from services.matching.schemas.profiles import MissingProfile, ProfilePublic, ProfileUpsert, Slot
from services.matching.snapshot import anchor_date, to_utc

# A mentee's requests name mentors of her program whose questionnaire is in: matching's own copy of who can be
# matched (a mentor without one is never in a run).
PROGRAM_MENTOR = Rows("a mentor of this program with a matching questionnaire", (MatchingProfile.participant_id,),
                      tenant=MatchingProfile.institution_id, parent=MatchingProfile.program_id,
                      where=(MatchingProfile.role.in_(MENTOR_ROLES),))  # type: ignore[attr-defined]
REQUESTS = References(
    Ref("requests.requested_mentor_participant_id", PROGRAM_MENTOR),
    Ref("requests.avoid_participant_ids[]", PROGRAM_MENTOR),
    operations=("put_my_matching_profile",),
)


def _get(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, participant_id: uuid.UUID) -> MatchingProfile | None:
    return session.exec(
        select(MatchingProfile).where(
            MatchingProfile.institution_id == institution_id,
            MatchingProfile.program_id == program_id,
            MatchingProfile.participant_id == participant_id,
        )
    ).first()


def _save(session: Session, existing: MatchingProfile | None, values: dict[str, Any]) -> MatchingProfile:
    profile = existing or MatchingProfile(**values)
    if existing is not None:
        for key, value in values.items():
            setattr(profile, key, value)
        profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    return profile


def all_of(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> list[MatchingProfile]:
    """Every questionnaire of the program, by id."""
    stmt = select(MatchingProfile).where(
        MatchingProfile.institution_id == institution_id, MatchingProfile.program_id == program_id
    )
    return list(session.exec(stmt.order_by(MatchingProfile.id)).all())


def public(profile: MatchingProfile, anchor: date) -> ProfilePublic:
    slots = [Slot.model_validate(s) for s in profile.availability]
    utc = [{"weekday": w, "start_minute": s, "end_minute": e} for w, s, e in to_utc(slots, profile.timezone, anchor)]
    return ProfilePublic.model_validate({**profile.model_dump(), "availability_utc": utc})


def mine(session: Session, program: Program, me: Participant) -> ProfilePublic:
    profile = _get(session, program.institution_id, program.id, me.id)
    if profile is None:
        raise not_found("Matching profile")
    return public(profile, anchor_date(program))


async def save_mine(ctx: Context, session: Session, program: Program, me: Participant, membership: Membership,
                    body: ProfileUpsert) -> ProfilePublic:  # fmt: skip
    """Her answers, checked against the program's taxonomy and maximum and her role."""
    taxonomy = set((await in_thread(settings.effective, session, program.institution_id, program.id)).objectives_taxonomy)
    for field in ("objectives", "expertise"):
        for n, code in enumerate(getattr(body, field)):
            if code not in taxonomy:
                raise field_problem(f"body.{field}.{n}", f"{code!r} is not in the program's objectives taxonomy")
    mentor = membership.role in MENTOR_ROLES
    if mentor and body.capacity > program.max_mentees_per_mentor:
        raise field_problem("body.capacity", f"At most the program's maximum of {program.max_mentees_per_mentor} mentees")
    if mentor and body.requests is not None:
        raise field_problem("body.requests", "Only mentees may make matching requests")
    timezone = body.timezone or me.timezone
    if timezone is None:
        raise field_problem("body.timezone", "Give the time zone of your availability (your profile has none)")
    await in_thread(REQUESTS.check, body, session=session, tenant=program.institution_id, parent=program.id)
    values = body.model_dump(mode="json", exclude={"timezone"})
    values.update(
        timezone=timezone,
        institution_id=program.institution_id,
        program_id=program.id,
        participant_id=me.id,
        account_id=ctx.who.subject,
        role=membership.role,
        capacity=body.capacity if mentor else 0,
        willing_to_substitute=body.willing_to_substitute if mentor else False,
    )
    existing = await in_thread(_get, session, program.institution_id, program.id, me.id)
    profile = await in_thread(_save, session, existing, values)
    return public(profile, anchor_date(program))


def page(session: Session, program: Program, *, limit: int, cursor: str | None) -> Page[ProfilePublic]:
    stmt = select(MatchingProfile).where(
        MatchingProfile.institution_id == program.institution_id, MatchingProfile.program_id == program.id
    )
    rows, next_cursor = paginate(session, stmt, MatchingProfile.id, limit=limit, cursor=cursor)
    anchor = anchor_date(program)
    return Page[ProfilePublic](items=[public(r, anchor) for r in rows], next_cursor=next_cursor)


async def missing(ctx: Context, session: Session, program: Program) -> list[MissingProfile]:
    """Current members (active or substitute) without a questionnaire."""
    memberships = await ctx.participants.memberships(program.id, ctx.who.token)
    filled = {p.participant_id for p in await in_thread(all_of, session, program.institution_id, program.id)}
    return [
        MissingProfile(participant_id=m.participant_id, membership_id=m.id, role=m.role)
        for m in sorted(memberships, key=lambda m: str(m.participant_id))
        if m.status in CURRENT and m.participant_id not in filled
    ]
