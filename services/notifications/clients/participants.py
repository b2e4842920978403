"""The participants service, as the notifications service sees it: how to reach a
person (``/internal/institutions/{id}/contacts/{account_id}``, with this service's
own token, scope ``contacts:read``).

``contact`` answers None when participants knows no such person in the
institution; a failure to ask (down, slow, refused) raises ``ContactUnavailable``,
which the sender treats as a temporary failure.
"""

from __future__ import annotations

import uuid
from typing import Protocol
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict

from servicekit import scopes

SCOPES = [scopes.CONTACTS_READ]


class Tokens(Protocol):
    async def token(self) -> str: ...


class Contact(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    account_id: str
    participant_id: uuid.UUID | None = None
    name: str | None = None
    email: str | None = None
    language: str | None = None
    timezone: str | None = None
    institution_name: str
    institution_timezone: str
    institution_language: str | None = None


class ContactUnavailable(Exception):
    pass


class Participants:
    def __init__(self, base_url: str, tokens: Tokens, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.client = client

    async def contact(self, institution_id: uuid.UUID, account_id: str) -> Contact | None:
        url = f"{self.base_url}/internal/institutions/{institution_id}/contacts/{quote(account_id, safe='')}"
        try:
            token = await self.tokens.token()
            resp = await self.client.get(url, headers={"Authorization": f"Bearer {token}"})
        except Exception as exc:  # the token endpoint or participants out of reach
            raise ContactUnavailable(f"participants unreachable ({type(exc).__name__})") from exc
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise ContactUnavailable(f"participants answered {resp.status_code}")
        return Contact.model_validate(resp.json())
