"""Data-subject export and erasure for the matching service (GDPR Art. 15/20 and 17).

Called by the orchestration with her account id (JWT ``sub``) and her participant ids
in one institution; nothing here commits, and nothing leaves ``institution_id``.

Export: her matching profiles (whole), her matches and substitute offers (her side
only: never her counterpart's account id), and her entry in each run's input snapshot.

Erasure (``pseudonym``: one random ``erased-…`` id per erasure, shared by her rows here):

- ``matching_profiles``: deleted, free text and preferences with them. Coordinators no
  longer list her profile; a later run does not see her.
- ``matches``: kept for the program's counts and published outcomes (status, dates,
  score, both participant ids: the participants service keeps those as pseudonymous
  keys). Her account id becomes the pseudonym, her side of ``context`` (what
  ``match.activated`` carried) loses account id, timezone and availability, and a
  dissolution reason (free text about her match) becomes ``[erased]``.
- ``substitute_offers`` made to her: kept for counts, account id pseudonymised.
- ``matching_runs``: the run's report (counts, pairs and scores by participant id) stays
  as published; her entry in ``inputs`` keeps her participant id, role, capacity and
  delivery, loses her account id (pseudonym), timezone, availability, questionnaire
  answers (objectives, expertise, interests, languages), requests, identity tags and
  career stage, and her campus and unit (``none:<participant id>``, the engine's own
  "unknown" value). A rerun of such a run cannot match her again. A run she started as a
  coordinator keeps the pseudonym as ``created_by``.
- ``outbox_events``: her account id replaced by the pseudonym in every payload of the
  institution; in events about her matches her side's timezone and availability are
  removed and a dissolution reason becomes ``[erased]``.
- ``idempotency_records``: stored answers of her requests (or naming her) that name one
  of her participant ids or matches are deleted.

A second call finds nothing to change (her account id is gone; what is kept is
already pseudonymous) and returns zeros.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, select

from servicekit.personal_data import ERASED_TEXT, drop_idempotency, exported, new_pseudonym, scrub_events

from services.matching.enums import Actor
from services.matching.models import (
    IdempotencyRecord,
    Match,
    MatchingProfile,
    MatchingRun,
    OutboxEvent,
    SubstituteOffer,
)

PERSONAL: dict[str, str] = {
    "matching_profiles": "her questionnaire: objectives and free text, expertise, experience, availability, timezone, "
    "interests, languages, delivery, identity-matching requests, account and participant ids",
    "matches": "who she is matched with: account and participant ids, acceptance and dissolution (with its reason), "
    "and the timezone and availability sent to the sessions service",
    "substitute_offers": "offers to her as a substitute mentor: account and participant ids, rank, her answer",
    "matching_runs": "each run's input snapshot: every person's profile answers, campus, career stage, availability, "
    "identity tags and account id; the report by participant id; who ran it (a coordinator's account id)",
}
NOT_PERSONAL: dict[str, str] = {
    "matching_settings": "a program's weights, rules and pinned or forbidden pairs (participant ids only, which the "
    "participants service keeps as pseudonymous keys): no profile data",
    "outbox_events": "events this service publishes (matches published, activated, dissolved, completed; substitutes); "
    "payloads carry account ids, timezones and availability, scrubbed by erase_subject; not exported (they repeat matches)",
    "idempotency_records": "first answers to creating requests, by caller, for retries; hers are deleted by erase_subject, "
    "never exported (they repeat rows exported from their own tables)",
    "feed_cursors": "how far this service has read the participants feed: a source name and a cursor",
    "handled_events": "ids and types of the events already handled (for exactly-once handling): no payload",
}

_PROFILE = ("id", "program_id", "participant_id", "account_id", "role", "objectives", "objectives_text", "expertise", "experience",
            "availability", "timezone", "capacity", "willing_to_substitute", "interests", "languages", "delivery", "requests",
            "created_at", "updated_at")  # fmt: skip
_MATCH = ("id", "program_id", "run_id", "score", "status", "activated_at", "completed_at", "dissolved_at", "dissolved_by",
          "dissolution_reason", "created_at")  # fmt: skip
_OFFER = ("id", "program_id", "run_id", "mentor_participant_id", "rank", "status", "created_at", "responded_at")


def _is_pseudonym(account: str | None) -> bool:
    return bool(account) and str(account).startswith("erased-")


def _mine(session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]) -> dict[str, Any]:
    pids = list(participant_ids)
    spids = {str(p) for p in pids}

    def who(account_col: Any, *pid_cols: Any) -> Any:
        return or_(account_col == account_id, *(c.in_(pids) for c in pid_cols)) if pids else account_col == account_id

    profiles = list(session.exec(select(MatchingProfile).where(
        MatchingProfile.institution_id == institution_id, who(MatchingProfile.account_id, MatchingProfile.participant_id),
    ).order_by(MatchingProfile.id)).all())  # type: ignore[arg-type]
    matches = []
    for m in session.exec(select(Match).where(Match.institution_id == institution_id, or_(
        who(Match.mentee_account_id, Match.mentee_participant_id), who(Match.mentor_account_id, Match.mentor_participant_id),
    )).order_by(Match.id)).all():  # type: ignore[arg-type]
        mentee = m.mentee_account_id == account_id or str(m.mentee_participant_id) in spids
        matches.append((m, Actor.mentee if mentee else Actor.mentor))
    offers = list(session.exec(select(SubstituteOffer).where(
        SubstituteOffer.institution_id == institution_id, who(SubstituteOffer.mentor_account_id, SubstituteOffer.mentor_participant_id),
    ).order_by(SubstituteOffer.id)).all())  # type: ignore[arg-type]
    spids |= {str(p.participant_id) for p in profiles} | {str(getattr(m, f"{s}_participant_id")) for m, s in matches}
    runs = []
    for run in session.exec(select(MatchingRun).where(MatchingRun.institution_id == institution_id).order_by(MatchingRun.id)).all():  # type: ignore[arg-type]
        entries = [(group, n, p) for group in ("mentors", "mentees") for n, p in enumerate(run.inputs.get(group) or [])
                   if p.get("id") in spids or p.get("account_id") == account_id]
        if entries:
            runs.append((run, entries))
    authored = list(session.exec(select(MatchingRun).where(MatchingRun.institution_id == institution_id,
                                                           MatchingRun.created_by == account_id).order_by(MatchingRun.id)).all())  # type: ignore[arg-type]
    return {"profiles": profiles, "matches": matches, "offers": offers, "runs": runs, "authored_runs": authored, "participant_ids": spids}


def export_subject(session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]) -> dict[str, list[dict[str, Any]]]:
    held = _mine(session, institution_id, account_id, participant_ids)
    return {
        "matching_profiles": [exported(p, _PROFILE) for p in held["profiles"]],
        "matches": [exported(m, _MATCH, role=side, participant_id=getattr(m, f"{side}_participant_id"),
                             account_id=getattr(m, f"{side}_account_id"), accepted_at=getattr(m, f"{side}_accepted_at"),
                             sent_to_sessions=m.context.get(side))
                    for m, side in held["matches"]],
        "substitute_offers": [exported(o, _OFFER, account_id=o.mentor_account_id) for o in held["offers"]],
        "matching_runs": [exported(run, ("program_id", "created_at", "published_at"), run_id=run.id, inputs=[p for _, _, p in entries])
                          for run, entries in held["runs"]]
        + [exported(run, ("program_id", "created_at", "created_by"), run_id=run.id) for run in held["authored_runs"]],
    }


def _blank_entry(p: dict[str, Any], pseudonym: str) -> dict[str, Any]:
    pid = p.get("id")
    blank = {**p, "account_id": pseudonym, "timezone": "UTC", "availability_local": [], "availability": [], "objectives": [],
             "expertise": [], "interests": [], "languages": [], "requests": None, "identity_tags": [], "career_stage": None,
             "campus_id": f"none:{pid}", "academic_unit_id": f"none:{pid}"}  # fmt: skip
    if "identity_match" in p:
        blank["identity_match"] = []
    return blank


def erase_subject(session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]) -> dict[str, int]:
    held = _mine(session, institution_id, account_id, participant_ids)
    counts = dict.fromkeys([*PERSONAL, "outbox_events", "idempotency_records"], 0)
    pseudonym = new_pseudonym()
    accounts = {account_id} | {getattr(m, f"{s}_account_id") for m, s in held["matches"]} | {p.account_id for p in held["profiles"]}
    accounts = {a for a in accounts if not _is_pseudonym(a)}

    for profile in held["profiles"]:
        session.delete(profile)
        counts["matching_profiles"] += 1
    for m, side in held["matches"]:
        context = copy.deepcopy(m.context)
        mine = context.get(side) or {}
        changed = (not _is_pseudonym(getattr(m, f"{side}_account_id")) or m.dissolution_reason not in (None, ERASED_TEXT)
                   or bool(mine) and (mine.get("timezone") != "UTC" or bool(mine.get("availability") or mine.get("availability_utc"))
                                      or not _is_pseudonym(mine.get("account_id"))))
        if not changed:
            continue
        if mine:
            context[side] = {**mine, "account_id": pseudonym, "timezone": "UTC", "availability": [], "availability_utc": []}
        setattr(m, f"{side}_account_id", pseudonym)
        m.context = context
        if m.dissolution_reason is not None:
            m.dissolution_reason = ERASED_TEXT
        session.add(m)
        counts["matches"] += 1
    for offer in held["offers"]:
        if not _is_pseudonym(offer.mentor_account_id):
            offer.mentor_account_id = pseudonym
            session.add(offer)
            counts["substitute_offers"] += 1
    for run, entries in held["runs"]:
        inputs = copy.deepcopy(run.inputs)
        touched = False
        for group, n, p in entries:
            blank = _blank_entry(p, p["account_id"] if _is_pseudonym(p.get("account_id")) else pseudonym)
            if blank != p:
                inputs[group][n] = blank
                touched = True
        if touched:
            run.inputs = inputs
            session.add(run)
            counts["matching_runs"] += 1
    for run in held["authored_runs"]:  # she ran it as a coordinator
        run.created_by = pseudonym
        session.add(run)
        counts["matching_runs"] += 1
    session.flush()

    match_sides = {str(m.id): side for m, side in held["matches"]}

    def redact(kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        side = match_sides.get(str(payload.get("match_id")))
        if side is None:
            return None
        p = copy.deepcopy(payload)
        if isinstance(p.get(side), dict):
            p[side] = {**p[side], "timezone": "UTC", "availability": [], "availability_utc": []}
        if p.get("reason"):
            p["reason"] = ERASED_TEXT
        return p

    counts["outbox_events"] = scrub_events(session, OutboxEvent, institution_id, accounts, pseudonym, redact,
                                           subjects=set(match_sides))
    counts["idempotency_records"] = drop_idempotency(session, IdempotencyRecord, account_id, accounts,
                                                     within=sorted(held["participant_ids"] | set(match_sides)))
    session.flush()
    return counts
