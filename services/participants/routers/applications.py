"""Applications: hers to write, submit, confirm, decline and withdraw; the
coordinators' to evaluate, decide and invite. Consent, identity data,
eligibility, and the program's funnel."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from servicekit.auth import CurrentPrincipal, allow_clients
from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from servicekit.problems import problem_responses

from services.participants import access, applications, consents, eligibility, selection
from services.participants.access import IDENTITY_CLIENT, OWNER, RESEARCH_CLIENT, RUN
from services.participants.routers.common import CREATED, location, replayed
from services.participants.schemas import (
    ApplicationCreate,
    ApplicationList,
    ApplicationPublic,
    ApplicationStatus,
    ApplicationUpdate,
    BulkDecisions,
    BulkInvitations,
    ConsentGrantOne,
    ConsentPublic,
    ConsentPurpose,
    ConsentWithdrawal,
    DecisionCreate,
    EligibilityPublic,
    ExpirySweep,
    FunnelPublic,
    IdentityData,
    IdentityPublic,
    InvitationCreate,
    MatchingIdentity,
    OverrideCreate,
    ResearchMember,
    Role,
    WithdrawalCreate,
)

router = APIRouter()
APPLICATIONS, ELIGIBILITY, CONSENTS, IDENTITY, FUNNEL = "applications", "eligibility", "consents", "identity", "funnel"

ApplicationId = Annotated[uuid.UUID, Path(description="The application's id.")]
ProgramId = Annotated[uuid.UUID, Path(description="The program's id.")]
RuleIdPath = Annotated[str, Path(max_length=40, pattern=r"^[a-z][a-z0-9_]{0,39}$", description="The rule's id.")]
PurposePath = Annotated[ConsentPurpose, Path(description="The purpose of the consent.")]

HERSELF = "the applicant herself may do this"
COORDINATORS = "the institution's coordinators may do this"


def _one(session: Any, application: Any) -> ApplicationPublic:
    return applications.represent_one(session, application)


# ---------------------------------------------------------------------------
# Her application


@router.post(
    "/applications",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationPublic,
    operation_id="create_application",
    summary="Start an application to an open call, as a draft (a person of the program's institution)",
    description=(
        "Keyed by her account id (the token's `sub`), in the token's institution; one per program. "
        "`consents` grants purposes for the call's privacy-notice version; `identity` needs the "
        "`matching_identity` consent."
    ),
    tags=[APPLICATIONS],
    responses={**CREATED, **problem_responses(401, 403, 409, 422)},
)
def create_application(
    who: CurrentPrincipal,
    idem: IdempotencyDep,
    body: ApplicationCreate,
    session: SessionDep,
    request: Request,
    response: Response,
) -> Any:
    institution_id = access.applying_in(who)
    if (replay := idem.replay(session)) is not None:
        return replayed(replay, request, "get_application", "application_id")
    application = applications.create(session, who.subject, institution_id, body)
    result = _one(session, application)
    idem.remember(session, status.HTTP_201_CREATED, result)
    response.headers["Location"] = location(request, "get_application", application_id=application.id)
    return result


@router.get(
    "/applications",
    response_model=Page[ApplicationPublic],
    operation_id="list_my_applications",
    summary="List my own applications in my institution (any person)",
    tags=[APPLICATIONS],
    responses=problem_responses(400, 401, 403, 422),
)
def list_my_applications(
    who: CurrentPrincipal, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Any:
    institution_id = access.own_applications_in(who)
    if institution_id is None:
        return Page[ApplicationPublic](items=[], next_cursor=None)
    rows, next_cursor = applications.list_mine(session, who.subject, institution_id, limit=limit, cursor=cursor)
    return Page[ApplicationPublic](items=applications.represent(session, rows), next_cursor=next_cursor)


@router.get(
    "/applications/{application_id}",
    response_model=ApplicationPublic,
    operation_id="get_application",
    summary="Get an application (the applicant herself, the institution's coordinators, admin)",
    tags=[APPLICATIONS],
    responses=problem_responses(401, 404, 422),
)
def get_application(application_id: ApplicationId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return _one(session, access.application(session, who, application_id))


@router.patch(
    "/applications/{application_id}",
    response_model=ApplicationPublic,
    operation_id="update_application",
    summary="Change a draft application (the applicant herself)",
    tags=[APPLICATIONS],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_application(
    application_id: ApplicationId, who: CurrentPrincipal, body: ApplicationUpdate, session: SessionDep
) -> Any:
    application = access.application(session, who, application_id, allow=(OWNER,), action=HERSELF, lock=True)
    return _one(session, applications.update(session, application, body))


def _action(path: str, op: str, summary: str, description: str) -> Any:
    return router.post(
        path,
        response_model=ApplicationPublic,
        operation_id=op,
        summary=summary,
        description=description,
        tags=[APPLICATIONS],
        responses=problem_responses(401, 403, 404, 409, 422),
    )


@_action(
    "/applications/{application_id}/submit",
    "submit_application",
    "Submit a draft (the applicant herself)",
    "Needs the call to be open, the form complete and the `program` consent; the 409 lists what is missing. "
    "Writes `application.submitted`.",
)
def submit_application(application_id: ApplicationId, who: CurrentPrincipal, session: SessionDep) -> Any:
    application = access.application(session, who, application_id, allow=(OWNER,), action=HERSELF, lock=True)
    return _one(session, applications.submit(session, application))


@_action(
    "/applications/{application_id}/decision",
    "decide_application",
    "Accept, waitlist or reject an application, with a reason; accepting assigns her role (coordinators, admin)",
    "From submitted (or waitlisted), while the call or selection runs. Accepting fixes `assigned_role`: the "
    "body's `role` (one the program offers; 422 otherwise, or when the decision is not an acceptance), else "
    "the role she sought; her membership takes it. Accepting needs an `eligible` verdict for that role: "
    "override failing or review rules first. An accepted application takes no other decision (409), so its "
    "role stays as assigned. Writes `application.decided`.",
)
def decide_application(
    application_id: ApplicationId, who: CurrentPrincipal, body: DecisionCreate, session: SessionDep
) -> Any:
    application = access.application(session, who, application_id, allow=(RUN,), action=COORDINATORS, lock=True)
    decided = selection.decide(session, application, body.decision, body.reason, who.subject, role=body.role)
    return _one(session, decided)


@_action(
    "/applications/{application_id}/invitation",
    "invite_application",
    "Invite an accepted applicant to confirm by a deadline (coordinators, admin)",
    "Default deadline: now plus the program's `confirmation_days`. Past it, the invitation reads as expired. "
    "Writes `application.invited`.",
)
def invite_application(
    application_id: ApplicationId, who: CurrentPrincipal, session: SessionDep, body: InvitationCreate | None = None
) -> Any:
    application = access.application(session, who, application_id, allow=(RUN,), action=COORDINATORS, lock=True)
    confirm_by = body.confirm_by if body else None
    return _one(session, selection.invite(session, application, confirm_by))


@_action(
    "/applications/{application_id}/confirm",
    "confirm_application",
    "Confirm her place before the deadline (the applicant herself)",
    "Creates her participant record (on her first confirmation in the institution) and her membership with "
    "the role staff assigned when accepting her (`assigned_role`). Writes `participant.confirmed`.",
)
def confirm_application(application_id: ApplicationId, who: CurrentPrincipal, session: SessionDep) -> Any:
    application = access.application(session, who, application_id, allow=(OWNER,), action=HERSELF, lock=True)
    confirmed, _participant, _membership = applications.confirm(session, application)
    return _one(session, confirmed)


@_action(
    "/applications/{application_id}/decline",
    "decline_application",
    "Decline the invitation (the applicant herself)",
    "Writes `application.declined`.",
)
def decline_application(application_id: ApplicationId, who: CurrentPrincipal, session: SessionDep) -> Any:
    application = access.application(session, who, application_id, allow=(OWNER,), action=HERSELF, lock=True)
    return _one(session, applications.decline(session, application))


@_action(
    "/applications/{application_id}/withdraw",
    "withdraw_application",
    "Withdraw, at any point before a final status (the applicant herself)",
    "A confirmed participant's membership is withdrawn too. Writes `application.withdrawn` "
    "(and `participant.withdrawn`).",
)
def withdraw_application(
    application_id: ApplicationId, who: CurrentPrincipal, session: SessionDep, body: WithdrawalCreate | None = None
) -> Any:
    application = access.application(session, who, application_id, allow=(OWNER,), action=HERSELF, lock=True)
    applications.withdraw(session, application, body.reason if body else None)
    return _one(session, application)


# ---------------------------------------------------------------------------
# The program's applications (coordinators)


@router.get(
    "/programs/{program_id}/applications",
    response_model=Page[ApplicationPublic],
    operation_id="list_program_applications",
    summary="List a program's applications, with their eligibility verdicts (coordinators, admin)",
    tags=[APPLICATIONS],
    responses=problem_responses(400, 401, 403, 404, 422),
)
def list_program_applications(
    program_id: ProgramId,
    who: CurrentPrincipal,
    session: SessionDep,
    application_status: Annotated[ApplicationStatus | None, Query(alias="status", description="Effective status.")] = None,
    role: Annotated[
        Role | None, Query(description="Only this role: the one staff assigned once accepted, before that the one sought.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    program = access.program(session, who, program_id)
    rows, next_cursor = applications.list_for_program(
        session, program, status=application_status, role=role, limit=limit, cursor=cursor
    )
    return Page[ApplicationPublic](items=applications.represent(session, rows), next_cursor=next_cursor)


@router.post(
    "/programs/{program_id}/decisions",
    response_model=ApplicationList,
    operation_id="decide_applications",
    summary="Decide several applications at once, assigning roles with the acceptances: all or none (coordinators, admin)",
    description=(
        "Each decision as in `decide_application`, `role` included. A 422 names every refused field "
        "(`body.decisions.<i>.role` for a role the program does not offer); a 409 lists every decision that "
        "cannot be made (by index). Nothing is written then."
    ),
    tags=[APPLICATIONS],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def decide_applications(program_id: ProgramId, who: CurrentPrincipal, body: BulkDecisions, session: SessionDep) -> Any:
    program = access.program(session, who, program_id, lock=True)
    decided = selection.decide_many(session, program, body.decisions, who.subject)
    return ApplicationList(items=applications.represent(session, decided))


@router.post(
    "/programs/{program_id}/invitations",
    response_model=ApplicationList,
    operation_id="invite_applications",
    summary="Invite several accepted applicants (default: all accepted) to confirm: all or none (coordinators, admin)",
    tags=[APPLICATIONS],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def invite_applications(
    program_id: ProgramId, who: CurrentPrincipal, session: SessionDep, body: BulkInvitations | None = None
) -> Any:
    program = access.program(session, who, program_id, lock=True)
    invited = selection.invite_many(
        session, program, body.application_ids if body else None, body.confirm_by if body else None
    )
    return ApplicationList(items=applications.represent(session, invited))


@router.post(
    "/programs/{program_id}/invitations/expire",
    response_model=ExpirySweep,
    operation_id="expire_invitations",
    summary="Write down the program's invitations past their deadline (coordinators, admin)",
    description=(
        "Idempotent and safe to run from several replicas at once: each invitation expires once and writes "
        "`application.expired` once. Reads already show overdue invitations as expired; this records it. "
        "The same sweep over every institution runs as `python -m services.participants expire-invitations`."
    ),
    tags=[APPLICATIONS],
    responses=problem_responses(401, 403, 404, 422),
)
def expire_invitations(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep) -> Any:
    program = access.program(session, who, program_id)
    expired = selection.expire_due(session, institution_id=program.institution_id, program_id=program.id)
    return ExpirySweep(expired=len(expired), application_ids=expired)


@router.get(
    "/programs/{program_id}/funnel",
    response_model=FunnelPublic,
    operation_id="get_funnel",
    dependencies=[allow_clients(access.REPORTS_READ_SCOPE)],
    summary="The program's funnel: counts per status and per role (coordinators, admin; the evaluation service with reports:read)",
    description="Stages count who ever reached them (applied, accepted, invited, confirmed, trained, completed).",
    tags=[FUNNEL],
    responses=problem_responses(401, 403, 404, 422),
)
def get_funnel(program_id: ProgramId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return selection.funnel(session, access.program(session, who, program_id, allow=(access.RUN, access.REPORT_CLIENT)))


# ---------------------------------------------------------------------------
# Eligibility


@router.get(
    "/applications/{application_id}/eligibility",
    response_model=EligibilityPublic,
    operation_id="get_eligibility",
    summary="Each eligibility rule's result and reason, and the verdict (the applicant herself, coordinators, admin)",
    tags=[ELIGIBILITY],
    responses=problem_responses(401, 404, 422),
)
def get_eligibility(application_id: ApplicationId, who: CurrentPrincipal, session: SessionDep) -> Any:
    return eligibility.eligibility(session, access.application(session, who, application_id))


@router.put(
    "/applications/{application_id}/eligibility/overrides/{rule_id}",
    response_model=EligibilityPublic,
    operation_id="override_eligibility",
    summary="Override one rule's result, with a recorded reason (coordinators, admin)",
    description="Before the decision only (submitted or waitlisted). Replaces an earlier override of the rule.",
    tags=[ELIGIBILITY],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def override_eligibility(
    application_id: ApplicationId, rule_id: RuleIdPath, who: CurrentPrincipal, body: OverrideCreate, session: SessionDep
) -> Any:
    application = access.application(session, who, application_id, allow=(RUN,), action=COORDINATORS, lock=True)
    return eligibility.override(session, application, rule_id, passed=body.passed, reason=body.reason, by=who.subject)


# ---------------------------------------------------------------------------
# Consent


def _consent(consent: Any) -> ConsentPublic:
    return ConsentPublic.model_validate({**consent.model_dump(), "active": consent.withdrawn_at is None})


@router.get(
    "/applications/{application_id}/consents",
    response_model=Page[ConsentPublic],
    operation_id="list_consents",
    summary="Every consent given with an application, oldest first, withdrawn ones included (herself, coordinators, admin)",
    tags=[CONSENTS],
    responses=problem_responses(400, 401, 404, 422),
)
def list_consents(
    application_id: ApplicationId,
    who: CurrentPrincipal,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    application = access.application(session, who, application_id)
    rows, next_cursor = consents.list_page(session, application, limit=limit, cursor=cursor)
    return Page[ConsentPublic](items=[_consent(c) for c in rows], next_cursor=next_cursor)


@router.put(
    "/applications/{application_id}/consents/{purpose}",
    response_model=ConsentPublic,
    operation_id="grant_consent",
    summary="Consent to one purpose for the current privacy-notice version (the applicant herself)",
    description="Opt-in and idempotent: granting again for the same version changes nothing.",
    tags=[CONSENTS],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def grant_consent(
    application_id: ApplicationId, purpose: PurposePath, who: CurrentPrincipal, body: ConsentGrantOne, session: SessionDep
) -> Any:
    application = access.application(session, who, application_id, allow=(OWNER,), action=HERSELF, lock=True)
    program = applications.program_of(session, application)
    (consent,) = consents.grant_consents(session, application, program, body.privacy_notice_version, [purpose])
    return _consent(consent)


@router.post(
    "/applications/{application_id}/consents/{purpose}/withdrawal",
    response_model=ConsentWithdrawal,
    operation_id="withdraw_consent",
    summary="Withdraw a consent, with its documented effects (the applicant herself)",
    description=(
        "`program`: her application and membership are withdrawn. `matching_identity`: her identity data is "
        "deleted. `research`: she is left out of evaluation from now on. Writes `consent.withdrawn`."
    ),
    tags=[CONSENTS],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def withdraw_consent(application_id: ApplicationId, purpose: PurposePath, who: CurrentPrincipal, session: SessionDep) -> Any:
    application = access.application(session, who, application_id, allow=(OWNER,), action=HERSELF, lock=True)
    consent, effects = applications.withdraw_consent(session, application, purpose)
    return ConsentWithdrawal(consent=_consent(consent), effects=effects)


# ---------------------------------------------------------------------------
# Identity data: hers alone (and the matching service's, with her consent)


@router.get(
    "/applications/{application_id}/identity",
    response_model=IdentityPublic,
    operation_id="get_identity",
    summary="Read her optional identity data (the applicant herself only)",
    tags=[IDENTITY],
    responses=problem_responses(401, 403, 404, 422),
)
def get_identity(application_id: ApplicationId, who: CurrentPrincipal, session: SessionDep) -> Any:
    application = access.application(session, who, application_id, allow=(OWNER,), action=HERSELF)
    return consents.get_identity(session, application)


@router.put(
    "/applications/{application_id}/identity",
    response_model=IdentityPublic,
    operation_id="put_identity",
    summary="Give or replace her optional identity data (the applicant herself; needs the matching_identity consent)",
    tags=[IDENTITY],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def put_identity(application_id: ApplicationId, who: CurrentPrincipal, body: IdentityData, session: SessionDep) -> Any:
    application = access.application(session, who, application_id, allow=(OWNER,), action=HERSELF, lock=True)
    return consents.put_identity(session, application, body)


@router.delete(
    "/applications/{application_id}/identity",
    status_code=status.HTTP_204_NO_CONTENT,
    response_model=None,
    operation_id="delete_identity",
    summary="Delete her identity data (the applicant herself)",
    tags=[IDENTITY],
    responses=problem_responses(401, 403, 404, 422),
)
def delete_identity(application_id: ApplicationId, who: CurrentPrincipal, session: SessionDep) -> None:
    application = access.application(session, who, application_id, allow=(OWNER,), action=HERSELF, lock=True)
    consents.get_identity(session, application)
    consents.delete_identity(session, application)


@router.get(
    "/programs/{program_id}/matching-identity",
    response_model=Page[MatchingIdentity],
    operation_id="list_matching_identity",
    dependencies=[allow_clients(access.IDENTITY_READ_SCOPE)],
    summary="Identity data of members who consent to its use in matching (the matching service: scope identity:read)",
    description="Coordinators and admins get 403: identity data serves matching only, and only with her consent.",
    tags=[IDENTITY],
    responses=problem_responses(400, 401, 403, 404, 422),
)
def list_matching_identity(
    program_id: ProgramId, who: CurrentPrincipal, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Any:
    program = access.program(
        session, who, program_id, allow=(IDENTITY_CLIENT,), action="the matching service (scope identity:read) may read this"
    )
    rows, next_cursor = consents.matching_identity(session, program, limit=limit, cursor=cursor)
    return Page[MatchingIdentity](items=consents.matching_items(session, rows), next_cursor=next_cursor)


@router.get(
    "/programs/{program_id}/research-roster",
    response_model=Page[ResearchMember],
    operation_id="list_research_roster",
    dependencies=[allow_clients(access.RESEARCH_READ_SCOPE)],
    summary="Current members who consent to research, with career stage, STEM field and quote consent "
    "(the evaluation service: scope research:read; coordinators, admin)",
    description=(
        "What an interview sample is stratified on and what recording an interview checks: no name, no contact. "
        "Members without an active `research` consent are not listed; `quotes` says whether she also consents to "
        "de-identified excerpts of her interview in reports."
    ),
    tags=[CONSENTS],
    responses=problem_responses(400, 401, 403, 404, 422),
)
def list_research_roster(
    program_id: ProgramId, who: CurrentPrincipal, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Any:
    program = access.program(
        session, who, program_id, allow=(RUN, RESEARCH_CLIENT),
        action="the institution's coordinators and the evaluation service (scope research:read) may read this",
    )
    rows, next_cursor = consents.research_members(session, program, limit=limit, cursor=cursor)
    return Page[ResearchMember](items=consents.research_items(session, program, rows), next_cursor=next_cursor)
