"""The inbox: her messages as typed facts (a front end words them in her language)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.notifications.enums import MessageKind


class Facts(BaseModel):
    """What a message is about: ids, dates and numbers only (the fields its kind has)."""

    model_config = ConfigDict(extra="ignore")

    program_id: uuid.UUID | None = None
    application_id: uuid.UUID | None = None
    match_id: uuid.UUID | None = None
    dyad_id: uuid.UUID | None = None
    meeting_id: uuid.UUID | None = None
    form_id: uuid.UUID | None = None
    role: str | None = Field(default=None, description="Her role in the dyad: mentee or mentor.")
    counterpart_participant_id: uuid.UUID | None = Field(default=None, description="Her match's participant id (public profile).")
    number: int | None = Field(default=None, description="The meeting's number in the dyad's schedule.")
    start: datetime | None = None
    previous_start: datetime | None = None
    duration_minutes: int | None = None
    modality: str | None = None
    sequence: int | None = Field(default=None, description="The meeting's iCalendar SEQUENCE.")
    confirm_by: datetime | None = Field(default=None, description="The deadline to confirm her place.")
    due_at: datetime | None = Field(default=None, description="The feedback form's deadline.")
    days_overdue: int | None = None


class NotificationPublic(BaseModel):
    id: uuid.UUID
    kind: MessageKind
    created_at: datetime
    read_at: datetime | None
    facts: Facts
