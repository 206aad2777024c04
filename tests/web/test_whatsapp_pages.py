"""WhatsApp on the Inbox and Channels pages over HTTP (no browser): the connect form without
JavaScript, the number card's template counts, reactions from the thread, and another
workspace's number, conversation and message answering 404 on every route."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.inbox.models import Message
from socialsell.settings import Settings
from tests.helpers.factories import login
from tests.helpers.instagram import rows, sandbox_settings
from tests.inbox.helpers import age_last_message
from tests.web.conftest import Browser, BrowserFactory, sign_up
from tests.whatsapp.helpers import (
    Number,
    add_persona,
    connect_body,
    connect_number,
    conversation_of,
    create_account,
    inbound,
    subscribe,
)

CUSTOMER = "5511912340000"


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return sandbox_settings(settings, sandbox)


async def number_of(seller: Browser, client: httpx.AsyncClient, sandbox: Sandbox) -> Number:
    return await connect_number(client, sandbox, await login(client, seller.email))


async def thread(
    seller: Browser,
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    live_server: Any,
    settings: Settings,
) -> tuple[Number, uuid.UUID, Message]:
    """A connected number and a customer's first message, stored by webhook processing."""
    number = await number_of(seller, client, sandbox)
    subscribe(sandbox, live_server.url, settings)
    add_persona(sandbox, CUSTOMER, "Bia Costa")
    wrote = inbound(sandbox, number, CUSTOMER, "text", text="Tem em azul?")
    conversation_id = await conversation_of(app, number)
    (message,) = await rows(app, select(Message).where(Message.external_id == wrote["id"]))
    return number, conversation_id, message


def reactions_shown(html: str) -> str | None:
    """The reactions under a bubble (not the picker's choices)."""
    found = re.search(r'<span class="msg__reactions"[^>]*>([^<]*)</span>', html)
    return found.group(1) if found else None


def sent(sandbox: Sandbox, number: Number) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = sandbox.client.get(
        "/_sandbox/whatsapp/sent", params={"phone_number_id": number.phone_number_id}
    ).json()["data"]
    return data


async def test_the_connect_form_works_without_javascript(seller: Browser, sandbox: Sandbox) -> None:
    account = create_account(sandbox)
    refused = await seller.post(
        "/channels/whatsapp/connect",
        connect_body(account, phone_number_id="100000000000001"),
        page="/channels",
    )
    # The page again, with the dialog opening itself and the error next to its field.
    assert refused.status_code == 422
    assert re.search(r'<dialog[^>]*id="wa-connect"[^>]*data-open-on-load', refused.text)
    assert 'id="wa-phone_number_id-error"' in refused.text
    assert "Meta does not know this phone number id" in refused.text
    assert account["access_token"] not in refused.text
    assert f'value="{account["waba_id"]}"' in refused.text

    missing = await seller.post("/channels/whatsapp/connect", {}, page="/channels", htmx=True)
    assert missing.status_code == 422
    assert "<html" not in missing.text  # the form alone, for htmx
    assert missing.text.count("This field is required.") == 3

    connected = await seller.post(
        "/channels/whatsapp/connect", connect_body(account), page="/channels"
    )
    assert connected.status_code == 303
    page = await seller.get("/channels")
    assert "WhatsApp number Sunny Shop is connected." in page.text
    assert account["display_phone_number"] in page.text

    forged = await seller.client.post("/channels/whatsapp/connect", data=connect_body(account))
    assert forged.status_code == 403


async def test_the_card_counts_templates_by_status(
    seller: Browser, client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    number = await number_of(seller, client, sandbox)
    page = await seller.get("/channels")
    assert "Not read from Meta yet" in page.text

    token = {"Authorization": f"Bearer {number.account['access_token']}"}
    for name, decision in (("a_ok", "APPROVED"), ("b_ok", "APPROVED"), ("c_no", "REJECTED")):
        created = sandbox.client.post(
            f"/v23.0/{number.waba_id}/message_templates",
            headers=token,
            json={
                "name": name,
                "language": "en_US",
                "category": "UTILITY",
                "components": [{"type": "BODY", "text": "Your order has shipped."}],
            },
        )
        assert created.status_code == 200, created.text
        sandbox.client.post(
            f"/_sandbox/whatsapp/templates/{created.json()['id']}/decision",
            json={"status": decision, "reason": "INVALID_FORMAT"},
        ).raise_for_status()
    api_user = await login(client, seller.email)
    synced = await client.post(
        f"/api/v1/whatsapp/numbers/{number.channel_id}/templates/sync", headers=api_user.headers
    )
    assert synced.status_code == 200, synced.text

    page = await seller.get("/channels")
    counts = re.search(r'<ul class="wa-counts".*?</ul>', page.text, re.DOTALL)
    assert counts is not None
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", counts.group(0))).strip()
    assert shown == "2 Approved 1 Rejected"


async def test_reactions_from_the_thread(
    seller: Browser,
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    live_server: Any,
    settings: Settings,
) -> None:
    number, conversation_id, message = await thread(
        seller, client, app, sandbox, live_server, settings
    )
    page = f"/inbox/{conversation_id}"

    odd = await seller.post(
        f"/inbox/messages/{message.id}/react", {"emoji": "🦄"}, page=page, htmx=True
    )
    assert odd.status_code == 200
    assert "Choose one of the reactions." in odd.headers["HX-Trigger"]
    assert sent(sandbox, number) == []

    liked = await seller.post(
        f"/inbox/messages/{message.id}/react", {"emoji": "❤️"}, page=page, htmx=True
    )
    assert liked.status_code == 200
    assert reactions_shown(liked.text) == "❤️"
    assert 'aria-label="Remove my reaction"' in liked.text
    (reaction,) = sent(sandbox, number)
    assert reaction["type"] == "reaction"

    # Outside the window WhatsApp takes no reaction: the page says why and sends nothing.
    await age_last_message(app, conversation_id, timedelta(hours=25))
    late = await seller.post(
        f"/inbox/messages/{message.id}/react", {"emoji": "👍"}, page=page, htmx=True
    )
    assert late.status_code == 200
    assert "more than 24 hours old" in late.headers["HX-Trigger"]
    assert reactions_shown(late.text) == "❤️"  # the message as it was
    assert len(sent(sandbox, number)) == 1


async def test_another_workspace_gets_404_on_whatsapp_pages(
    seller: Browser,
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    live_server: Any,
    settings: Settings,
    browser_factory: BrowserFactory,
) -> None:
    number, conversation_id, message = await thread(
        seller, client, app, sandbox, live_server, settings
    )
    outsider = await sign_up(await browser_factory(), name="Outsider")
    token = await outsider.token("/inbox")
    for path in (
        f"/inbox/{conversation_id}",
        f"/inbox/{conversation_id}/messages/{message.id}",
    ):
        response = await outsider.get(path)
        assert response.status_code == 404, path
        assert "Tem em azul?" not in response.text
    for path, data in (
        (f"/inbox/messages/{message.id}/react", {"emoji": "👍"}),
        (f"/channels/{number.channel_id}/sync", {}),
        (f"/channels/{number.channel_id}/disconnect", {}),
    ):
        response = await outsider.client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 404, path
    assert sent(sandbox, number) == []
    page = await seller.get("/channels")
    assert "Disconnected" not in page.text
