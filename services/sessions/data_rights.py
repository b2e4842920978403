"""Data-subject export and erasure for the sessions service (GDPR Art. 15/20 and 17).

The orchestration (gateway ``/v1/data-subject-requests``) calls ``export_subject`` and
``erase_subject`` with her account id (the JWT ``sub``) and her participant ids in one
institution; neither commits. Everything is confined to ``institution_id``.

Who she is here: the dyads of the institution where her account id (or one of her
participant ids) is the mentee's or the mentor's; her *side* in each is that role.

Export: the rows about her or written by her, with her own columns only (never her
counterpart's account id, timezone or availability; never a calendar token's hash).

Erasure, table by table (``[erased]`` stands in for required text, ``NULL`` for the rest;
``pseudonym`` is one random ``erased-…`` id per erasure, shared by all her rows here):

- ``dyads``: kept, with its dates, status and counts, for the program's published
  aggregates; her account id becomes the pseudonym (her token no longer opens it, nor
  any entry of it), her availability is emptied and ``end_reason`` cleared. Her
  participant id stays: the participants service keeps it as a pseudonymous key.
- ``diary_entries``: her entries are deleted (the shared ones too: her mentor's link
  answers 404). Diary counts of the dyad drop accordingly.
- ``feedback_forms``: her forms keep the numeric ratings, the on-time flags and dates
  (pseudonymous: the aggregates and the timeliness statistics use them); the free-text
  ``comments`` are cleared and the respondent becomes the pseudonym.
- ``objectives`` (those of dyads where she is the mentee: hers): statement, metric, unit,
  plan and career goal become ``[erased]``, resources emptied; numbers and dates stay
  (outcome statistics). Where she is the mentor only her ``mentor_perceived`` is hers:
  it is a number and stays, pseudonymous.
- ``progress_entries`` of her objectives: notes cleared, values kept.
- ``milestones`` of her objectives: title ``[erased]``, evidence and return reason
  cleared; status and dates kept. ``milestone_changes`` of them: evidence and reasons
  cleared. Where she is the mentor, the reasons she gave (``by = 'mentor'``) are cleared.
- ``meetings`` of her dyads: ``notes`` cleared (notes carry no author: either member
  may have written them, and they are about her meetings); dates and statuses stay.
- ``meeting_changes`` of her dyads' meetings: the reasons given by her side or by staff
  (about her meetings) become ``[erased]``; her counterpart's own reasons stay.
- ``calendar_tokens``: deleted (her feed URL answers 404).
- ``attendance``: her rows (by participant id) deleted.
- ``outbox_events``: her account id is replaced by the pseudonym in every payload of the
  institution; the metric and unit of her objectives' ``objective.created`` and the
  reasons of her side's ``meeting.rescheduled`` become ``[erased]``.
- ``idempotency_records``: stored answers of her requests (or naming her) about her dyads here deleted
  (the records carry no institution: the dyad ids they name keep the deletion inside it).

A second call finds nothing of hers (her account id is gone) and returns zeros.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, select

from servicekit import erasures
from servicekit.personal_data import ERASED_TEXT, drop_idempotency, exported, new_pseudonym, scrub_events

from services.sessions import meetings, milestones, objectives
from services.sessions.models import (
    Attendance,
    CalendarToken,
    DiaryEntry,
    Dyad,
    ErasedSubject,
    FeedbackForm,
    FeedCursor,
    IdempotencyRecord,
    OutboxEvent,
)  # fmt: skip

PERSONAL: dict[str, str] = {
    "dyads": "who she is matched with: her account and participant ids, timezone, weekly availability, why the dyad ended",
    "diary_entries": "her private diary: free text, dates, which entries she shared with her mentor",
    "feedback_forms": "her answers after each meeting: ratings, free-text comments, whether it took place, timeliness",
    "objectives": "her SMART objectives: statement, metric, plan, resources, career goal, perceived achievement",
    "progress_entries": "progress she recorded on her objectives, with notes",
    "milestones": "steps of her objectives: titles, evidence links and notes, return reasons",
    "milestone_changes": "history of her milestones: every report with its evidence, confirmations, returns with reasons",
    "meetings": "her meetings: times, place or link, confirmations, notes",
    "meeting_changes": "history of her meetings: reschedules, cancellations, no-shows, with the reasons given",
    "calendar_tokens": "her private calendar feed URL (its hash) and account id",
    "attendance": "whether she (participant id) attended each group event",
}
NOT_PERSONAL: dict[str, str] = {
    "program_settings": "a program's meeting plan, feedback form, supervision policy and norms: no person",
    "group_events": "a program's group events (title, time, place): no attendee",
    "outbox_events": "events this service publishes (meetings, feedback, objectives, milestones, health); payloads carry "
    "account ids, scrubbed by erase_subject (replaced by the pseudonym), ids and dates otherwise: nothing exported",
    "idempotency_records": "first answers to creating requests, by caller, for retries; hers are deleted by erase_subject, "
    "never exported (they repeat rows exported from their own tables)",
    "feed_cursors": "how far this service has read other services' event feeds: a source name and a cursor",
    "handled_events": "ids and types of the events already handled (for exactly-once handling): no payload",
    **erasures.NOT_PERSONAL,
}

_DYAD = ("id", "program_id", "status", "activated_at", "ended_at")
_MEETING = ("id", "dyad_id", "number", "start", "duration_minutes", "modality", "status", "notes")
_CHANGE = ("id", "meeting_id", "kind", "by", "from_start", "to_start", "reason", "at")
_FORM = ("id", "dyad_id", "meeting_id", "respondent_role", "due_at", "submitted_at", "ratings", "rating", "comments",
         "meeting_took_place", "on_time", "delay_days")  # fmt: skip
_OBJECTIVE = ("id", "dyad_id", "statement", "metric", "baseline", "target", "unit", "direction", "plan", "resources",
              "career_goal", "due_date", "set_on", "mentee_perceived", "created_at")  # fmt: skip
_PROGRESS = ("id", "objective_id", "value", "note", "meeting_id", "recorded_at")
_MILESTONE = ("id", "objective_id", "title", "due_on", "status", "met_on", "evidence_link", "evidence_note", "reported_at",
              "confirmed_at", "returned_at", "return_reason")  # fmt: skip
_MILESTONE_CHANGE = ("id", "milestone_id", "kind", "by", "met_on", "evidence_link", "evidence_note", "reason", "at")
_DIARY = ("id", "dyad_id", "text", "entry_date", "objective_id", "meeting_id", "shared_at", "created_at")
_STAFF = ("coordinator", "admin", "system")


def _her_dyads(session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]) -> list[tuple[Dyad, str]]:
    """Her dyads in the institution and her side in each."""
    pids = list(participant_ids)
    clauses = [Dyad.mentee_account_id == account_id, Dyad.mentor_account_id == account_id]
    if pids:
        clauses += [Dyad.mentee_participant_id.in_(pids), Dyad.mentor_participant_id.in_(pids)]  # type: ignore[attr-defined]
    found = session.exec(select(Dyad).where(Dyad.institution_id == institution_id, or_(*clauses))
                         .order_by(Dyad.activated_at, Dyad.id)).all()  # type: ignore[arg-type]
    out = []
    for d in found:
        mentee = d.mentee_account_id == account_id or d.mentee_participant_id in pids
        out.append((d, "mentee" if mentee else "mentor"))
    return out


def _mine(session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]) -> dict[str, Any]:
    """Every row of hers, by table, read through the service's own queries."""
    held: dict[str, Any] = {k: [] for k in PERSONAL}
    dyads = _her_dyads(session, institution_id, account_id, participant_ids)
    held["dyads"] = dyads
    for dyad, side in dyads:
        for m in meetings.dyad_meetings(session, dyad):
            held["meetings"].append((m, dyad, side))
            held["meeting_changes"] += [(c, side) for c in meetings.history(session, m)]
        held["feedback_forms"] += session.exec(select(FeedbackForm).where(
            FeedbackForm.institution_id == institution_id, FeedbackForm.dyad_id == dyad.id,
            or_(FeedbackForm.respondent_role == side, FeedbackForm.respondent_account_id == account_id),
        ).order_by(FeedbackForm.due_at)).all()  # type: ignore[arg-type]
        for o in objectives.dyad_objectives(session, dyad):
            held["objectives"].append((o, side))
            if side == "mentee":
                held["progress_entries"] += objectives.entries(session, o)
            for step in milestones.of_objective(session, o):
                history = milestones.history(session, step)
                if side == "mentee":
                    held["milestones"].append(step)
                    held["milestone_changes"] += history
                else:
                    held["milestone_changes"] += [c for c in history if c.by == "mentor"]
    held["diary_entries"] = list(session.exec(select(DiaryEntry).where(
        DiaryEntry.institution_id == institution_id, DiaryEntry.author_account_id == account_id,
    ).order_by(DiaryEntry.entry_date, DiaryEntry.id)).all())  # type: ignore[arg-type]
    held["calendar_tokens"] = list(session.exec(select(CalendarToken).where(
        CalendarToken.institution_id == institution_id, CalendarToken.account_id == account_id).order_by(CalendarToken.id)).all())  # type: ignore[arg-type]
    if participant_ids:
        held["attendance"] = list(session.exec(select(Attendance).where(
            Attendance.institution_id == institution_id, Attendance.participant_id.in_(list(participant_ids)),  # type: ignore[attr-defined]
        ).order_by(Attendance.recorded_at, Attendance.id)).all())  # type: ignore[arg-type]
    return held


def export_subject(session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]) -> dict[str, list[dict[str, Any]]]:
    held = _mine(session, institution_id, account_id, participant_ids)
    out: dict[str, list[dict[str, Any]]] = {}
    out["dyads"] = [exported(d, _DYAD, role=side, account_id=getattr(d, f"{side}_account_id"),
                             participant_id=getattr(d, f"{side}_participant_id"), timezone=getattr(d, f"{side}_timezone"),
                             availability=getattr(d, f"{side}_availability"))
                    for d, side in held["dyads"]]
    out["meetings"] = [exported(m, _MEETING, my_confirmation_at=getattr(m, f"{side}_confirmed_at")) for m, _, side in held["meetings"]]
    out["meeting_changes"] = [exported(c, _CHANGE) if c.by == side else exported(c, tuple(k for k in _CHANGE if k != "reason"))
                              for c, side in held["meeting_changes"]]
    out["feedback_forms"] = [exported(f, _FORM) for f in held["feedback_forms"]]
    out["objectives"] = [exported(o, _OBJECTIVE) if side == "mentee" else exported(o, ("id", "dyad_id", "mentor_perceived"))
                         for o, side in held["objectives"]]
    out["progress_entries"] = [exported(e, _PROGRESS) for e in held["progress_entries"]]
    out["milestones"] = [exported(m, _MILESTONE) for m in held["milestones"]]
    out["milestone_changes"] = [exported(c, _MILESTONE_CHANGE) for c in held["milestone_changes"]]
    out["diary_entries"] = [exported(e, _DIARY) for e in held["diary_entries"]]
    out["calendar_tokens"] = [exported(t, ("id", "created_at", "revoked_at")) for t in held["calendar_tokens"]]
    out["attendance"] = [exported(a, ("id", "event_id", "participant_id", "attended", "recorded_at")) for a in held["attendance"]]
    return out


def erase_subject(session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]) -> dict[str, int]:
    # A match event about her already read from matching's feed must not make her a dyad afterwards (servicekit.erasures).
    erasures.hold_feeds(session, FeedCursor)
    erasures.remember(session, ErasedSubject, institution_id, account_id)
    held = _mine(session, institution_id, account_id, participant_ids)
    counts = dict.fromkeys([*PERSONAL, "outbox_events", "idempotency_records"], 0)
    pseudonym = new_pseudonym()
    her_accounts = {a for a in {account_id} | {getattr(d, f"{side}_account_id") for d, side in held["dyads"]}
                    if not a.startswith("erased-")}

    # What the outbox says about her own content, found before the rows change.
    her_objectives = {str(o.id) for o, side in held["objectives"] if side == "mentee"}
    her_meetings = {str(m.id): side for m, _, side in held["meetings"]}

    def redact(kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        p = dict(payload)
        if kind == "objective.created" and p.get("objective_id") in her_objectives:
            p.update(metric=ERASED_TEXT, unit=ERASED_TEXT)
        elif p.get("meeting_id") in her_meetings and p.get("by") in (her_meetings[p["meeting_id"]], *_STAFF) and p.get("reason"):
            p["reason"] = ERASED_TEXT
        return p

    for dyad, side in held["dyads"]:
        if getattr(dyad, f"{side}_account_id").startswith("erased-") and not dyad.end_reason and not getattr(dyad, f"{side}_availability"):
            continue
        setattr(dyad, f"{side}_account_id", pseudonym)
        setattr(dyad, f"{side}_availability", [])
        dyad.end_reason = None
        session.add(dyad)
        counts["dyads"] += 1
    for e in held["diary_entries"]:
        session.delete(e)
        counts["diary_entries"] += 1
    for f in held["feedback_forms"]:
        if f.respondent_account_id.startswith("erased-") and f.comments is None:
            continue
        f.respondent_account_id, f.comments = pseudonym, None
        session.add(f)
        counts["feedback_forms"] += 1
    for o, side in held["objectives"]:
        if side != "mentee" or o.statement == ERASED_TEXT:
            continue
        o.statement = o.metric = o.unit = o.plan = o.career_goal = ERASED_TEXT
        o.resources = []
        session.add(o)
        counts["objectives"] += 1
    for p in held["progress_entries"]:
        if p.note is not None:
            p.note = None
            session.add(p)
            counts["progress_entries"] += 1
    for m in held["milestones"]:
        if m.title == ERASED_TEXT and m.evidence_link is None and m.evidence_note is None and m.return_reason is None:
            continue
        m.title, m.evidence_link, m.evidence_note, m.return_reason = ERASED_TEXT, None, None, None
        session.add(m)
        counts["milestones"] += 1
    mentor_reasons: set[str] = set()
    for c in held["milestone_changes"]:
        if c.evidence_link is None and c.evidence_note is None and c.reason is None:
            continue
        if c.reason and c.by == "mentor":
            mentor_reasons.add(c.reason)
        c.evidence_link, c.evidence_note, c.reason = None, None, None
        session.add(c)
        counts["milestone_changes"] += 1
    if mentor_reasons:  # the return reason she gave as a mentor, still shown on the mentee's milestone
        for dyad, side in held["dyads"]:
            if side != "mentor":
                continue
            for o in objectives.dyad_objectives(session, dyad):
                for m in milestones.of_objective(session, o):
                    if m.return_reason in mentor_reasons:
                        m.return_reason = None
                        session.add(m)
                        counts["milestones"] += 1
    for m, _, _ in held["meetings"]:
        if m.notes is not None:
            m.notes = None
            session.add(m)
            counts["meetings"] += 1
    for c, side in held["meeting_changes"]:
        if (c.by == side or c.by in _STAFF) and c.reason != ERASED_TEXT:
            c.reason = ERASED_TEXT
            session.add(c)
            counts["meeting_changes"] += 1
    for t in held["calendar_tokens"]:
        session.delete(t)
        counts["calendar_tokens"] += 1
    for a in held["attendance"]:
        session.delete(a)
        counts["attendance"] += 1
    session.flush()

    counts["outbox_events"] = scrub_events(session, OutboxEvent, institution_id, her_accounts, pseudonym, redact,
                                           subjects=her_objectives | set(her_meetings))
    counts["idempotency_records"] = drop_idempotency(session, IdempotencyRecord, account_id, her_accounts,
                                                     within=[str(d.id) for d, _ in held["dyads"]])
    session.flush()
    return counts

