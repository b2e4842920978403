"""The participants feed's handler: a withdrawal from a program ends her matches there.

``participant.withdrawn`` (participants: she withdrew, or her program consent was
withdrawn, or a coordinator set her membership to withdrawn) dissolves every
proposed or active match of hers in that program and institution, as a mentee or
as a mentor (a mentor with several mentees loses them all), with ``matches.dissolve``:
``dissolved_by`` is ``system`` and the reason says why. Each dissolution writes
``match.dissolved``, so the sessions service ends the dyad and cancels its future
meetings; her counterpart is left unmatched, for a coordinator to re-match.

Idempotent: a second delivery finds no live match (and the consumer records
handled events). Other events, and events without a well-formed institution,
program or participant id, change nothing (and never block the feed).
"""

from __future__ import annotations

from sqlmodel import Session, select

from servicekit.consumer import event_uuid
from servicekit.outbox import EventOut

from services.matching import matches
from services.matching.enums import LIVE, Actor
from services.matching.models import Match

WITHDRAWN_REASON = "The {role} withdrew from the program"


def handle(session: Session, event: EventOut) -> None:
    if event.type != "participant.withdrawn":
        return
    institution_id = event_uuid(event.tenant_id)
    program_id = event_uuid(event.payload.get("program_id"))
    participant_id = event_uuid(event.payload.get("participant_id"))
    if institution_id is None or program_id is None or participant_id is None:
        return
    live = session.exec(
        select(Match)
        .where(
            Match.institution_id == institution_id,
            Match.program_id == program_id,
            Match.status.in_(LIVE),  # type: ignore[attr-defined]
            (Match.mentee_participant_id == participant_id) | (Match.mentor_participant_id == participant_id),
        )
        .order_by(Match.id)  # type: ignore[arg-type]
        .with_for_update()
    ).all()
    for match in live:
        role = Actor.mentee if match.mentee_participant_id == participant_id else Actor.mentor
        matches.dissolve(session, match, Actor.system, WITHDRAWN_REASON.format(role=role))
