"""Raw webhook deliveries, stored before anything else happens to them.

A delivery is infrastructure, not tenant data: one POST from Meta can carry entries of accounts in
several workspaces, and it is stored before we know which (that is the point: nothing is parsed
before the 200). So it has no ``workspace_id``; no route reads it by id. What it produces
(contacts, conversations, messages) is tenant data, scoped as usual.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from socialsell.db import Base, IdMixin, utcnow


class DeliveryStatus(enum.StrEnum):
    pending = "pending"  # stored, not (yet, or not completely) processed
    processed = "processed"
    unprocessable = "unprocessable"  # malformed JSON or nothing we understand; kept for humans
    failed = "failed"  # kept failing after webhook_max_attempts


class WebhookDelivery(IdMixin, Base):
    __tablename__ = "webhook_deliveries"
    # The claimer's query: pending rows whose last kick is older than the re-kick delay.
    __table_args__ = (Index("ix_webhook_deliveries_status_kicked", "status", "kicked_at"),)

    platform: Mapped[str] = mapped_column(String(16))
    # The exact bytes Meta signed: kept so a delivery can be re-processed or audited.
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=16, validate_strings=True),
        default=DeliveryStatus.pending,
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When a processing job was last asked for; the claimer re-kicks pending rows after 60 s.
    kicked_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Why it is unprocessable, what was skipped, or what it waits for.
    note: Mapped[str | None] = mapped_column(Text, default=None)
