"""xAPI training records: ``POST /v1/xapi/statements`` (a subset of the xAPI
statements resource), a plain completion webhook, and each institution's LMS
settings. The rules are in ``services.participants.xapi``; how Moodle or Canvas
send them is in docs/integrations/lms.md."""

import json
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from servicekit.auth import CurrentPrincipal, allow_clients
from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.problems import FieldError, ProblemError, problem_responses

from services.participants import access, training, xapi
from services.participants.dependencies import CoordinatorOf, InstitutionId
from services.participants.routers.common import CREATED, location, replayed
from services.participants.schemas import (
    CompletionPublic,
    CompletionWebhook,
    XapiAbout,
    XapiSettingsPublic,
    XapiSettingsPut,
)
from services.participants.schemas.xapi import MAX_STATEMENTS, UNION_TAGS, StatementsBody

XAPI = "xapi"
VERSION_HEADER = "X-Experience-API-Version"
VERSION_DOC = {
    "description": f"The xAPI version of the answer ({xapi.RESPONSE_VERSION}).",
    "schema": {"type": "string"},
}


class StatementsRoute(APIRoute):
    """Reports invalid statements by their place in the body (``body.0.verb.id``),
    without the name of the union branch (single statement or array) pydantic adds."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = []
                for error in exc.errors():
                    loc = tuple(error.get("loc", ()))
                    if len(loc) > 1 and loc[0] == "body" and loc[1] in UNION_TAGS:
                        loc = (loc[0], *loc[2:])
                    errors.append({**error, "loc": loc})
                raise RequestValidationError(errors, body=exc.body) from None

        return handle


router = APIRouter(prefix="/v1", responses=problem_responses(503), route_class=StatementsRoute)


def _versioned(response: Response) -> None:
    response.headers[VERSION_HEADER] = xapi.RESPONSE_VERSION


@router.post(
    "/xapi/statements",
    response_model=list[uuid.UUID],
    operation_id="store_xapi_statements",
    dependencies=[allow_clients(access.TRAINING_WRITE_SCOPE)],
    summary="Store xAPI statements: completed, passed, attended (LMS clients with training:write, coordinators, admin)",
    description=(
        "A subset of the xAPI statements resource (xAPI 1.0.3 and 2.0): one statement or an array of at most "
        f"{MAX_STATEMENTS}, all stored or none. Header `{VERSION_HEADER}` (1.0.0-1.0.3 or 2.0.0) is required. "
        "Each statement needs an `id` (a repeat changes nothing and answers the same ids), an actor identified by "
        "`account` (`homePage` = the institution's LMS, `name` = her lms_id, or sis_id per the institution's "
        "xAPI settings), a verb among `http://adlnet.gov/expapi/verbs/completed`, `.../passed`, `.../attended`, "
        "and as object a training module's `lms_activity_id`. Answers 200 with the statement ids, in order. An "
        "unknown actor or activity is a 422 naming the field (`body.0.actor.account.name`, `body.0.object.id`); "
        "another statement under a stored id is a 409."
    ),
    tags=[XAPI],
    responses={
        200: {"description": "The statement ids, in the order sent", "headers": {VERSION_HEADER: VERSION_DOC}},
        **problem_responses(400, 401, 403, 409, 422),
    },
)
def store_xapi_statements(
    who: CurrentPrincipal,
    body: Annotated[StatementsBody, Body(description="One statement, or an array of statements.")],
    session: SessionDep,
    response: Response,
    version: Annotated[
        str | None,
        Header(alias=VERSION_HEADER, max_length=20, description="Required by xAPI: 1.0.0 to 1.0.3, or 2.0.0."),
    ] = None,
) -> Any:
    xapi.check_sender(who)
    if not xapi.version_supported(version):
        raise ProblemError(
            400,
            f"Send header {VERSION_HEADER} with a supported version: {', '.join(xapi.SUPPORTED_VERSIONS)}",
            slug="validation-error",
            title="Unsupported xAPI version",
            errors=[FieldError(field=f"header.{VERSION_HEADER}", message="Missing or unsupported", code="xapi_version")],
        )
    single = not isinstance(body, list)
    statements = [body] if single else list(body)  # type: ignore[list-item]
    ids, repeated = xapi.record_statements(session, who, statements, single=single)
    _versioned(response)
    if repeated:
        response.headers["Idempotent-Replayed"] = "true"
    return ids


@router.get(
    "/xapi/about",
    response_model=XapiAbout,
    operation_id="get_xapi_about",
    dependencies=[allow_clients(access.TRAINING_WRITE_SCOPE)],
    summary="The xAPI versions this endpoint accepts (anyone signed in)",
    tags=[XAPI],
    responses=problem_responses(401),
)
def get_xapi_about(_who: CurrentPrincipal, response: Response) -> Any:
    _versioned(response)
    return XapiAbout(version=[xapi.RESPONSE_VERSION, "2.0.0"])


@router.post(
    "/xapi/completions",
    status_code=status.HTTP_201_CREATED,
    response_model=CompletionPublic,
    operation_id="record_lms_completion",
    dependencies=[allow_clients(access.TRAINING_WRITE_SCOPE)],
    summary="Record a completion from a plain LMS webhook (LMS clients with training:write, coordinators, admin)",
    description=(
        "For an LMS that does not speak xAPI: `{external_id, module, completed_at, verb}`, where `external_id` is "
        "her lms_id (or sis_id, per the institution's xAPI settings) and `module` a training module's "
        "`lms_activity_id`. Idempotent like the training API: a completion she already has answers with the "
        "first record and `Idempotent-Replayed: true`."
    ),
    tags=[XAPI],
    responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)},
)
def record_lms_completion(
    who: CurrentPrincipal,
    idem: IdempotencyDep,
    body: CompletionWebhook,
    session: SessionDep,
    request: Request,
    response: Response,
) -> Any:
    if (replay := idem.replay(session)) is not None:
        module_id = uuid.UUID(json.loads(bytes(replay.body))["module_id"])
        return replayed(replay, request, "get_completion", "completion_id", module_id=module_id)
    completion, existed = xapi.record_webhook(session, who, body)
    (result,) = training.completion_public(session, [completion])
    idem.remember(session, status.HTTP_201_CREATED, result)
    response.headers["Location"] = location(request, "get_completion", module_id=completion.module_id, completion_id=completion.id)
    if existed:
        response.headers["Idempotent-Replayed"] = "true"
    return result


@router.put(
    "/institutions/{institution_id}/xapi-settings",
    response_model=XapiSettingsPublic,
    operation_id="put_xapi_settings",
    summary="Set how the institution's LMS names people in xAPI statements (coordinators, admin)",
    description="409 when two requests create the settings at the same moment: send it again.",
    tags=[XAPI],
    responses=problem_responses(401, 403, 404, 409, 422),
)
def put_xapi_settings(
    institution_id: InstitutionId, who: CoordinatorOf, body: XapiSettingsPut, session: SessionDep
) -> Any:
    return xapi.put_settings(session, institution_id, body, who)


@router.get(
    "/institutions/{institution_id}/xapi-settings",
    response_model=XapiSettingsPublic,
    operation_id="get_xapi_settings",
    dependencies=[allow_clients(access.TRAINING_WRITE_SCOPE)],
    summary="The institution's xAPI settings (coordinators, admin, its clients with training:write)",
    tags=[XAPI],
    responses=problem_responses(401, 403, 404, 422),
)
def get_xapi_settings(institution_id: InstitutionId, who: CurrentPrincipal, session: SessionDep) -> Any:
    xapi.settings_reader(who, institution_id)
    record = xapi.get_settings(session, institution_id)
    if record is None:
        raise ProblemError(404, "This institution has no xAPI settings yet", slug="not-found")
    return record
