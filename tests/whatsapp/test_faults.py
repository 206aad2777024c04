"""When Meta misbehaves: a media download that keeps failing never loses the message and is
copied on a later try; statuses that Meta delivers twice or out of order end where they should."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell.core.storage import build_storage
from socialsell.core.tick import Tick
from socialsell.db import utcnow
from socialsell.inbox.models import Message
from socialsell.settings import Settings
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import rows, wait_until
from tests.whatsapp.helpers import add_persona, connect_number, conversation_of, inbound, subscribe

CUSTOMER = "5511987654321"


async def test_a_failing_media_download_keeps_the_message_and_is_retried(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    number = await connect_number(client, sandbox, seller)
    subscribe(sandbox, live_server.url, settings)
    add_persona(sandbox, CUSTOMER, "Maria Souza")
    sandbox.fault("transient", count=50, path_contains="attachments")
    wrote = inbound(sandbox, number, CUSTOMER, "image", caption="Esse vestido")

    async def tried() -> Message | None:
        found = await rows(app, select(Message).where(Message.external_id == wrote["id"]))
        return found[0] if found and found[0].media_attempts >= 1 else None

    message = await wait_until(tried, within=30, what="a first copy attempt")
    assert message.text == "Esse vestido"  # the message is there, its photo not yet
    assert message.media_pending is True
    assert message.media[0]["status"] == "pending"
    listed = await client.get(
        f"/api/v1/conversations/{await conversation_of(app, number)}/messages",
        headers=seller.headers,
    )
    assert listed.json()["items"][0]["media"][0]["status"] == "pending"

    # Meta recovers; the retry is due.
    sandbox.client.delete("/_sandbox/faults").raise_for_status()
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(Message)
            .where(Message.id == message.id)
            .values(media_next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    await Tick(app.state.jobs, claimers=["inbox.retry_media"], periodics=[]).run_once()
    await app.state.jobs.drain()
    (copied,) = await rows(app, select(Message).where(Message.id == message.id))
    assert copied.media_pending is False
    assert copied.media[0]["status"] == "stored"
    assert await build_storage(settings).exists(copied.media[0]["key"])


async def test_statuses_meta_repeats_and_reorders_end_at_read(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    number = await connect_number(client, sandbox, seller)
    subscribe(sandbox, live_server.url, settings)
    add_persona(sandbox, CUSTOMER, "Maria Souza")
    inbound(sandbox, number, CUSTOMER, "text", text="Oi")
    conversation_id = await conversation_of(app, number)

    async def customer_message() -> list[Message]:
        return await rows(app, select(Message))

    await wait_until(customer_message, what="the customer's message")
    # `sent` is held back until `delivered` has gone out; then `read` comes twice.
    sandbox.fault("webhook_reorder")
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "Olá!"},
        headers=seller.headers,
    )
    sent = response.json()
    assert sent["status"] == "sent"
    sandbox.advance(1)
    sandbox.client.post("/_sandbox/whatsapp/tick").raise_for_status()
    sandbox.client.post("/_sandbox/webhooks/flush").raise_for_status()
    sandbox.fault("webhook_duplicate")
    sandbox.advance(2)
    sandbox.client.post("/_sandbox/whatsapp/tick").raise_for_status()
    sandbox.client.post("/_sandbox/webhooks/flush").raise_for_status()

    async def read() -> Message | None:
        (message,) = await rows(
            app, select(Message).where(Message.external_id == sent["external_id"])
        )
        return (
            message
            if message.status == "read" and "delivered" in message.details.get("statuses", {})
            else None
        )

    message = await wait_until(read, within=15, what="read, with delivered seen late")
    assert message.pricing_category == "service"
    order = [
        s["status"]
        for d in sandbox.deliveries("whatsapp_business_account")
        for e in d["payload"]["entry"]
        for c in e["changes"]
        for s in c["value"].get("statuses", [])
    ]
    assert order == ["delivered", "sent", "read", "read"]
    (final,) = await rows(app, select(Message).where(Message.id == message.id))
    assert final.status == "read"
