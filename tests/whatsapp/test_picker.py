"""The inbox composer's template picker after the 24-hour window closed: approved templates
only, fields for positional and named variables, header media from an upload, buttons' dynamic
parts, errors next to the fields, and the template delivered through the inbox send path."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
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
from tests.inbox.helpers import age_last_message
from tests.publishing.helpers import image_bytes
from tests.web.conftest import Browser, sign_in, sign_up
from tests.whatsapp.helpers import (
    Number,
    add_persona,
    connect_number,
    conversation_of,
    inbound,
    subscribe,
)
from tests.whatsapp.sample_uploads import with_uploaded_samples
from tests.whatsapp.test_templates_page import errors_of

CUSTOMER = "5511912345678"


def make_template(
    sandbox: Sandbox, number: Number, body: dict[str, Any], *, approve: bool = True
) -> str:
    token = {"Authorization": f"Bearer {number.account['access_token']}"}
    # Media headers name a sample uploaded first, as WhatsApp Manager does.
    body = with_uploaded_samples(
        sandbox.client, sandbox.app_id, number.account["access_token"], body
    )
    created = sandbox.client.post(
        f"/v23.0/{number.waba_id}/message_templates", headers=token, json=body
    )
    assert created.status_code == 200, created.text
    meta_id = str(created.json()["id"])
    if approve:
        sandbox.client.post(
            f"/_sandbox/whatsapp/templates/{meta_id}/decision", json={"status": "APPROVED"}
        ).raise_for_status()
    return meta_id


ORDER = {
    "name": "order_shipped", "language": "en_US", "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}",
         "example": {"header_text": ["#42"]}},
        {"type": "BODY", "text": "Hi {{1}}, order {{2}} is on its way.",
         "example": {"body_text": [["Ann", "#42"]]}},
        {"type": "BUTTONS", "buttons": [
            {"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}",
             "example": ["https://shop.example/t/42"]},
            {"type": "QUICK_REPLY", "text": "Thanks"},
        ]},
    ],
}  # fmt: skip
NAMED = {
    "name": "back_in_stock", "language": "pt_BR", "category": "MARKETING",
    "parameter_format": "NAMED",
    "components": [
        {"type": "BODY", "text": "Oi {{first_name}}, o {{product}} voltou ao estoque!",
         "example": {"body_text_named_params": [
             {"param_name": "first_name", "example": "Ana"},
             {"param_name": "product", "example": "vestido"}]}},
    ],
}  # fmt: skip
PHOTO = {
    "name": "new_collection", "language": "en_US", "category": "MARKETING",
    "components": [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U="]}},
        {"type": "BODY", "text": "Our new collection is here, {{1}}, have a look.",
         "example": {"body_text": [["Ann"]]}},
    ],
}  # fmt: skip


@pytest.fixture
async def browser(app: FastAPI, seller: ApiUser) -> AsyncIterator[Browser]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        browser = Browser(client)
        response = await sign_in(browser, seller.email)
        assert response.status_code == 303, response.text
        yield browser


def sent_on_whatsapp(sandbox: Sandbox, number: Number) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = sandbox.client.get(
        "/_sandbox/whatsapp/sent", params={"phone_number_id": number.phone_number_id}
    ).json()["data"]
    return data


async def test_picker_sends_templates_after_the_window_closed(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    browser: Browser,
    live_server: Any,
    settings: Settings,
) -> None:
    number = await connect_number(client, sandbox, seller)
    subscribe(sandbox, live_server.url, settings)
    add_persona(sandbox, CUSTOMER, "Ana Souza")
    inbound(sandbox, number, CUSTOMER, "text", text="Oi!")
    conversation_id = await conversation_of(app, number)
    await age_last_message(app, conversation_id, timedelta(hours=26))
    for body in (ORDER, NAMED, PHOTO):
        make_template(sandbox, number, body)
    make_template(sandbox, number, {**NAMED, "name": "still_in_review"}, approve=False)
    synced = await client.post(
        f"/api/v1/whatsapp/numbers/{number.channel_id}/templates/sync", headers=seller.headers
    )
    assert synced.json()["total"] == 4
    templates = {
        t["name"]: t["id"]
        for t in (
            await client.get(
                f"/api/v1/whatsapp/numbers/{number.channel_id}/templates", headers=seller.headers
            )
        ).json()["data"]
    }

    picker = f"/whatsapp/conversations/{conversation_id}/template-picker"
    fragment = await browser.get(picker, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text  # the fragment alone for htmx
    # Without JavaScript it is a page of its own, back link included.
    page = await browser.get(picker)
    assert "<html" in page.text
    assert "Back to the conversation" in page.text
    offered = re.findall(r'data-template-choice="([a-z_]+)"', fragment.text)
    assert sorted(offered) == ["back_in_stock", "new_collection", "order_shipped"]

    chosen = await browser.get(
        picker, params={"template_id": templates["order_shipped"]}, headers={"HX-Request": "true"}
    )
    for name in ("header_text.1", "body.1", "body.2", "buttons.0", "buttons.1"):
        assert f'name="{name}"' in chosen.text
    preview = re.search(
        r'<script type="application/json" data-picker-template>(.*?)</script>', chosen.text
    )
    assert preview is not None
    assert json.loads(preview.group(1))["body_variables"] == ["1", "2"]

    send = f"/whatsapp/conversations/{conversation_id}/template"
    missing = await browser.post(
        send,
        {"template_id": templates["order_shipped"], "header_text.1": "#77", "body.1": "Ana"},
        page=picker,
        htmx=True,
    )
    assert missing.status_code == 422
    assert set(errors_of(missing.text)) == {"body.2", "buttons.0"}
    assert 'value="Ana"' in missing.text  # what was typed stays
    assert sent_on_whatsapp(sandbox, number) == []

    ok = await browser.post(
        send,
        {"template_id": templates["order_shipped"], "header_text.1": "#77", "body.1": "Ana",
         "body.2": "#77", "buttons.0": "77", "buttons.1": ""},
        page=picker,
        htmx=True,
    )  # fmt: skip
    assert ok.status_code == 200, ok.text
    upsert = json.loads(ok.headers["HX-Trigger"])["inbox:upsert"]
    assert upsert["conversation"] == str(conversation_id)
    assert "Template sent." in ok.text
    (first,) = sent_on_whatsapp(sandbox, number)
    assert first["type"] == "template"
    assert first["text"].startswith("Order #77\nHi Ana, order #77 is on its way.")
    (stored,) = await rows(
        app, select(Message).where(Message.id == uuid.UUID(upsert["messages"][0]))
    )
    assert stored.text == "Hi Ana, order #77 is on its way."

    named = await browser.post(
        send,
        {"template_id": templates["back_in_stock"], "body.first_name": "Ana",
         "body.product": "vestido azul"},
        page=picker,
        htmx=True,
    )  # fmt: skip
    assert named.status_code == 200, named.text
    second = sent_on_whatsapp(sandbox, number)[-1]
    params = second["request"]["template"]["components"][0]["parameters"]
    assert [p["parameter_name"] for p in params] == ["first_name", "product"]
    assert second["text"] == "Oi Ana, o vestido azul voltou ao estoque!"

    no_photo = await browser.post(
        send, {"template_id": templates["new_collection"], "body.1": "Ana"}, page=picker, htmx=True
    )
    assert set(errors_of(no_photo.text)) == {"header_media_id"}
    token = await browser.token(picker)
    photo = await browser.client.post(
        send,
        data={"csrf_token": token, "template_id": templates["new_collection"], "body.1": "Ana"},
        files={"header_media_file": ("look.jpg", image_bytes(), "image/jpeg")},
        headers={"HX-Request": "true"},
    )
    assert photo.status_code == 200, photo.text
    third = sent_on_whatsapp(sandbox, number)[-1]
    header = third["request"]["template"]["components"][0]
    assert header["type"] == "header"
    link = header["parameters"][0]["image"]["link"]
    assert "/media/" in link
    assert "sig=" in link  # a signed URL WhatsApp fetches the photo from

    # The uploaded photo is in the media library and offered next time.
    again = await browser.get(
        picker, params={"template_id": templates["new_collection"]}, headers={"HX-Request": "true"}
    )
    assert 'name="header_media_id"' in again.text

    async def three() -> list[Message]:
        found = await rows(app, select(Message).where(Message.kind == "template"))
        return found if len(found) == 3 else []

    await wait_until(three, what="three template messages")


async def test_another_workspace_gets_404_from_the_picker(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    number = await connect_number(client, sandbox, seller)
    subscribe(sandbox, live_server.url, settings)
    add_persona(sandbox, CUSTOMER, "Ana Souza")
    inbound(sandbox, number, CUSTOMER, "text", text="Oi!")
    conversation_id = await conversation_of(app, number)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        other = await sign_up(Browser(c))
        picker = f"/whatsapp/conversations/{conversation_id}/template-picker"
        assert (await other.get(picker)).status_code == 404
        sent = await other.post(
            f"/whatsapp/conversations/{conversation_id}/template",
            {"template_id": str(uuid.uuid4())},
            page="/settings",
        )
        assert sent.status_code == 404
