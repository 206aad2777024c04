"""Helpers of the WhatsApp template and cost tests."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from socialsell.accounts.models import Membership
from socialsell.channels.models import Channel, Platform
from socialsell.whatsapp.templates.models import WhatsAppTemplate
from tests.helpers.factories import ApiUser


async def workspace_of(app: FastAPI, user: ApiUser) -> uuid.UUID:
    async with app.state.sessionmaker() as session:
        workspace_id = await session.scalar(
            select(Membership.workspace_id).where(Membership.user_id == uuid.UUID(user.user_id))
        )
    assert workspace_id is not None
    return workspace_id


async def stored_number(
    app: FastAPI, workspace_id: uuid.UUID, phone_number_id: str, waba_id: str = "waba-1"
) -> uuid.UUID:
    """A WhatsApp number row as the connect flow stores it (for tests of the pieces that only
    read it: webhooks and rendering)."""
    async with app.state.sessionmaker() as session:
        channel = Channel(
            workspace_id=workspace_id,
            platform=Platform.whatsapp,
            external_id=phone_number_id,
            name="Jaspers Market",
            details={"waba_id": waba_id, "display_phone_number": "+1 555 0100"},
        )
        session.add(channel)
        await session.commit()
        return channel.id


async def stored_template(
    app: FastAPI,
    channel_id: uuid.UUID,
    *,
    name: str,
    components: list[dict[str, Any]],
    status: str = "APPROVED",
    language: str = "en_US",
    category: str = "UTILITY",
    parameter_format: str = "POSITIONAL",
    external_id: str | None = None,
) -> uuid.UUID:
    async with app.state.sessionmaker() as session:
        channel = await session.get(Channel, channel_id)
        assert channel is not None
        template = WhatsAppTemplate(
            workspace_id=channel.workspace_id,
            channel_id=channel_id,
            external_id=external_id or str(uuid.uuid4().int)[:15],
            name=name,
            language=language,
            category=category,
            status=status,
            components=components,
            parameter_format=parameter_format,
        )
        session.add(template)
        await session.commit()
        return template.id


async def template_row(app: FastAPI, template_id: uuid.UUID) -> WhatsAppTemplate | None:
    async with app.state.sessionmaker() as session:
        return await session.get(WhatsAppTemplate, template_id)
