"""A program's matching settings: absent means the defaults (the pilots' rule)."""

from __future__ import annotations

from typing import Any

import uuid

from sqlmodel import Session, select

from servicekit.outbox import utcnow
from servicekit.problems import field_problem
from servicekit.references import Given, Ref, References

from services.matching.clients.participants import Program
from services.matching.dependencies import Context, in_thread
from services.matching.enums import CURRENT, MENTOR_ROLES
from services.matching.models import ProgramSettings
from services.matching.schemas.settings import SettingsPublic, SettingsUpdate

# The coordinator's pairs name current members of the program, as participants lists them to her (the same
# list a run reads).
MENTEE, MENTOR = Given("mentees", "a current mentee of this program"), Given("mentors", "a current mentor of this program")
PAIRS = References(
    Ref("pinned_pairs[].mentee_participant_id", MENTEE),
    Ref("pinned_pairs[].mentor_participant_id", MENTOR),
    Ref("forbidden_pairs[].mentee_participant_id", MENTEE),
    Ref("forbidden_pairs[].mentor_participant_id", MENTOR),
    operations=("put_matching_settings",),
)


def _row(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> ProgramSettings | None:
    return session.exec(
        select(ProgramSettings).where(ProgramSettings.institution_id == institution_id, ProgramSettings.program_id == program_id)
    ).first()


def effective(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> SettingsUpdate:
    """The program's settings, or the defaults until a coordinator saves some."""
    row = _row(session, institution_id, program_id)
    return SettingsUpdate.model_validate(row.body) if row else SettingsUpdate()


def save(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, body: SettingsUpdate) -> ProgramSettings:
    row = _row(session, institution_id, program_id)
    if row is None:
        row = ProgramSettings(institution_id=institution_id, program_id=program_id)
    row.body = body.model_dump(mode="json")
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def _public(program: Program, row: ProgramSettings | None) -> SettingsPublic:
    body = SettingsUpdate.model_validate(row.body) if row else SettingsUpdate()
    return SettingsPublic.model_validate(
        {**body.model_dump(mode="json"), "program_id": program.id, "is_default": row is None, "updated_at": row.updated_at if row else None}
    )


def current(session: Session, program: Program) -> SettingsPublic:
    return _public(program, _row(session, program.institution_id, program.id))


async def replace(ctx: Context, session: Session, program: Program, body: SettingsUpdate) -> SettingsPublic:
    """The whole settings document; its pairs name current members, a mentee and a mentor each."""
    forbidden = {(p.mentee_participant_id, p.mentor_participant_id) for p in body.forbidden_pairs}
    pinned_mentees: set[Any] = set()
    for n, pair in enumerate(body.pinned_pairs):
        if (pair.mentee_participant_id, pair.mentor_participant_id) in forbidden:
            raise field_problem(f"body.pinned_pairs.{n}", "This pair is also forbidden")
        if pair.mentee_participant_id in pinned_mentees:
            raise field_problem(f"body.pinned_pairs.{n}.mentee_participant_id", "A mentee may be pinned to one mentor only")
        pinned_mentees.add(pair.mentee_participant_id)
    if body.pinned_pairs or body.forbidden_pairs:
        members = [m for m in await ctx.participants.memberships(program.id, ctx.who.token) if m.status in CURRENT]
        PAIRS.check(body, tenant=program.institution_id, parent=program.id, given={
            "mentees": [m.participant_id for m in members if m.role not in MENTOR_ROLES],
            "mentors": [m.participant_id for m in members if m.role in MENTOR_ROLES],
        })  # fmt: skip
    row = await in_thread(save, session, program.institution_id, program.id, body)
    return _public(program, row)
