"""Training records from an LMS: a subset of the xAPI statements resource, and a
plain completion webhook. Both record completions through
``training.record_completion`` (the same rules, events and "trained" as the
training API); this module only maps what an LMS sends onto it.

**Who may send.** Integration clients with scope ``training:write`` and the
institution's coordinators (and admins) — the same callers who may record a
completion with the training API. A caller bound to an institution (``tid``)
writes there only; admins and platform clients (no ``tid``) are routed by the
statement's ``actor.account.homePage`` (the one institution whose xAPI
settings name it) or, for the webhook, by ``institution_id``.

**Mapping of a statement.**

- ``actor.account.homePage`` must be the institution's LMS home page (its xAPI
  settings; compared without a trailing slash) and ``actor.account.name`` is
  her ``lms_id`` — or her ``sis_id`` when the settings say so;
- ``object.id`` is the ``lms_activity_id`` of one training module of the
  institution; she must be a current member of that module's program;
- verbs ``completed`` and ``passed`` record a completion of the module;
  ``attended`` records one of a module of kind ``accompaniment_session`` (the
  training model has no separate attendance: attending the session completes
  it) and is refused for online modules;
- ``timestamp`` (default: now) is when she completed it; a ``result`` with
  ``success`` or ``completion`` false records nothing and is refused.

**Idempotency.** A statement id is stored with a digest of the statement: the
same statement again changes nothing (its id comes back as the first time);
another statement under a stored id is a 409. One completion per member and
module: later statements about a module she already completed (``passed``
after ``completed``) are stored and point at that completion.

**All or nothing.** A request holds one statement or an array of at most 500;
every statement is checked before anything is written, and one problem refuses
the request with a problem naming every field at fault
(``body.0.actor.account.name`` for an unknown actor, ``body.0.object.id`` for
an unknown activity; ``body.actor...`` when a single statement was sent).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.problems import FieldError, ProblemError, conflict, forbidden, not_found
from servicekit import clock
from servicekit.tenancy import client_with, coordinates, tenant_of

from services.participants import access, training
from services.participants.access import TRAINING_WRITE_SCOPE
from services.participants.models import (
    Institution,
    Membership,
    Participant,
    TrainingCompletion,
    TrainingModule,
    XapiSettings,
    XapiStatement,
)
from services.participants.enums import MembershipStatus, ModuleKind, TrainingVerb, XapiActorId
from services.participants.schemas.training import CompletionCreate
from services.participants.schemas.xapi import VERB_IRIS, CompletionWebhook, Statement, XapiSettingsPut

SUPPORTED_VERSIONS = ("1.0.0", "1.0.1", "1.0.2", "1.0.3", "2.0.0")
RESPONSE_VERSION = "1.0.3"
SENDERS = "the institution's coordinators and integration clients with scope training:write may record training"


def home(url: str) -> str:
    """A home page as compared: without a trailing slash."""
    return url.rstrip("/")


def version_supported(value: str | None) -> bool:
    """``X-Experience-API-Version``: 1.0, 1.0.0-1.0.3, 2.0 or 2.0.0."""
    if value is None:
        return False
    value = value.strip()
    return value in SUPPORTED_VERSIONS or value in ("1.0", "2.0")


# ---------------------------------------------------------------------------
# Settings


def get_settings(session: Session, institution_id: uuid.UUID) -> XapiSettings | None:
    return session.get(XapiSettings, institution_id)


def put_settings(session: Session, institution_id: uuid.UUID, data: XapiSettingsPut, who: Principal) -> XapiSettings:
    if session.get(Institution, institution_id) is None:
        raise not_found("Institution")
    record = session.get(XapiSettings, institution_id) or XapiSettings(
        institution_id=institution_id, home_page="", actor_id=data.actor_id, updated_by=who.subject
    )
    record.home_page, record.actor_id = home(data.home_page), data.actor_id
    record.updated_by, record.updated_at = who.subject, clock.now()
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        raise conflict("The xAPI settings were created by another request at this moment; send yours again") from None
    return record


def settings_reader(who: Principal, institution_id: uuid.UUID) -> None:
    """Coordinators, admins and the institution's training:write clients read the settings."""
    if coordinates(who, institution_id) or client_with(who, TRAINING_WRITE_SCOPE, institution_id):
        return
    if access.is_person_of(who, institution_id):
        raise forbidden("Only the institution's coordinators and its LMS clients may read its xAPI settings")
    raise not_found("Institution")


# ---------------------------------------------------------------------------
# Who sends, and for which institution


def check_sender(who: Principal) -> None:
    """403 for callers who may never record training (before reading any statement)."""
    if who.is_client:
        if TRAINING_WRITE_SCOPE not in who.scopes:
            raise forbidden(f"Only {SENDERS} (this client lacks the scope)")
        return
    if not (who.is_admin or "coordinator" in who.roles):
        raise forbidden(f"Only {SENDERS}")


def _may_write(who: Principal, institution_id: uuid.UUID) -> bool:
    return coordinates(who, institution_id) or client_with(who, TRAINING_WRITE_SCOPE, institution_id)


@dataclass
class Target:
    """A statement mapped onto the records it concerns."""

    index: int
    statement: Statement
    institution_id: uuid.UUID
    digest: str
    stored: XapiStatement | None = None
    participant: Participant | None = None
    module: TrainingModule | None = None
    completed_at: datetime | None = None


def digest(statement: Statement) -> str:
    """What tells a repeat of a statement from another statement under its id."""
    data = statement.model_dump(mode="json", exclude_none=True, exclude={"stored", "authority", "version"})
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _institution_for(
    session: Session, who: Principal, statement: Statement, prefix: str, errors: list[FieldError]
) -> tuple[uuid.UUID, XapiSettings] | None:
    page = home(statement.actor.account.homePage)
    field = f"{prefix}.actor.account.homePage"
    tid = tenant_of(who)
    if tid is not None:
        settings = get_settings(session, tid)
        if settings is None:
            errors.append(FieldError(
                field=field, code="xapi_not_configured",
                message="This institution has no xAPI settings yet: a coordinator sets its LMS home page at "
                        f"PUT /v1/institutions/{tid}/xapi-settings",
            ))  # fmt: skip
            return None
        if settings.home_page != page:
            errors.append(FieldError(
                field=field, code="unknown_home_page",
                message=f"Not this institution's LMS: its statements carry homePage {settings.home_page!r}",
            ))  # fmt: skip
            return None
        return tid, settings
    found = session.exec(select(XapiSettings).where(XapiSettings.home_page == page).limit(2)).all()
    if len(found) != 1:
        errors.append(FieldError(
            field=field, code="unknown_home_page",
            message="No single institution has this LMS home page; send with a client bound to the institution",
        ))  # fmt: skip
        return None
    return found[0].institution_id, found[0]


def _person(
    session: Session, institution_id: uuid.UUID, settings_actor_id: str, name: str
) -> Participant | None:
    column = getattr(Participant, settings_actor_id)
    return session.exec(
        select(Participant).where(
            Participant.institution_id == institution_id,
            column == name,
            Participant.erased_at.is_(None),  # type: ignore[union-attr]
        )
    ).first()


def _module(session: Session, institution_id: uuid.UUID, activity_id: str) -> TrainingModule | None:
    return session.exec(
        select(TrainingModule).where(
            TrainingModule.institution_id == institution_id, TrainingModule.lms_activity_id == activity_id
        )
    ).first()


def _is_member(session: Session, participant: Participant, module: TrainingModule) -> bool:
    return (
        session.exec(
            select(Membership.id).where(
                Membership.institution_id == module.institution_id,
                Membership.program_id == module.program_id,
                Membership.participant_id == participant.id,
                Membership.status != MembershipStatus.withdrawn,
            )
        ).first()
        is not None
    )


def check_record(
    session: Session,
    *,
    institution_id: uuid.UUID,
    actor_id: str,
    external_id: str,
    activity_id: str,
    verb: TrainingVerb,
    completed_at: datetime,
    fields: dict[str, str],
    errors: list[FieldError],
) -> tuple[Participant, TrainingModule] | None:
    """Resolve who and which module, and check that this record may be made.

    ``fields`` names the request's field for ``actor``, ``activity``, ``verb``
    and ``time``; each problem is added to ``errors``.
    """
    before = len(errors)
    participant = _person(session, institution_id, actor_id, external_id)
    if participant is None:
        errors.append(FieldError(
            field=fields["actor"], code="unknown_actor",
            message=f"No participant of this institution has {actor_id} {external_id!r}",
        ))  # fmt: skip
    module = _module(session, institution_id, activity_id)
    if module is None:
        errors.append(FieldError(
            field=fields["activity"], code="unknown_activity",
            message=f"No training module of this institution has lms_activity_id {activity_id!r}",
        ))  # fmt: skip
    if module is not None and verb == TrainingVerb.attended and module.kind != ModuleKind.accompaniment_session:
        errors.append(FieldError(
            field=fields["verb"], code="verb_not_applicable",
            message="attended records accompaniment sessions; this module is an online module (send completed or passed)",
        ))  # fmt: skip
    if participant is not None and module is not None and not _is_member(session, participant, module):
        errors.append(FieldError(
            field=fields["actor"], code="not_a_member",
            message=f"The participant with {actor_id} {external_id!r} is not a current member of this module's program",
        ))  # fmt: skip
    if completed_at > clock.now() + training.FUTURE_TOLERANCE:
        errors.append(FieldError(field=fields["time"], code="in_the_future", message="A completion cannot be in the future"))
    if len(errors) > before or participant is None or module is None:
        return None
    return participant, module


# ---------------------------------------------------------------------------
# Statements


def record_statements(session: Session, who: Principal, statements: list[Statement], *, single: bool) -> tuple[list[uuid.UUID], bool]:
    """Store the statements (all or none); returns their ids and whether every one was a repeat."""
    check_sender(who)
    errors: list[FieldError] = []
    targets: list[Target] = []
    first_index: dict[uuid.UUID, int] = {}
    now = clock.now()
    for index, statement in enumerate(statements):
        prefix = "body" if single else f"body.{index}"
        if statement.id in first_index:
            errors.append(FieldError(
                field=f"{prefix}.id", code="duplicate",
                message=f"Repeats the id of statement {first_index[statement.id]} of this request",
            ))  # fmt: skip
            continue
        first_index[statement.id] = index
        resolved = _institution_for(session, who, statement, prefix, errors)
        if resolved is None:
            continue
        institution_id, settings = resolved
        if not _may_write(who, institution_id):  # a tid-less caller routed to an institution
            raise forbidden(f"Only {SENDERS}")
        target = Target(index, statement, institution_id, digest(statement))
        target.stored = session.exec(
            select(XapiStatement).where(
                XapiStatement.institution_id == institution_id, XapiStatement.statement_id == statement.id
            )
        ).first()
        if target.stored is not None:
            if target.stored.digest != target.digest:
                detail = "Another statement was already stored under this id"
                raise conflict(detail, errors=[FieldError(field=f"{prefix}.id", message=detail, code="already_exists")])
            targets.append(target)
            continue
        result = statement.result
        if result is not None and (result.success is False or result.completion is False):
            errors.append(FieldError(
                field=f"{prefix}.result", code="not_a_completion",
                message="A statement of failure or incompletion records nothing; send successful outcomes only",
            ))  # fmt: skip
            continue
        target.completed_at = statement.timestamp or now
        found = check_record(
            session,
            institution_id=institution_id,
            actor_id=settings.actor_id,
            external_id=statement.actor.account.name,
            activity_id=statement.object.id,
            verb=VERB_IRIS[statement.verb.id],
            completed_at=target.completed_at,
            fields={
                "actor": f"{prefix}.actor.account.name",
                "activity": f"{prefix}.object.id",
                "verb": f"{prefix}.verb.id",
                "time": f"{prefix}.timestamp",
            },
            errors=errors,
        )
        if found is not None:
            target.participant, target.module = found
            targets.append(target)
    if errors:
        names = ", ".join(e.field for e in errors[:5]) + ("" if len(errors) <= 5 else f" and {len(errors) - 5} more")
        raise ProblemError(
            422,
            f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in the statements: {names}",
            slug="validation-error",
            title="Request validation failed",
            errors=errors,
        )
    fresh = [t for t in targets if t.stored is None]
    for target in fresh:
        assert target.participant is not None and target.module is not None and target.completed_at is not None
        completion, _membership, _existed = training.record_completion(
            session,
            target.module,
            CompletionCreate(participant_id=target.participant.id, completed_at=target.completed_at),
            who.subject,
        )
        session.add(
            XapiStatement(
                institution_id=target.institution_id,
                statement_id=target.statement.id,
                participant_id=target.participant.id,
                module_id=target.module.id,
                completion_id=completion.id,
                verb=VERB_IRIS[target.statement.verb.id],
                digest=target.digest,
                timestamp=target.completed_at,
                recorded_by=who.subject,
                stored_at=now,
            )
        )
    try:
        session.flush()
    except IntegrityError:
        raise conflict("These statements are being stored by another request at this moment; send them again") from None
    return [s.id for s in statements], not fresh


# ---------------------------------------------------------------------------
# The plain webhook


def record_webhook(session: Session, who: Principal, data: CompletionWebhook) -> tuple[TrainingCompletion, bool]:
    """Record one plain completion; returns it and whether it already existed."""
    check_sender(who)
    tid = tenant_of(who)
    if tid is not None:
        if data.institution_id is not None and data.institution_id != tid:
            raise not_found("Institution")
        institution_id = tid
    elif data.institution_id is None:
        raise ProblemError(
            422, "Give institution_id: this caller is not bound to one institution", slug="validation-error",
            title="Request validation failed",
            errors=[FieldError(field="body.institution_id", message="Field required for this caller", code="missing")],
        )  # fmt: skip
    else:
        institution_id = data.institution_id
    if session.get(Institution, institution_id) is None:
        raise not_found("Institution")
    if not _may_write(who, institution_id):
        raise forbidden(f"Only {SENDERS}")
    settings = get_settings(session, institution_id)
    actor_id = settings.actor_id if settings is not None else XapiActorId.lms_id
    errors: list[FieldError] = []
    found = check_record(
        session,
        institution_id=institution_id,
        actor_id=actor_id,
        external_id=data.external_id,
        activity_id=data.module,
        verb=data.verb,
        completed_at=data.completed_at,
        fields={"actor": "body.external_id", "activity": "body.module", "verb": "body.verb", "time": "body.completed_at"},
        errors=errors,
    )
    if found is None:
        raise ProblemError(
            422, "Invalid fields: " + ", ".join(e.field for e in errors), slug="validation-error",
            title="Request validation failed", errors=errors,
        )  # fmt: skip
    participant, module = found
    completion, _membership, existed = training.record_completion(
        session, module, CompletionCreate(participant_id=participant.id, completed_at=data.completed_at), who.subject
    )
    return completion, existed
