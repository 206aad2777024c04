"""What the channels API reads and writes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from socialsell.channels.models import ChannelStatus, Platform

HexColor = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class ChannelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    platform: Platform
    external_id: str
    username: str
    name: str
    display_name: str | None
    label: str
    color: str
    profile_picture_url: str | None
    account_type: str | None
    followers_count: int | None
    media_count: int | None
    status: ChannelStatus
    status_reason: str | None
    scopes: list[str]
    missing_scopes: list[str]
    token_expires_at: datetime | None
    webhook_fields: list[str]
    webhook_subscribed: bool
    last_webhook_at: datetime | None
    last_api_success_at: datetime | None
    api_usage: dict[str, Any]
    details: dict[str, Any]
    connected_at: datetime
    disconnected_at: datetime | None


class ChannelUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    color: HexColor | None = None


class AuthorizeOut(BaseModel):
    authorize_url: str
    expires_in: int
