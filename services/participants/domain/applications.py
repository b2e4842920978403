"""The application's status machine.

::

    draft ──submit──▶ submitted ──decide──▶ accepted | waitlisted | rejected
                      waitlisted ──decide──▶ accepted | rejected
                      accepted ──invite──▶ invited (confirm_by)
                      invited ──confirm──▶ confirmed
                      invited ──decline──▶ declined
                      invited ──(deadline passes)──▶ expired
    any of draft, submitted, accepted, waitlisted, invited, confirmed ──withdraw──▶ withdrawn

Rejected, declined, expired and withdrawn are final. An invitation past its
deadline is expired whether or not that has been written down yet.
"""

from datetime import datetime
from typing import Literal

from services.participants.domain.refusal import Refusal
from services.participants.enums import ApplicationStatus as S
from services.participants.enums import Role

Action = Literal["submit", "decide", "invite", "confirm", "decline", "withdraw"]

# action -> {from status: allowed targets}
TRANSITIONS: dict[Action, dict[S, frozenset[S]]] = {
    "submit": {S.draft: frozenset({S.submitted})},
    "decide": {
        S.submitted: frozenset({S.accepted, S.waitlisted, S.rejected}),
        S.waitlisted: frozenset({S.accepted, S.rejected}),
    },
    "invite": {S.accepted: frozenset({S.invited})},
    "confirm": {S.invited: frozenset({S.confirmed})},
    "decline": {S.invited: frozenset({S.declined})},
    "withdraw": {
        s: frozenset({S.withdrawn}) for s in (S.draft, S.submitted, S.accepted, S.waitlisted, S.invited, S.confirmed)
    },
}
FINAL = frozenset({S.rejected, S.declined, S.expired, S.withdrawn})
# A coordinator may override eligibility rules while the decision is still open.
OVERRIDABLE = frozenset(TRANSITIONS["decide"])


def effective_status(status: str, confirm_by: datetime | None, now: datetime) -> S:
    """The status as of ``now``: an invitation past its deadline is expired."""
    if status == S.invited and confirm_by is not None and confirm_by <= now:
        return S.expired
    return S(status)


def refusal(
    action: Action, status: str, confirm_by: datetime | None, now: datetime, target: S | None = None
) -> Refusal | None:
    """Why ``action`` (to ``target``, when the action has several) cannot be
    taken on an application stored as ``status``; None when it can."""
    current = effective_status(status, confirm_by, now)
    targets = TRANSITIONS[action].get(current)
    if targets is not None and (target is None or target in targets):
        return None
    if current == S.expired and status == S.invited:
        assert confirm_by is not None  # an invitation expires only by its deadline
        detail = f"The invitation expired at {confirm_by.isoformat()}"
    elif targets is not None:
        detail = f"An application in {current} cannot become {target}"
    elif current in FINAL:
        detail = f"The application is {current}: that is final"
    else:
        allowed = sorted(s.value for s in TRANSITIONS[action])
        detail = f"Cannot {action} an application in {current}; only from: {', '.join(allowed)}"
    return Refusal(detail, current.value)


def role_of(role: str, assigned_role: str | None) -> Role:
    """The role she holds or will hold: the one staff assigned when accepting
    her, before that the one she seeks."""
    return Role(assigned_role or role)
