"""Her choices per kind of message, and unsubscribing by a signed link.

A kind is ``on`` unless she turned it ``off`` or to ``digest`` (gathered into
one message a day, ``digests``). Kinds that are part of the program's
obligations (``enums.OBLIGATIONS``) are always sent on their own: they are
listed with the reason, and an attempt to change one is a 409 saying why.
``off`` stops the e-mail; the inbox still holds the message.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from servicekit import clock
from servicekit.problems import ProblemError, not_found

from services.notifications.access import Person
from services.notifications.domain import links
from services.notifications.enums import OBLIGATIONS, MessageKind, EmailSetting
from services.notifications.models import Preference
from services.notifications.schemas.preferences import PreferencePublic, UnsubscribePublic


def _stored(session: Session, institution_id: uuid.UUID, account_id: str) -> dict[str, str]:
    rows = session.exec(select(Preference).where(Preference.institution_id == institution_id, Preference.account_id == account_id)).all()
    return {p.kind: p.setting for p in rows}


def setting(session: Session, institution_id: uuid.UUID, account_id: str, kind: MessageKind) -> EmailSetting:
    if kind in OBLIGATIONS:
        return EmailSetting.on
    row = session.get(Preference, (institution_id, account_id, kind.value))
    return EmailSetting(row.setting) if row else EmailSetting.on


def public(kind: MessageKind, stored: str) -> PreferencePublic:
    return PreferencePublic(kind=kind, setting=EmailSetting.on if kind in OBLIGATIONS else EmailSetting(stored),
                            obligatory=kind in OBLIGATIONS, reason=OBLIGATIONS.get(kind))


def mine(session: Session, me: Person) -> list[PreferencePublic]:
    stored = _stored(session, me.institution_id, me.account_id)
    return [public(kind, stored.get(kind.value, EmailSetting.on.value)) for kind in MessageKind]


def choose(session: Session, institution_id: uuid.UUID, account_id: str, kind: MessageKind, chosen: EmailSetting) -> PreferencePublic:
    if kind in OBLIGATIONS and chosen is not EmailSetting.on:
        raise ProblemError(409, f"This message is always sent on its own: {OBLIGATIONS[kind]}", slug="obligatory-message",
                           kind=kind.value)
    if kind is MessageKind.digest and chosen is EmailSetting.digest:
        raise ProblemError(409, "The digest cannot go into a digest: turn it on or off", slug="digest-of-digests")
    row = session.get(Preference, (institution_id, account_id, kind.value))
    if row is None:
        row = Preference(institution_id=institution_id, account_id=account_id, kind=kind.value, setting=chosen.value)
    row.setting, row.updated_at = chosen.value, clock.now()
    session.add(row)
    session.flush()
    return public(kind, row.setting)


def from_link(key: str, token: str) -> tuple[uuid.UUID, str, MessageKind]:
    """Whose link and which kind; a link that is not ours (or no key is set) is a 404."""
    what = links.verify(key.encode(), token) if key else None
    if what is None:
        raise not_found("Unsubscribe link")
    try:
        return uuid.UUID(what.institution_id), what.account_id, MessageKind(what.kind)
    except ValueError:
        raise not_found("Unsubscribe link") from None


def look(session: Session, key: str, token: str) -> UnsubscribePublic:
    institution_id, account_id, kind = from_link(key, token)
    row = session.get(Preference, (institution_id, account_id, kind.value))
    return UnsubscribePublic(kind=kind, setting=EmailSetting(row.setting) if row else EmailSetting.on)


def unsubscribe(session: Session, key: str, token: str) -> UnsubscribePublic:
    institution_id, account_id, kind = from_link(key, token)
    choose(session, institution_id, account_id, kind, EmailSetting.off)
    return UnsubscribePublic(kind=kind, setting=EmailSetting.off)
