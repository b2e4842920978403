"""The membership's status machine::

    active ⇄ substitute;  active | substitute → withdrawn;  active → completed

Withdrawn and completed are final.
"""

from services.participants.domain.refusal import Refusal
from services.participants.enums import MembershipStatus as M

TRANSITIONS: dict[M, frozenset[M]] = {
    M.active: frozenset({M.substitute, M.withdrawn, M.completed}),
    M.substitute: frozenset({M.active, M.withdrawn}),
    M.withdrawn: frozenset(),
    M.completed: frozenset(),
}
# Memberships that make her a member of the program (a withdrawn one does not).
CURRENT = (M.active, M.substitute, M.completed)
# Memberships that a withdrawal (hers, her consent's, her erasure's) ends.
WITHDRAWABLE = frozenset(s for s, targets in TRANSITIONS.items() if M.withdrawn in targets)


def refusal(status: str, to: M) -> Refusal | None:
    """Why a membership in ``status`` cannot become ``to``; None when it can."""
    current = M(status)
    if to in TRANSITIONS[current]:
        return None
    allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "nothing (final)"
    return Refusal(f"A membership that is {current} cannot become {to}; allowed: {allowed}", current.value)
