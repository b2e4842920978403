"""The sessions service's vocabularies, each defined once: the tables keep
their columns inside them (CHECK constraints, ``servicekit.db.one_of``), and the code,
the pure core (``domain``) and the request and response models use them.

The pure core's own judgements that are stored (``domain.Health`` in
``dyads.health_status``, ``domain.Direction`` in ``objectives.direction``) are
defined with the rules that produce them, in ``domain``.
"""

from __future__ import annotations

from enum import StrEnum


class DyadStatus(StrEnum):
    ACTIVE = "active"
    DISSOLVED = "dissolved"
    COMPLETED = "completed"


# ``rescheduled`` means moved to a new date and not held yet; it is pending like
# ``scheduled``. ``no_show`` means one member did not come.
class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


PENDING = (MeetingStatus.SCHEDULED, MeetingStatus.RESCHEDULED)
"""a meeting still to be held"""


class MeetingChangeKind(StrEnum):
    """What changed a meeting (its history, ``meeting_changes``)."""

    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class Modality(StrEnum):
    VIRTUAL = "virtual"
    IN_PERSON = "in_person"


class GroupEventKind(StrEnum):
    KICKOFF = "kickoff"
    ACCOMPANIMENT = "accompaniment"
    IN_PERSON_COHORT = "in_person_cohort"
    OTHER = "other"


class MilestoneStatus(StrEnum):
    """planned: not met yet (or returned by the confirmer); reported: the mentee
    gave evidence; confirmed: her counterpart or a coordinator confirmed it."""

    PLANNED = "planned"
    REPORTED = "reported"
    CONFIRMED = "confirmed"


class MilestoneChangeKind(StrEnum):
    REPORTED = "reported"
    CONFIRMED = "confirmed"
    RETURNED = "returned"
