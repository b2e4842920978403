"""The program's status machine, the roles it offers, and its call's window.

A program moves forward one step at a time (``NEXT``) and ``closed`` is
final. Coordinators decide and invite during the call and selection
(``SELECTING``); an invitation may be confirmed until mentoring starts
(``CONFIRMABLE``); criteria may change until selection ends
(``CRITERIA_EDITABLE``: results are computed on read).

The call takes applications while the program is ``call_open`` and before the
end of the call phase's last day in the institution's time zone.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.participants.domain.refusal import Refusal
from services.participants.enums import MentoringMode, Role
from services.participants.enums import ProgramStatus as P

NEXT: dict[P, P] = {
    P.draft: P.call_open,
    P.call_open: P.selection,
    P.selection: P.training,
    P.training: P.matching,
    P.matching: P.mentoring,
    P.mentoring: P.evaluation,
    P.evaluation: P.closed,
}
CRITERIA_EDITABLE = frozenset({P.draft, P.call_open, P.selection})
SELECTING = frozenset({P.call_open, P.selection})
CONFIRMABLE = frozenset({P.call_open, P.selection, P.training, P.matching})


def refusal(status: str, to: P) -> Refusal | None:
    """Why a program in ``status`` cannot move to ``to``; None when it can."""
    current = P(status)
    if current == P.closed:
        return Refusal("The program is closed: its status cannot change any more", current.value)
    if to == current:
        return Refusal(f"The program is already in {current}", current.value)
    expected = NEXT[current]
    if to != expected:
        return Refusal(
            f"A program in {current} can only move to {expected}, not to {to}", current.value, allowed=(expected.value,)
        )
    return None


def roles_offered(mode: str) -> list[Role]:
    """Roles applicants may seek: peer mentors in peer mode, mentors otherwise."""
    if mode == MentoringMode.peer:
        return [Role.peer_mentor, Role.mentee]
    return [Role.mentor, Role.mentee]


def local_midnight_utc(day: date, timezone: str) -> datetime:
    """The start of ``day`` in ``timezone``, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(ZoneInfo("UTC"))


def call_closes_at(call_ends_on: date, timezone: str) -> datetime:
    """The end of the call phase's last day (inclusive), in the institution's time zone."""
    return local_midnight_utc(call_ends_on + timedelta(days=1), timezone)


def call_closed_because(status: str, closes_at: datetime | None, now: datetime) -> str | None:
    """Why the call takes no application at ``now``; None while it does."""
    if status != P.call_open:
        return f"The program's call is not open (the program is in {status})"
    if closes_at is not None and now >= closes_at:
        return f"The call closed at {closes_at.isoformat()}"
    return None
