"""The event types a webhook can subscribe to: every type the services
write to their outboxes (``emit`` in services/), with the service and a short
description. ``gateway/tests/test_webhooks_catalog.py`` fails when a service
emits a type that is missing here.

Subscriptions name exact types, ``"<group>.*"`` (every type of a group, e.g.
``match.*``, including types added later) or ``"*"`` (everything).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    type: str
    service: str
    description: str


EVENT_TYPES: tuple[EventType, ...] = (
    # participants
    EventType("institution.created", "participants", "An institution was created (admins)."),
    EventType("institution.updated", "participants", "An institution's details (name, slug, country, time zone, languages) changed."),
    EventType("program.status_changed", "participants", "A program moved to another phase (e.g. draft to call_open)."),
    EventType("application.submitted", "participants", "An applicant submitted her application."),
    EventType("application.decided", "participants", "A coordinator accepted, waitlisted or rejected an application."),
    EventType("application.invited", "participants", "An accepted applicant was invited to confirm her place."),
    EventType("application.expired", "participants", "An invitation expired without confirmation."),
    EventType("application.declined", "participants", "An invited applicant declined her place."),
    EventType("application.withdrawn", "participants", "An applicant withdrew her application."),
    EventType("participant.confirmed", "participants", "An applicant confirmed and became a participant of the program."),
    EventType("participant.withdrawn", "participants", "A participant left the program."),
    EventType("consent.withdrawn", "participants", "A person withdrew a consent she had given for one purpose."),
    EventType("training.completed", "participants", "A participant completed a training module."),
    EventType("data_subject.erased", "participants", "A person's data was erased on her request."),
    # matching
    EventType("match.published", "matching", "A coordinator published a match (a proposed dyad)."),
    EventType("match.activated", "matching", "Both members accepted: the dyad is active."),
    EventType("match.dissolved", "matching", "A match was dissolved, with who asked and why."),
    EventType("match.completed", "matching", "An active dyad completed the program."),
    EventType("substitute.assigned", "matching", "A substitute mentor was assigned to a mentee."),
    # sessions
    EventType("meeting.scheduled", "sessions", "A dyad's meeting was scheduled."),
    EventType("meeting.held", "sessions", "A meeting was confirmed as held."),
    EventType("meeting.rescheduled", "sessions", "A meeting moved to another time."),
    EventType("meeting.cancelled", "sessions", "A meeting was cancelled (never the reason)."),
    EventType("objective.created", "sessions", "A mentee set a SMART objective."),
    EventType("objective.assessed", "sessions", "A member rated the achievement she perceives on an objective (never the rating)."),
    EventType("milestone.reported", "sessions", "A mentee reported a milestone met (ids and dates; never the evidence)."),
    EventType("milestone.confirmed", "sessions", "A mentor or a coordinator confirmed a reported milestone."),
    EventType("milestone.returned", "sessions", "A mentor or a coordinator returned a reported milestone to the mentee (never the reason)."),
    EventType("feedback.submitted", "sessions", "A member submitted the feedback form of a meeting."),
    EventType("feedback.overdue", "sessions", "A feedback form passed its due time unanswered."),
    EventType("dyad.health_changed", "sessions", "A dyad's health colour (green, amber, red) changed, with the reasons."),
    # evaluation
    EventType("administration.closed", "evaluation", "An instrument administration (survey window) closed."),
    EventType("response.submitted", "evaluation", "A respondent submitted her answers (never their content)."),
)

BY_TYPE: dict[str, EventType] = {e.type: e for e in EVENT_TYPES}
GROUPS: frozenset[str] = frozenset(e.type.split(".", 1)[0] for e in EVENT_TYPES)


def valid_pattern(pattern: str) -> bool:
    if pattern == "*" or pattern in BY_TYPE:
        return True
    return pattern.endswith(".*") and pattern[:-2] in GROUPS


def matches(patterns: list[str], event_type: str) -> bool:
    """True when one of a subscription's patterns selects this event type."""
    group = event_type.split(".", 1)[0]
    return any(p == "*" or p == event_type or p == f"{group}.*" for p in patterns)
