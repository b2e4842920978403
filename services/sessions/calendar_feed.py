"""Per-participant iCalendar feeds (RFC 5545) at private, revocable token URLs.

Only the SHA-256 of a token is stored. A reschedule bumps the event's SEQUENCE;
a cancellation keeps the event with STATUS:CANCELLED so calendars remove it.
A feed answers only while its owner's gateway account is active
(``services.sessions.owners``): the route looks the token up (``feed_token``),
asks, then renders.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from icalendar import Calendar, Event
from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.problems import ProblemError, not_found
from servicekit import clock

from servicekit.tenancy import tenant_of

from services.sessions.enums import MeetingStatus, Modality
from services.sessions.models import CalendarToken, Dyad, GroupEvent, Meeting

PRODID = "-//Aliada//sessions//EN"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, who: Principal) -> tuple[CalendarToken, str]:
    tid = tenant_of(who)
    if tid is None or who.is_client:
        raise ProblemError(403, "Calendar feeds are for people of an institution", slug="forbidden")
    token = secrets.token_urlsafe(32)
    row = CalendarToken(institution_id=tid, account_id=who.subject, token_hash=digest(token), created_at=clock.now())
    session.add(row)
    session.flush()
    return row, token


def mine(session: Session, who: Principal) -> list[CalendarToken]:
    tid = tenant_of(who)
    if tid is None:
        return []
    return list(session.exec(select(CalendarToken).where(CalendarToken.institution_id == tid, CalendarToken.account_id == who.subject)
                             .order_by(CalendarToken.id)).all())  # type: ignore[arg-type]


def revoke(session: Session, who: Principal, token_id: object) -> None:
    row = next((t for t in mine(session, who) if t.id == token_id), None)
    if row is None:
        raise not_found("Calendar token")
    row.revoked_at = row.revoked_at or clock.now()
    session.add(row)
    session.flush()


def feed_token(session: Session, token: str) -> CalendarToken:
    """The live feed of this secret, or 404 (unknown and revoked alike)."""
    row = session.exec(select(CalendarToken).where(CalendarToken.token_hash == digest(token))).first()
    if row is None or row.revoked_at is not None:
        raise not_found("Calendar")
    return row


def render(session: Session, row: CalendarToken) -> bytes:
    dyads = session.exec(select(Dyad).where(Dyad.institution_id == row.institution_id,
                                            (Dyad.mentee_account_id == row.account_id) | (Dyad.mentor_account_id == row.account_id))).all()
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Aliada mentoring")
    stamp = clock.now()
    programs = set()
    for dyad in dyads:
        programs.add(dyad.program_id)
        for m in session.exec(select(Meeting).where(Meeting.dyad_id == dyad.id, Meeting.institution_id == row.institution_id)
                              .order_by(Meeting.number)).all():  # type: ignore[arg-type]
            ev = Event()
            ev.add("uid", f"meeting-{m.id}@aliada")
            ev.add("dtstamp", stamp)
            ev.add("dtstart", m.start)
            ev.add("dtend", m.start + timedelta(minutes=m.duration_minutes))
            ev.add("summary", f"Mentoring meeting {m.number}")
            ev.add("sequence", m.sequence)
            ev.add("status", "CANCELLED" if m.status == MeetingStatus.CANCELLED else "CONFIRMED")
            if m.modality == Modality.IN_PERSON and m.place:
                ev.add("location", m.place)
            elif m.link:
                ev.add("location", m.link)
                ev.add("url", m.link)
            cal.add_component(ev)
    for g in session.exec(select(GroupEvent).where(GroupEvent.institution_id == row.institution_id,
                                                   GroupEvent.program_id.in_(programs))).all():  # type: ignore[attr-defined]
        ev = Event()
        ev.add("uid", f"group-event-{g.id}@aliada")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", g.starts_at)
        ev.add("dtend", g.starts_at + timedelta(minutes=g.duration_minutes))
        ev.add("summary", g.title)
        ev.add("sequence", 0)
        ev.add("status", "CONFIRMED")
        if g.place or g.link:
            ev.add("location", g.place or g.link)
        cal.add_component(ev)
    return cal.to_ical()
