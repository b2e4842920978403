"""Interviews, steps 1-3: the guides, the team, and a proposed sample (``interviews`` has the workflow)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from servicekit import clock
from servicekit.auth import Principal
from servicekit.problems import FieldError, conflict, field_problem, not_found
from servicekit.tenancy import scoped
from sqlmodel import Session, select

from services.evaluation import access
from services.evaluation.domain import Role, Text
from services.evaluation.domain.interviews import (
    DEFAULT_GUIDES,
    DEFAULT_TITLES,
    DIMENSIONS,
    NOT_STRATIFIED,
    Candidate,
    explain,
    propose_sample,
    strata_summary,
)
from services.evaluation.enums import PickSource, SampleStatus
from services.evaluation.interview_common import ROLES, bilingual, role_of
from services.evaluation.models import (
    InterviewGuideRow,
    InterviewRow,
    InterviewSampleRow,
    InterviewTeamRow,
    SamplePickRow,
)

# ----------------------------------------------------------------------------- guides


def guide_public(row: InterviewGuideRow) -> dict[str, Any]:
    return {"id": row.id, "program_id": row.program_id, "role": row.role, "title": bilingual(row.title_es, row.title_en),
            "questions": [{"key": q["key"], "text": bilingual(q["es"], q["en"])} for q in row.questions],
            "created_at": row.created_at}


def default_guides() -> list[dict[str, Any]]:
    return [{"id": None, "program_id": None, "role": role.value, "title": bilingual(DEFAULT_TITLES[role].es, DEFAULT_TITLES[role].en),
             "questions": [{"key": q.key, "text": bilingual(q.text.es, q.text.en)} for q in DEFAULT_GUIDES[role]],
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
        "not_stratified": {k: bilingual(v.es, v.en) for k, v in NOT_STRATIFIED.items()}, "status": sample.status,
        "created_at": sample.created_at, "accepted_at": sample.accepted_at,
        "picks": [{"id": p.id, "role": p.role, "position": p.position, "participant_id": p.participant_id,
                   "career_stage": p.career_stage, "stem_field": p.stem_field, "strata": p.strata,
                   "reason": bilingual(p.reason_es, p.reason_en), "chosen_by": p.chosen_by,
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
