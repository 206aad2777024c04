"""WhatsApp message templates, one row per template (name + language) of a connected number, and
each number's template sync state.

Meta keeps templates per WhatsApp Business Account; we keep them per number (channel) because a
number is what the seller connects and sends from, and a number belongs to exactly one account.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from socialsell.db import Base, IdMixin, TimestampMixin


class WhatsAppTemplate(IdMixin, TimestampMixin, Base):
    __tablename__ = "whatsapp_templates"
    __table_args__ = (
        UniqueConstraint("channel_id", "name", "language"),
        Index("ix_whatsapp_templates_channel_external", "channel_id", "external_id"),
        Index("ix_whatsapp_templates_workspace_channel", "workspace_id", "channel_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    # Meta's template id (``message_template_id`` in webhooks, ``hsm_id`` on delete).
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    previous_category: Mapped[str | None] = mapped_column(String(32), default=None)
    # PENDING, APPROVED, REJECTED, PAUSED, DISABLED, IN_APPEAL, FLAGGED, ... (Meta's words).
    status: Mapped[str] = mapped_column(String(32), default="PENDING")
    rejected_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    # Meta's longer explanation when it gives one (a pause's or a flag's ``other_info``).
    status_detail: Mapped[str | None] = mapped_column(Text, default=None)
    # GREEN, YELLOW, RED or UNKNOWN; None until Meta rates it.
    quality_score: Mapped[str | None] = mapped_column(String(16), default=None)
    components: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    parameter_format: Mapped[str] = mapped_column(String(16), default="POSITIONAL")
    # Meta's time (the webhook entry's) of the newest status applied: an older one is ignored.
    status_updated_at: Mapped[datetime | None] = mapped_column(default=None)
    synced_at: Mapped[datetime | None] = mapped_column(default=None)


class WhatsAppTemplateSync(Base):
    """A number's template sync: asked for (by a webhook about an unknown template, the periodic
    sync or a seller), claimed by a tick, done. The row is the doorbell's truth, so a sync asked
    for while no job could be sent still happens on the next tick."""

    __tablename__ = "whatsapp_template_syncs"

    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    requested_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    synced_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
