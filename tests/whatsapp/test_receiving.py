"""Customers write to a WhatsApp number: the sandbox's signed webhooks reach the product served
by uvicorn, every kind of message lands in the customer's thread (media copied into our storage),
and bad signatures are refused before anything is stored."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.core.storage import build_storage
from socialsell.inbox.models import Contact, Conversation, Message
from socialsell.settings import Settings
from socialsell.webhooks.models import WebhookDelivery
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import count, rows, sign, wait_until
from tests.whatsapp.helpers import (
    Number,
    add_persona,
    connect_number,
    conversation_of,
    inbound,
    subscribe,
)

CUSTOMER = "5511987654321"


async def _number(
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> Number:
    number = await connect_number(client, sandbox, seller)
    subscribe(sandbox, live_server.url, settings)
    add_persona(sandbox, CUSTOMER, "Maria Souza")
    return number


async def _message(app: FastAPI, wamid: str) -> Message:
    async def stored() -> list[Message]:
        return await rows(app, select(Message).where(Message.external_id == wamid))

    (message,) = await wait_until(stored, what=f"message {wamid}")
    return message


async def test_every_kind_of_customer_message_lands_in_one_thread(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    number = await _number(client, sandbox, seller, live_server, settings)
    sent: dict[str, dict[str, Any]] = {}
    sent["text"] = inbound(sandbox, number, CUSTOMER, "text", text="Oi! Tem o vestido azul?")
    sent["location"] = inbound(
        sandbox,
        number,
        CUSTOMER,
        "location",
        location={
            "latitude": -23.55,
            "longitude": -46.63,
            "name": "Loja Centro",
            "address": "Rua A",
        },
    )
    sent["contacts"] = inbound(sandbox, number, CUSTOMER, "contacts")
    # Button and list replies answer a message of the business.
    await _message(app, sent["text"]["id"])
    conversation_id = await conversation_of(app, number)
    ours = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "Temos azul e verde. Qual prefere?"},
        headers=seller.headers,
    )
    business = ours.json()["external_id"]
    sent["button_reply"] = inbound(
        sandbox,
        number,
        CUSTOMER,
        "interactive",
        interactive={"type": "button_reply", "button_reply": {"id": "keep", "title": "Keep it"}},
        reply_to=business,
    )
    sent["list_reply"] = inbound(
        sandbox,
        number,
        CUSTOMER,
        "interactive",
        interactive={
            "type": "list_reply",
            "list_reply": {"id": "m", "title": "Size M", "description": "Medium"},
        },
        reply_to=business,
    )
    sent["button"] = inbound(
        sandbox,
        number,
        CUSTOMER,
        "button",
        button={"payload": "STOP", "text": "Stop promotions"},
        reply_to=business,
    )
    sent["order"] = inbound(sandbox, number, CUSTOMER, "order")
    sent["unsupported"] = inbound(sandbox, number, CUSTOMER, "unsupported")
    sent["reply"] = inbound(
        sandbox, number, CUSTOMER, "text", text="This one", reply_to=sent["text"]["id"]
    )
    sent["system"] = inbound(sandbox, number, CUSTOMER, "system", system={"wa_id": "5511900000000"})

    messages = {name: await _message(app, item["id"]) for name, item in sent.items()}
    assert messages["text"].kind == "text"
    assert messages["text"].text == "Oi! Tem o vestido azul?"
    assert messages["location"].kind == "location"
    assert messages["location"].details["location"]["latitude"] == -23.55
    assert messages["location"].text == "Loja Centro, Rua A"
    assert messages["contacts"].kind == "contacts"
    assert messages["contacts"].text == "Lucía Gómez"
    assert messages["button_reply"].kind == "interactive"
    assert messages["button_reply"].text == "Keep it"
    assert messages["list_reply"].text == "Size M"
    assert messages["list_reply"].details["interactive"]["list_reply"]["id"] == "m"
    assert messages["button"].kind == "button"
    assert messages["button"].details["button"]["payload"] == "STOP"
    assert messages["order"].kind == "order"
    assert len(messages["order"].details["order"]["product_items"]) == 2
    assert messages["unsupported"].kind == "unsupported"
    assert messages["unsupported"].details["errors"][0]["code"] == 131051
    assert messages["reply"].reply_to_external_id == sent["text"]["id"]
    assert messages["system"].kind == "system"
    assert "changed from" in (messages["system"].text or "")

    assert messages["button"].reply_to_external_id == business
    (conversation,) = await rows(app, select(Conversation))
    assert conversation.kind == "dm"
    assert conversation.channel_id == number.channel_id
    (contact,) = await rows(app, select(Contact))
    assert contact.external_id == CUSTOMER
    assert contact.name == "Maria Souza"

    read = await client.get(f"/api/v1/conversations/{conversation.id}", headers=seller.headers)
    body = read.json()
    assert body["channel_platform"] == "whatsapp"
    assert body["contact"]["phone"] == CUSTOMER
    assert body["window"]["can_reply"] is True
    assert body["window"]["human_agent_until"] is None
    listed = await client.get(
        f"/api/v1/conversations/{conversation.id}/messages", headers=seller.headers
    )
    kinds = {m["kind"] for m in listed.json()["items"]}
    assert {"unsupported", "order", "button", "interactive", "location"} <= kinds

    # A duplicated delivery (Meta retries) stores nothing twice.
    before = await count(app, Message)
    deliveries = sandbox.deliveries("whatsapp_business_account")
    raw = deliveries[0]["body"] if "body" in deliveries[0] else json.dumps(deliveries[0]["payload"])
    replay = await client.post(
        "/webhooks/whatsapp",
        content=raw.encode(),
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(sandbox.app_secret, raw.encode()),
        },
    )
    assert replay.status_code == 200
    await app.state.jobs.drain()
    assert await count(app, Message) == before


async def test_media_are_fetched_by_id_into_our_storage(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    number = await _number(client, sandbox, seller, live_server, settings)
    pdf = b"%PDF-1.4 order summary"
    sent = {
        "image": inbound(sandbox, number, CUSTOMER, "image", caption="Esse aqui"),
        "audio": inbound(sandbox, number, CUSTOMER, "audio"),
        "video": inbound(sandbox, number, CUSTOMER, "video"),
        "document": inbound(
            sandbox,
            number,
            CUSTOMER,
            "document",
            data_base64=base64.b64encode(pdf).decode(),
            mime_type="application/pdf",
            filename="pedido.pdf",
        ),
        "sticker": inbound(sandbox, number, CUSTOMER, "sticker"),
    }

    async def copied() -> list[Message]:
        messages = await rows(app, select(Message))
        done = [m for m in messages if not m.media_pending]
        return done if len(done) == len(sent) else []

    await wait_until(copied, within=15, what="media copied")
    storage = build_storage(settings)
    expected_kinds = {
        "image": "image",
        "audio": "audio",
        "video": "video",
        "document": "file",
        "sticker": "sticker",
    }
    for name, item in sent.items():
        message = await _message(app, item["id"])
        assert message.kind == expected_kinds[name]
        (media,) = message.media
        assert media["status"] == "stored", media
        assert media["wa_media_id"] == item["message"][name]["id"]
        assert await storage.exists(media["key"])
    document = await _message(app, sent["document"]["id"])
    assert await storage.get(document.media[0]["key"]) == pdf
    assert document.details["filename"] == "pedido.pdf"
    image = await _message(app, sent["image"]["id"])
    assert image.text == "Esse aqui"
    assert image.media[0]["content_type"] == "image/jpeg"


async def test_a_bad_signature_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, seller: ApiUser
) -> None:
    body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
    for signature in (None, "sha256=" + "0" * 64, sign("another-secret", body)):
        headers = {"Content-Type": "application/json"}
        if signature:
            headers["X-Hub-Signature-256"] = signature
        response = await client.post("/webhooks/whatsapp", content=body, headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_signature"
    assert await count(app, WebhookDelivery) == 0
    ok = await client.post(
        "/webhooks/whatsapp",
        content=body,
        headers={"X-Hub-Signature-256": sign(sandbox.app_secret, body)},
    )
    assert ok.status_code == 200
    assert await count(app, WebhookDelivery) == 1


async def test_the_verification_handshake_echoes_the_challenge(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = settings.meta_webhook_verify_token.get_secret_value()
    good = await client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "4242"},
    )
    assert good.status_code == 200
    assert good.text == "4242"
    bad = await client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "4242"},
    )
    assert bad.status_code == 403
