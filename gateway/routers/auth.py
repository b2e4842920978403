"""``/v1/auth``: the OAuth 2.0 token endpoint, revocation and "who am I"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from servicekit.auth import MAX_TOKEN_BYTES, allow_any_client
from servicekit.idempotency import IdempotencyDep
from servicekit.inputs import unstorable
from servicekit.problems import problem_responses

from gateway.dependencies import in_transaction
from gateway.edge import EdgePrincipal
from gateway.idempotency import create_once
from gateway.grants import GRANT_TYPES, TOKEN_EXCHANGE, Grants, oauth_error
from gateway import service
from gateway.schemas import AccountCreate, Me, Revoked, SignUp, SignUpAccepted, TokenResponse

router = APIRouter(prefix="/v1/auth", tags=["auth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_PARAMETER = 4096
# An identity provider's ID token may be larger than other parameters; the
# verifier's own size cap applies to it.
MAX_TOKEN_PARAMETERS = {"subject_token": MAX_TOKEN_BYTES, "actor_token": MAX_TOKEN_BYTES}


def _documented_bounds(examples: list[dict[str, str]], required: list[str] | None = None) -> Any:
    """``json_schema_extra`` of the OAuth forms: the examples, and each
    parameter's length bound, which ``_check_parameters`` enforces (a 400
    ``invalid_request``, as RFC 6749 wants, rather than pydantic's 422)."""

    def extra(schema: dict[str, Any]) -> None:
        schema["examples"] = examples
        if required:
            schema["required"] = required
        for name, prop in schema.get("properties", {}).items():
            for option in prop.get("anyOf", [prop]):
                if option.get("type") == "string":
                    option["maxLength"] = MAX_TOKEN_PARAMETERS.get(name, MAX_PARAMETER)

    return extra


class TokenRequest(BaseModel):
    """OAuth 2.0 token request (RFC 6749), form-encoded.

    Unknown parameters are ignored, as RFC 6749 §3.1 requires (hence no
    ``extra="forbid"`` here), and missing or malformed ones are answered with
    the RFC's ``invalid_request`` (400) rather than a 422: that includes a value
    breaking servicekit's input rule (NUL, lone surrogates), checked by
    ``_check_parameters`` with the rule's own function.
    """

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra=_documented_bounds(
            [
                {"grant_type": "password", "username": "ana@uni.example", "password": "a-long-passphrase-1"},
                {"grant_type": "refresh_token", "refresh_token": "rt_..."},
                {"grant_type": "client_credentials", "client_id": "cli_...", "client_secret": "cs_...", "scope": "events:read"},
                {
                    "grant_type": TOKEN_EXCHANGE,
                    "subject_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9...",
                    "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
                },
            ]
        ),
    )

    grant_type: str | None = Field(default=None, description=f"One of: {', '.join(GRANT_TYPES)}.")
    username: str | None = Field(default=None, description="password grant: the account's email.")
    password: str | None = Field(default=None, description="password grant.")
    scope: str | None = Field(default=None, description="Space-separated scopes (client_credentials).")
    refresh_token: str | None = Field(default=None, description="refresh_token grant.")
    client_id: str | None = Field(default=None, description="client_credentials, unless HTTP Basic is used.")
    client_secret: str | None = Field(default=None, description="client_credentials, unless HTTP Basic is used.")
    subject_token: str | None = Field(default=None, description="token exchange: the identity provider's ID token (a signed JWT).")
    subject_token_type: str | None = Field(
        default=None,
        description="token exchange: `urn:ietf:params:oauth:token-type:id_token` or `urn:ietf:params:oauth:token-type:jwt`.",
    )
    requested_token_type: str | None = Field(
        default=None, description="token exchange (optional): `urn:ietf:params:oauth:token-type:access_token`, the only one issued."
    )
    audience: str | None = Field(default=None, description="token exchange (optional): this API's audience, the only target.")
    resource: str | None = Field(default=None, description="token exchange (optional): this API's base URL, the only target.")
    actor_token: str | None = Field(default=None, description="token exchange: not supported (no delegation).")
    actor_token_type: str | None = Field(default=None, description="token exchange: not supported (no delegation).")


class RevocationRequest(BaseModel):
    """RFC 7009 revocation request, form-encoded (unknown parameters ignored)."""

    # RFC 7009 makes `token` required; a request without it gets the RFC's
    # 400 invalid_request (not a 422), so the model accepts its absence and the
    # schema still documents it as required.
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra=_documented_bounds([{"token": "rt_...", "token_type_hint": "refresh_token"}], required=["token"]),
    )

    token: str = Field(
        default="", description="A refresh token or an access token (required).", json_schema_extra={"minLength": 1}
    )
    token_type_hint: str | None = Field(default=None, description="refresh_token or access_token (optional).")


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _check_parameters(values: dict[str, str | None]) -> None:
    """Bounded, and storable (servicekit's input rule), as ``invalid_request``."""
    for name, value in values.items():
        if value is None:
            continue
        if len(value) > MAX_TOKEN_PARAMETERS.get(name, MAX_PARAMETER):
            raise oauth_error("invalid_request", f"{name} is too long", field=f"body.{name}")
        if (what := unstorable(value)) is not None:
            raise oauth_error("invalid_request", f"{name} contains {what}", field=f"body.{name}")


@router.post(
    "/token",
    response_model=TokenResponse,
    operation_id="issue_token",
    summary="Get an access token (OAuth 2.0: password, refresh_token, client_credentials, token exchange)",
    responses=problem_responses(400, 401, 429, 503),
)
async def issue_token(request: Request, form: Annotated[TokenRequest, Form()]) -> JSONResponse:
    """RFC 6749 token endpoint. Answers carry ``Cache-Control: no-store``. Errors
    are problems with the RFC's ``error`` and ``error_description`` members.

    **Single sign-on (RFC 8693 token exchange).** A front end that signed a
    person in at her institution's identity provider (registered at
    ``/v1/admin/identity-providers``) sends
    ``grant_type=urn:ietf:params:oauth:grant-type:token-exchange``,
    ``subject_token=<the IdP's ID token>`` and
    ``subject_token_type=urn:ietf:params:oauth:token-type:id_token`` (or
    ``...:jwt``). The token is verified like our own (size cap, JWS only,
    algorithm pinned to the registration's, exact ``kid`` from the IdP's JWKS,
    ``exp``/``iat``/``aud``/``iss``/``sub`` required, at most 60 s leeway;
    header ``typ`` ``JWT`` or none) against the one registration of its issuer
    (and tenant claim, when the issuer is shared). Her first exchange creates
    her account in that institution or links her existing one by verified
    email, as the registration says; later ones find it by the IdP's subject.
    The answer is the password grant's (an access token and the first refresh
    token of a new session) plus
    ``issued_token_type=urn:ietf:params:oauth:token-type:access_token``.
    A refused subject token (invalid, expired, another issuer or tenant, no
    verified email, suspended account...) is ``invalid_request`` (RFC 8693
    §2.2.2); ``actor_token`` is not supported; ``audience``/``resource`` other
    than this API is ``invalid_target``; if the IdP's keys cannot be fetched,
    503 ``temporarily_unavailable``."""
    grants: Grants = request.app.state.grants
    await request.app.state.limits.token_request(_client_ip(request))
    _check_parameters(form.model_dump())
    if not form.grant_type:
        raise oauth_error("invalid_request", "grant_type is required", field="body.grant_type")
    if form.grant_type == "password":
        token = await grants.password(form.username, form.password, form.scope, _client_ip(request))
    elif form.grant_type == "refresh_token":
        token = await grants.refresh(form.refresh_token, form.scope)
    elif form.grant_type == "client_credentials":
        token = await grants.client_credentials(
            request.headers.get("authorization"), form.client_id, form.client_secret, form.scope
        )
    elif form.grant_type == TOKEN_EXCHANGE:
        token = await grants.token_exchange(
            subject_token=form.subject_token,
            subject_token_type=form.subject_token_type,
            requested_token_type=form.requested_token_type,
            audience=form.audience,
            resource=form.resource,
            actor_token=form.actor_token,
            actor_token_type=form.actor_token_type,
            scope=form.scope,
        )
    else:
        raise oauth_error("unsupported_grant_type", f"Supported grant types: {', '.join(GRANT_TYPES)}", field="body.grant_type")
    return JSONResponse(token.model_dump(exclude_none=True), headers=NO_STORE)


@router.post(
    "/revoke",
    response_model=Revoked,
    operation_id="revoke_token",
    summary="Revoke a refresh or access token and its session (RFC 7009)",
    responses=problem_responses(400, 429),
)
async def revoke_token(request: Request, form: Annotated[RevocationRequest, Form()]) -> JSONResponse:
    """Revoking either token of a session ends the whole session: its refresh
    tokens stop working and its access tokens are refused at the edge. For an
    API client's access token, every current token of that client is ended.
    Unknown or already invalid tokens get the same 200."""
    await request.app.state.limits.token_request(_client_ip(request))
    if not form.token:
        raise oauth_error("invalid_request", "token is required", field="body.token")
    _check_parameters(form.model_dump())
    await request.app.state.grants.revoke(form.token, form.token_type_hint)
    return JSONResponse({}, headers=NO_STORE)


@router.get(
    "/me",
    response_model=Me,
    operation_id="get_me",
    dependencies=[allow_any_client()],
    summary="Who am I: the caller's subject, roles, institution and scopes",
    responses=problem_responses(401),
)
async def get_me(request: Request, principal: EdgePrincipal) -> Me:
    email, name = await in_transaction(request, service.identity, principal)
    return Me(
        subject=principal.subject,
        kind="client" if principal.is_client else "account",
        email=email,
        name=name,
        client_id=principal.claims.get("client_id"),
        roles=sorted(principal.roles),
        institution_id=principal.tenant_id,
        scopes=sorted(principal.scopes),
        expires_at=datetime.fromtimestamp(principal.claims["exp"], tz=UTC),
    )


@router.get(
    "/session",
    status_code=204,
    response_model=None,
    operation_id="check_session",
    dependencies=[allow_any_client()],
    summary="Is this access token's session live? (the services' revocation check)",
    responses=problem_responses(401),
)
async def check_session(principal: EdgePrincipal) -> Response:
    """204 when the bearer token is valid and its session (``sid``) is not
    revoked; 401 otherwise (problem type ``urn:aliada:problem:session-revoked``
    when the session was revoked). Services without Redis ask this, with the token
    they were given, at most once per ``<APP>_REVOCATION_CACHE_SECONDS`` per
    session (servicekit.revocation). It tells nothing the bearer cannot learn."""
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


@router.post(
    "/signup",
    status_code=202,
    response_model=SignUpAccepted,
    operation_id="sign_up",
    summary="Sign up as an applicant of an institution (no token needed)",
    responses=problem_responses(422, 429, 503, 504),
)
async def sign_up(request: Request, body: SignUp, idem: IdempotencyDep) -> SignUpAccepted | Response:
    """Creates an account with the single role ``applicant`` in the given
    institution; she then logs in with the password grant and applies to one of
    its open calls. Roles beyond ``applicant`` are only ever granted by the
    institution's coordinators (confirmation turns an applicant into a mentor or
    a mentee). The institution is confirmed with the participants service.
    Rate-limited per client address like the token endpoint.

    The answer is the same 202 whether or not the email already has an account
    (of any institution): for one that has, nothing is created or changed, so
    the endpoint never tells who has an account (e-mail verification by link
    will tell the owner, with the notifications service)."""
    await request.app.state.limits.token_request(_client_ip(request))
    await request.app.state.participants.check_institution(body.institution_id)
    data = AccountCreate(email=body.email, password=body.password, roles=["applicant"], institution_id=body.institution_id)
    # Hashed either way, so a taken email answers in the same time.
    password_hash = await anyio.to_thread.run_sync(request.app.state.passwords.hash, data.password)
    accepted = SignUpAccepted()

    def create(session: Session) -> tuple[SignUpAccepted, SignUpAccepted]:
        if not service.email_taken(session, data.email):
            service.create_account(session, data, password_hash)
        return accepted, accepted

    try:
        return await create_once(request, idem, 202, create)
    except IntegrityError:  # the same email signed up concurrently: the same answer
        return accepted
