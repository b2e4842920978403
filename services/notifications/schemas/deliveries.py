"""An institution's deliveries, as its coordinators see them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from services.notifications.enums import Channel, DeliveryStatus, MessageKind


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    notification_id: uuid.UUID
    account_id: str = Field(description="The recipient's account.")
    kind: MessageKind
    channel: Channel
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="When a pending delivery is tried next.")
    last_error: str | None = Field(description="The mail server's reply or why it was skipped.")
    sent_at: datetime | None
    created_at: datetime
