"""``/scim/v2``: SCIM 2.0 (RFC 7643/7644) for the institutions' identity
providers: Users and Groups, and the discovery endpoints
(ServiceProviderConfig, ResourceTypes, Schemas).

Callers are integration clients with scope ``scim``; each acts in its own
institution (its token's ``tid``) and sees nothing of any other: another
institution's user or group is a 404, and never appears in a list. Lists take
``filter``, ``sortBy``/``sortOrder``, ``startIndex``/``count`` (at most
200) and ``attributes``/``excludedAttributes``, on ``GET`` or ``POST
.../.search``. Resources carry a version (``meta.version`` and the ``ETag``
header); ``If-Match`` makes PUT, PATCH and DELETE conditional (412 when the
resource changed) and ``If-None-Match`` makes GET answer 304.

Bodies are ``application/scim+json``; so are errors (RFC 7644 §3.12), never
problem+json here (``gateway.scim.errors``). What each request does is
``gateway.scim.provisioning``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from scim2_models import (
    InvalidValueException,
    Context,
    ListResponse,
    NotFoundException,
    NotImplementedException,
    PatchOp,
    Resource,
    ResourceType,
    Schema,
    SearchRequest,
)
from starlette.responses import Response
from starlette.routing import Match

from servicekit.auth import Principal

from gateway.scim import provisioning
from gateway.scim.common import PREFIX, ScimCaller, base_url, json_body, not_modified
from gateway.scim.docs import body, responses
from gateway.scim.errors import ScimResponse, ScimRoute, error_response
from gateway.scim.resources import (
    POLICY,
    ScimGroup,
    ScimUser,
    resource_types,
    schemas,
    service_provider_config,
)

router = APIRouter(prefix=PREFIX, route_class=ScimRoute, tags=["scim"], default_response_class=ScimResponse)

UserId = Annotated[str, Path(max_length=64, description="The user's id.")]
GroupId = Annotated[str, Path(max_length=64, description="The group's id.")]
Attributes = Annotated[
    str | None, Query(max_length=2000, description="Comma-separated attributes to return (and only those, with id).")
]
ExcludedAttributes = Annotated[
    str | None,
    Query(alias="excludedAttributes", max_length=2000, description="Comma-separated attributes to leave out."),
]
Filter = Annotated[
    str | None,
    Query(max_length=4000, description='A SCIM filter (RFC 7644 §3.4.2.2), e.g. `userName eq "ana@uni.example"`.'),
]
SortBy = Annotated[str | None, Query(alias="sortBy", max_length=200, description="The attribute to sort by.")]
SortOrder = Annotated[
    str | None, Query(alias="sortOrder", pattern="^(ascending|descending)$", description="ascending (default) or descending.")
]
# The largest 1-based startIndex served (a 32-bit signed integer, what every
# database takes as an OFFSET); anything larger is a 400 invalidValue. Less
# than 1 is read as 1 (RFC 7644 §3.4.2.4).
MAX_START_INDEX = 2**31 - 1
StartIndex = Annotated[
    int | None,
    Query(alias="startIndex", description=f"1-based index of the first result (default 1; at most {MAX_START_INDEX})."),
]
Count = Annotated[int | None, Query(description="Results per page (default 100, at most 200; 0 counts only).")]


# -- helpers ----------------------------------------------------------------------


def _search(model: Any, **params: Any) -> SearchRequest[Any]:
    data = {key: value for key, value in params.items() if value is not None}
    return SearchRequest[model].model_validate(data, scim_policy=POLICY)  # type: ignore[index]


def _paged(search: SearchRequest[Any]) -> SearchRequest[Any]:
    """The one bound of a list or search, from the query or a body: a
    startIndex the database can take (count is capped to MAX_RESULTS)."""
    if search.start_index is not None and search.start_index > MAX_START_INDEX:
        raise InvalidValueException(detail=f"startIndex must be at most {MAX_START_INDEX}")
    return search


def _dump(resource: Resource[Any], ctx: Context, params: Any = None) -> dict[str, Any]:
    return resource.model_dump(scim_ctx=ctx, response_parameters=params, scim_policy=POLICY)


def _resource_response(resource: Resource[Any], ctx: Context, params: Any = None, status: int = 200) -> ScimResponse:
    assert resource.meta is not None
    headers = {"ETag": str(resource.meta.version), "Content-Location": str(resource.meta.location)}
    if status == 201:
        headers["Location"] = str(resource.meta.location)
    return ScimResponse(_dump(resource, ctx, params), status_code=status, headers=headers)


def _list_response(model: Any, total: int, start: int, resources: list[Any], ctx: Context, params: Any) -> ScimResponse:
    page = ListResponse[model](  # type: ignore[index]
        total_results=total, start_index=start, items_per_page=len(resources), resources=resources
    )
    return ScimResponse(page.model_dump(scim_ctx=ctx, response_parameters=params, scim_policy=POLICY))


async def _list(
    request: Request, caller: Principal, kind: provisioning.Kind[Any, Any], search: SearchRequest[Any], ctx: Context
) -> ScimResponse:
    total, resources = await provisioning.find(request, caller, kind, _paged(search))
    return _list_response(kind.model, total, search.start_index or 1, resources, ctx, search)


async def _read(request: Request, caller: Principal, kind: provisioning.Kind[Any, Any], resource_id: str, params: Any) -> Response:
    resource = await provisioning.read(request, caller, kind, resource_id)
    assert resource.meta is not None
    tag = str(resource.meta.version)
    if not_modified(request, tag):
        return Response(status_code=304, headers={"ETag": tag})
    return _resource_response(resource, Context.RESOURCE_QUERY_RESPONSE, params)


def _replacing(incoming: Any) -> Callable[[Any], Any]:
    """The change a PUT makes: the body, with what the client may not set kept from the stored resource."""

    def change(current: Any) -> Any:
        replacement = incoming.model_copy(deep=True)
        replacement.replace(current)
        return replacement

    return change


def _patching(patch: PatchOp[Any]) -> Callable[[Any], Any]:
    """The change a PATCH makes: its operations applied to the stored resource."""

    def change(current: Any) -> Any:
        patch.patch(current, scim_policy=POLICY)
        return current

    return change


# -- discovery -----------------------------------------------------------------------


@router.get(
    "/ServiceProviderConfig",
    operation_id="get_scim_service_provider_config",
    summary="SCIM: what this service provider supports",
    responses=responses(200, "ScimServiceProviderConfig", 401, 403),
)
async def get_scim_service_provider_config(request: Request, caller: ScimCaller) -> ScimResponse:
    config = service_provider_config(base_url(request))
    return ScimResponse(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@router.get(
    "/ResourceTypes",
    operation_id="list_scim_resource_types",
    summary="SCIM: the resource types (User, Group)",
    responses=responses(200, "ScimResourceTypeList", 401, 403),
)
async def list_scim_resource_types(request: Request, caller: ScimCaller) -> ScimResponse:
    found = resource_types(base_url(request))
    return _list_response(ResourceType, len(found), 1, found, Context.RESOURCE_QUERY_RESPONSE, None)


@router.get(
    "/ResourceTypes/{resource_type}",
    operation_id="get_scim_resource_type",
    summary="SCIM: one resource type",
    responses=responses(200, "ScimResourceType", 401, 403, 404),
)
async def get_scim_resource_type(
    request: Request, caller: ScimCaller, resource_type: Annotated[str, Path(max_length=64, description="User or Group.")]
) -> ScimResponse:
    for found in resource_types(base_url(request)):
        if found.id == resource_type:
            return ScimResponse(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail=f"No resource type {resource_type}")


@router.get(
    "/Schemas",
    operation_id="list_scim_schemas",
    summary="SCIM: the schemas of the resources and their extensions",
    responses=responses(200, "ScimSchemaList", 401, 403),
)
async def list_scim_schemas(request: Request, caller: ScimCaller) -> ScimResponse:
    found = schemas(base_url(request))
    return _list_response(Schema, len(found), 1, found, Context.RESOURCE_QUERY_RESPONSE, None)


@router.get(
    "/Schemas/{schema_id}",
    operation_id="get_scim_schema",
    summary="SCIM: one schema",
    responses=responses(200, "ScimSchema", 401, 403, 404),
)
async def get_scim_schema(
    request: Request, caller: ScimCaller, schema_id: Annotated[str, Path(max_length=200, description="The schema URN.")]
) -> ScimResponse:
    for found in schemas(base_url(request)):
        if found.id == schema_id:
            return ScimResponse(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail=f"No schema {schema_id}")


@router.post(
    "/.search",
    status_code=501,
    operation_id="search_scim_resources",
    summary="SCIM: search every resource type at once (not supported: 501)",
    responses=responses(None, None, 401, 403, 501),
    openapi_extra=body("ScimSearchRequest"),
)
async def search_scim_resources(request: Request, caller: ScimCaller) -> ScimResponse:
    raise NotImplementedException(detail="Search one resource type at a time: POST /Users/.search or /Groups/.search")


# -- users -------------------------------------------------------------------------


@router.get(
    "/Users",
    operation_id="list_scim_users",
    summary="SCIM: list or filter the institution's users",
    responses=responses(200, "ScimUserList", 400, 401, 403),
)
async def list_scim_users(
    request: Request,
    caller: ScimCaller,
    filter: Filter = None,
    sort_by: SortBy = None,
    sort_order: SortOrder = None,
    start_index: StartIndex = None,
    count: Count = None,
    attributes: Attributes = None,
    excluded_attributes: ExcludedAttributes = None,
) -> ScimResponse:
    search = _search(
        ScimUser, filter=filter, sortBy=sort_by, sortOrder=sort_order, startIndex=start_index, count=count,
        attributes=attributes, excludedAttributes=excluded_attributes,
    )  # fmt: skip
    return await _list(request, caller, provisioning.USERS, search, Context.RESOURCE_QUERY_RESPONSE)


@router.post(
    "/Users/.search",
    operation_id="search_scim_users",
    summary="SCIM: search the institution's users (query in the body)",
    responses=responses(200, "ScimUserList", 400, 401, 403),
    openapi_extra=body("ScimSearchRequest"),
)
async def search_scim_users(request: Request, caller: ScimCaller) -> ScimResponse:
    payload = await json_body(request)
    search = SearchRequest[ScimUser].model_validate(payload, scim_ctx=Context.SEARCH_REQUEST, scim_policy=POLICY)  # type: ignore[index]
    return await _list(request, caller, provisioning.USERS, search, Context.SEARCH_RESPONSE)


@router.post(
    "/Users",
    status_code=201,
    operation_id="create_scim_user",
    summary="SCIM: create a user (an account of the institution and her participant profile)",
    responses=responses(201, "ScimUser", 400, 401, 403, 409, 503, 504),
    openapi_extra=body("ScimUser", example="user"),
)
async def create_scim_user(request: Request, caller: ScimCaller) -> ScimResponse:
    """The account has no password: she signs in through single sign-on, or
    after a password reset. Her participant profile (display name, external
    ids) is created first, in the participants service; if that fails nothing
    is written (503 when participants is down)."""
    payload = await json_body(request)
    user = ScimUser.model_validate(payload, scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY)
    created = await provisioning.create_user(request, caller, user)
    return _resource_response(created, Context.RESOURCE_CREATION_RESPONSE, status=201)


@router.get(
    "/Users/{user_id}",
    operation_id="get_scim_user",
    summary="SCIM: get a user",
    responses=responses(200, "ScimUser", 304, 400, 401, 403, 404),
)
async def get_scim_user(
    request: Request,
    caller: ScimCaller,
    user_id: UserId,
    attributes: Attributes = None,
    excluded_attributes: ExcludedAttributes = None,
) -> Response:
    params = _search(ScimUser, attributes=attributes, excludedAttributes=excluded_attributes)
    return await _read(request, caller, provisioning.USERS, user_id, params)


@router.put(
    "/Users/{user_id}",
    operation_id="replace_scim_user",
    summary="SCIM: replace a user",
    responses=responses(200, "ScimUser", 400, 401, 403, 404, 409, 412, 503, 504),
    openapi_extra=body("ScimUser", example="user"),
)
async def replace_scim_user(request: Request, caller: ScimCaller, user_id: UserId) -> ScimResponse:
    """`active: false` suspends the account (her sessions end at once) and
    keeps every record; `true` reactivates it."""
    payload = await json_body(request)
    incoming = ScimUser.model_validate(payload, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY)
    changed = await provisioning.change_user(request, caller, user_id, _replacing(incoming))
    return _resource_response(changed, Context.RESOURCE_REPLACEMENT_RESPONSE)


@router.patch(
    "/Users/{user_id}",
    operation_id="patch_scim_user",
    summary="SCIM: change a user (add, replace, remove)",
    responses=responses(200, "ScimUser", 400, 401, 403, 404, 409, 412, 503, 504),
    openapi_extra=body("ScimPatchOp", example="patch_user"),
)
async def patch_scim_user(request: Request, caller: ScimCaller, user_id: UserId) -> ScimResponse:
    """`replace active false` suspends the account (her sessions end at once)
    and keeps every record."""
    payload = await json_body(request)
    patch = PatchOp[ScimUser].model_validate(payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY)  # type: ignore[index]
    changed = await provisioning.change_user(request, caller, user_id, _patching(patch))
    return _resource_response(changed, Context.RESOURCE_PATCH_RESPONSE)


@router.delete(
    "/Users/{user_id}",
    status_code=204,
    response_class=Response,
    operation_id="delete_scim_user",
    summary="SCIM: delete a user (her account; her profile only if she never took part)",
    responses=responses(204, None, 401, 403, 404, 412, 503, 504),
)
async def delete_scim_user(request: Request, caller: ScimCaller, user_id: UserId) -> Response:
    """The account is deleted and her sessions end. Her participant profile
    goes too unless she took part in a program: then it stays, with her program
    records (erasure is a data-subject request to the participants service).
    To suspend and keep everything, set `active` to false instead."""
    await provisioning.delete_user(request, caller, user_id)
    return Response(status_code=204)


# -- groups ------------------------------------------------------------------------


@router.get(
    "/Groups",
    operation_id="list_scim_groups",
    summary="SCIM: list or filter the institution's groups",
    responses=responses(200, "ScimGroupList", 400, 401, 403),
)
async def list_scim_groups(
    request: Request,
    caller: ScimCaller,
    filter: Filter = None,
    sort_by: SortBy = None,
    sort_order: SortOrder = None,
    start_index: StartIndex = None,
    count: Count = None,
    attributes: Attributes = None,
    excluded_attributes: ExcludedAttributes = None,
) -> ScimResponse:
    search = _search(
        ScimGroup, filter=filter, sortBy=sort_by, sortOrder=sort_order, startIndex=start_index, count=count,
        attributes=attributes, excludedAttributes=excluded_attributes,
    )  # fmt: skip
    return await _list(request, caller, provisioning.GROUPS, search, Context.RESOURCE_QUERY_RESPONSE)


@router.post(
    "/Groups/.search",
    operation_id="search_scim_groups",
    summary="SCIM: search the institution's groups (query in the body)",
    responses=responses(200, "ScimGroupList", 400, 401, 403),
    openapi_extra=body("ScimSearchRequest"),
)
async def search_scim_groups(request: Request, caller: ScimCaller) -> ScimResponse:
    payload = await json_body(request)
    search = SearchRequest[ScimGroup].model_validate(payload, scim_ctx=Context.SEARCH_REQUEST, scim_policy=POLICY)  # type: ignore[index]
    return await _list(request, caller, provisioning.GROUPS, search, Context.SEARCH_RESPONSE)


@router.post(
    "/Groups",
    status_code=201,
    operation_id="create_scim_group",
    summary="SCIM: create a group (it may grant its members an Aliada role)",
    responses=responses(201, "ScimGroup", 400, 401, 403, 409),
    openapi_extra=body("ScimGroup", example="group"),
)
async def create_scim_group(request: Request, caller: ScimCaller) -> ScimResponse:
    payload = await json_body(request)
    group = ScimGroup.model_validate(payload, scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY)
    created = await provisioning.create_group(request, caller, group)
    return _resource_response(created, Context.RESOURCE_CREATION_RESPONSE, status=201)


@router.get(
    "/Groups/{group_id}",
    operation_id="get_scim_group",
    summary="SCIM: get a group",
    responses=responses(200, "ScimGroup", 304, 400, 401, 403, 404),
)
async def get_scim_group(
    request: Request,
    caller: ScimCaller,
    group_id: GroupId,
    attributes: Attributes = None,
    excluded_attributes: ExcludedAttributes = None,
) -> Response:
    params = _search(ScimGroup, attributes=attributes, excludedAttributes=excluded_attributes)
    return await _read(request, caller, provisioning.GROUPS, group_id, params)


@router.put(
    "/Groups/{group_id}",
    operation_id="replace_scim_group",
    summary="SCIM: replace a group",
    responses=responses(200, "ScimGroup", 400, 401, 403, 404, 409, 412),
    openapi_extra=body("ScimGroup", example="group"),
)
async def replace_scim_group(request: Request, caller: ScimCaller, group_id: GroupId) -> ScimResponse:
    payload = await json_body(request)
    incoming = ScimGroup.model_validate(payload, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY)
    changed = await provisioning.change_group(request, caller, group_id, _replacing(incoming))
    return _resource_response(changed, Context.RESOURCE_REPLACEMENT_RESPONSE)


@router.patch(
    "/Groups/{group_id}",
    operation_id="patch_scim_group",
    summary="SCIM: change a group (members, role, name)",
    responses=responses(200, "ScimGroup", 400, 401, 403, 404, 409, 412),
    openapi_extra=body("ScimPatchOp", example="patch_group"),
)
async def patch_scim_group(request: Request, caller: ScimCaller, group_id: GroupId) -> ScimResponse:
    payload = await json_body(request)
    patch = PatchOp[ScimGroup].model_validate(payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY)  # type: ignore[index]
    changed = await provisioning.change_group(request, caller, group_id, _patching(patch))
    return _resource_response(changed, Context.RESOURCE_PATCH_RESPONSE)


@router.delete(
    "/Groups/{group_id}",
    status_code=204,
    response_class=Response,
    operation_id="delete_scim_group",
    summary="SCIM: delete a group (its members lose the role it granted)",
    responses=responses(204, None, 401, 403, 404, 412),
)
async def delete_scim_group(request: Request, caller: ScimCaller, group_id: GroupId) -> Response:
    await provisioning.delete_group(request, caller, group_id)
    return Response(status_code=204)


# -- anything else under /scim/v2 ------------------------------------------------------

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
_FALLBACKS = ("scim_unknown_path", "scim_root")


def _allowed(request: Request) -> list[str]:
    """The methods a SCIM route serves at this path (for 405 and ``Allow``).
    A literal path wins over a template (``/Users/.search`` is not a user)."""
    routes = [r for r in router.routes if getattr(r, "name", None) not in _FALLBACKS]
    for literal in (True, False):
        allowed = [
            method
            for method in _METHODS
            if any(
                ("{" not in getattr(route, "path", "{")) == literal
                and route.matches({**request.scope, "method": method})[0] == Match.FULL
                for route in routes
            )
        ]
        if allowed:
            return allowed
    return []


async def _unknown(request: Request) -> Response:
    # Like the gateway's other paths, a wrong method or path is answered
    # before any token is looked at: it tells nothing the OpenAPI document
    # does not. Only the body is SCIM's.
    allowed = _allowed(request)
    if allowed:
        return error_response(405, f"{request.method} is not allowed here", headers={"Allow": ", ".join(allowed)})
    return error_response(404, f"No SCIM resource at {request.url.path}")


@router.api_route("", methods=_METHODS, include_in_schema=False, name="scim_root")
async def scim_root(request: Request) -> Response:
    return await _unknown(request)


@router.api_route("/{path:path}", methods=_METHODS, include_in_schema=False, name="scim_unknown_path")
async def scim_unknown_path(request: Request, path: str) -> Response:
    return await _unknown(request)
