"""Interviews: guides, the interview team, proposed samples, interviews, the codebook, codings, quotes.

Who may do what is in ``access.py`` (module docstring); the workflow and its rules in ``interviews.py``.
A program named in a path or a body is checked against the participants service (with this service's
own ``reports:read`` token) before anything is written; who consents to research and to quotes is read
with its ``research:read`` token.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from servicekit.auth import CurrentPrincipal, Principal
from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import ProblemError, problem_responses
from servicekit.tenancy import tenant_of

from services.evaluation import access, analysis, interview_coding, interview_common, interview_quotes, interview_samples, interviews
from services.evaluation.access import in_thread
from services.evaluation.routers.common import CREATED
from services.evaluation.schemas import (
    CodebookPublic,
    GuideCreate,
    GuidePublic,
    InterviewCodingIn,
    InterviewCodingPublic,
    InterviewCodingSubmission,
    InterviewCodingsPublic,
    InterviewCreate,
    InterviewErasure,
    InterviewPublic,
    InterviewsExport,
    PickSwap,
    QuoteCreate,
    QuotePublic,
    SampleCreate,
    SamplePublic,
    TeamMemberPublic,
    TeamMemberUpdate,
    ThemeCreateIn,
    ThemePublic,
    ThemeUpdateIn,
)

router = APIRouter(prefix="/v1/interviews", tags=["interviews"])
ProgramId = Annotated[uuid.UUID, Path(description="The program's id (participants service).")]
ProgramQuery = Annotated[uuid.UUID, Query(description="The program's id (participants service).")]
InterviewId = Annotated[uuid.UUID, Path(description="The interview's id.")]
SampleId = Annotated[uuid.UUID, Path(description="The sample's id.")]
AccountId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:|-]{0,199}$", description="The account's id (the token's sub).")]
ThemeCodePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$", description="The theme's code.")]
ParticipantId = Annotated[uuid.UUID, Path(description="Her participant id (participants service).")]
COORDINATORS = ("coordinator",)
READ = problem_responses(401, 403, 404, 422)
READ_UPSTREAM = problem_responses(401, 403, 404, 422, 503)
WRITE = problem_responses(401, 403, 404, 409, 422)
WRITE_UPSTREAM = problem_responses(401, 403, 404, 409, 422, 503)


async def _institution(request: Request, who: Principal, program_id: uuid.UUID, allow: tuple[str, ...] = access.STAFF) -> uuid.UUID:
    """The program's institution, once the caller is allowed in it (403 without the role, 404 for another
    institution's program); the program is read from the participants service."""
    access.staff_role(who, allow)
    token = await analysis.report_token(request, who)
    program = await request.app.state.upstreams.program(program_id, token)
    access.require_staff_of(who, program.institution_id, allow)
    return program.institution_id


async def _roster(request: Request, who: Principal, program_id: uuid.UUID) -> list[Any]:
    """Members who consent to research (this service's research:read token; the caller's own without credentials)."""
    tokens = request.app.state.research_tokens
    token = who.token if tokens is None else await tokens.token()
    return await request.app.state.upstreams.research_roster(program_id, token)


def _policy(request: Request) -> Any:
    return analysis.policy_of(request.app.state.settings)


# ----------------------------------------------------------------------------- guides


@router.get("/default-guides", response_model=list[GuidePublic], operation_id="list_default_interview_guides",
            summary="The built-in guides: eight open questions per role, in Spanish and English (coordinators, evaluators)",
            responses=READ)
def list_default_interview_guides(who: CurrentPrincipal) -> Any:
    access.staff_role(who)
    return interview_samples.default_guides()


@router.post("/guides", status_code=201, response_model=GuidePublic, operation_id="create_interview_guide",
             summary="Create a program's guide for one role, from your questions or the built-in ones (coordinators)",
             description="A guide never changes once created: answers and codes refer to its question keys.",
             responses={**CREATED, **WRITE_UPSTREAM})
async def create_interview_guide(body: GuideCreate, request: Request, response: Response, who: CurrentPrincipal,
                                 session: SessionDep, idem: IdempotencyDep) -> Any:
    institution_id = await _institution(request, who, body.program_id, COORDINATORS)
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    row = await in_thread(interview_samples.create_guide, session, who, institution_id, body)
    out = GuidePublic.model_validate(interview_samples.guide_public(row))
    await in_thread(idem.remember, session, 201, out)
    response.headers["Location"] = f"/v1/interviews/guides/{row.id}"
    return out


@router.get("/guides", response_model=Page[GuidePublic], operation_id="list_interview_guides",
            summary="A program's interview guides (coordinators, evaluators)", responses=problem_responses(400, 401, 403, 422))
def list_interview_guides(program_id: ProgramQuery, who: CurrentPrincipal, session: SessionDep, limit: Limit = DEFAULT_LIMIT,
                          cursor: Cursor = None) -> Any:
    access.staff_role(who)
    rows, nxt = interview_common.page(session, who, "guides", program_id, limit, cursor)
    return Page[GuidePublic](items=[GuidePublic.model_validate(interview_samples.guide_public(r)) for r in rows], next_cursor=nxt)


@router.get("/guides/{guide_id}", response_model=GuidePublic, operation_id="get_interview_guide",
            summary="One interview guide (coordinators, evaluators)", responses=READ)
def get_interview_guide(guide_id: Annotated[uuid.UUID, Path(description="The guide's id.")], who: CurrentPrincipal,
                        session: SessionDep) -> Any:
    return interview_samples.guide_public(interview_samples.get_guide(session, who, guide_id))


# ----------------------------------------------------------------------------- the team


@router.get("/teams/{program_id}", response_model=Page[TeamMemberPublic], operation_id="list_interview_team",
            summary="A program's interview team: interviewers, coders, lead coders (coordinators, evaluators)",
            responses=problem_responses(400, 401, 403, 404, 422, 503))
async def list_interview_team(program_id: ProgramId, request: Request, who: CurrentPrincipal, session: SessionDep,
                              limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    await _institution(request, who, program_id)
    rows, nxt = await in_thread(interview_common.page, session, who, "team", program_id, limit, cursor)
    return Page[TeamMemberPublic](items=[TeamMemberPublic.model_validate(r) for r in rows], next_cursor=nxt)


@router.put("/teams/{program_id}/members/{account_id}", response_model=TeamMemberPublic, operation_id="set_interview_team_member",
            summary="Name an account of the institution interviewer, coder or lead coder of a program (coordinators)",
            description="Interviewers and coders act as such when their token also holds the evaluator role of the "
                        "institution (coordinators always interview and never code).",
            responses=WRITE_UPSTREAM)
async def set_interview_team_member(program_id: ProgramId, account_id: AccountId, body: TeamMemberUpdate, request: Request,
                                    who: CurrentPrincipal, session: SessionDep) -> Any:
    institution_id = await _institution(request, who, program_id, COORDINATORS)
    return await in_thread(interview_samples.set_member, session, who, institution_id, program_id, account_id, body)


@router.delete("/teams/{program_id}/members/{account_id}", status_code=204, response_model=None,
               operation_id="remove_interview_team_member", summary="Take an account off a program's interview team (coordinators)",
               description="Her codings and the interviews she recorded stay.", responses=READ_UPSTREAM)
async def remove_interview_team_member(program_id: ProgramId, account_id: AccountId, request: Request, who: CurrentPrincipal,
                                       session: SessionDep) -> None:
    institution_id = await _institution(request, who, program_id, COORDINATORS)
    await in_thread(interview_samples.remove_member, session, institution_id, program_id, account_id)


# ----------------------------------------------------------------------------- samples


@router.post("/samples", status_code=201, response_model=SamplePublic, operation_id="propose_interview_sample",
             summary="Propose whom to interview: n mentors and n mentees who consent to research, stratified on career "
                     "stage and STEM field (coordinators)",
             description="Deterministic for a seed; each pick says which strata it fills. Age is not collected, so it is "
                         "not a stratum (the answer says so). 422 naming `body.mentors`/`body.mentees` when fewer consent.",
             responses={**CREATED, **WRITE_UPSTREAM})
async def propose_interview_sample(body: SampleCreate, request: Request, response: Response, who: CurrentPrincipal,
                                   session: SessionDep, idem: IdempotencyDep) -> Any:
    institution_id = await _institution(request, who, body.program_id, COORDINATORS)
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    roster = await _roster(request, who, body.program_id)
    sample = await in_thread(interview_samples.propose, session, who, institution_id, body, roster)
    out = SamplePublic.model_validate(await in_thread(interview_samples.sample_public, session, sample))
    await in_thread(idem.remember, session, 201, out)
    response.headers["Location"] = f"/v1/interviews/samples/{sample.id}"
    return out


@router.get("/samples", response_model=Page[SamplePublic], operation_id="list_interview_samples",
            summary="A program's proposed samples (coordinators)", responses=problem_responses(400, 401, 403, 422))
def list_interview_samples(program_id: ProgramQuery, who: CurrentPrincipal, session: SessionDep, limit: Limit = DEFAULT_LIMIT,
                           cursor: Cursor = None) -> Any:
    access.staff_role(who, COORDINATORS)
    rows, nxt = interview_common.page(session, who, "samples", program_id, limit, cursor)
    return Page[SamplePublic](items=[SamplePublic.model_validate(interview_samples.sample_public(session, r)) for r in rows], next_cursor=nxt)


@router.get("/samples/{sample_id}", response_model=SamplePublic, operation_id="get_interview_sample",
            summary="A proposed sample with each pick, the strata it fills and whether she was interviewed (coordinators)",
            responses=READ)
def get_interview_sample(sample_id: SampleId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return interview_samples.sample_public(session, interview_samples.get_sample(session, who, sample_id))


@router.put("/samples/{sample_id}/picks/{pick_id}", response_model=SamplePublic, operation_id="swap_interview_sample_pick",
            summary="Replace one pick by another member of the same role who consents to research (coordinators)",
            description="The new pick says which strata it fills; 409 once the sample is accepted.", responses=WRITE_UPSTREAM)
async def swap_interview_sample_pick(sample_id: SampleId, pick_id: Annotated[uuid.UUID, Path(description="The pick's id.")],
                                     body: PickSwap, request: Request, who: CurrentPrincipal, session: SessionDep) -> Any:
    sample = await in_thread(interview_samples.get_sample, session, who, sample_id)
    roster = await _roster(request, who, sample.program_id)
    await in_thread(interview_samples.swap_pick, session, sample, pick_id, body.participant_id, roster)
    return await in_thread(interview_samples.sample_public, session, sample)


@router.post("/samples/{sample_id}/acceptance", response_model=SamplePublic, operation_id="accept_interview_sample",
             summary="Accept the sample as it stands (coordinators); its picks no longer change", responses=WRITE)
def accept_interview_sample(sample_id: SampleId, who: CurrentPrincipal, session: SessionDep) -> Any:
    sample = interview_samples.get_sample(session, who, sample_id)
    return interview_samples.sample_public(session, interview_samples.accept_sample(session, who, sample))


# ----------------------------------------------------------------------------- the codebook


@router.get("/codebooks/{program_id}", response_model=CodebookPublic, operation_id="get_codebook",
            summary="A program's codebook: themes with their sub-themes, labels and definitions (coordinators, evaluators)",
            responses=READ_UPSTREAM)
async def get_codebook(program_id: ProgramId, request: Request, who: CurrentPrincipal, session: SessionDep) -> Any:
    institution_id = await _institution(request, who, program_id)
    return await in_thread(interview_coding.codebook, session, institution_id, program_id)


@router.post("/codebooks/{program_id}/themes", status_code=201, response_model=ThemePublic, operation_id="create_codebook_theme",
             summary="Add a theme, or a sub-theme under a theme (two levels), to a program's codebook (coordinators, evaluators)",
             responses={**CREATED, **WRITE_UPSTREAM})
async def create_codebook_theme(program_id: ProgramId, body: ThemeCreateIn, request: Request, response: Response,
                                who: CurrentPrincipal, session: SessionDep, idem: IdempotencyDep) -> Any:
    institution_id = await _institution(request, who, program_id)
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    row = await in_thread(interview_coding.add_theme, session, who, institution_id, program_id, body.code, body.label.model_dump(),
                          body.definition.model_dump() if body.definition else None, body.parent)
    out = ThemePublic.model_validate(interview_coding.theme_public(row, {}) | {"parent": body.parent})
    await in_thread(idem.remember, session, 201, out)
    response.headers["Location"] = f"/v1/interviews/codebooks/{program_id}"
    return out


@router.patch("/codebooks/{program_id}/themes/{code}", response_model=ThemePublic, operation_id="update_codebook_theme",
              summary="Change a theme's labels or definition, or move it under another theme or to the top (coordinators, "
                      "evaluators)",
              description="Codes stay: codings keep naming it, and a sub-theme keeps bringing its (new) theme.",
              responses=WRITE_UPSTREAM)
async def update_codebook_theme(program_id: ProgramId, code: ThemeCodePath, body: ThemeUpdateIn, request: Request,
                                who: CurrentPrincipal, session: SessionDep) -> Any:
    institution_id = await _institution(request, who, program_id)

    def run() -> dict[str, Any]:
        return interview_coding.theme_view(session, interview_coding.update_theme(session, institution_id, program_id, code, body))

    return await in_thread(run)


@router.delete("/codebooks/{program_id}/themes/{code}", status_code=204, response_model=None, operation_id="delete_codebook_theme",
               summary="Remove a theme no coding or quote uses and without sub-themes (coordinators, evaluators)",
               responses=WRITE_UPSTREAM)
async def delete_codebook_theme(program_id: ProgramId, code: ThemeCodePath, request: Request, who: CurrentPrincipal,
                                session: SessionDep) -> None:
    institution_id = await _institution(request, who, program_id)
    await in_thread(interview_coding.delete_theme, session, institution_id, program_id, code)


# ----------------------------------------------------------------------------- quotes (of a program)


@router.get("/quotes", response_model=Page[QuotePublic], operation_id="list_interview_quotes",
            summary="A program's quotes, each saying whether it is published and why not (the program's coders)",
            responses=problem_responses(400, 401, 403, 404, 422, 503))
async def list_interview_quotes(program_id: ProgramQuery, request: Request, who: CurrentPrincipal, session: SessionDep,
                                limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    institution_id = await _institution(request, who, program_id, ("evaluator",))
    policy = _policy(request)

    def run() -> Page[QuotePublic]:
        access.coder(session, who, institution_id, program_id)
        rows, nxt = interview_common.page(session, who, "quotes", program_id, limit, cursor)
        return Page[QuotePublic](items=[QuotePublic.model_validate(q) for q in interview_quotes.quotes_public(session, rows, policy)],
                                 next_cursor=nxt)

    return await in_thread(run)


QuoteId = Annotated[uuid.UUID, Path(description="The quote's id.")]


@router.get("/quotes/{quote_id}", response_model=QuotePublic, operation_id="get_interview_quote",
            summary="One quote, saying whether it is published and why not (the program's coders)", responses=READ)
def get_interview_quote(quote_id: QuoteId, request: Request, who: CurrentPrincipal, session: SessionDep) -> Any:
    return interview_quotes.quote_view(session, interview_quotes.get_quote(session, who, quote_id), _policy(request))


@router.delete("/quotes/{quote_id}", status_code=204, response_model=None, operation_id="delete_interview_quote",
               summary="Delete a quote (the coder who marked it, the lead coder)", responses=READ)
def delete_interview_quote(quote_id: QuoteId, who: CurrentPrincipal,
                           session: SessionDep) -> None:
    interview_quotes.delete_quote(session, who, quote_id)


# ----------------------------------------------------------------------------- her data


async def _own_participant(request: Request, who: Principal) -> uuid.UUID | None:
    """Her own participant id, read with her token (people without a staff role only)."""
    if who.is_client or tenant_of(who) is None or who.has_role("coordinator", "evaluator", "admin"):
        return None
    try:
        return (await request.app.state.upstreams.me(who.token)).id
    except ProblemError as exc:
        if exc.status in (403, 404):
            return None
        raise


@router.get("/data-subjects/{participant_id}/export", response_model=InterviewsExport, operation_id="export_interview_data_subject",
            summary="Everything held about a person in interviews, as JSON (she herself, coordinators, admin)",
            description="Her interviews with her answers, the codes given to them and the quotes taken from them, and the "
                        "samples that picked her.", responses=READ_UPSTREAM)
async def export_interview_data_subject(participant_id: ParticipantId, request: Request, who: CurrentPrincipal,
                                        session: SessionDep) -> Any:
    own = await _own_participant(request, who)

    def run() -> dict[str, Any]:
        return interviews.export_person(session, access.data_subject(session, who, own, participant_id), participant_id)

    return await in_thread(run)


@router.post("/data-subjects/{participant_id}/erasure", response_model=InterviewErasure, operation_id="erase_interview_data_subject",
             summary="Erase a person's interview data: answers and quotes deleted, sample picks deleted, no link to her kept "
                     "(she herself, coordinators, admin)",
             description="The codes given to her answers stay, tied to the interview's random code only, so that counts and "
                         "kappa already published do not change. The participants service's `data_subject.erased` event does "
                         "the same.", responses=READ_UPSTREAM)
async def erase_interview_data_subject(participant_id: ParticipantId, request: Request, who: CurrentPrincipal,
                                       session: SessionDep) -> Any:
    own = await _own_participant(request, who)

    def run() -> dict[str, Any]:
        return interviews.erase_person(session, access.data_subject(session, who, own, participant_id), participant_id)

    return await in_thread(run)


# ----------------------------------------------------------------------------- interviews


def _coders_interview(session: Any, who: Principal, interview_id: uuid.UUID) -> Any:
    """The interview, once the caller is one of its program's coders (before any replay is answered)."""
    row = access.interview(session, who, interview_id)
    access.coder(session, who, row.institution_id, row.program_id)
    return row


@router.post("", status_code=201, response_model=InterviewPublic, operation_id="record_interview",
             summary="Record an interview of a member who consents to research: date, guide, answers, quote consent "
                     "(coordinators, the program's interviewers)",
             description="Consent is checked against the participants service now: no research consent is a 409 naming "
                         "`consents.research`; `quote_consent: true` without her consent to quotes a 409 naming "
                         "`consents.quotes`. An answer to a question the guide does not have is a 422 naming it.",
             responses={**CREATED, **WRITE_UPSTREAM})
async def record_interview(body: InterviewCreate, request: Request, response: Response, who: CurrentPrincipal,
                           session: SessionDep, idem: IdempotencyDep) -> Any:
    institution_id = await _institution(request, who, body.program_id)
    await in_thread(access.may_interview, session, who, institution_id, body.program_id)
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    member = next((m for m in await _roster(request, who, body.program_id) if m.participant_id == body.participant_id), None)

    def run() -> InterviewPublic:
        row = interviews.record(session, who, institution_id, body, member)
        return InterviewPublic.model_validate(interviews.interview_public(session, row, access.INTERVIEWER, []))

    out = await in_thread(run)
    await in_thread(idem.remember, session, 201, out)
    response.headers["Location"] = f"/v1/interviews/{out.id}"
    return out


@router.get("", response_model=Page[InterviewPublic], operation_id="list_interviews",
            summary="A program's interviews as you may see them: answers for their interviewer and the program's coders "
                    "(pseudonymous), the record for other staff", responses=problem_responses(400, 401, 403, 422))
def list_interviews(program_id: ProgramQuery, who: CurrentPrincipal, session: SessionDep, limit: Limit = DEFAULT_LIMIT,
                    cursor: Cursor = None) -> Any:
    access.staff_role(who)
    rows, nxt = interview_common.page(session, who, "interviews", program_id, limit, cursor)
    return Page[InterviewPublic](items=[InterviewPublic.model_validate(i) for i in interviews.interviews_public(session, who, rows)],
                                 next_cursor=nxt)


@router.get("/{interview_id}", response_model=InterviewPublic, operation_id="get_interview",
            summary="One interview as you may see it (its interviewer: all; the program's coders: answers without the person; "
                    "other staff: the record without answers)", responses=READ)
def get_interview(interview_id: InterviewId, who: CurrentPrincipal, session: SessionDep) -> Any:
    row = access.interview(session, who, interview_id)
    return interviews.interview_public(session, row, access.interview_view(session, who, row))


@router.get("/{interview_id}/codings", response_model=InterviewCodingsPublic, operation_id="list_interview_codings",
            summary="Every submitted coding of the interview and its consensus (a coder who submitted her own)",
            responses=READ)
def list_interview_codings(interview_id: InterviewId, who: CurrentPrincipal, session: SessionDep) -> Any:
    row = access.interview(session, who, interview_id)
    codings = interview_coding.codings_of(session, who, row)
    return {"interview_id": row.id, "code": row.code, "codings": [interview_coding.coding_public(c, row) for c in codings]}


@router.get("/{interview_id}/codings/mine", response_model=InterviewCodingPublic, operation_id="get_my_interview_coding",
            summary="My coding of the interview, draft or submitted (the program's coders; 404 until I save one)",
            responses=READ)
def get_my_interview_coding(interview_id: InterviewId, who: CurrentPrincipal, session: SessionDep) -> Any:
    row = access.interview(session, who, interview_id)
    return interview_coding.coding_public(interview_coding.my_coding(session, who, row), row)


@router.put("/{interview_id}/codings/mine", response_model=InterviewCodingPublic, operation_id="save_my_interview_coding",
            summary="Save my draft codes, per answer, from the program's codebook (the program's coders)",
            description="An unknown theme code or a question she did not answer is a 422 naming `body.codes.<question>`; "
                        "409 once submitted.", responses=WRITE)
def save_my_interview_coding(interview_id: InterviewId, body: InterviewCodingIn, who: CurrentPrincipal, session: SessionDep) -> Any:
    row = access.interview(session, who, interview_id)
    return interview_coding.coding_public(interview_coding.save_coding(session, who, row, body.codes, submit=False), row)


@router.post("/{interview_id}/codings/mine/submission", status_code=201, response_model=InterviewCodingPublic,
             operation_id="submit_my_interview_coding",
             summary="Submit my coding of the interview, once (the program's coders); an answer I left out carries no theme",
             responses={**CREATED, **WRITE})
async def submit_my_interview_coding(interview_id: InterviewId, response: Response, who: CurrentPrincipal, session: SessionDep,
                                     idem: IdempotencyDep, body: InterviewCodingSubmission | None = None) -> Any:
    row = await in_thread(_coders_interview, session, who, interview_id)
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed

    def run() -> InterviewCodingPublic:
        coding = interview_coding.save_coding(session, who, row, body.codes if body else None, submit=True)
        return InterviewCodingPublic.model_validate(interview_coding.coding_public(coding, row))

    out = await in_thread(run)
    await in_thread(idem.remember, session, 201, out)
    response.headers["Location"] = f"/v1/interviews/{interview_id}/codings/mine"
    return out


@router.put("/{interview_id}/consensus", response_model=InterviewCodingPublic, operation_id="write_interview_consensus",
            summary="Write (or rewrite) the reconciled coding of the interview (the lead coder, once two codings are in and "
                    "hers is submitted)",
            description="The consensus decides which themes the interview carries; it takes no part in agreement.",
            responses=WRITE)
def write_interview_consensus(interview_id: InterviewId, body: InterviewCodingIn, who: CurrentPrincipal, session: SessionDep) -> Any:
    row = access.interview(session, who, interview_id)
    return interview_coding.coding_public(interview_coding.write_consensus(session, who, row, body.codes), row)


@router.post("/{interview_id}/quotes", status_code=201, response_model=QuotePublic, operation_id="create_interview_quote",
             summary="Mark a de-identified excerpt of one answer as a quote of a theme (the program's coders)",
             description="The excerpt is her words in their order with every edit in square brackets; anything else is a "
                         "422 naming `body.excerpt`. It is published only with her consent to quotes, once the interview is "
                         "settled and carries the theme, and when her role has at least k_text settled interviews.",
             responses={**CREATED, **WRITE})
async def create_interview_quote(interview_id: InterviewId, body: QuoteCreate, request: Request, response: Response,
                                 who: CurrentPrincipal, session: SessionDep, idem: IdempotencyDep) -> Any:
    row = await in_thread(_coders_interview, session, who, interview_id)
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    policy = _policy(request)

    def run() -> QuotePublic:
        quote = interview_quotes.add_quote(session, who, row, body)
        return QuotePublic.model_validate(interview_quotes.quote_view(session, quote, policy))

    out = await in_thread(run)
    await in_thread(idem.remember, session, 201, out)
    response.headers["Location"] = f"/v1/interviews/quotes/{out.id}"
    return out
