"""WhatsApp conversations sit beside Instagram ones in the same inbox: the platform and the
customer's number on each, the same filters and search, and the same live events."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from meta_sandbox.testing import Sandbox
from socialsell.inbox.models import InboxEvent
from socialsell.settings import Settings
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import connect_shop, post_delivery, rows, sign
from tests.inbox.test_events import _frames
from tests.webhooks import payloads
from tests.whatsapp.helpers import connect_number
from tests.whatsapp.test_statuses import CUSTOMER, customer_text, post


async def test_whatsapp_and_instagram_threads_share_the_inbox(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
    live_server: Any,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    number = await connect_number(client, sandbox, seller)
    secret = settings.meta_app_secret.get_secret_value()
    await post_delivery(
        client,
        secret,
        payloads.text(shop.ig_id, "c1", "Tem a bolsa grande?", at_ms=int(time.time() * 1000)),
    )
    await post(
        client,
        app,
        customer_text(number, "wamid.A1", "O vestido azul ainda tem?", int(time.time())),
    )

    listed = (await client.get("/api/v1/conversations", headers=seller.headers)).json()["items"]
    assert sorted(c["channel_platform"] for c in listed) == ["instagram", "whatsapp"]
    only = await client.get(
        "/api/v1/conversations", params={"platform": "whatsapp"}, headers=seller.headers
    )
    (whatsapp,) = only.json()["items"]
    assert whatsapp["channel_id"] == str(number.channel_id)
    assert whatsapp["contact"]["phone"] == CUSTOMER
    assert whatsapp["contact"]["name"] == "Maria Souza"
    assert whatsapp["last_message_preview"] == "O vestido azul ainda tem?"
    unread = await client.get(
        "/api/v1/conversations",
        params={"platform": "whatsapp", "unread": "true"},
        headers=seller.headers,
    )
    assert [c["id"] for c in unread.json()["items"]] == [whatsapp["id"]]
    instagram = await client.get(
        "/api/v1/conversations", params={"platform": "instagram"}, headers=seller.headers
    )
    assert [c["channel_platform"] for c in instagram.json()["items"]] == ["instagram"]

    found = await client.get(
        "/api/v1/messages/search", params={"q": "vestido"}, headers=seller.headers
    )
    (hit,) = found.json()["items"]
    assert hit["conversation"]["channel_platform"] == "whatsapp"
    assert "<mark>vestido</mark>" in hit["snippet"]

    # Live: a new WhatsApp message and its thread's update reach the event stream.
    (last_event,) = await rows(app, select(func.max(InboxEvent.id)))
    received: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=10) as http,
        asyncio.timeout(15),
        http.stream(
            "GET", "/api/v1/events", params={"after": last_event}, headers=seller.headers
        ) as response,
    ):
        assert response.status_code == 200
        body = json.dumps(
            customer_text(number, "wamid.A2", "Pode mandar foto?", int(time.time()))
        ).encode()
        sent = await http.post(
            "/webhooks/whatsapp",
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, body)},
        )
        assert sent.status_code == 200
        async for frame in _frames(response):
            received.append(frame)
            if frame["event"] == "conversation.updated" and "Pode mandar foto" in frame["data"]:
                break
    created = [json.loads(f["data"]) for f in received if f["event"] == "message.created"]
    assert created[-1]["message"]["text"] == "Pode mandar foto?"
    updated = json.loads(received[-1]["data"])["conversation"]
    assert updated["channel_platform"] == "whatsapp"
    assert updated["contact"]["phone"] == CUSTOMER
