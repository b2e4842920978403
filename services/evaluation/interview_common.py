"""What the interview modules share: roles, bilingual texts, paging a program's
records, the program an institution holds, and codings by interview with their
progress (``interviews`` has the workflow)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from servicekit.auth import Principal
from servicekit.pagination import paginate
from servicekit.tenancy import scoped
from sqlmodel import Session, select

from services.evaluation.enums import Submission
from services.evaluation.models import (
    AdministrationRow,
    InterviewCodingRow,
    InterviewGuideRow,
    InterviewRow,
    InterviewSampleRow,
    InterviewTeamRow,
    QuoteRow,
    ThemeRow,
)

ROLES = ("mentor", "mentee")


def role_of(membership_role: str) -> str:
    return "mentor" if membership_role in ("mentor", "peer_mentor") else "mentee"


def bilingual(es: str, en: str) -> dict[str, str]:
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


def codings_by_interview(session: Session, interview_ids: Sequence[uuid.UUID], institution_id: uuid.UUID) -> dict[uuid.UUID, list[InterviewCodingRow]]:
    out: dict[uuid.UUID, list[InterviewCodingRow]] = defaultdict(list)
    if not interview_ids:
        return out
    for c in session.exec(select(InterviewCodingRow).where(
        InterviewCodingRow.institution_id == institution_id,
        InterviewCodingRow.interview_id.in_(list(interview_ids)),  # type: ignore[attr-defined]
    ).order_by(InterviewCodingRow.coder, InterviewCodingRow.id)).all():
        out[c.interview_id].append(c)
    return out


def coding_progress(codings: Sequence[InterviewCodingRow]) -> tuple[int, bool, bool]:
    submitted = sum(1 for c in codings if not c.consensus and c.status == Submission.SUBMITTED)
    consensus = any(c.consensus for c in codings)
    return submitted, consensus, consensus or submitted >= 2
