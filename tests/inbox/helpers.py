"""A shop with a customer who wrote, for the inbox tests."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell.db import utcnow
from socialsell.inbox.models import Conversation
from socialsell.settings import Settings
from tests.helpers.instagram import Shop, post_delivery, rows
from tests.webhooks import payloads


async def customer_writes(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    shop: Shop,
    sandbox: Sandbox,
    text: str,
    *,
    username: str = "maria_buys",
    at_ms: int | None = None,
) -> uuid.UUID:
    """A persona writes in the sandbox (so Meta knows the conversation and its window) and the
    matching webhook is posted to the app (no live server needed); returns our conversation."""
    sent = sandbox.inbound(shop.ig_id, username, text)
    persona = sent["persona"]["id"]
    body = payloads.text(
        shop.ig_id,
        persona,
        text,
        at_ms=at_ms if at_ms is not None else int(sandbox.now() * 1000),
        message_id=sent["message_id"],
    )
    response = await post_delivery(client, settings.meta_app_secret.get_secret_value(), body)
    assert response.status_code == 200
    await app.state.jobs.drain()
    (conversation_id,) = await rows(
        app,
        select(Conversation.id)
        .where(Conversation.channel_id == shop.channel_id, Conversation.kind == "dm")
        .order_by(Conversation.updated_at.desc())
        .limit(1),
    )
    return uuid.UUID(str(conversation_id))


async def age_last_message(app: FastAPI, conversation_id: uuid.UUID, by: timedelta) -> None:
    """The customer's last message was ``by`` ago (for the window rules)."""
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_inbound_at=utcnow() - by)
        )
        await session.commit()
