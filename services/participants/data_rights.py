"""Data-subject rights in the participants service (contract: servicekit.data_rights).

Export and erasure are the domain functions of ``services.participants.people``
(``people.export`` and ``people.erase``): this module only lays their results
out per table, adds the rows the domain export does not show (xAPI
statements, outbox events, stored responses, roster uploads naming her), and
makes erasure idempotent (nothing left of her: zero rows, not a 404).
Erasure keeps emitting ``data_subject.erased``.

Mounted in ``services.participants.main`` with
``data_rights.router(services.participants.data_rights)``.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import String, cast, or_
from sqlmodel import Session, select

from servicekit.problems import ProblemError

from services.participants import people
from services.participants.models import (
    IdempotencyRecord,
    OutboxEvent,
    Participant,
    RosterImportFile,
    XapiStatement,
)

PERSONAL: dict[str, str] = {
    "applications": "her application form: name, e-mail, answers, decision reasons",
    "consents": "her consent history per purpose",
    "identity_data": "her self-described identity (gender identity, ethnicity, first generation)",
    "eligibility_overrides": "coordinators' decisions and reasons about her application",
    "participants": "her profile: name, e-mail, pronouns, languages, bio, external ids",
    "memberships": "her places in programs, status and reasons",
    "training_completions": "her completed training modules, with the LMS's external ids",
    "xapi_statements": "xAPI statements that recorded her completions",
    "outbox_events": "event payloads naming her account, applications or participant record",
    "idempotency_records": "stored answers to her own requests",
    "roster_import_files": "uploaded SIS/HR exports (CSV) that contain her row",
}

NOT_PERSONAL: dict[str, str] = {
    "institutions": "the tenants: universities",
    "campuses": "an institution's campuses",
    "academic_units": "an institution's faculties and departments",
    "programs": "program settings and privacy-notice texts",
    "program_phases": "a program's dated phases",
    "training_modules": "a program's training modules",
    "xapi_settings": "an institution's LMS settings",
    "roster_imports": "bookkeeping of an import job (counts, stage); no row content",
    "roster_import_errors": "the row number and column of an invalid roster value, never the value",
    "erasure_requests": "the record of an erasure: a role, a random pseudonym and counts, naming no one",
}

ERASED_BY = "gateway"  # requested_by_role of erasures the gateway orchestrates


def resolve_participants(session: Session, institution_id: uuid.UUID, account_id: str) -> list[uuid.UUID]:
    stmt = select(Participant.id).where(Participant.institution_id == institution_id, Participant.account_id == account_id)
    return list(session.exec(stmt).all())


def _named(column: Any, identifiers: set[str]) -> Any:
    return or_(*(cast(column, String).contains(i, autoescape=True) for i in identifiers))


def export_subject(
    session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]
) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in PERSONAL}
    try:
        data = people.export(session, institution_id, account_id)
    except ProblemError as exc:
        if exc.status != 404:
            raise
        data = None
    identifiers = {account_id, *(str(p) for p in participant_ids)}
    if data is not None:
        for record in data.applications:
            tables["applications"].append(jsonable_encoder(record.application))
            tables["consents"] += jsonable_encoder(record.consents)
            if record.identity is not None:
                tables["identity_data"].append(jsonable_encoder(record.identity))
            tables["eligibility_overrides"] += jsonable_encoder(list(record.eligibility_overrides.values()))
            identifiers.add(str(record.application.id))
            if record.application.email:
                identifiers.add(record.application.email)
        if data.participant is not None:
            profile = jsonable_encoder(data.participant)
            tables["memberships"] = profile.pop("memberships", [])
            tables["participants"].append(profile)
            identifiers.add(str(data.participant.id))
            identifiers |= {v for v in (data.participant.email, data.participant.lms_id, data.participant.hr_id, data.participant.sis_id) if v}
        tables["training_completions"] = jsonable_encoder(data.training_completions)
    ids = [p for p in participant_ids] + ([data.participant.id] if data is not None and data.participant else [])
    if ids:
        statements = session.exec(
            select(XapiStatement).where(XapiStatement.institution_id == institution_id, XapiStatement.participant_id.in_(ids))  # type: ignore[attr-defined]
        ).all()
        tables["xapi_statements"] = [
            jsonable_encoder(s.model_dump(include={"id", "statement_id", "module_id", "completion_id", "verb", "timestamp", "stored_at"}))
            for s in statements
        ]
    events = session.exec(
        select(OutboxEvent)
        .where(OutboxEvent.tenant_id == str(institution_id), _named(OutboxEvent.payload, identifiers))
        .order_by(OutboxEvent.id)
    ).all()
    tables["outbox_events"] = [
        jsonable_encoder({"event_id": e.event_id, "type": e.type, "occurred_at": e.occurred_at, "payload": e.payload})
        for e in events
    ]
    records = session.exec(select(IdempotencyRecord).where(IdempotencyRecord.principal == account_id)).all()
    tables["idempotency_records"] = [
        jsonable_encoder({"route": r.route, "status_code": r.status_code, "created_at": r.created_at, "body": r.body})
        for r in records
    ]
    searchable = identifiers - {account_id, *(str(p) for p in ids)}
    if searchable:
        files = session.exec(
            select(RosterImportFile.import_id).where(
                RosterImportFile.institution_id == institution_id, _named(RosterImportFile.content, searchable)
            )
        ).all()
        # The upload names other people too: she gets to know it exists, not its other rows.
        tables["roster_import_files"] = [{"import_id": str(i)} for i in files]
    return tables


_COUNTS = {
    "applications": "applications_pseudonymised",
    "participants": "participants_pseudonymised",
    "memberships": "memberships_withdrawn",
    "consents": "consents_deleted",
    "identity_data": "identity_records_deleted",
    "eligibility_overrides": "overrides_deleted",
    "training_completions": "completions_kept",
    "xapi_statements": "xapi_statements_deleted",
    "outbox_events": "events_scrubbed",
    "idempotency_records": "idempotency_records_deleted",
    "roster_import_files": "roster_uploads_deleted",
}


def erase_subject(
    session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]
) -> dict[str, int]:
    """``people.erase`` (pseudonymise what aggregates need, delete the rest,
    ``data_subject.erased``); nothing of her left is zero rows."""
    try:
        record = people.erase(session, institution_id, account_id, requested_by_role=ERASED_BY, requested_by=None)
    except ProblemError as exc:
        if exc.status != 404:
            raise
        return dict.fromkeys(PERSONAL, 0)
    return {table: int(record.summary.get(key, 0)) for table, key in _COUNTS.items()}
