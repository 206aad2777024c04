"""Every request the product sends to WhatsApp, and every webhook the sandbox delivers for
WhatsApp, validates against Meta's official OpenAPI spec (see tests/whatsapp/spec.py for how the
spec is read and what is checked against meta-api.md §7 instead)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.inbox.models import Message
from socialsell.settings import Settings
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import rows, wait_until
from tests.publishing.helpers import image_bytes
from tests.whatsapp import spec
from tests.whatsapp.helpers import add_persona, connect_number, conversation_of, inbound, subscribe

CUSTOMER = "5511987654321"


async def test_the_product_and_the_sandbox_speak_the_spec(
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
    first = inbound(sandbox, number, CUSTOMER, "text", text="Oi!")
    conversation_id = await conversation_of(app, number)

    async def send(body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json=body,
            headers={**seller.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "sent", response.text
        result: dict[str, Any] = response.json()
        return result

    async def stored_first() -> list[Message]:
        return await rows(app, select(Message).where(Message.external_id == first["id"]))

    await wait_until(stored_first, what="the first message")
    business = (await send({"text": "Azul ou verde?"}))["external_id"]
    for kind, extra in [
        ("image", {"caption": "Esse"}),
        ("audio", {}),
        ("video", {}),
        ("document", {}),
        ("sticker", {}),
        ("location", {"location": {"latitude": 1.5, "longitude": 2.5}}),
        ("contacts", {}),
        ("order", {}),
        ("unsupported", {}),
        ("reaction", {"reaction": {"message_id": first["id"], "emoji": "👍"}}),
        ("text", {"text": "E esse?", "reply_to": first["id"]}),
        (
            "interactive",
            {
                "interactive": {"type": "button_reply", "button_reply": {"id": "a", "title": "A"}},
                "reply_to": business,
            },
        ),
        ("button", {"button": {"payload": "STOP", "text": "Stop"}, "reply_to": business}),
        ("system", {"system": {"wa_id": "5511900000000"}}),
    ]:
        inbound(sandbox, number, CUSTOMER, kind, **extra)

    async def copied() -> bool:
        messages = await rows(app, select(Message))
        return len(messages) >= 15 and not any(m.media_pending for m in messages)

    await wait_until(copied, within=15, what="messages stored and media copied")
    (quoted,) = await rows(app, select(Message).where(Message.external_id == first["id"]))

    await send({"text": "Tem sim", "reply_to_message_id": str(quoted.id)})
    upload = await client.post(
        "/api/v1/inbox/uploads",
        files={"file": ("p.jpg", image_bytes(width=64, height=64), "image/jpeg")},
        headers=seller.headers,
    )
    await send({"image_key": upload.json()["key"], "text": "Olha"})
    # A template created, reviewed and synced through the product's templates API.
    templates = f"/api/v1/whatsapp/numbers/{number.channel_id}/templates"
    created = await client.post(
        templates,
        json={
            "name": "order_ready",
            "category": "UTILITY",
            "language": "en_US",
            "body": "Hi {{1}}, order {{2}} is ready.",
            "body_examples": ["Ann", "#42"],
        },
        headers=seller.headers,
    )
    assert created.status_code == 201, created.text
    sandbox.client.post(
        f"/_sandbox/whatsapp/templates/{created.json()['external_id']}/decision",
        json={"status": "APPROVED"},
    ).raise_for_status()
    synced_templates = await client.post(f"{templates}/sync", headers=seller.headers)
    assert synced_templates.status_code == 200, synced_templates.text
    template_id = created.json()["id"]
    await send(
        {"template": {"template_id": str(template_id), "parameters": {"body": ["Ann", "#42"]}}}
    )
    reacted = await client.post(
        f"/api/v1/messages/{quoted.id}/reactions", json={"emoji": "❤️"}, headers=seller.headers
    )
    assert reacted.status_code == 200, reacted.text
    read = await client.patch(
        f"/api/v1/conversations/{conversation_id}", json={"read": True}, headers=seller.headers
    )
    assert read.status_code == 200
    synced = await client.post(
        f"/api/v1/whatsapp/numbers/{number.channel_id}/sync", headers=seller.headers
    )
    assert synced.status_code == 200
    sandbox.client.patch(
        f"/_sandbox/whatsapp/phone_numbers/{number.phone_number_id}",
        json={"quality_rating": "RED"},
    ).raise_for_status()
    sandbox.advance(5)
    sandbox.client.post("/_sandbox/whatsapp/tick").raise_for_status()

    async def all_read() -> bool:
        sent = await rows(app, select(Message).where(Message.direction == "outbound"))
        return all(m.status == "read" for m in sent)

    await wait_until(all_read, what="outbound messages read")

    requests = sandbox.client.get("/_sandbox/whatsapp/requests").json()["data"]
    problems = {f"{r['method']} {r['path']}": spec.request_errors(r) for r in requests}
    assert {k: v for k, v in problems.items() if v} == {}
    sent_types = {
        (r["body"] or {}).get("type") or (r["body"] or {}).get("status")
        for r in requests
        if r["method"] == "POST" and r["path"].endswith("/messages")
    }
    assert sent_types == {"text", "image", "template", "reaction", "read"}
    paths = {(r["method"], r["path"].split("/", 3)[-1]) for r in requests}
    assert ("POST", "media") in {(m, p.rsplit("/", 1)[-1]) for m, p in paths}
    assert any(r["path"].startswith("/whatsapp_business/attachments") for r in requests)
    assert ("POST", "subscribed_apps") in {(m, p.rsplit("/", 1)[-1]) for m, p in paths}

    deliveries = sandbox.deliveries("whatsapp_business_account")
    changes = [c for d in deliveries for e in d["payload"]["entry"] for c in e["changes"]]
    assert len(changes) >= 20  # 15 customer messages, statuses, quality, template review
    fields = {c["field"] for c in changes}
    for delivery in deliveries:
        assert spec.webhook_errors(delivery["payload"]) == [], delivery["payload"]
    assert {"messages", "phone_number_quality_update", "message_template_status_update"} <= fields


def test_the_validator_refuses_what_the_spec_does_not_allow() -> None:
    base = {"method": "POST", "path": "/v23.0/1234567/messages", "query": {}}
    text = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "5511987654321",
        "type": "text",
        "text": {"body": "Oi"},
    }
    assert spec.request_errors({**base, "content_type": "application/json", "body": text}) == []
    wrong_field = {**text, "text": {"message": "Oi"}}
    assert spec.request_errors({**base, "content_type": "application/json", "body": wrong_field})
    no_recipient = {k: v for k, v in text.items() if k != "to"}
    assert spec.request_errors({**base, "content_type": "application/json", "body": no_recipient})
    bad_read = {"messaging_product": "whatsapp", "status": "read", "message_id": ""}
    assert spec.request_errors({**base, "content_type": "application/json", "body": bad_read})
    unknown_query = {
        "method": "GET",
        "path": "/v23.0/1234567",
        "query": {"colour": "blue"},
        "content_type": None,
        "body": None,
    }
    assert spec.request_errors(unknown_query)
    assert spec.request_errors({**unknown_query, "path": "/v23.0/1234567/nothing_here"})

    webhook: dict[str, Any] = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "1555", "phone_number_id": "2"},
                            "contacts": [{"profile": {"name": "A"}, "wa_id": "3"}],
                            "messages": [
                                {
                                    "from": "3",
                                    "id": "wamid.x",
                                    "timestamp": "1",
                                    "type": "text",
                                    "text": {"body": "hi"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    assert spec.webhook_errors(webhook) == []
    message = webhook["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["from"]
    assert spec.webhook_errors(webhook)
    quality = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "time": 1,
                "changes": [
                    {"field": "phone_number_quality_update", "value": {"event": "FLAGGED"}}
                ],
            }
        ],
    }
    assert spec.webhook_errors(quality)
    with pytest.raises(spec.SpecViolation):
        spec.assert_webhook_valid(quality)
