"""Data-subject export and erasure for the evaluation service (GDPR Art. 15/20 and 17).

Called by the orchestration with her account id (JWT ``sub``) and her participant ids
in one institution; nothing here commits, and nothing leaves ``institution_id``.

Finding her survey responses. A non-anonymous response stores her participant and
account ids. An anonymous one stores only her keyed pseudonym, HMAC(key, program_id +
sub) (``access.pseudonym``), with the key outside the database: it is found with the
service's key, which the app registers here at start-up (``use_pseudonym_key``; else
``EVALUATION_PSEUDONYM_KEY``). Without the key her anonymous responses cannot be found,
by design, and are neither exported nor erased.

The rule for survey answers (models.py, administering.py: responses are pseudonymous,
open answers are personal text coded and quoted only de-identified):

- a draft (never counted anywhere) is deleted;
- a submitted response keeps its closed answers (Likert, numeric, choices), role,
  dates and ``dyad_ref`` (the keyed pseudonym of the dyad, which pairs a mentee's and
  her mentor's perceived achievement) so that published aggregates keep their counts;
  its open-text answers are removed; its participant and account ids are cleared; its
  keyed pseudonym is replaced by a random one (``erased-…``, one per program), so her
  pre/post answers still pair with each other but nothing, the key included, leads
  from her to them any more;
- the themes evaluators gave to her open answers (``codings``) stay, tied to the
  unlinked response only (as the codes of an erased interview do).

Interviews: ``interviews.erase_person`` / ``export_person`` for each of her participant
ids (answers and quotes deleted, sample picks deleted, the interview unlinked, codings
kept under the interview's random code; idempotent replays holding them deleted).

Staff: when she is a member of the institution's staff, the columns naming her as an
author (``created_by``, ``updated_by``, ``accepted_by``, ``assigned_by``, evaluator,
coder, interviewer) are pseudonymised and her interview-team rows deleted; the rows
themselves (instruments, administrations, themes, guides, samples, codings) stay.

Idempotency records holding one of her responses (her own replays) are deleted. The
outbox carries no person (``response.submitted``: administration, moment, role).
A second call finds nothing of hers and returns zeros.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, select

from servicekit.personal_data import drop_idempotency, exported, new_pseudonym
from servicekit.problems import ProblemError

from services.evaluation import access, catalog, interviews
from services.evaluation.domain.instruments import ItemType
from services.evaluation.config import Settings
from services.evaluation.enums import Submission
from services.evaluation.models import (
    AdministrationRow,
    CodingRow,
    DisclosureSettingsRow,
    IdempotencyRecord,
    InstrumentVersion,
    InterviewCodingRow,
    InterviewGuideRow,
    InterviewRow,
    InterviewSampleRow,
    InterviewTeamRow,
    QuoteRow,
    ResponseRow,
    ThemeRow,
)  # fmt: skip

PERSONAL: dict[str, str] = {
    "responses": "her questionnaire answers (closed and open text), role, dates; her participant and account ids "
    "(non-anonymous administrations) or her keyed pseudonym (anonymous ones), her dyad's keyed pseudonym",
    "codings": "themes evaluators gave to her open answers, with the evaluator's account id",
    "interviews": "her interview: answers (personal text), date, language, consent to quotes, participant and "
    "application ids, the interviewer's account id",
    "interview_codings": "codes coders gave to her interview answers, with the coder's account id",
    "interview_quotes": "excerpts of her interview answers, with the coder's account id",
    "interview_sample_picks": "her being picked for an interview sample: participant id, career stage, STEM field, strata",
    "interview_team": "staff on a program's interview team: account ids and roles",
    "interview_samples": "who proposed and accepted a sample (staff account ids); the population as counts per stratum",
    "interview_guides": "who wrote a guide (staff account id); the questions",
    "instrument_versions": "who copied an instrument (staff account id); the instrument",
    "administrations": "who opened an administration (staff account id); its instrument, audience and window",
    "themes": "who wrote a theme of the codebook (staff account id); labels and definitions",
    "disclosure_settings": "who last set a program's disclosure floors (staff account id)",
}
NOT_PERSONAL: dict[str, str] = {
    "outbox_events": "events this service publishes (administration closed; response submitted with administration, "
    "moment and role): no person",
    "idempotency_records": "first answers to creating requests, by caller, for retries; those holding her responses or "
    "interviews are deleted by erase_subject, never exported (they repeat rows exported from their own tables)",
    "feed_cursors": "how far this service has read the participants feed: a source name and a cursor",
    "handled_events": "ids and types of the events already handled (for exactly-once handling): no payload",
}

AUTHORED: tuple[tuple[Any, str], ...] = (
    (AdministrationRow, "created_by"), (CodingRow, "evaluator"), (DisclosureSettingsRow, "updated_by"),
    (InstrumentVersion, "created_by"), (InterviewGuideRow, "created_by"), (InterviewSampleRow, "created_by"),
    (InterviewSampleRow, "accepted_by"), (InterviewTeamRow, "assigned_by"), (InterviewRow, "interviewer"),
    (InterviewCodingRow, "coder"), (QuoteRow, "created_by"), (ThemeRow, "created_by"),
)  # fmt: skip

_RESPONSE = ("id", "administration_id", "program_id", "role", "status", "answers", "saved_at", "submitted_at")

_pseudonym_key: bytes | None = None


def use_pseudonym_key(key: bytes) -> None:
    """The key of the anonymous respondents' pseudonyms (the app registers its own at start-up)."""
    global _pseudonym_key
    _pseudonym_key = key


def _key() -> bytes | None:
    if _pseudonym_key is not None:
        return _pseudonym_key
    configured = Settings().pseudonym_key.get_secret_value()
    return configured.encode() if configured else None


def _responses(session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]) -> list[ResponseRow]:
    clauses: list[Any] = [ResponseRow.account_id == account_id]
    if participant_ids:
        clauses.append(ResponseRow.participant_id.in_(list(participant_ids)))  # type: ignore[union-attr]
    key = _key()
    if key is not None:
        programs = session.exec(select(AdministrationRow.program_id).where(AdministrationRow.institution_id == institution_id).distinct()).all()
        if programs:
            clauses.append(ResponseRow.pseudonym.in_([access.pseudonym(key, p, account_id) for p in programs]))  # type: ignore[attr-defined]
    return list(session.exec(select(ResponseRow).where(ResponseRow.institution_id == institution_id, or_(*clauses))
                             .order_by(ResponseRow.saved_at, ResponseRow.id)).all())  # type: ignore[arg-type]


def _administrations(session: Session, rows: list[ResponseRow]) -> dict[uuid.UUID, AdministrationRow]:
    ids = sorted({r.administration_id for r in rows}, key=str)
    if not ids:
        return {}
    return {a.id: a for a in session.exec(select(AdministrationRow).where(AdministrationRow.id.in_(ids))).all()}  # type: ignore[attr-defined]


def _interview_data(session: Session, institution_id: uuid.UUID, participant_ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    found = []
    for pid in participant_ids:
        try:
            found.append(interviews.export_person(session, institution_id, pid))
        except ProblemError as exc:  # nothing held about this participant id
            if exc.status != 404:
                raise
    return found


def export_subject(session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in PERSONAL}
    rows = _responses(session, institution_id, account_id, participant_ids)
    adms = _administrations(session, rows)
    out["responses"] = [exported(r, _RESPONSE, instrument_key=adms[r.administration_id].instrument_key,
                                 moment=adms[r.administration_id].moment, anonymous=adms[r.administration_id].anonymous)
                        for r in rows]  # fmt: skip
    if rows:
        codings = session.exec(select(CodingRow).where(CodingRow.institution_id == institution_id,
                                                       CodingRow.response_id.in_([r.id for r in rows]))  # type: ignore[attr-defined]
                               .order_by(CodingRow.id)).all()
        out["codings"] = [exported(c, ("response_id", "themes", "created_at")) for c in codings]
    for held in _interview_data(session, institution_id, participant_ids):
        for i in held["interviews"]:
            out["interviews"].append(exported(i, [k for k in i if k not in ("codings", "quotes")]))
            out["interview_codings"] += [exported(c, [k for k in c if k != "code"]) for c in i["codings"]]
            out["interview_quotes"] += [{"interview_id": str(i["interview_id"]), "excerpt": q} for q in i["quotes"]]
        out["interview_sample_picks"] += [exported(p, list(p)) for p in held["sample_picks"]]
    out["interview_team"] = [exported(t, ("id", "program_id", "interviewer", "coder", "lead_coder", "assigned_at"))
                             for t in session.exec(select(InterviewTeamRow).where(
                                 InterviewTeamRow.institution_id == institution_id, InterviewTeamRow.account_id == account_id)
                                 .order_by(InterviewTeamRow.id)).all()]  # fmt: skip
    for model, column in AUTHORED:
        for row in session.exec(select(model).where(model.institution_id == institution_id, getattr(model, column) == account_id)
                                .order_by(model.id)).all():
            out[model.__tablename__].append({"id": str(row.id), "as": column})
    return out


def erase_subject(session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]) -> dict[str, int]:
    counts = dict.fromkeys([*PERSONAL, "idempotency_records"], 0)
    rows = _responses(session, institution_id, account_id, participant_ids)
    adms = _administrations(session, rows)
    response_ids = [str(r.id) for r in rows]
    # Her own replays hold her answers: deleted before the links to her are cut.
    counts["idempotency_records"] = drop_idempotency(session, IdempotencyRecord, account_id, {account_id}, within=response_ids)

    per_program: dict[uuid.UUID, str] = {}
    open_items: dict[uuid.UUID, list[str]] = {}
    for r in rows:
        if r.status != Submission.SUBMITTED:
            session.delete(r)
            counts["responses"] += 1
            continue
        adm = adms[r.administration_id]
        if adm.id not in open_items:
            instrument = catalog.load(session, adm.institution_id, adm.instrument_id)
            open_items[adm.id] = [i.id for i in instrument.items() if i.type is ItemType.OPEN_TEXT]
        r.answers = {k: v for k, v in r.answers.items() if k not in open_items[adm.id]}
        r.participant_id, r.account_id = None, None
        r.pseudonym = per_program.setdefault(r.program_id, new_pseudonym())
        session.add(r)
        counts["responses"] += 1

    for pid in participant_ids:
        erased = interviews.erase_person(session, institution_id, pid)
        counts["interviews"] += erased["interviews_erased"]
        counts["interview_quotes"] += erased["quotes_deleted"]
        counts["interview_sample_picks"] += erased["sample_picks_deleted"]

    result = session.execute(delete(InterviewTeamRow).where(InterviewTeamRow.institution_id == institution_id,
                                                            InterviewTeamRow.account_id == account_id))  # type: ignore[arg-type]
    counts["interview_team"] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    pseudonym = new_pseudonym()
    for model, column in AUTHORED:
        col = getattr(model, column)
        result = session.execute(update(model).where(model.institution_id == institution_id, col == account_id)
                                 .values({column: pseudonym}).execution_options(synchronize_session=False))
        counts[model.__tablename__] += int(result.rowcount or 0)  # type: ignore[attr-defined]
    session.flush()
    return counts
