"""Statuses of the business's messages settle them and never move backwards, whatever order or
how many times Meta delivers them; pricing is recorded once; a reaction that overtakes its
message waits for it; account webhooks (template review, number quality) reach their domain.
Webhooks are posted to the product as Meta signs them (the sandbox's own delivery is covered by
test_receiving and test_sending)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell.channels.models import Channel
from socialsell.core.tick import Tick
from socialsell.db import utcnow
from socialsell.inbox.models import Message
from socialsell.settings import Settings
from socialsell.webhooks.models import WebhookDelivery
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import rows, sign
from tests.whatsapp import spec
from tests.whatsapp.helpers import Number, add_persona, connect_number
from tests.whatsapp.template_helpers import stored_template, template_row

CUSTOMER = "5511987654321"


def _change(number: Number, field: str, value: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": number.waba_id, "changes": [{"value": value, "field": field}]}
    if field != "messages":
        entry["time"] = int(time.time())
    payload = {"object": "whatsapp_business_account", "entry": [entry]}
    spec.assert_webhook_valid(payload)  # what we post is what Meta would send
    return payload


def _metadata(number: Number) -> dict[str, str]:
    return {
        "display_phone_number": number.channel["details"]["display_phone_number"].lstrip("+"),
        "phone_number_id": number.phone_number_id,
    }


def customer_text(number: Number, wamid: str, text: str, at: int) -> dict[str, Any]:
    return _change(
        number,
        "messages",
        {
            "messaging_product": "whatsapp",
            "metadata": _metadata(number),
            "contacts": [{"profile": {"name": "Maria Souza"}, "wa_id": CUSTOMER}],
            "messages": [
                {
                    "from": CUSTOMER,
                    "id": wamid,
                    "timestamp": str(at),
                    "type": "text",
                    "text": {"body": text},
                }
            ],
        },
    )


def customer_reaction(number: Number, wamid: str, target: str, at: int) -> dict[str, Any]:
    return _change(
        number,
        "messages",
        {
            "messaging_product": "whatsapp",
            "metadata": _metadata(number),
            "contacts": [{"profile": {"name": "Maria Souza"}, "wa_id": CUSTOMER}],
            "messages": [
                {
                    "from": CUSTOMER,
                    "id": wamid,
                    "timestamp": str(at),
                    "type": "reaction",
                    "reaction": {"message_id": target, "emoji": "😍"},
                }
            ],
        },
    )


def status(
    number: Number, wamid: str, name: str, at: int, *, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": name,
        "timestamp": str(at),
        "recipient_id": CUSTOMER,
    }
    if errors:
        item["errors"] = errors
    else:
        item["conversation"] = {"id": "conv-1", "origin": {"type": "service"}}
        item["pricing"] = {
            "billable": False,
            "pricing_model": "PMP",
            "category": "service",
            "type": "free_customer_service",
        }
    return _change(
        number,
        "messages",
        {"messaging_product": "whatsapp", "metadata": _metadata(number), "statuses": [item]},
    )


async def post(client: httpx.AsyncClient, app: FastAPI, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    settings: Settings = app.state.settings
    response = await client.post(
        "/webhooks/whatsapp",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(settings.meta_app_secret.get_secret_value(), body),
        },
    )
    assert response.status_code == 200, response.text
    await app.state.jobs.drain()


async def _reply(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, seller: ApiUser
) -> tuple[Number, dict[str, Any]]:
    number = await connect_number(client, sandbox, seller)
    add_persona(sandbox, CUSTOMER, "Maria Souza")
    # The persona wrote on WhatsApp (the sandbox opens its window); Meta's webhook is posted.
    wrote = sandbox.client.post(
        f"/_sandbox/whatsapp/phone_numbers/{number.phone_number_id}/inbound",
        json={"from": CUSTOMER, "type": "text", "text": "Oi"},
    ).json()
    await post(client, app, customer_text(number, wrote["id"], "Oi", int(time.time())))
    listed = await client.get("/api/v1/conversations", headers=seller.headers)
    (conversation,) = listed.json()["items"]
    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        json={"text": "Olá!"},
        headers=seller.headers,
    )
    assert response.json()["status"] == "sent", response.text
    return number, response.json()


async def _message(app: FastAPI, message_id: str) -> Message:
    (message,) = await rows(app, select(Message).where(Message.id == uuid.UUID(message_id)))
    return message


async def test_duplicated_and_reordered_statuses_never_move_a_message_backwards(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, seller: ApiUser
) -> None:
    number, sent = await _reply(client, app, sandbox, seller)
    wamid = sent["external_id"]
    t0 = int(time.time())
    await post(client, app, status(number, wamid, "read", t0 + 3))
    await post(client, app, status(number, wamid, "delivered", t0 + 2))
    await post(client, app, status(number, wamid, "sent", t0 + 1))
    await post(client, app, status(number, wamid, "read", t0 + 3))
    failure = [{"code": 131026, "title": "Message undeliverable", "message": "Undeliverable"}]
    await post(client, app, status(number, wamid, "failed", t0 + 4, errors=failure))
    message = await _message(app, sent["id"])
    assert message.status == "read"
    assert message.read_at == datetime.fromtimestamp(t0 + 3, UTC)
    assert message.error_code is None
    # Pricing comes from the first status that carried it, once.
    assert message.pricing_category == "service"
    assert message.pricing_type == "free_customer_service"
    assert message.pricing_billable is False
    assert message.priced_at == datetime.fromtimestamp(t0 + 3, UTC)
    assert set(message.details["statuses"]) == {"sent", "delivered", "read", "failed"}
    api = await client.get(f"/api/v1/messages/{sent['id']}", headers=seller.headers)
    assert api.json()["status"] == "read"


async def test_a_failed_status_says_why_and_a_late_delivery_does_not_undo_it(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, seller: ApiUser
) -> None:
    number, sent = await _reply(client, app, sandbox, seller)
    wamid = sent["external_id"]
    t0 = int(time.time())
    error = {
        "code": 131047,
        "title": "Re-engagement message",
        "message": "Re-engagement message",
        "error_data": {"details": "Message failed to send because more than 24 hours have passed"},
    }
    await post(client, app, status(number, wamid, "failed", t0 + 2, errors=[error]))
    await post(client, app, status(number, wamid, "sent", t0 + 1))
    message = await _message(app, sent["id"])
    assert message.status == "failed"
    assert message.error_code == "meta_131047"
    assert "more than 24 hours old" in (message.error_message or "")
    assert "only templates" in (message.error_message or "")
    api = await client.get(f"/api/v1/messages/{sent['id']}", headers=seller.headers)
    assert api.json()["actions"] == ["retry"]


async def test_a_reaction_that_overtakes_its_message_waits_for_it(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    settings: Settings,
) -> None:
    number = await connect_number(client, sandbox, seller)
    at = int(time.time())
    await post(client, app, customer_reaction(number, "wamid.R1", "wamid.M1", at + 1))
    (waiting,) = await rows(app, select(WebhookDelivery))
    assert waiting.status == "pending"
    await post(client, app, customer_text(number, "wamid.M1", "Quanto custa?", at))
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(WebhookDelivery).values(
                kicked_at=utcnow() - timedelta(seconds=settings.webhook_reprocess_after_seconds + 1)
            )
        )
        await session.commit()
    await Tick(
        app.state.jobs, claimers=["webhooks.rekick_stale_deliveries"], periodics=[]
    ).run_once()
    await app.state.jobs.drain()
    (message,) = await rows(app, select(Message))
    assert message.text == "Quanto custa?"
    assert [(r["by"], r["emoji"]) for r in message.reactions] == [("contact", "😍")]
    assert {d.status for d in await rows(app, select(WebhookDelivery))} == {"processed"}


async def test_account_webhooks_reach_templates_and_the_number_health(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(client, sandbox, seller)
    template_id = await stored_template(
        app,
        number.channel_id,
        name="order_ready",
        status="PENDING",
        external_id="998877665544",
        components=[{"type": "BODY", "text": "Your order is ready."}],
    )
    await post(
        client,
        app,
        _change(
            number,
            "message_template_status_update",
            {
                "event": "REJECTED",
                "message_template_id": 998877665544,
                "message_template_name": "order_ready",
                "message_template_language": "en_US",
                "reason": "INCORRECT_CATEGORY",
            },
        ),
    )
    template = await template_row(app, template_id)
    assert template is not None
    assert template.status == "REJECTED"
    assert template.rejected_reason == "INCORRECT_CATEGORY"

    await post(
        client,
        app,
        _change(
            number,
            "phone_number_quality_update",
            {
                "display_phone_number": number.channel["details"]["display_phone_number"],
                "event": "DOWNGRADE",
                "current_limit": "TIER_250",
            },
        ),
    )
    (channel,) = await rows(app, select(Channel))
    assert channel.details["messaging_limit_tier"] == "TIER_250"
    assert channel.details["quality_event"] == "DOWNGRADE"
    assert channel.last_webhook_at is not None
    read = await client.get(f"/api/v1/whatsapp/numbers/{channel.id}", headers=seller.headers)
    assert read.json()["last_webhook_at"] is not None
