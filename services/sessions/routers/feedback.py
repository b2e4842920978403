"""/v1/feedback: the program's form, submission, reading, overdue lists and sweep."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from servicekit.problems import problem_responses

from services.sessions import access, feedback, supervision
from services.sessions.dependencies import CurrentPrincipal, FormId, IdempotencyDep, ProgramId, SessionDep
from services.sessions.routers.common import CREATED, path_for
from services.sessions.schemas import FeedbackPublic, FeedbackSubmit, FeedbackTemplate, FeedbackTemplateOut, OverdueOut, SweepOut

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])


@router.get("/overdue", response_model=list[OverdueOut], operation_id="list_my_overdue_feedback",
            summary="My overdue feedback forms, most overdue first", responses=problem_responses(401))
def list_my_overdue_feedback(who: CurrentPrincipal, session: SessionDep) -> Any:
    return feedback.my_overdue(session, who)


@router.get("/programs/{program_id}/template", response_model=FeedbackTemplateOut, operation_id="get_feedback_template",
            summary="The program's feedback form (coordinators; the program's members may read it)",
            responses=problem_responses(401, 403, 404, 422))
def get_feedback_template(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return feedback.template(access.program_for(session, who, program_id, members_may_read=True)[0])


@router.put("/programs/{program_id}/template", response_model=FeedbackTemplateOut, operation_id="set_feedback_template",
            summary="Set the program's feedback form, who reads it and the deadline (coordinators)",
            responses=problem_responses(401, 403, 404, 409, 422))
def set_feedback_template(program_id: ProgramId, body: FeedbackTemplate, who: CurrentPrincipal, session: SessionDep) -> Any:
    program, _ = access.program_for(session, who, program_id)
    return feedback.template(feedback.set_template(session, program, body))


@router.get("/programs/{program_id}/overdue", response_model=list[OverdueOut], operation_id="list_program_overdue_feedback",
            summary="The program's overdue feedback forms, most overdue first (coordinators)", responses=problem_responses(401, 403, 404, 422))
def list_program_overdue_feedback(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return feedback.program_overdue(session, access.program_for(session, who, program_id)[0])


@router.post("/programs/{program_id}/overdue-sweep", response_model=SweepOut, operation_id="sweep_overdue_feedback",
             summary="Announce the program's newly overdue forms as feedback.overdue events, each once (coordinators; safe to repeat)",
             responses=problem_responses(401, 403, 404, 422))
def sweep_overdue_feedback(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep) -> Any:
    program, _ = access.program_for(session, who, program_id)
    return SweepOut(announced=feedback.sweep(session, program))


@router.post("", status_code=201, response_model=FeedbackPublic, operation_id="submit_feedback",
             summary="Submit my form about my counterpart for a held meeting (on time or late by server time)",
             responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)})
def submit_feedback(request: Request, response: Response, body: FeedbackSubmit, who: CurrentPrincipal, session: SessionDep, idem: IdempotencyDep) -> Any:
    if (again := idem.replay(session)) is not None:
        return again
    form = feedback.submit(session, who, body)
    supervision.refresh_dyad(session, form.dyad_id)
    out = feedback.public(form)
    idem.remember(session, 201, out)
    response.headers["Location"] = path_for(request, "get_feedback", form_id=form.id)
    return out


@router.get("/{form_id}", response_model=FeedbackPublic, operation_id="get_feedback", name="get_feedback",
            summary="One form (its respondent; her counterpart if the program allows; coordinators)", responses=problem_responses(401, 404, 422))
def get_feedback(form_id: FormId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return feedback.public(feedback.form_for(session, who, form_id))
