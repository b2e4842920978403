"""Who must hear what about one feed event: the messages to send now, the
reminders to schedule and the reminders the event makes pointless.

Facts are ids, dates, numbers and roles copied from the event, never a text a
person wrote (a reason, a comment, an answer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.notifications.enums import MessageKind

CONFIRM_REMINDER_BEFORE = timedelta(hours=48)
# A meeting's invitation goes out this long before it (or at once, when it is
# nearer): a new dyad's twelve meetings do not fill her mailbox on day one.
INVITE_AHEAD = timedelta(days=14)
MEETING_REMINDER_BEFORE = timedelta(hours=24)
FEEDBACK_REMINDER_BEFORE = timedelta(hours=24)


@dataclass(frozen=True)
class Message:
    account_id: str
    kind: MessageKind
    facts: dict[str, Any]


@dataclass(frozen=True)
class Scheduled:
    account_id: str
    kind: MessageKind
    reason: str
    due_at: datetime
    # Past this moment (the meeting's start, the form's deadline) it is pointless.
    expires_at: datetime
    facts: dict[str, Any]


@dataclass
class Plan:
    messages: list[Message] = field(default_factory=list)
    schedule: list[Scheduled] = field(default_factory=list)
    # Reasons whose scheduled reminders no longer apply.
    cancel: list[str] = field(default_factory=list)
    # Every reminder of these dyads no longer applies (the dyad ended).
    cancel_dyads: list[str] = field(default_factory=list)
    # Every reminder of (account, program) no longer applies (she left the program).
    cancel_members: list[tuple[str, str]] = field(default_factory=list)


def application_reason(application_id: str) -> str:
    return f"application:{application_id}"


def meeting_reason(meeting_id: str) -> str:
    return f"meeting:{meeting_id}"


def feedback_reason(meeting_id: str, role: str) -> str:
    return f"feedback:{meeting_id}:{role}"


def _when(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _pick(payload: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: payload[k] for k in keys if payload.get(k) is not None}


MEETING_FACTS = ("meeting_id", "dyad_id", "program_id", "number", "start", "duration_minutes", "modality", "sequence")


def _both_members(payload: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(account, role, counterpart's account) for each member the payload names."""
    mentee, mentor = payload.get("mentee_account_id"), payload.get("mentor_account_id")
    members = []
    if mentee:
        members.append((str(mentee), "mentee", str(mentor) if mentor else None))
    if mentor:
        members.append((str(mentor), "mentor", str(mentee) if mentee else None))
    return members


def members(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(dyad, role, account) for each member an event names with its dyad: the sessions
    feed's meeting events name both, before any milestone of the dyad."""
    dyad = payload.get("dyad_id")
    if not dyad:
        return []
    return [(str(dyad), role, account) for account, role, _ in _both_members(payload)]


def _milestone_reported(payload: dict[str, Any]) -> Plan:
    """Her mentor confirms what she reported met. The event names the dyad only: the
    mentor's account is the one the dyad's meetings named (``mentor_account_id``,
    added by intake). The evidence is never in the event, nor here."""
    mentor, mentee = payload.get("mentor_account_id"), payload.get("mentee_account_id")
    if not mentor or not payload.get("milestone_id"):
        return Plan()
    facts = {**_pick(payload, "milestone_id", "objective_id", "dyad_id", "program_id", "due_on", "met_on"), "role": "mentor"}
    if mentee:
        facts["counterpart_account_id"] = str(mentee)
    return Plan(messages=[Message(str(mentor), MessageKind.milestone_to_confirm, facts)])


def _completed(payload: dict[str, Any]) -> Plan:
    """Both members hear that their dyad completed the program; its reminders no longer apply."""
    plan = Plan(cancel_dyads=[str(payload["match_id"])])  # a dyad's id is its match's
    for account, role, counterpart in _both_members(payload):
        facts = {**_pick(payload, "match_id", "program_id"), "role": role}
        if counterpart:
            facts["counterpart_account_id"] = counterpart
        plan.messages.append(Message(account, MessageKind.program_completed, facts))
    return plan


def _application(event_type: str, payload: dict[str, Any]) -> Plan:
    account = payload.get("account_id")
    if not account:
        return Plan()
    facts = _pick(payload, "application_id", "program_id")
    if event_type == "application.submitted":
        return Plan(messages=[Message(str(account), MessageKind.application_received, facts)])
    deadline = _when(payload.get("confirm_by"))
    if event_type == "application.invited" and deadline is not None and payload.get("application_id"):
        facts["confirm_by"] = payload["confirm_by"]
        reminder = Scheduled(str(account), MessageKind.confirm_reminder, application_reason(str(payload["application_id"])),
                             deadline - CONFIRM_REMINDER_BEFORE, deadline, facts)
        return Plan(messages=[Message(str(account), MessageKind.selected, facts)], schedule=[reminder])
    if event_type in ("application.declined", "application.withdrawn", "application.expired") and payload.get("application_id"):
        return Plan(cancel=[application_reason(str(payload["application_id"]))])
    if event_type == "application.decided" and payload.get("decision") == "rejected":
        return Plan(messages=[Message(str(account), MessageKind.not_selected, facts)])
    return Plan()


def _match(payload: dict[str, Any]) -> Plan:
    messages = []
    for account, role, counterpart in _both_members(payload):
        other = "mentor" if role == "mentee" else "mentee"
        facts = {**_pick(payload, "match_id", "program_id"), "role": role}
        if counterpart:
            facts["counterpart_account_id"] = counterpart
        if payload.get(f"{other}_participant_id"):
            facts["counterpart_participant_id"] = payload[f"{other}_participant_id"]
        messages.append(Message(account, MessageKind.match_announced, facts))
    return Plan(messages=messages)


def invited(start: datetime, now: datetime) -> bool:
    """Whether a meeting at ``start`` has had its invitation by ``now`` (``INVITE_AHEAD``)."""
    return start - INVITE_AHEAD <= now


def _meeting(event_type: str, payload: dict[str, Any], now: datetime) -> Plan:
    """A meeting proposed, moved or cancelled. Its invitation goes out ``INVITE_AHEAD``
    before it (a reminder until then); a move or a cancellation of a meeting
    whose invitation has not gone out yet is no news: the invitation that goes
    out later says the current time, and a cancelled one is never sent."""
    meeting_id, start = payload.get("meeting_id"), _when(payload.get("start"))
    if not meeting_id or start is None:
        return Plan()
    base = _pick(payload, *MEETING_FACTS)
    plan = Plan()
    if event_type in ("meeting.rescheduled", "meeting.cancelled"):
        plan.cancel.append(meeting_reason(str(meeting_id)))
    previous = _when(payload.get("previous_start"))
    if event_type == "meeting.cancelled" and not invited(start, now):
        return plan
    kind = {"meeting.scheduled": MessageKind.meeting_proposed, "meeting.rescheduled": MessageKind.meeting_rescheduled,
            "meeting.cancelled": MessageKind.meeting_cancelled}[event_type]
    extra = _pick(payload, "previous_start") if event_type == "meeting.rescheduled" else {}
    if kind is MessageKind.meeting_rescheduled and previous is not None and not invited(previous, now):
        kind, extra = MessageKind.meeting_proposed, {}  # she never had the first time: this is her invitation
    for account, role, counterpart in _both_members(payload):
        facts = {**base, **extra, "role": role}
        if counterpart:
            facts["counterpart_account_id"] = counterpart
        if kind is MessageKind.meeting_proposed and not invited(start, now):
            plan.schedule.append(Scheduled(account, kind, meeting_reason(str(meeting_id)), start - INVITE_AHEAD, start, facts))
        else:
            plan.messages.append(Message(account, kind, facts))
        if event_type != "meeting.cancelled":
            plan.schedule.append(Scheduled(account, MessageKind.meeting_tomorrow, meeting_reason(str(meeting_id)),
                                           start - MEETING_REMINDER_BEFORE, start, {k: v for k, v in facts.items() if k != "previous_start"}))
    return plan


def _held(payload: dict[str, Any]) -> Plan:
    meeting_id, due = payload.get("meeting_id"), _when(payload.get("feedback_due"))
    if not meeting_id or due is None:
        return Plan()
    plan = Plan(cancel=[meeting_reason(str(meeting_id))])
    for account, role, _ in _both_members(payload):
        facts = {**_pick(payload, "meeting_id", "dyad_id", "program_id", "number"), "role": role, "due_at": payload["feedback_due"]}
        plan.schedule.append(Scheduled(account, MessageKind.feedback_due, feedback_reason(str(meeting_id), role),
                                       due - FEEDBACK_REMINDER_BEFORE, due, facts))
    return plan


def plan(event_type: str, payload: dict[str, Any], now: datetime) -> Plan:
    """What ``event_type`` with ``payload`` asks for at ``now``; an event nobody must hear about plans nothing."""
    if event_type.startswith("application."):
        return _application(event_type, payload)
    if event_type == "participant.confirmed" and payload.get("application_id"):
        return Plan(cancel=[application_reason(str(payload["application_id"]))])
    if event_type == "match.published":
        return _match(payload)
    if event_type in ("meeting.scheduled", "meeting.rescheduled", "meeting.cancelled"):
        return _meeting(event_type, payload, now)
    if event_type == "meeting.held":
        return _held(payload)
    if event_type == "feedback.submitted" and payload.get("meeting_id") and payload.get("respondent_role"):
        return Plan(cancel=[feedback_reason(str(payload["meeting_id"]), str(payload["respondent_role"]))])
    if event_type == "feedback.overdue" and payload.get("respondent_account_id") and payload.get("meeting_id"):
        facts = _pick(payload, "form_id", "meeting_id", "dyad_id", "program_id", "due_at", "days_overdue")
        return Plan(messages=[Message(str(payload["respondent_account_id"]), MessageKind.feedback_overdue, facts)],
                    cancel=[feedback_reason(str(payload["meeting_id"]), str(payload.get("respondent_role")))])
    if event_type == "milestone.reported":
        return _milestone_reported(payload)
    if event_type == "match.completed" and payload.get("match_id"):
        return _completed(payload)
    if event_type == "match.dissolved" and payload.get("match_id"):
        return Plan(cancel_dyads=[str(payload["match_id"])])  # a dyad's id is its match's
    if event_type == "participant.withdrawn" and payload.get("account_id") and payload.get("program_id"):
        return Plan(cancel_members=[(str(payload["account_id"]), str(payload["program_id"]))])
    return Plan()
