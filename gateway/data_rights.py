"""Data-subject rights in the gateway's own tables (contract: servicekit.data_rights).

Erasure ends her access for good: every token family of the account is
revoked (kept, without the account link, so the revocation holds), its
refresh tokens, SSO links, SCIM records and stored answers are deleted, and
the account row itself is deleted (e-mail, password hash, roles gone: she can
no longer log in, by password, refresh token or single sign-on). Event copies
the webhook dispatcher keeps (``webhook_events``) have her identifiers
replaced with ``erased``, and so do the audit records that name her as the
actor or the target (``audit_events``): what was done stays on record, by
whom no longer.

The gateway runs its own step in-process (``gateway.subject_requests``); the
same handlers are also mounted as the internal endpoints
(``data_rights.router(gateway.data_rights)`` in ``gateway.main``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import String, cast, delete, or_, update
from sqlmodel import Session, col, select

from gateway.audit import AuditEvent
from gateway.models import Account, DataSubjectRequest, IdempotencyRecord, RefreshToken, TokenFamily
from gateway.scim.models import ScimEmailRecord, ScimMemberRecord, ScimUserRecord
from gateway.participant_roles import ParticipantRole
from gateway.service import revoke_families
from gateway.sso.models import ExternalIdentity
from gateway.webhooks.models import WebhookEvent

PERSONAL: dict[str, str] = {
    "accounts": "her account: e-mail, password hash, roles, institution",
    "external_identities": "her single sign-on links: the identity provider's subject for her",
    "scim_users": "what her institution's identity provider sent: names, external ids",
    "scim_user_emails": "her e-mail addresses from SCIM",
    "scim_group_members": "her SCIM group memberships",
    "token_families": "her login sessions (kept revoked, without the account link, after erasure)",
    "refresh_tokens": "hashes of her refresh tokens",
    "idempotency_records": "stored answers to her requests, and to requests about her account",
    "webhook_events": "copies of service events whose payloads name her",
    "audit_events": "administrative actions she took or that were taken on her account (ids, action, field names)",
    "participant_roles": "the memberships the participants service confirmed for her account: ids, role, active",
}

NOT_PERSONAL: dict[str, str] = {
    "api_clients": "integration clients (institutions' systems), not people",
    "signing_keys": "the gateway's JWT signing keys",
    "identity_providers": "an institution's single sign-on configuration",
    "scim_groups": "an institution's groups and the role each grants (members are in scim_group_members)",
    "webhook_subscriptions": "an institution's webhook URLs and secrets",
    "webhook_deliveries": "delivery bookkeeping of an event to a URL (ids, statuses, times)",
    "webhook_attempts": "one delivery attempt: status code, duration, error class, receiver's answer excerpt",
    "webhook_feed_cursors": "how far the dispatcher read each service's feed",
    "webhook_handled_events": "which events were fanned out (ids and types)",
    "role_feed_cursors": "how far the gateway read the participants feed for role changes",
    "role_handled_events": "which participants events were applied to roles (ids and types)",
    "data_subject_requests": "a data-subject request: kind, institution, times; her account id only until an "
    "erasure finishes, then cleared",
    "data_subject_request_steps": "one step of a request: service, status, attempts, error class, times",
}

ERASED = "erased"


def _account_uuid(account_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(account_id)
    except ValueError:
        return None


def _account(session: Session, institution_id: uuid.UUID, account_id: str) -> Account | None:
    ident = _account_uuid(account_id)
    if ident is None:
        return None
    account = session.get(Account, ident)
    if account is None or account.institution_id != str(institution_id):
        return None
    return account


def _identifiers(session: Session, account: Account | None, account_id: str, participant_ids: Sequence[uuid.UUID]) -> set[str]:
    found = {account_id, *(str(p) for p in participant_ids)}
    if account is not None:
        found.add(account.email)
        found |= set(session.exec(select(ScimEmailRecord.value).where(ScimEmailRecord.account_id == account.id)).all())
    return found


def _named(column: Any, identifiers: set[str]) -> Any:
    return or_(*(cast(column, String).contains(i, autoescape=True) for i in identifiers))


def _replace(value: Any, old: set[str]) -> Any:
    if isinstance(value, str):
        return ERASED if value in old else value
    if isinstance(value, list):
        return [_replace(v, old) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, old) for k, v in value.items()}
    return value


def _events(session: Session, institution_id: uuid.UUID, identifiers: set[str]) -> Sequence[WebhookEvent]:
    stmt = select(WebhookEvent).where(
        WebhookEvent.institution_id == str(institution_id),
        or_(col(WebhookEvent.subject).in_(identifiers), _named(WebhookEvent.payload, identifiers)),
    )
    return session.exec(stmt).all()


def _rows(objects: Sequence[Any], exclude: set[str] | None = None) -> list[dict[str, Any]]:
    return [jsonable_encoder(o.model_dump(exclude=exclude or set())) for o in objects]


def export_subject(
    session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]
) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in PERSONAL}
    account = _account(session, institution_id, account_id)
    identifiers = _identifiers(session, account, account_id, participant_ids)
    if account is not None:
        tables["accounts"] = _rows([account], {"password_hash"})
        tables["external_identities"] = _rows(
            session.exec(select(ExternalIdentity).where(ExternalIdentity.account_id == account.id)).all()
        )
        tables["scim_users"] = _rows(session.exec(select(ScimUserRecord).where(ScimUserRecord.account_id == account.id)).all())
        tables["scim_user_emails"] = _rows(
            session.exec(select(ScimEmailRecord).where(ScimEmailRecord.account_id == account.id)).all()
        )
        tables["scim_group_members"] = _rows(
            session.exec(select(ScimMemberRecord).where(ScimMemberRecord.account_id == account.id)).all()
        )
        families = session.exec(select(TokenFamily).where(TokenFamily.account_id == account.id)).all()
        tables["token_families"] = _rows(families)
        if families:
            tokens = session.exec(select(RefreshToken).where(col(RefreshToken.family_id).in_([f.id for f in families]))).all()
            tables["refresh_tokens"] = _rows(tokens, {"token_hash"})
    records = session.exec(
        select(IdempotencyRecord).where(
            or_(IdempotencyRecord.principal == account_id, _named(IdempotencyRecord.body, identifiers))  # type: ignore[arg-type]
        )
    ).all()
    tables["idempotency_records"] = _rows(records, {"fingerprint", "key"})
    tables["webhook_events"] = _rows(_events(session, institution_id, identifiers))
    tables["audit_events"] = _rows(session.exec(_audit_rows(identifiers)).all())
    tables["participant_roles"] = _rows(session.exec(_role_rows(institution_id, account_id)).all())
    return tables


def _role_rows(institution_id: uuid.UUID, account_id: str):  # type: ignore[no-untyped-def]
    return select(ParticipantRole).where(
        ParticipantRole.account_id == account_id, ParticipantRole.institution_id == str(institution_id)
    )


def _audit_rows(identifiers: set[str]):  # type: ignore[no-untyped-def]
    return select(AuditEvent).where(or_(col(AuditEvent.actor_id).in_(identifiers), col(AuditEvent.target_id).in_(identifiers)))


def erase_account(
    session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]
) -> tuple[dict[str, int], list[str]]:
    """Erase her in the gateway: counts per table, and the token families revoked."""
    counts = dict.fromkeys(PERSONAL, 0)
    account = _account(session, institution_id, account_id)
    identifiers = _identifiers(session, account, account_id, participant_ids)
    revoked: list[str] = []
    if account is not None:
        families = list(session.exec(select(TokenFamily.id).where(TokenFamily.account_id == account.id)).all())
        active = session.exec(
            select(TokenFamily.id).where(TokenFamily.account_id == account.id, col(TokenFamily.revoked_at).is_(None))
        ).all()
        revoked = revoke_families(session, active, "account-erased")
        if families:
            result = session.execute(delete(RefreshToken).where(col(RefreshToken.family_id).in_(families)))
            counts["refresh_tokens"] = result.rowcount or 0
            session.execute(update(TokenFamily).where(col(TokenFamily.id).in_(families)).values(account_id=None))
        counts["token_families"] = len(families)
        for model, key in (
            (ExternalIdentity, "external_identities"),
            (ScimEmailRecord, "scim_user_emails"),
            (ScimMemberRecord, "scim_group_members"),
            (ScimUserRecord, "scim_users"),
        ):
            result = session.execute(delete(model).where(model.account_id == account.id))  # type: ignore[attr-defined]
            counts[key] = result.rowcount or 0
        session.delete(account)
        counts["accounts"] = 1
    for row in session.exec(_role_rows(institution_id, account_id)).all():
        session.delete(row)
        counts["participant_roles"] += 1
    result = session.execute(
        delete(IdempotencyRecord).where(
            or_(IdempotencyRecord.principal == account_id, _named(IdempotencyRecord.body, identifiers))  # type: ignore[arg-type]
        )
    )
    counts["idempotency_records"] = result.rowcount or 0
    for event in _events(session, institution_id, identifiers):
        payload, subject = _replace(event.payload, identifiers), _replace(event.subject, identifiers)
        if payload != event.payload or subject != event.subject:
            event.payload, event.subject = payload, subject
            session.add(event)
            counts["webhook_events"] += 1
    for entry in session.exec(_audit_rows(identifiers)).all():
        if entry.actor_id in identifiers:
            entry.actor_id = ERASED
        if entry.target_id in identifiers:
            entry.target_id = ERASED
        session.add(entry)
        counts["audit_events"] += 1
    # Her earlier exports stop naming her (erasures still running keep her id until they finish).
    session.execute(
        update(DataSubjectRequest)
        .where(DataSubjectRequest.account_id == account_id, DataSubjectRequest.kind == "export")
        .values(account_id=None)
    )
    session.flush()
    return counts, revoked


def erase_subject(
    session: Session, institution_id: uuid.UUID, account_id: str, participant_ids: Sequence[uuid.UUID]
) -> dict[str, int]:
    return erase_account(session, institution_id, account_id, participant_ids)[0]
