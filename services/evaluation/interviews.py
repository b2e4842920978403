"""Interviews as a workflow: guides, the team, a proposed sample, interviews, the codebook, coding, quotes.

The steps, per program (the Peru pilot's: ten semi-structured interviews, five
mentors and five mentees chosen to represent the cohort, coded into themes with
sub-themes by several readers):

1. **Guides.** An ordered list of open questions for one role, in Spanish and
   English. A coordinator creates one from her own questions or from the
   built-in default (``domain.interviews.DEFAULT_GUIDES``). A guide never
   changes once created: answers and codes refer to its question keys.
2. **The team.** Coordinators name, per program, the interviewers (evaluators
   of the institution; coordinators always may interview) and the coders
   (evaluators), one or more of them lead coders.
3. **A proposed sample.** From the program's members who consent to research
   (the participants service's research roster, read with this service's own
   ``research:read`` token), ``n`` per role stratified on career stage and STEM
   field (``domain.interviews.propose_sample``; age is not collected, so it
   is no stratum). The same candidates and seed give the same picks; each pick
   says which strata it fills. The coordinator swaps picks and accepts it.
4. **Interviews.** An interviewer records the date, the guide, her answer to
   each question asked and whether she agreed to be quoted. Research consent is
   checked against the roster at that moment (409 naming ``consents.research``),
   and so is consent to quotes when she agreed to be quoted (409 naming
   ``consents.quotes``). Each interview gets a random code (``E-XXXXX``): coders
   see the code, her role and her answers, never her name, her participant id,
   the interviewer or the date (``access.interview_view``).
5. **The codebook.** Themes, and sub-themes under a theme (two levels), with
   bilingual labels and a definition: the program's ``themes`` (also used to
   code open answers of anonymous questionnaires).
6. **Coding.** Each coder codes each answer with codes of the codebook, as a
   draft, then submits it once; an answer she leaves out carries no theme. She
   reads the others' codes of an interview only after submitting hers. An
   interview is **settled** when two coders submitted, or when the lead coder
   wrote the consensus (allowed once two coders submitted). A settled
   interview carries a theme when its consensus names it, else when every
   coder named it; a sub-theme brings its theme. Agreement is Cohen's kappa per
   theme between two coders over the answers both coded (the mean over pairs
   with more than two coders): ``domain.themes.theme_counts``.
7. **Quotes.** A coder marks a de-identified excerpt of one answer as a quote
   of a theme; the excerpt must be her words in order with every edit in
   square brackets (``domain.interviews.excerpt_problem``). It reaches the
   report only when she agreed to be quoted (and the participants service holds
   her consent to quotes), the interview is settled and carries the theme, and
   her role has at least ``k_text`` settled interviews (the report applies that
   last rule per role too).
8. **Into the report.** ``report_codings`` and ``report_quotes`` feed
   ``analysis.theme_inputs``: one ``ThemeCoding`` per settled interview and
   coder (its response id is the interview's code, its units the answers),
   plus the consensus, and the cleared quotes.

Consent and erasure, from the participants service's feed (``handle``):

- ``consent.withdrawn`` for ``research``: her interview is withdrawn: answers,
  codings and quotes are deleted and it is left out of every analysis from
  then on. For ``quotes``: her quotes are no longer published.
- ``data_subject.erased`` (and ``erase_person``, for a coordinator): her
  answers and quotes are deleted, her sample picks too, and the interview keeps
  no link to her (participant and application ids cleared). The codes of her
  answers stay, linked to the interview's random code only, so that the counts
  and kappa already published do not change.

Where each step lives: guides, the team and the sample in ``interview_samples``;
interviews, consent and erasure here; the codebook and coding in
``interview_coding``; quotes and what the report reads in ``interview_quotes``;
what they share (roles, paging, codings by interview) in ``interview_common``.

Answers are personal text: stored in ``interviews.answers`` only, never logged,
never in an event or a webhook; an idempotent replay of a recorded interview
(which holds them) is deleted with them.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from servicekit import clock
from servicekit.auth import Principal
from servicekit.consumer import event_uuid
from servicekit.outbox import EventOut
from servicekit.problems import (
    FieldError,
    ProblemError,
    conflict,
    field_problem,
    not_found,
)
from sqlalchemy import String, cast, delete, func, or_
from sqlmodel import Session, select

from services.evaluation import access
from services.evaluation.enums import InterviewStatus, Submission
from services.evaluation.interview_coding import coding_public
from services.evaluation.interview_common import (
    bilingual,
    coding_progress,
    codings_by_interview,
    role_of,
)
from services.evaluation.models import (
    IdempotencyRecord,
    InterviewCodingRow,
    InterviewGuideRow,
    InterviewRow,
    InterviewSampleRow,
    QuoteRow,
    SamplePickRow,
)

# ----------------------------------------------------------------------------- interviews


CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _new_code(session: Session, program_id: uuid.UUID) -> str:
    while True:
        code = "E-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(5))
        if session.exec(select(InterviewRow.id).where(InterviewRow.program_id == program_id, InterviewRow.code == code)).first() is None:
            return code


def consent_problem(purpose: str, detail: str) -> ProblemError:
    return conflict(detail, errors=[FieldError(field=f"consents.{purpose}", message="Consent required", code="consent_required")])


def record(session: Session, who: Principal, institution_id: uuid.UUID, body: Any, member: Any | None) -> InterviewRow:
    """``member``: her entry in the research roster (``None`` when she is not a current member consenting to research)."""
    access.may_interview(session, who, institution_id, body.program_id)
    if member is None:
        raise consent_problem("research", "She is not a current member of this program who consents to research (purpose "
                                          "research in the participants service): she cannot be interviewed for it")
    if body.quote_consent and not member.quotes:
        raise consent_problem("quotes", "She has not consented to quotes (purpose quotes in the participants service): "
                                        "record quote_consent false, or record the interview once she has consented")
    guide = session.exec(select(InterviewGuideRow).where(
        InterviewGuideRow.institution_id == institution_id, InterviewGuideRow.program_id == body.program_id,
        InterviewGuideRow.id == body.guide_id)).first()
    role = role_of(member.role)
    if guide is None:
        raise field_problem("body.guide_id", "no interview guide of this program has this id")
    if guide.role != role:
        raise field_problem("body.guide_id", f"the guide is for {guide.role}s; she is a {role}")
    keys = {q["key"] for q in guide.questions}
    unknown = [k for k in body.answers if k not in keys]
    if unknown:
        raise ProblemError(422, f"{len(unknown)} answer(s) are to questions the guide does not have", slug="validation-error",
                           title="Request validation failed",
                           errors=[FieldError(field=f"body.answers.{k}", message="not a question of the guide", code="unknown_question")
                                   for k in unknown])
    if body.conducted_on > clock.now().date():
        raise field_problem("body.conducted_on", "the interview cannot have happened after today")
    if session.exec(select(InterviewRow.id).where(InterviewRow.program_id == body.program_id,
                                                  InterviewRow.participant_id == body.participant_id)).first():
        raise conflict("She was already interviewed for this program", errors=[
            FieldError(field="body.participant_id", message="already interviewed", code="already_interviewed")])
    order = [q["key"] for q in guide.questions]
    row = InterviewRow(
        institution_id=institution_id, program_id=body.program_id, code=_new_code(session, body.program_id), guide_id=guide.id,
        role=role, participant_id=body.participant_id, application_id=member.application_id, interviewer=who.subject,
        conducted_on=body.conducted_on, language=body.language, quote_consent=body.quote_consent,
        answers={k: body.answers[k] for k in order if k in body.answers},
    )
    session.add(row)
    session.flush()
    return row


def interview_public(session: Session, row: InterviewRow, view: str, codings: Sequence[InterviewCodingRow] | None = None) -> dict[str, Any]:
    if codings is None:
        codings = codings_by_interview(session, [row.id], row.institution_id)[row.id]
    submitted, consensus, settled = coding_progress(codings)
    sees_answers = view in (access.INTERVIEWER, access.CODER)
    sees_person = view != access.CODER
    guide = session.get(InterviewGuideRow, row.guide_id) if sees_answers else None
    return {
        "id": row.id, "program_id": row.program_id, "code": row.code, "role": row.role, "guide_id": row.guide_id,
        "language": row.language, "status": row.status, "view": view,
        "participant_id": row.participant_id if sees_person else None,
        "interviewer": row.interviewer if sees_person else None,
        "conducted_on": row.conducted_on if sees_person else None,
        "quote_consent": row.quote_consent, "answered": list(row.answers),
        "answers": dict(row.answers) if sees_answers else None,
        "questions": ([{"key": q["key"], "text": bilingual(q["es"], q["en"])} for q in guide.questions] if guide else None),
        "codings_submitted": submitted, "consensus": consensus, "settled": settled, "created_at": row.created_at,
    }


def interviews_public(session: Session, who: Principal, rows: Sequence[InterviewRow]) -> list[dict[str, Any]]:
    """Each interview as the caller may see it."""
    if not rows:
        return []
    codings = codings_by_interview(session, [r.id for r in rows], rows[0].institution_id)
    return [interview_public(session, r, access.interview_view(session, who, r), codings[r.id]) for r in rows]


# ----------------------------------------------------------------------------- data subjects and consent


def _hers(session: Session, participant_id: uuid.UUID, institution_id: uuid.UUID | None) -> list[InterviewRow]:
    stmt = select(InterviewRow).where(InterviewRow.participant_id == participant_id)
    if institution_id is not None:
        stmt = stmt.where(InterviewRow.institution_id == institution_id)
    return list(session.exec(stmt.order_by(InterviewRow.created_at, InterviewRow.id)).all())


def export_person(session: Session, institution_id: uuid.UUID, participant_id: uuid.UUID) -> dict[str, Any]:
    """Everything held here about her: her interviews (answers, the codes given to them, with coders named by
    their order only, and the quotes taken from them) and the samples that picked her."""
    out = []
    hers = _hers(session, participant_id, institution_id)
    for r in hers:
        guide = session.get(InterviewGuideRow, r.guide_id)
        done = [c for c in codings_by_interview(session, [r.id], institution_id)[r.id] if c.status == Submission.SUBMITTED]
        independent = [c for c in done if not c.consensus]
        codings = [{**coding_public(c, r), "coder": "consensus" if c.consensus else f"coder {independent.index(c) + 1}"}
                   for c in done]
        quotes = session.exec(select(QuoteRow.excerpt).where(QuoteRow.institution_id == institution_id,
                                                             QuoteRow.interview_id == r.id).order_by(QuoteRow.id)).all()
        out.append({"interview_id": r.id, "program_id": r.program_id, "code": r.code, "role": r.role, "status": r.status,
                    "conducted_on": r.conducted_on, "language": r.language, "interviewer": r.interviewer,
                    "quote_consent": r.quote_consent,
                    "questions": [{"key": q["key"], "text": bilingual(q["es"], q["en"])} for q in (guide.questions if guide else [])],
                    "answers": dict(r.answers), "codings": codings, "quotes": list(quotes)})
    interviewed = {r.program_id for r in hers}
    picks = []
    for p, program_id in session.exec(select(SamplePickRow, InterviewSampleRow.program_id).join(
        InterviewSampleRow, InterviewSampleRow.id == SamplePickRow.sample_id,  # type: ignore[arg-type]
    ).where(SamplePickRow.institution_id == institution_id, SamplePickRow.participant_id == participant_id)).all():
        picks.append({"id": p.id, "role": p.role, "position": p.position, "participant_id": p.participant_id,
                      "career_stage": p.career_stage, "stem_field": p.stem_field, "strata": p.strata,
                      "reason": bilingual(p.reason_es, p.reason_en), "chosen_by": p.chosen_by,
                      "interviewed": program_id in interviewed})
    if not out and not picks:
        raise not_found("Personal data of this person")
    return {"participant_id": participant_id, "exported_at": clock.now(), "interviews": out, "sample_picks": picks}


def _forget_replays(session: Session, interview_ids: Sequence[uuid.UUID]) -> None:
    """Idempotent replays that hold her answers or quotes (their bodies name the interview)."""
    if interview_ids:
        session.execute(delete(IdempotencyRecord).where(
            or_(*(cast(IdempotencyRecord.body, String).contains(str(i), autoescape=True) for i in interview_ids))))


def erase_person(session: Session, institution_id: uuid.UUID, participant_id: uuid.UUID) -> dict[str, Any]:
    """Her answers and quotes are deleted, so are her sample picks, and her interviews keep no link to her. The codes
    given to her answers stay, tied to the interview's random code only: published counts and kappa do not change."""
    hers = _hers(session, participant_id, institution_id)
    ids = [r.id for r in hers]
    answers = sum(len(r.answers) for r in hers)
    quotes = session.execute(delete(QuoteRow).where(QuoteRow.institution_id == institution_id,
                                                    QuoteRow.interview_id.in_(ids))).rowcount if ids else 0  # type: ignore[attr-defined]
    kept = session.exec(select(func.count()).select_from(InterviewCodingRow).where(
        InterviewCodingRow.institution_id == institution_id, InterviewCodingRow.interview_id.in_(ids))).one() if ids else 0  # type: ignore[attr-defined]
    now = clock.now()
    for r in hers:
        if r.status == InterviewStatus.RECORDED:
            r.status = InterviewStatus.ERASED.value
        r.answers, r.participant_id, r.application_id, r.quote_consent, r.erased_at = {}, None, None, False, now
        session.add(r)
    picks = session.execute(delete(SamplePickRow).where(SamplePickRow.institution_id == institution_id,
                                                        SamplePickRow.participant_id == participant_id)).rowcount
    _forget_replays(session, ids)
    session.flush()
    return {"participant_id": participant_id, "interviews_erased": len(hers), "answers_removed": answers,
            "quotes_deleted": quotes or 0, "sample_picks_deleted": picks or 0, "codings_kept": int(kept)}


def withdraw_research(session: Session, institution_id: uuid.UUID, application_id: uuid.UUID) -> int:
    """She withdrew her research consent: her interview's answers, codings and quotes are deleted and it is left
    out of every analysis from now on (what was already published keeps its counts)."""
    rows = list(session.exec(select(InterviewRow).where(InterviewRow.institution_id == institution_id,
                                                        InterviewRow.application_id == application_id)).all())
    ids = [r.id for r in rows]
    if not ids:
        return 0
    session.execute(delete(QuoteRow).where(QuoteRow.interview_id.in_(ids)))  # type: ignore[attr-defined]
    session.execute(delete(InterviewCodingRow).where(InterviewCodingRow.interview_id.in_(ids)))  # type: ignore[attr-defined]
    for r in rows:
        r.status, r.answers, r.quote_consent = InterviewStatus.WITHDRAWN.value, {}, False
        session.add(r)
    _forget_replays(session, ids)
    session.flush()
    return len(rows)


def withdraw_quotes(session: Session, institution_id: uuid.UUID, application_id: uuid.UUID) -> int:
    """She withdrew her consent to quotes: no excerpt of her interview is published from now on."""
    rows = list(session.exec(select(InterviewRow).where(InterviewRow.institution_id == institution_id,
                                                        InterviewRow.application_id == application_id)).all())
    for r in rows:
        r.quote_consent = False
        session.add(r)
    session.flush()
    return len(rows)


def handle(session: Session, event: EventOut) -> None:
    """The participants feed's handler (servicekit.consumer.FeedConsumer): consent withdrawals and erasures.
    Other events, and events without a well-formed institution or id, change nothing (and never block the feed)."""
    institution_id = event_uuid(event.tenant_id)
    payload = event.payload
    if institution_id is None:
        return
    if event.type == "consent.withdrawn" and (application_id := event_uuid(payload.get("application_id"))) is not None:
        if payload.get("purpose") == "research":
            withdraw_research(session, institution_id, application_id)
        elif payload.get("purpose") == "quotes":
            withdraw_quotes(session, institution_id, application_id)
    elif event.type == "data_subject.erased" and (participant_id := event_uuid(payload.get("participant_id"))) is not None:
        erase_person(session, institution_id, participant_id)
