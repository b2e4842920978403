"""Her preferences per kind of message, and the unsubscribe link's answer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from servicekit.inputs import InputModel

from services.notifications.enums import MessageKind, EmailSetting


class PreferencePublic(BaseModel):
    kind: MessageKind
    setting: EmailSetting = Field(description="on: e-mailed; digest: gathered into one e-mail a day; off: only in the inbox.")
    obligatory: bool = Field(description="Part of the program's obligations: always e-mailed on its own.")
    reason: str | None = Field(description="Why an obligatory message cannot be turned off or put in the digest.")


class PreferenceUpdate(InputModel):
    model_config = ConfigDict(extra="forbid")

    setting: EmailSetting


class UnsubscribePublic(BaseModel):
    kind: MessageKind
    setting: EmailSetting
