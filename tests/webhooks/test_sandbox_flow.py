"""End to end over HTTP: a sandbox persona writes, Meta's (the sandbox's) signed webhook reaches
the product served by uvicorn, and the message lands in the right conversation — also when the
delivery is duplicated, reordered or dropped (recovered by reconciliation)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.core.tick import Tick
from socialsell.inbox.models import Contact, Conversation, Message
from socialsell.settings import Settings
from socialsell.webhooks.models import WebhookDelivery
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import Shop, connect_shop, count, rows, wait_until


async def _subscribed_shop(
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> Shop:
    shop = await connect_shop(client, sandbox, consent, seller)
    sandbox.subscribe_webhooks(
        "instagram",
        f"{live_server.url}/webhooks/instagram",
        settings.meta_webhook_verify_token.get_secret_value(),
    )
    return shop


async def _texts(app: FastAPI) -> list[str | None]:
    return [m.text for m in await rows(app, select(Message).order_by(Message.sent_at, Message.id))]


async def test_a_persona_writes_and_the_message_lands_in_its_conversation(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    shop = await _subscribed_shop(client, sandbox, consent, seller, live_server, settings)
    # The sandbox's clock stands still unless moved; Meta's timestamps order the threads.
    sandbox.inbound(shop.ig_id, "maria_buys", "Hi! Is the red dress available?")
    sandbox.advance(1)
    sandbox.inbound(shop.ig_id, "joao_compra", "Quanto custa?")
    sandbox.advance(1)
    sandbox.inbound(shop.ig_id, "maria_buys", "Size M please")

    async def both() -> bool:
        return await count(app, Message) == 3

    await wait_until(both, what="three messages")
    conversations = await rows(app, select(Conversation))
    assert len(conversations) == 2
    contacts = {c.id: c for c in await rows(app, select(Contact))}
    personas = sandbox.client.get("/_sandbox/instagram/personas").json()["data"]
    ids = {p["username"]: p["id"] for p in personas}
    by_contact = {contacts[c.contact_id].external_id: c for c in conversations}
    maria = by_contact[ids["maria_buys"]]
    assert maria.unread_count == 2
    assert maria.last_message_preview == "Size M please"
    listed = (await client.get("/api/v1/conversations", headers=shop.seller.headers)).json()[
        "items"
    ]
    assert listed[0]["id"] == str(maria.id)  # most recent activity first
    assert {d.status for d in await rows(app, select(WebhookDelivery))} == {"processed"}


async def test_every_sandbox_inbound_kind(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    shop = await _subscribed_shop(client, sandbox, consent, seller, live_server, settings)
    first = sandbox.inbound(shop.ig_id, "ana", "hello")
    await wait_until(lambda: count(app, Message), what="first message")
    conversation_id = (await rows(app, select(Conversation.id)))[0]
    sandbox.advance(1)
    reply = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "Hi Ana!"},
        headers={**shop.seller.headers, "Idempotency-Key": "k-1"},
    )
    assert reply.status_code == 201, reply.text
    ours = reply.json()["external_id"]
    sandbox.advance(1)
    sandbox.inbound(shop.ig_id, "ana", type="image")
    sandbox.advance(1)
    sandbox.inbound(shop.ig_id, "ana", type="story_mention")
    sandbox.advance(1)
    sandbox.inbound(shop.ig_id, "ana", "nice story", type="story_reply")
    sandbox.advance(1)
    sandbox.inbound(shop.ig_id, "ana", "about that", type="reply", mid=first["message_id"])
    sandbox.inbound(shop.ig_id, "ana", type="reaction", mid=ours, emoji="🔥")
    sandbox.inbound(shop.ig_id, "ana", type="read", mid=ours)

    async def settled() -> bool:
        messages = {m.external_id: m for m in await rows(app, select(Message))}
        mine = messages.get(ours)
        return (
            len(messages) == 6
            and mine is not None
            and mine.status == "read"
            and bool(mine.reactions)
        )

    await wait_until(settled, what="every kind processed")
    messages = await rows(app, select(Message).order_by(Message.sent_at))
    assert [m.kind for m in messages] == [
        "text",
        "text",
        "image",
        "story_mention",
        "story_reply",
        "text",
    ]
    assert messages[-1].reply_to_external_id == first["message_id"]
    # The echo of our own reply matched the sent row: one outbound message, not two.
    assert sum(1 for m in messages if m.direction == "outbound") == 1
    assert messages[1].reactions[0]["emoji"] == "🔥"


async def test_duplicated_and_reordered_deliveries_end_in_one_ordered_thread(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    shop = await _subscribed_shop(client, sandbox, consent, seller, live_server, settings)
    sandbox.fault("webhook_duplicate", count=2)
    sandbox.inbound(shop.ig_id, "bia", "one")
    sandbox.advance(1)
    await wait_until(lambda: count(app, WebhookDelivery), what="deliveries")
    # Two entries in one batch, delivered as two POSTs in reverse order.
    sandbox.configure(webhook_batch_window_seconds=0.5)
    sandbox.fault("webhook_reorder")
    sandbox.inbound(shop.ig_id, "bia", "two")
    sandbox.advance(1)
    sandbox.inbound(shop.ig_id, "bia", "three")

    async def three() -> bool:
        return await count(app, Message) == 3 and await count(
            app, WebhookDelivery, WebhookDelivery.status == "processed"
        ) == await count(app, WebhookDelivery)

    await wait_until(three, what="three messages")
    deliveries = sandbox.deliveries("instagram")
    assert len(deliveries) >= 4  # duplicated and split
    assert await _texts(app) == ["one", "two", "three"]
    (conversation,) = await rows(app, select(Conversation))
    assert conversation.last_message_preview == "three"
    assert conversation.unread_count == 3


async def test_a_dropped_delivery_is_recovered_by_reconciliation(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    shop = await _subscribed_shop(client, sandbox, consent, seller, live_server, settings)
    sandbox.inbound(shop.ig_id, "caio", "first")
    sandbox.advance(1)
    await wait_until(lambda: count(app, Message), what="first message")
    sandbox.fault("webhook_drop")
    sandbox.inbound(shop.ig_id, "caio", "never delivered")

    async def dropped() -> bool:
        return any(d["state"] == "dropped" for d in sandbox.deliveries("instagram"))

    await wait_until(dropped, what="the sandbox to drop a delivery")
    sandbox.advance(1)
    sandbox.inbound(shop.ig_id, "caio", "third")

    async def delivered() -> bool:
        return await count(app, Message) == 2

    await wait_until(delivered, what="the undropped message")
    assert "never delivered" not in await _texts(app)
    # The channel was never reconciled: the next tick does it (as right after connecting).
    tick = Tick(app.state.jobs, claimers=["inbox.reconcile_new_channels"], periodics=[])
    assert (await tick.run_once()).claimed["inbox.reconcile_new_channels"] == 1
    await app.state.jobs.drain()
    assert await _texts(app) == ["first", "never delivered", "third"]
    # Reconciling again (the periodic run) adds nothing: idempotent with the webhooks.
    await Tick(app.state.jobs, claimers=[], periodics=["inbox.reconcile_all_channels"]).run_once()
    await app.state.jobs.drain()
    assert await count(app, Message) == 3
    (conversation,) = await rows(app, select(Conversation))
    assert conversation.external_id  # Meta's conversation id, learnt by reconciling
