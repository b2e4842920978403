"""Domain logic on the database: takes a session, never commits.

Every query filters by ``institution_id``. Lists are keyset-paginated by id.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import desc
from sqlmodel import Session, select

from servicekit.outbox import emit, utcnow
from servicekit.pagination import paginate
from servicekit.problems import conflict, not_found

from services.matching.enums import LIVE, Actor, MatchStatus, OfferStatus
from services.matching.models import (
    Match,
    MatchingProfile,
    MatchingRun,
    OutboxEvent,
    ProgramSettings,
    SubstituteOffer,
)
from services.matching.schemas.settings import SettingsUpdate

# ---------------------------------------------------------------------------
# Profiles


def get_profile(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, participant_id: uuid.UUID) -> MatchingProfile | None:
    return session.exec(
        select(MatchingProfile).where(
            MatchingProfile.institution_id == institution_id,
            MatchingProfile.program_id == program_id,
            MatchingProfile.participant_id == participant_id,
        )
    ).first()


def save_profile(session: Session, existing: MatchingProfile | None, values: dict[str, Any]) -> MatchingProfile:
    profile = existing or MatchingProfile(**values)
    if existing is not None:
        for key, value in values.items():
            setattr(profile, key, value)
        profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    return profile


def list_profiles(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, *, limit: int, cursor: str | None) -> tuple[list[MatchingProfile], str | None]:
    stmt = select(MatchingProfile).where(
        MatchingProfile.institution_id == institution_id, MatchingProfile.program_id == program_id
    )
    return paginate(session, stmt, MatchingProfile.id, limit=limit, cursor=cursor)


def all_profiles(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> list[MatchingProfile]:
    stmt = select(MatchingProfile).where(
        MatchingProfile.institution_id == institution_id, MatchingProfile.program_id == program_id
    )
    return list(session.exec(stmt.order_by(MatchingProfile.id)).all())


# ---------------------------------------------------------------------------
# Settings


def get_settings(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> ProgramSettings | None:
    return session.exec(
        select(ProgramSettings).where(ProgramSettings.institution_id == institution_id, ProgramSettings.program_id == program_id)
    ).first()


def effective_settings(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> SettingsUpdate:
    row = get_settings(session, institution_id, program_id)
    return SettingsUpdate.model_validate(row.body) if row else SettingsUpdate()


def save_settings(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, body: SettingsUpdate) -> ProgramSettings:
    row = get_settings(session, institution_id, program_id)
    if row is None:
        row = ProgramSettings(institution_id=institution_id, program_id=program_id)
    row.body = body.model_dump(mode="json")
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


# ---------------------------------------------------------------------------
# Runs


def get_run(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, run_id: uuid.UUID, lock: bool = False) -> MatchingRun:
    stmt = select(MatchingRun).where(
        MatchingRun.institution_id == institution_id, MatchingRun.program_id == program_id, MatchingRun.id == run_id
    )
    run = session.exec(stmt.with_for_update() if lock else stmt).first()
    if run is None:
        raise not_found("Run")
    return run


def latest_run(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, *, published: bool = False) -> MatchingRun | None:
    stmt = select(MatchingRun).where(MatchingRun.institution_id == institution_id, MatchingRun.program_id == program_id)
    if published:
        stmt = stmt.where(MatchingRun.published_at.is_not(None))  # type: ignore[union-attr]
    return session.exec(stmt.order_by(desc(MatchingRun.id)).limit(1)).first()  # type: ignore[arg-type]


def list_runs(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, *, limit: int, cursor: str | None) -> tuple[list[MatchingRun], str | None]:
    stmt = select(MatchingRun).where(MatchingRun.institution_id == institution_id, MatchingRun.program_id == program_id)
    return paginate(session, stmt, MatchingRun.id, limit=limit, cursor=cursor)


def add_run(session: Session, run: MatchingRun) -> MatchingRun:
    session.add(run)
    session.flush()
    return run


# ---------------------------------------------------------------------------
# Matches


def program_matches(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, statuses: tuple[MatchStatus, ...] | None = None) -> list[Match]:
    stmt = select(Match).where(Match.institution_id == institution_id, Match.program_id == program_id)
    if statuses:
        stmt = stmt.where(Match.status.in_(statuses))  # type: ignore[attr-defined]
    return list(session.exec(stmt.order_by(Match.id)).all())


def list_matches(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, *, status: MatchStatus | None, limit: int, cursor: str | None) -> tuple[list[Match], str | None]:
    stmt = select(Match).where(Match.institution_id == institution_id, Match.program_id == program_id)
    if status:
        stmt = stmt.where(Match.status == status)
    return paginate(session, stmt, Match.id, limit=limit, cursor=cursor)


def my_matches(session: Session, institution_id: uuid.UUID, account_id: str, *, limit: int, cursor: str | None) -> tuple[list[Match], str | None]:
    stmt = select(Match).where(
        Match.institution_id == institution_id,
        (Match.mentee_account_id == account_id) | (Match.mentor_account_id == account_id),
    )
    return paginate(session, stmt, Match.id, limit=limit, cursor=cursor)


def published_payload(match: Match) -> dict[str, Any]:
    return {
        "match_id": str(match.id),
        "program_id": str(match.program_id),
        "institution_id": str(match.institution_id),
        "run_id": str(match.run_id),
        "mentee_participant_id": str(match.mentee_participant_id),
        "mentor_participant_id": str(match.mentor_participant_id),
        "mentee_account_id": match.mentee_account_id,
        "mentor_account_id": match.mentor_account_id,
        "score": match.score,
        "status": match.status,
        "replaces_match_id": str(match.replaces_match_id) if match.replaces_match_id else None,
    }


def activated_payload(match: Match) -> dict[str, Any]:
    """Self-contained for the sessions service: it needs nothing else to propose a schedule."""
    ctx = match.context
    return {
        "match_id": str(match.id),
        "program_id": str(match.program_id),
        "institution_id": str(match.institution_id),
        "mentee": ctx["mentee"],
        "mentor": ctx["mentor"],
        "preferred_delivery": ctx["preferred_delivery"],
        "meetings": ctx["meetings"],
        "activated_at": match.activated_at.isoformat() if match.activated_at else None,
    }


def _event(session: Session, kind: str, match: Match, payload: dict[str, Any]) -> None:
    emit(session, OutboxEvent, kind, subject=match.id, tenant_id=match.institution_id, payload=payload)


def activate(session: Session, match: Match) -> None:
    match.status, match.activated_at, match.updated_at = MatchStatus.active, utcnow(), utcnow()
    session.add(match)
    _event(session, "match.activated", match, activated_payload(match))


def create_match(session: Session, match: Match, *, auto_accept: bool) -> Match:
    session.add(match)
    session.flush()
    _event(session, "match.published", match, published_payload(match))
    if auto_accept:
        activate(session, match)
    session.flush()
    return match


def accept(session: Session, match: Match, side: Actor) -> Match:
    if match.status != MatchStatus.proposed:
        raise conflict(f"A match that is {match.status} cannot be accepted", current_status=match.status)
    now = utcnow()
    if side == Actor.mentee:
        match.mentee_accepted_at = match.mentee_accepted_at or now
    else:
        match.mentor_accepted_at = match.mentor_accepted_at or now
    match.updated_at = now
    session.add(match)
    if match.mentee_accepted_at and match.mentor_accepted_at:
        activate(session, match)
    session.flush()
    return match


def dissolve(session: Session, match: Match, by: Actor, reason: str) -> Match:
    if match.status not in LIVE:
        raise conflict(f"A match that is {match.status} cannot be dissolved", current_status=match.status)
    now = utcnow()
    match.status, match.dissolved_at, match.dissolved_by, match.dissolution_reason = MatchStatus.dissolved, now, by, reason
    match.updated_at = now
    session.add(match)
    _event(session, "match.dissolved", match, {**published_payload(match), "dissolved_by": by, "reason": reason})
    session.flush()
    return match


def complete(session: Session, match: Match) -> Match:
    if match.status != MatchStatus.active:
        raise conflict(f"A match that is {match.status} cannot be completed; it must be active", current_status=match.status)
    now = utcnow()
    match.status, match.completed_at, match.updated_at = MatchStatus.completed, now, now
    session.add(match)
    _event(session, "match.completed", match, published_payload(match))
    session.flush()
    return match


# ---------------------------------------------------------------------------
# Substitute offers


def offers(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> list[SubstituteOffer]:
    stmt = select(SubstituteOffer).where(
        SubstituteOffer.institution_id == institution_id, SubstituteOffer.program_id == program_id
    )
    return list(session.exec(stmt.order_by(SubstituteOffer.rank, SubstituteOffer.id)).all())


def my_offers(session: Session, institution_id: uuid.UUID, account_id: str) -> list[SubstituteOffer]:
    stmt = select(SubstituteOffer).where(
        SubstituteOffer.institution_id == institution_id, SubstituteOffer.mentor_account_id == account_id
    )
    return list(session.exec(stmt.order_by(SubstituteOffer.id)).all())


def accept_offer(session: Session, offer: SubstituteOffer) -> SubstituteOffer:
    if offer.status != OfferStatus.offered:
        raise conflict(f"This substitute offer is already {offer.status}", current_status=offer.status)
    offer.status, offer.responded_at = OfferStatus.accepted, utcnow()
    session.add(offer)
    session.flush()
    return offer


def assign_substitute(session: Session, offer: SubstituteOffer, match: Match) -> None:
    offer.status = OfferStatus.assigned
    session.add(offer)
    emit(
        session,
        OutboxEvent,
        "substitute.assigned",
        subject=offer.id,
        tenant_id=offer.institution_id,
        payload={
            "offer_id": str(offer.id),
            "match_id": str(match.id),
            "program_id": str(match.program_id),
            "institution_id": str(match.institution_id),
            "mentor_participant_id": str(offer.mentor_participant_id),
            "mentor_account_id": offer.mentor_account_id,
            "mentee_participant_id": str(match.mentee_participant_id),
        },
    )
