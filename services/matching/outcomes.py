"""A program's matching outcomes for the evaluation report: counts and scores, no person named."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from services.matching import matches, runs
from services.matching.enums import MatchStatus
from services.matching.schemas.outcomes import MatchingOutcomes, RunOutcome
from services.matching.schemas.runs import RunReport


def of_program(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> MatchingOutcomes:
    """The published run (else the latest) and the program's matches, counted; no person named."""
    run = runs.latest(session, institution_id, program_id, published=True) or runs.latest(session, institution_id, program_id)
    found = matches.of_program(session, institution_id, program_id)
    past_proposal = [m for m in found if m.status != MatchStatus.proposed]
    by_status = {s.value: 0 for s in MatchStatus}
    for m in found:
        by_status[m.status] = by_status.get(m.status, 0) + 1
    outcome = None
    if run is not None:
        r = RunReport.model_validate(run.report)
        outcome = RunOutcome(
            id=run.id, status=run.status, algorithm=run.algorithm, published_at=run.published_at, mentors=r.mentors,
            mentees=r.mentees, matched=r.matched, blocking_pairs=r.blocking_pairs, substitutes=len(r.substitutes),
            pair_scores=sorted((p.score for p in r.pairs), reverse=True),
        )  # fmt: skip
    return MatchingOutcomes(
        program_id=program_id, run=outcome, matches=by_status,
        matched_mentors=len({m.mentor_participant_id for m in past_proposal}),
        matched_mentees=len({m.mentee_participant_id for m in past_proposal}),
    )  # fmt: skip

