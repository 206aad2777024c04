"""Connected accounts (channels): an Instagram professional account or a WhatsApp Business
number, its encrypted token and its health; OAuth states of flows under way."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from socialsell.db import Base, IdMixin, TimestampMixin, utcnow


class Platform(enum.StrEnum):
    instagram = "instagram"
    whatsapp = "whatsapp"


class ChannelStatus(enum.StrEnum):
    active = "active"
    token_expired = "token_expired"  # noqa: S105 - a status name, not a secret
    revoked = "revoked"
    disconnected = "disconnected"


class Channel(IdMixin, TimestampMixin, Base):
    __tablename__ = "channels"
    # One account, one workspace: the platform id is unique across the whole installation, so an
    # account cannot be connected in two workspaces at once.
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[Platform] = mapped_column(
        Enum(Platform, native_enum=False, length=16, validate_strings=True)
    )
    # Instagram: the Instagram user id (webhook entry.id). WhatsApp: the phone number id.
    external_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(120), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    display_name: Mapped[str | None] = mapped_column(String(120), default=None)
    color: Mapped[str] = mapped_column(String(7), default="#7c3aed")
    profile_picture_url: Mapped[str | None] = mapped_column(Text, default=None)
    account_type: Mapped[str | None] = mapped_column(String(32), default=None)
    followers_count: Mapped[int | None] = mapped_column(default=None)
    media_count: Mapped[int | None] = mapped_column(default=None)
    # Platform-specific facts (WhatsApp: WABA id, display number, quality rating, ...).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    status: Mapped[ChannelStatus] = mapped_column(
        Enum(ChannelStatus, native_enum=False, length=16, validate_strings=True),
        default=ChannelStatus.active,
    )
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    token_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    token_refreshed_at: Mapped[datetime | None] = mapped_column(default=None)

    webhook_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    webhook_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_webhook_at: Mapped[datetime | None] = mapped_column(default=None)
    last_api_success_at: Mapped[datetime | None] = mapped_column(default=None)
    api_usage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    connected_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    disconnected_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def label(self) -> str:
        return self.display_name or (f"@{self.username}" if self.username else self.name)


class OAuthState(IdMixin, Base):
    """A connect flow under way: bound to the browser session that started it, single use,
    short-lived. Only the state's hash is stored."""

    __tablename__ = "oauth_states"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_sessions.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    platform: Mapped[Platform] = mapped_column(
        Enum(Platform, native_enum=False, length=16, validate_strings=True)
    )
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The exchange must repeat the redirect URI of the authorize step exactly.
    redirect_uri: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
