"""Interviews, steps 7-8: quotes, and what the report reads (settled codings, cleared quotes); ``interviews`` has the workflow."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from servicekit.auth import Principal
from servicekit.problems import field_problem, forbidden, not_found
from servicekit.tenancy import scoped
from sqlmodel import Session, select

from services.evaluation import access
from services.evaluation.domain import (
    DisclosurePolicy,
    Quote,
    Role,
    ThemeCoding,
    carried_themes,
)
from services.evaluation.domain.interviews import (
    excerpt_problem,
)
from services.evaluation.enums import InterviewStatus, Submission
from services.evaluation.interview_coding import codable, codebook_rows, domain_themes
from services.evaluation.interview_common import (
    ROLES,
    coding_progress,
    codings_by_interview,
)
from services.evaluation.models import (
    InterviewCodingRow,
    InterviewRow,
    QuoteRow,
)

# ----------------------------------------------------------------------------- what the report reads


def _settled(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID
             ) -> list[tuple[InterviewRow, list[InterviewCodingRow]]]:
    """Interviews counted in the themes (not withdrawn; two codings submitted, or a consensus), with their codings."""
    rows = list(session.exec(select(InterviewRow).where(
        InterviewRow.institution_id == institution_id, InterviewRow.program_id == program_id, InterviewRow.status != InterviewStatus.WITHDRAWN,
    ).order_by(InterviewRow.created_at, InterviewRow.id)).all())
    codings = codings_by_interview(session, [r.id for r in rows], institution_id)
    out = []
    for r in rows:
        done = [c for c in codings[r.id] if c.status == Submission.SUBMITTED]
        if coding_progress(done)[2]:
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
    codable(interview)
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
