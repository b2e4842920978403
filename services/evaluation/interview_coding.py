"""Interviews, steps 5-6: the codebook (themes and sub-themes) and coding (``interviews`` has the workflow)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from servicekit import clock
from servicekit.auth import Principal
from servicekit.problems import (
    FieldError,
    ProblemError,
    conflict,
    field_problem,
    forbidden,
    not_found,
)
from sqlmodel import Session, select

from services.evaluation import access
from services.evaluation.domain import Text, Theme
from services.evaluation.enums import InterviewStatus, Submission
from services.evaluation.interview_common import (
    bilingual,
    coding_progress,
    codings_by_interview,
)
from services.evaluation.models import (
    CodingRow,
    InterviewCodingRow,
    InterviewRow,
    QuoteRow,
    ThemeRow,
)

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
    return {"id": row.id, "program_id": row.program_id, "code": row.code, "label": bilingual(row.label_es, row.label_en),
            "definition": bilingual(row.definition_es, row.definition_en),
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


def codable(interview: InterviewRow) -> None:
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
    codable(interview)
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
    rows = codings_by_interview(session, [interview.id], interview.institution_id)[interview.id]
    return [c for c in rows if c.status == Submission.SUBMITTED]


def write_consensus(session: Session, who: Principal, interview: InterviewRow, codes: dict[str, list[str]]) -> InterviewCodingRow:
    access.coder(session, who, interview.institution_id, interview.program_id, lead=True)
    codable(interview)
    submitted, _, _ = coding_progress(codings_by_interview(session, [interview.id], interview.institution_id)[interview.id])
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
