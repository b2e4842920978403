"""The service's vocabularies, each once: models (CHECK constraints), code and schemas use them."""

from enum import StrEnum


class MessageKind(StrEnum):
    """What a message is about."""

    application_received = "application_received"
    selected = "selected"
    confirm_reminder = "confirm_reminder"
    not_selected = "not_selected"
    match_announced = "match_announced"
    meeting_proposed = "meeting_proposed"
    meeting_rescheduled = "meeting_rescheduled"
    meeting_cancelled = "meeting_cancelled"
    meeting_tomorrow = "meeting_tomorrow"
    feedback_due = "feedback_due"
    feedback_overdue = "feedback_overdue"
    milestone_to_confirm = "milestone_to_confirm"
    """Her mentee reported a milestone met: she (the mentor) confirms it or returns it."""
    program_completed = "program_completed"
    """Her dyad completed the program."""
    digest = "digest"


OBLIGATIONS: dict[MessageKind, str] = {
    MessageKind.selected: "Your place is kept only if you confirm it before the deadline.",
    MessageKind.confirm_reminder: "Your place is kept only if you confirm it before the deadline.",
    MessageKind.feedback_due: "The program asks every member for a feedback form after each meeting.",
    MessageKind.feedback_overdue: "The program asks every member for a feedback form after each meeting.",
    MessageKind.meeting_cancelled: "A cancelled meeting must leave your calendar.",
}
"""Kinds that are part of the program's obligations: always sent, with the reason."""


class Channel(StrEnum):
    email = "email"


class DeliveryStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"
    held = "held"
    """Waiting for her digest (she chose ``digest`` for the kind)."""
    digested = "digested"
    """Sent within a digest."""


class EmailSetting(StrEnum):
    on = "on"
    off = "off"
    digest = "digest"


class MemberRole(StrEnum):
    mentee = "mentee"
    mentor = "mentor"


class ReminderStatus(StrEnum):
    scheduled = "scheduled"
    fired = "fired"
    cancelled = "cancelled"
