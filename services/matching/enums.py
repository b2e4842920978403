"""The vocabularies of the matching service, each defined once.

Each is a ``StrEnum`` whose members are named as their values. The domain
computes with them, the schemas publish them, and every column that stores one
has a CHECK constraint listing its values (``models.py``).

A docstring on a published vocabulary becomes its description in the OpenAPI
document, so those carry comments instead.
"""

from enum import StrEnum


# How a member prefers to meet.
class Delivery(StrEnum):
    virtual = "virtual"
    in_person = "in_person"
    hybrid = "hybrid"


# What an optimal run maximises after the number of mentees matched: the total score, or first the lowest one.
class Objective(StrEnum):
    max_matched_then_score = "max_matched_then_score"
    maximin = "maximin"


class Algorithm(StrEnum):
    optimal = "optimal"
    stable = "stable"


class Mode(StrEnum):
    """How the domain reads the program's mode: ``one_to_one`` dyads, ``peer`` (same
    career stage allowed), ``group`` (one mentor, several mentees)."""

    one_to_one = "one_to_one"
    peer = "peer"
    group = "group"


class IdentityTrait(StrEnum):
    """Self-described identity data (held by participants, used only with her consent)."""

    gender_identity = "gender_identity"
    ethnicity = "ethnicity"
    first_generation = "first_generation"


class Role(StrEnum):
    """A member's role in her program, as participants gives it."""

    mentor = "mentor"
    mentee = "mentee"
    peer_mentor = "peer_mentor"


MENTOR_ROLES = (Role.mentor, Role.peer_mentor)


class MembershipStatus(StrEnum):
    """A membership's status, as participants gives it."""

    active = "active"
    substitute = "substitute"
    withdrawn = "withdrawn"
    completed = "completed"


# A current member may fill the questionnaire, is matched and may be re-matched.
CURRENT = (MembershipStatus.active, MembershipStatus.substitute)


class RunStatus(StrEnum):
    """A run is stored once it is solved."""

    completed = "completed"


class IdentityMatching(StrEnum):
    """Whether a run used identity data: some mentee asked for it (``not_requested``
    otherwise) and the service could read it (``unavailable`` otherwise)."""

    used = "used"
    not_requested = "not_requested"
    unavailable = "unavailable"


# A match: proposed, then active (both accepted, or auto-accepted), then completed; or dissolved.
class MatchStatus(StrEnum):
    proposed = "proposed"
    active = "active"
    completed = "completed"
    dissolved = "dissolved"


LIVE = (MatchStatus.proposed, MatchStatus.active)


class Actor(StrEnum):
    """Who acts on a match: one of its members, a coordinator, or the service itself
    (``system``: a member withdrew from the program)."""

    mentee = "mentee"
    mentor = "mentor"
    coordinator = "coordinator"
    system = "system"


class OfferStatus(StrEnum):
    """A substitute offer: made, accepted by the mentor, then assigned to a mentee."""

    offered = "offered"
    accepted = "accepted"
    assigned = "assigned"
