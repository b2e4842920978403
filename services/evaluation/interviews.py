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

Answers are personal text: stored in ``interviews.answers`` only, never logged,
never in an event or a webhook; an idempotent replay of a recorded interview
(which holds them) is deleted with them.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, cast, delete, func, or_
from sqlmodel import Session, select

from servicekit import clock
from servicekit.auth import Principal
from servicekit.consumer import event_uuid
from servicekit.outbox import EventOut
from servicekit.pagination import paginate
from servicekit.problems import FieldError, ProblemError, conflict, field_problem, forbidden, not_found
from servicekit.tenancy import scoped

from services.evaluation import access
from services.evaluation.domain import DisclosurePolicy, Quote, Role, Text, Theme, ThemeCoding, carried_themes
from services.evaluation.domain.interviews import (
    DEFAULT_GUIDES,
    DEFAULT_TITLES,
    DIMENSIONS,
    NOT_STRATIFIED,
    Candidate,
    excerpt_problem,
    explain,
    propose_sample,
    strata_summary,
)
from services.evaluation.enums import InterviewStatus, PickSource, SampleStatus, Submission
from services.evaluation.models import (
    AdministrationRow,
    CodingRow,
    IdempotencyRecord,
    InterviewCodingRow,
    InterviewGuideRow,
    InterviewRow,
    InterviewSampleRow,
    InterviewTeamRow,
    QuoteRow,
    SamplePickRow,
    ThemeRow,
)

ROLES = ("mentor", "mentee")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def role_of(membership_role: str) -> str:
    return "mentor" if membership_role in ("mentor", "peer_mentor") else "mentee"


def _text(es: str, en: str) -> dict[str, str]:
    return {"es": es, "en": en}


PAGED = {"guides": InterviewGuideRow, "team": InterviewTeamRow, "samples": InterviewSampleRow, "interviews": InterviewRow,
         "quotes": QuoteRow}


def page(session: Session, who: Principal, kind: str, program_id: uuid.UUID, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """One page of a program's guides, team, samples, interviews or quotes, in the caller's institution (by id)."""
    model = PAGED[kind]
    stmt = scoped(select(model).where(model.program_id == program_id), model, who)
    return paginate(session, stmt, model.id, limit=limit, cursor=cursor)


def known_program(session: Session, who: Principal, program_id: uuid.UUID) -> uuid.UUID | None:
    """The institution of a program this service holds something of (administrations, a codebook, guides,
    interviews), within the caller's institution (admins: any)."""
    for model in (AdministrationRow, ThemeRow, InterviewGuideRow, InterviewRow, InterviewTeamRow):
        found = session.exec(scoped(select(model.institution_id).where(model.program_id == program_id), model, who)).first()
        if found is not None:
            return found
    return None


# ----------------------------------------------------------------------------- guides


def guide_public(row: InterviewGuideRow) -> dict[str, Any]:
    return {"id": row.id, "program_id": row.program_id, "role": row.role, "title": _text(row.title_es, row.title_en),
            "questions": [{"key": q["key"], "text": _text(q["es"], q["en"])} for q in row.questions],
            "created_at": row.created_at}


def default_guides() -> list[dict[str, Any]]:
    return [{"id": None, "program_id": None, "role": role.value, "title": _text(DEFAULT_TITLES[role].es, DEFAULT_TITLES[role].en),
             "questions": [{"key": q.key, "text": _text(q.text.es, q.text.en)} for q in DEFAULT_GUIDES[role]],
             "created_at": None} for role in (Role.MENTOR, Role.MENTEE)]


def create_guide(session: Session, who: Principal, institution_id: uuid.UUID, body: Any) -> InterviewGuideRow:
    role = Role(body.role)
    if body.questions is None:
        questions = [{"key": q.key, "es": q.text.es, "en": q.text.en} for q in DEFAULT_GUIDES[role]]
    else:
        questions = [{"key": q.key, "es": q.text.es, "en": q.text.en} for q in body.questions]
    title = body.title or DEFAULT_TITLES[role]
    row = InterviewGuideRow(institution_id=institution_id, program_id=body.program_id, role=role.value, title_es=title.es,
                            title_en=title.en, questions=questions, created_by=who.subject)
    session.add(row)
    session.flush()
    return row


def get_guide(session: Session, who: Principal, guide_id: uuid.UUID) -> InterviewGuideRow:
    access.staff_role(who)
    row = session.exec(scoped(select(InterviewGuideRow).where(InterviewGuideRow.id == guide_id), InterviewGuideRow, who)).first()
    if row is None:
        raise not_found("Interview guide")
    return row


# ----------------------------------------------------------------------------- the team


def set_member(session: Session, who: Principal, institution_id: uuid.UUID, program_id: uuid.UUID, account_id: str,
               body: Any) -> InterviewTeamRow:
    row = session.exec(select(InterviewTeamRow).where(
        InterviewTeamRow.institution_id == institution_id, InterviewTeamRow.program_id == program_id,
        InterviewTeamRow.account_id == account_id,
    )).first() or InterviewTeamRow(institution_id=institution_id, program_id=program_id, account_id=account_id,
                                   assigned_by=who.subject)
    row.interviewer, row.coder, row.lead_coder = body.interviewer, body.coder, body.lead_coder
    row.assigned_by, row.assigned_at = who.subject, clock.now()
    session.add(row)
    session.flush()
    return row


def remove_member(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, account_id: str) -> None:
    row = session.exec(select(InterviewTeamRow).where(
        InterviewTeamRow.institution_id == institution_id, InterviewTeamRow.program_id == program_id,
        InterviewTeamRow.account_id == account_id,
    )).first()
    if row is None:
        raise not_found("Team member")
    session.delete(row)
    session.flush()


def _candidates(roster: Sequence[Any], role: str) -> list[Candidate]:
    return [Candidate(str(m.participant_id), m.career_stage, m.stem_fields[0] if m.stem_fields else None)
            for m in roster if role_of(m.role) == role]


def propose(session: Session, who: Principal, institution_id: uuid.UUID, body: Any, roster: Sequence[Any]) -> InterviewSampleRow:
    requested = {"mentor": body.mentors, "mentee": body.mentees}
    picks: dict[str, Any] = {}
    population: dict[str, Any] = {}
    for role, n in requested.items():
        candidates = _candidates(roster, role)
        if n > len(candidates):
            field = "body.mentors" if role == "mentor" else "body.mentees"
            raise field_problem(field, f"only {len(candidates)} {role}s of the program consent to research; ask for at most "
                                       f"{len(candidates)}", code="too_few_candidates")
        picks[role] = propose_sample(Role(role), candidates, n, seed=body.seed)
        population[role] = {d: {(v or ""): k for v, k in counts.items()} for d, counts in strata_summary(candidates).items()}
    sample = InterviewSampleRow(institution_id=institution_id, program_id=body.program_id, seed=body.seed, requested=requested,
                                population=population, created_by=who.subject)
    session.add(sample)
    session.flush()
    for role in ROLES:
        for p in picks[role]:
            session.add(_pick_row(sample, role, p, PickSource.PROPOSAL.value))
    session.flush()
    return sample


def _pick_row(sample: InterviewSampleRow, role: str, pick: Any, chosen_by: str, prefix: Text | None = None) -> SamplePickRow:
    reason = pick.reason
    if prefix is not None:
        reason = Text(f"{prefix.es} {reason.es}", f"{prefix.en} {reason.en}")
    return SamplePickRow(
        institution_id=sample.institution_id, sample_id=sample.id, role=role, position=pick.position,
        participant_id=uuid.UUID(pick.candidate.key), career_stage=pick.candidate.career_stage,
        stem_field=pick.candidate.stem_field, strata=[s.__dict__ for s in pick.strata], reason_es=reason.es,
        reason_en=reason.en, chosen_by=chosen_by,
    )


def _picks(session: Session, sample: InterviewSampleRow) -> list[SamplePickRow]:
    order = {r: i for i, r in enumerate(ROLES)}
    rows = session.exec(select(SamplePickRow).where(SamplePickRow.institution_id == sample.institution_id,
                                                    SamplePickRow.sample_id == sample.id)).all()
    return sorted(rows, key=lambda r: (order[r.role], r.position))


def sample_public(session: Session, sample: InterviewSampleRow) -> dict[str, Any]:
    picks = _picks(session, sample)
    interviewed = set(session.exec(select(InterviewRow.participant_id).where(
        InterviewRow.institution_id == sample.institution_id, InterviewRow.program_id == sample.program_id,
        InterviewRow.participant_id.in_([p.participant_id for p in picks]),  # type: ignore[union-attr]
    )).all()) if picks else set()
    return {
        "id": sample.id, "program_id": sample.program_id, "seed": sample.seed, "requested": sample.requested,
        "population": sample.population, "dimensions": list(DIMENSIONS),
        "not_stratified": {k: _text(v.es, v.en) for k, v in NOT_STRATIFIED.items()}, "status": sample.status,
        "created_at": sample.created_at, "accepted_at": sample.accepted_at,
        "picks": [{"id": p.id, "role": p.role, "position": p.position, "participant_id": p.participant_id,
                   "career_stage": p.career_stage, "stem_field": p.stem_field, "strata": p.strata,
                   "reason": _text(p.reason_es, p.reason_en), "chosen_by": p.chosen_by,
                   "interviewed": p.participant_id in interviewed} for p in picks],
    }


def get_sample(session: Session, who: Principal, sample_id: uuid.UUID) -> InterviewSampleRow:
    access.staff_role(who, ("coordinator",))
    row = session.exec(scoped(select(InterviewSampleRow).where(InterviewSampleRow.id == sample_id), InterviewSampleRow, who)).first()
    if row is None:
        raise not_found("Interview sample")
    return row


def swap_pick(session: Session, sample: InterviewSampleRow, pick_id: uuid.UUID, participant_id: uuid.UUID,
              roster: Sequence[Any]) -> InterviewSampleRow:
    if sample.status != SampleStatus.PROPOSED:
        raise conflict("The sample was accepted: its picks no longer change")
    picks = _picks(session, sample)
    pick = next((p for p in picks if p.id == pick_id), None)
    if pick is None:
        raise not_found("Pick")
    if any(p.participant_id == participant_id for p in picks):
        raise conflict("She is already in this sample", errors=[
            FieldError(field="body.participant_id", message="already picked", code="already_picked")])
    candidates = _candidates(roster, pick.role)
    chosen = next((c for c in candidates if c.key == str(participant_id)), None)
    if chosen is None:
        raise field_problem("body.participant_id", f"not a {pick.role} of this program who consents to research",
                            code="not_a_candidate")
    after = [Candidate(str(p.participant_id), p.career_stage, p.stem_field) for p in picks if p.role == pick.role and p.id != pick.id]
    explained = explain(Role(pick.role), chosen, candidates, [*after, chosen], pick.position)
    session.delete(pick)
    session.flush()
    session.add(_pick_row(sample, pick.role, explained, "coordinator",
                          Text("Elegida por la coordinación en lugar de la propuesta.",
                               "Chosen by the coordinator instead of the proposal.")))
    session.flush()
    return sample


def accept_sample(session: Session, who: Principal, sample: InterviewSampleRow) -> InterviewSampleRow:
    if sample.status == SampleStatus.ACCEPTED:
        raise conflict("The sample is already accepted")
    sample.status, sample.accepted_by, sample.accepted_at = SampleStatus.ACCEPTED.value, who.subject, clock.now()
    session.add(sample)
    session.flush()
    return sample


# ----------------------------------------------------------------------------- interviews


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


def _codings(session: Session, interview_ids: Sequence[uuid.UUID], institution_id: uuid.UUID) -> dict[uuid.UUID, list[InterviewCodingRow]]:
    out: dict[uuid.UUID, list[InterviewCodingRow]] = defaultdict(list)
    if not interview_ids:
        return out
    for c in session.exec(select(InterviewCodingRow).where(
        InterviewCodingRow.institution_id == institution_id,
        InterviewCodingRow.interview_id.in_(list(interview_ids)),  # type: ignore[attr-defined]
    ).order_by(InterviewCodingRow.coder, InterviewCodingRow.id)).all():
        out[c.interview_id].append(c)
    return out


def _progress(codings: Sequence[InterviewCodingRow]) -> tuple[int, bool, bool]:
    submitted = sum(1 for c in codings if not c.consensus and c.status == Submission.SUBMITTED)
    consensus = any(c.consensus for c in codings)
    return submitted, consensus, consensus or submitted >= 2


def interview_public(session: Session, row: InterviewRow, view: str, codings: Sequence[InterviewCodingRow] | None = None) -> dict[str, Any]:
    if codings is None:
        codings = _codings(session, [row.id], row.institution_id)[row.id]
    submitted, consensus, settled = _progress(codings)
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
        "questions": ([{"key": q["key"], "text": _text(q["es"], q["en"])} for q in guide.questions] if guide else None),
        "codings_submitted": submitted, "consensus": consensus, "settled": settled, "created_at": row.created_at,
    }


def interviews_public(session: Session, who: Principal, rows: Sequence[InterviewRow]) -> list[dict[str, Any]]:
    """Each interview as the caller may see it."""
    if not rows:
        return []
    codings = _codings(session, [r.id for r in rows], rows[0].institution_id)
    return [interview_public(session, r, access.interview_view(session, who, r), codings[r.id]) for r in rows]


# ----------------------------------------------------------------------------- the codebook


def codebook_rows(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> list[ThemeRow]:
    return list(session.exec(select(ThemeRow).where(ThemeRow.institution_id == institution_id, ThemeRow.program_id == program_id)
                             .order_by(ThemeRow.created_at, ThemeRow.id)).all())


def ordered_themes(rows: Sequence[ThemeRow]) -> list[ThemeRow]:
    """Each theme followed by its sub-themes, in the order created."""
    children: dict[uuid.UUID | None, list[ThemeRow]] = defaultdict(list)
    for r in rows:
        children[r.parent_id].append(r)
    return [x for top in children[None] for x in (top, *children[top.id])]


def domain_themes(rows: Sequence[ThemeRow]) -> tuple[Theme, ...]:
    code_of = {r.id: r.code for r in rows}
    return tuple(Theme(r.code, Text(r.label_es, r.label_en), code_of.get(r.parent_id) if r.parent_id else None)
                 for r in ordered_themes(rows))


def theme_view(session: Session, row: ThemeRow) -> dict[str, Any]:
    parent = session.get(ThemeRow, row.parent_id) if row.parent_id else None
    return theme_public(row, {parent.id: parent.code} if parent else {})


def theme_public(row: ThemeRow, code_of: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {"id": row.id, "program_id": row.program_id, "code": row.code, "label": _text(row.label_es, row.label_en),
            "definition": _text(row.definition_es, row.definition_en),
            "parent": code_of.get(row.parent_id) if row.parent_id else None}


def codebook(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> dict[str, Any]:
    rows = codebook_rows(session, institution_id, program_id)
    code_of = {r.id: r.code for r in rows}
    tops = []
    for r in ordered_themes(rows):
        item = {**theme_public(r, code_of), "sub_themes": []}
        if r.parent_id is None:
            tops.append(item)
        else:
            tops[-1]["sub_themes"].append(item)
    return {"program_id": program_id, "themes": tops}


def _parent(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, code: str | None,
            child: ThemeRow | None = None) -> ThemeRow | None:
    if code is None:
        return None
    parent = session.exec(select(ThemeRow).where(ThemeRow.institution_id == institution_id, ThemeRow.program_id == program_id,
                                                 ThemeRow.code == code)).first()
    if parent is None:
        raise field_problem("body.parent", f"the codebook has no theme {code!r}")
    if parent.parent_id is not None:
        raise field_problem("body.parent", f"{code!r} is a sub-theme: a sub-theme's parent is a theme (two levels)")
    if child is not None:
        if parent.id == child.id:
            raise field_problem("body.parent", "a theme cannot be its own parent")
        if session.exec(select(ThemeRow.id).where(ThemeRow.parent_id == child.id)).first():
            raise field_problem("body.parent", f"{child.code!r} has sub-themes: it stays a theme (two levels)")
    return parent


def add_theme(session: Session, who: Principal, institution_id: uuid.UUID, program_id: uuid.UUID, code: str,
              label: dict[str, str], definition: dict[str, str] | None = None, parent: str | None = None) -> ThemeRow:
    if session.exec(select(ThemeRow.id).where(ThemeRow.institution_id == institution_id, ThemeRow.program_id == program_id,
                                              ThemeRow.code == code)).first():
        raise conflict(f"The program already has a theme {code!r}", errors=[
            FieldError(field="body.code", message="already in the codebook", code="already_exists")])
    parent_row = _parent(session, institution_id, program_id, parent)
    row = ThemeRow(institution_id=institution_id, program_id=program_id, code=code, label_es=label["es"], label_en=label["en"],
                   parent_id=parent_row.id if parent_row else None, definition_es=(definition or {}).get("es", ""),
                   definition_en=(definition or {}).get("en", ""), created_by=who.subject)
    session.add(row)
    session.flush()
    return row


def _theme(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, code: str) -> ThemeRow:
    row = session.exec(select(ThemeRow).where(ThemeRow.institution_id == institution_id, ThemeRow.program_id == program_id,
                                              ThemeRow.code == code)).first()
    if row is None:
        raise not_found("Theme")
    return row


def update_theme(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, code: str, body: Any) -> ThemeRow:
    row = _theme(session, institution_id, program_id, code)
    if body.label is not None:
        row.label_es, row.label_en = body.label.es, body.label.en
    if body.definition is not None:
        row.definition_es, row.definition_en = body.definition.es, body.definition.en
    if "parent" in body.model_fields_set:
        parent = _parent(session, institution_id, program_id, body.parent, child=row)
        row.parent_id = parent.id if parent else None
    session.add(row)
    session.flush()
    return row


def _codes_in_use(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> set[str]:
    used: set[str] = set()
    for c in session.exec(select(InterviewCodingRow.codes).where(InterviewCodingRow.institution_id == institution_id,
                                                                 InterviewCodingRow.program_id == program_id)).all():
        used.update(code for codes in c.values() for code in codes)
    for themes in session.exec(select(CodingRow.themes).where(CodingRow.institution_id == institution_id,
                                                              CodingRow.program_id == program_id)).all():
        used.update(themes)
    used.update(session.exec(select(QuoteRow.theme_code).where(QuoteRow.institution_id == institution_id,
                                                               QuoteRow.program_id == program_id)).all())
    return used


def delete_theme(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID, code: str) -> None:
    row = _theme(session, institution_id, program_id, code)
    if session.exec(select(ThemeRow.id).where(ThemeRow.parent_id == row.id)).first():
        raise conflict(f"{code!r} has sub-themes: delete or move them first")
    if code in _codes_in_use(session, institution_id, program_id):
        raise conflict(f"{code!r} is used by codings or quotes: it stays in the codebook")
    session.delete(row)
    session.flush()


# ----------------------------------------------------------------------------- coding


def _check_codes(session: Session, interview: InterviewRow, codes: dict[str, list[str]]) -> dict[str, list[str]]:
    known = {r.code for r in codebook_rows(session, interview.institution_id, interview.program_id)}
    errors = []
    for key, values in codes.items():
        if key not in interview.answers:
            errors.append(FieldError(field=f"body.codes.{key}", message="she gave no answer to this question", code="unknown_question"))
            continue
        unknown = sorted(set(values) - known)
        if unknown:
            errors.append(FieldError(field=f"body.codes.{key}", message=f"unknown theme codes: {', '.join(unknown)}",
                                     code="unknown_theme"))
    if errors:
        raise ProblemError(422, f"{len(errors)} field(s) are invalid: {', '.join(e.field for e in errors[:5])}",
                           slug="validation-error", title="Request validation failed", errors=errors)
    return {key: sorted(set(codes.get(key, []))) for key in interview.answers}


def _coding_row(session: Session, interview: InterviewRow, coder: str, consensus: bool) -> InterviewCodingRow | None:
    return session.exec(select(InterviewCodingRow).where(
        InterviewCodingRow.institution_id == interview.institution_id, InterviewCodingRow.interview_id == interview.id,
        InterviewCodingRow.coder == coder, InterviewCodingRow.consensus == consensus,
    )).first()


def coding_public(row: InterviewCodingRow, interview: InterviewRow) -> dict[str, Any]:
    return {"interview_id": interview.id, "code": interview.code, "coder": row.coder, "consensus": row.consensus,
            "status": row.status, "codes": row.codes, "saved_at": row.saved_at, "submitted_at": row.submitted_at}


def _codable(interview: InterviewRow) -> None:
    if interview.status != InterviewStatus.RECORDED:
        raise conflict(f"The interview is {interview.status}: it is not coded any more")


def my_coding(session: Session, who: Principal, interview: InterviewRow) -> InterviewCodingRow:
    access.coder(session, who, interview.institution_id, interview.program_id)
    row = _coding_row(session, interview, who.subject, False)
    if row is None:
        raise not_found("Your coding of this interview")
    return row


def save_coding(session: Session, who: Principal, interview: InterviewRow, codes: dict[str, list[str]] | None,
                submit: bool) -> InterviewCodingRow:
    access.coder(session, who, interview.institution_id, interview.program_id)
    _codable(interview)
    row = _coding_row(session, interview, who.subject, False)
    if row is not None and row.status == Submission.SUBMITTED:
        raise conflict("You already submitted your coding of this interview; it no longer changes", submitted=True)
    if codes is None and row is None:
        raise conflict("There is nothing to submit: save your codes first (or send them with the submission)")
    now = clock.now()
    row = row or InterviewCodingRow(institution_id=interview.institution_id, program_id=interview.program_id,
                                    interview_id=interview.id, coder=who.subject, consensus=False)
    if codes is not None:
        row.codes, row.saved_at = _check_codes(session, interview, codes), now
    if submit:
        row.codes = {key: row.codes.get(key, []) for key in interview.answers}
        row.status, row.submitted_at = Submission.SUBMITTED.value, now
    session.add(row)
    session.flush()
    return row


def codings_of(session: Session, who: Principal, interview: InterviewRow) -> list[InterviewCodingRow]:
    """Every submitted coding of the interview and its consensus, for a coder who submitted hers."""
    access.coder(session, who, interview.institution_id, interview.program_id)
    mine = _coding_row(session, interview, who.subject, False)
    if mine is None or mine.status != Submission.SUBMITTED:
        raise forbidden("Coders code independently: submit your own coding of this interview before reading the others'")
    rows = _codings(session, [interview.id], interview.institution_id)[interview.id]
    return [c for c in rows if c.status == Submission.SUBMITTED]


def write_consensus(session: Session, who: Principal, interview: InterviewRow, codes: dict[str, list[str]]) -> InterviewCodingRow:
    access.coder(session, who, interview.institution_id, interview.program_id, lead=True)
    _codable(interview)
    submitted, _, _ = _progress(_codings(session, [interview.id], interview.institution_id)[interview.id])
    if submitted < 2:
        raise conflict(f"A consensus reconciles independent codings: {submitted} submitted, two are needed")
    mine = _coding_row(session, interview, who.subject, False)
    if mine is None or mine.status != Submission.SUBMITTED:
        raise forbidden("Coders code independently: submit your own coding of this interview before the consensus")
    existing = session.exec(select(InterviewCodingRow).where(
        InterviewCodingRow.institution_id == interview.institution_id, InterviewCodingRow.interview_id == interview.id,
        InterviewCodingRow.consensus == True,
    )).first()
    now = clock.now()
    row = existing or InterviewCodingRow(institution_id=interview.institution_id, program_id=interview.program_id,
                                         interview_id=interview.id, coder=who.subject, consensus=True)
    row.coder, row.codes, row.status, row.saved_at, row.submitted_at = (
        who.subject, _check_codes(session, interview, codes), Submission.SUBMITTED.value, now, now)
    session.add(row)
    session.flush()
    return row


# ----------------------------------------------------------------------------- what the report reads


def _settled(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID
             ) -> list[tuple[InterviewRow, list[InterviewCodingRow]]]:
    """Interviews counted in the themes (not withdrawn; two codings submitted, or a consensus), with their codings."""
    rows = list(session.exec(select(InterviewRow).where(
        InterviewRow.institution_id == institution_id, InterviewRow.program_id == program_id, InterviewRow.status != InterviewStatus.WITHDRAWN,
    ).order_by(InterviewRow.created_at, InterviewRow.id)).all())
    codings = _codings(session, [r.id for r in rows], institution_id)
    out = []
    for r in rows:
        done = [c for c in codings[r.id] if c.status == Submission.SUBMITTED]
        if _progress(done)[2]:
            out.append((r, done))
    return out


def _theme_coding(interview: InterviewRow, c: InterviewCodingRow) -> ThemeCoding:
    units = tuple(sorted((key, frozenset(codes)) for key, codes in c.codes.items()))
    return ThemeCoding(interview.code, Role(interview.role), frozenset().union(*(u for _, u in units)), c.coder, units=units,
                       consensus=c.consensus)


def report_codings(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> tuple[ThemeCoding, ...]:
    """One ThemeCoding per settled interview and coder (and its consensus); the response id is the interview's code."""
    return tuple(_theme_coding(r, c) for r, cs in _settled(session, institution_id, program_id) for c in cs)


def _quote_checks(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID
                  ) -> tuple[dict[uuid.UUID, InterviewRow], dict[uuid.UUID, frozenset[str]], dict[str, int]]:
    themes = domain_themes(codebook_rows(session, institution_id, program_id))
    settled = _settled(session, institution_id, program_id)
    carried = {r.id: carried_themes([_theme_coding(r, c) for c in cs], themes) for r, cs in settled}
    per_role = {role: sum(1 for r, _ in settled if r.role == role) for role in ROLES}
    interviews = {r.id: r for r in session.exec(select(InterviewRow).where(
        InterviewRow.institution_id == institution_id, InterviewRow.program_id == program_id)).all()}
    return interviews, carried, per_role


def _withheld(quote: QuoteRow, interview: InterviewRow, carried: dict[uuid.UUID, frozenset[str]], per_role: dict[str, int],
              policy: DisclosurePolicy | None) -> list[str]:
    reasons = []
    if not interview.quote_consent or interview.status != InterviewStatus.RECORDED:
        reasons.append("no_quote_consent")
    if interview.id not in carried:
        reasons.append("interview_not_settled")
    elif quote.theme_code not in carried[interview.id]:
        reasons.append("theme_not_attributed")
    if policy is not None and not policy.text_publishable(per_role.get(interview.role, 0)):
        reasons.append("role_below_k_text")
    return reasons


def report_quotes(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> tuple[Quote, ...]:
    """Quotes cleared for the report: she agreed to be quoted, the interview is settled and carries the theme.
    The report publishes them only for a role with at least k_text settled interviews."""
    interviews, carried, per_role = _quote_checks(session, institution_id, program_id)
    rows = session.exec(select(QuoteRow).where(QuoteRow.institution_id == institution_id, QuoteRow.program_id == program_id)
                        .order_by(QuoteRow.created_at, QuoteRow.id)).all()
    return tuple(Quote(q.theme_code, Role(interviews[q.interview_id].role), q.excerpt) for q in rows
                 if not _withheld(q, interviews[q.interview_id], carried, per_role, None))


# ----------------------------------------------------------------------------- quotes


def quote_public(q: QuoteRow, interview: InterviewRow, withheld: list[str]) -> dict[str, Any]:
    return {"id": q.id, "interview_id": interview.id, "code": interview.code, "role": interview.role, "question": q.question,
            "theme": q.theme_code, "excerpt": q.excerpt, "created_by": q.created_by, "created_at": q.created_at,
            "publishable": not withheld, "withheld_because": withheld}


def add_quote(session: Session, who: Principal, interview: InterviewRow, body: Any) -> QuoteRow:
    access.coder(session, who, interview.institution_id, interview.program_id)
    _codable(interview)
    answer = interview.answers.get(body.question)
    if answer is None:
        raise field_problem("body.question", "she gave no answer to this question")
    if body.theme not in {r.code for r in codebook_rows(session, interview.institution_id, interview.program_id)}:
        raise field_problem("body.theme", f"the codebook has no theme {body.theme!r}")
    if (problem := excerpt_problem(answer, body.excerpt)) is not None:
        raise field_problem("body.excerpt", problem, code="not_an_excerpt")
    row = QuoteRow(institution_id=interview.institution_id, program_id=interview.program_id, interview_id=interview.id,
                   question=body.question, theme_code=body.theme, excerpt=body.excerpt, created_by=who.subject)
    session.add(row)
    session.flush()
    return row


def quote_view(session: Session, q: QuoteRow, policy: DisclosurePolicy) -> dict[str, Any]:
    interviews, carried, per_role = _quote_checks(session, q.institution_id, q.program_id)
    interview = interviews[q.interview_id]
    return quote_public(q, interview, _withheld(q, interview, carried, per_role, policy))


def quotes_public(session: Session, rows: Sequence[QuoteRow], policy: DisclosurePolicy) -> list[dict[str, Any]]:
    """Quotes of one program, each saying whether it is published and why not."""
    if not rows:
        return []
    interviews, carried, per_role = _quote_checks(session, rows[0].institution_id, rows[0].program_id)
    return [quote_public(q, interviews[q.interview_id], _withheld(q, interviews[q.interview_id], carried, per_role, policy))
            for q in rows]


def get_quote(session: Session, who: Principal, quote_id: uuid.UUID) -> QuoteRow:
    """A quote, for the program's coders."""
    access.staff_role(who, ("evaluator",))
    q = session.exec(scoped(select(QuoteRow).where(QuoteRow.id == quote_id), QuoteRow, who)).first()
    if q is None:
        raise not_found("Quote")
    access.coder(session, who, q.institution_id, q.program_id)
    return q


def delete_quote(session: Session, who: Principal, quote_id: uuid.UUID) -> None:
    q = get_quote(session, who, quote_id)
    member = access.coder(session, who, q.institution_id, q.program_id)
    if q.created_by != who.subject and not member.lead_coder:
        raise forbidden("Only the coder who marked the quote and the lead coder may delete it")
    session.delete(q)
    session.flush()


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
        done = [c for c in _codings(session, [r.id], institution_id)[r.id] if c.status == Submission.SUBMITTED]
        independent = [c for c in done if not c.consensus]
        codings = [{**coding_public(c, r), "coder": "consensus" if c.consensus else f"coder {independent.index(c) + 1}"}
                   for c in done]
        quotes = session.exec(select(QuoteRow.excerpt).where(QuoteRow.institution_id == institution_id,
                                                             QuoteRow.interview_id == r.id).order_by(QuoteRow.id)).all()
        out.append({"interview_id": r.id, "program_id": r.program_id, "code": r.code, "role": r.role, "status": r.status,
                    "conducted_on": r.conducted_on, "language": r.language, "interviewer": r.interviewer,
                    "quote_consent": r.quote_consent,
                    "questions": [{"key": q["key"], "text": _text(q["es"], q["en"])} for q in (guide.questions if guide else [])],
                    "answers": dict(r.answers), "codings": codings, "quotes": list(quotes)})
    interviewed = {r.program_id for r in hers}
    picks = []
    for p, program_id in session.exec(select(SamplePickRow, InterviewSampleRow.program_id).join(
        InterviewSampleRow, InterviewSampleRow.id == SamplePickRow.sample_id,  # type: ignore[arg-type]
    ).where(SamplePickRow.institution_id == institution_id, SamplePickRow.participant_id == participant_id)).all():
        picks.append({"id": p.id, "role": p.role, "position": p.position, "participant_id": p.participant_id,
                      "career_stage": p.career_stage, "stem_field": p.stem_field, "strata": p.strata,
                      "reason": _text(p.reason_es, p.reason_en), "chosen_by": p.chosen_by,
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
