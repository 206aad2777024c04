"""Every request the product sends for templates (list, create, delete, and template sends with
header text, named variables, a header photo by link and buttons) validates against Meta's
official OpenAPI spec (tests/whatsapp/spec.py).

One reading: the spec's ``GET /{WABA-ID}/message_templates`` declares only ``name``, but
``fields``, ``limit``, ``after`` and ``before`` are Graph API parameters of every edge (Graph's
field selection and cursor pagination); without ``fields`` Meta leaves out ``quality_score`` and
``rejected_reason``. They are checked here (known fields, a limit Graph accepts, a cursor Meta
gave) and the rest of the request against the spec.

A second: the spec's ``TemplateComponent.index`` has the pattern ``^[2-6, 11-14]$`` (a character
class, so neither "0" nor "7" match) while its own example sends ``"index": "0"`` and the text
says "position index of the button (0-9)". The index is checked against 0-9 here and the rest
of the button against the spec."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from meta_sandbox.testing import Sandbox
from socialsell.settings import Settings
from tests.helpers.factories import ApiUser
from tests.inbox.helpers import age_last_message
from tests.publishing.helpers import upload_image
from tests.whatsapp import spec
from tests.whatsapp.helpers import add_persona, connect_number, conversation_of, inbound, subscribe
from tests.whatsapp.test_picker import NAMED, ORDER, PHOTO, make_template
from tests.whatsapp.test_templates_api import ORDER_UPDATE

CUSTOMER = "5511955554444"
# The template fields Meta's reference lists (meta-api.md section 7).
TEMPLATE_FIELDS = {
    "id", "name", "language", "status", "category", "components", "parameter_format",
    "previous_category", "quality_score", "rejected_reason",
}  # fmt: skip


async def test_template_requests_follow_the_spec(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    number = await connect_number(client, sandbox, seller)
    subscribe(sandbox, live_server.url, settings)
    add_persona(sandbox, CUSTOMER, "Rita")
    inbound(sandbox, number, CUSTOMER, "text", text="Oi")
    conversation_id = await conversation_of(app, number)
    await age_last_message(app, conversation_id, timedelta(hours=30))
    base = f"/api/v1/whatsapp/numbers/{number.channel_id}/templates"

    named = {
        "name": "welcome_back", "category": "MARKETING", "language": "pt_BR",
        "header_format": "TEXT", "header_text": "Oi {{first_name}}",
        "header_example": {"first_name": "Ana"},
        "body": "Oi {{first_name}}, temos {{discount}} para você hoje.",
        "body_examples": {"first_name": "Ana", "discount": "10%"},
        "buttons": [{"type": "QUICK_REPLY", "text": "Quero"}],
    }  # fmt: skip
    for body in (ORDER_UPDATE, named):
        created = await client.post(base, json=body, headers=seller.headers)
        assert created.status_code == 201, created.text
    for body in (ORDER, NAMED, PHOTO):
        make_template(sandbox, number, body)
    synced = await client.post(f"{base}/sync", headers=seller.headers)
    assert synced.json()["total"] == 5
    listed = {
        t["name"]: t["id"] for t in (await client.get(base, headers=seller.headers)).json()["data"]
    }
    photo_id = await upload_image(client, seller, width=800, height=800)

    async def send(template: str, parameters: dict[str, Any]) -> None:
        response = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"template": {"template_id": listed[template], "parameters": parameters}},
            headers={**seller.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "sent", response.text

    await send("order_shipped", {"header_text": ["#9"], "body": ["Rita", "#9"],
                                 "buttons": ["9", "thanks"]})  # fmt: skip
    await send("back_in_stock", {"body": {"first_name": "Rita", "product": "vestido"}})
    await send("new_collection", {"header_media_id": photo_id, "body": ["Rita"]})
    deleted = await client.delete(f"{base}/{listed['order_update']}", headers=seller.headers)
    assert deleted.status_code == 204

    requests = sandbox.client.get("/_sandbox/whatsapp/requests").json()["data"]
    template_calls = [
        r
        for r in requests
        if r["path"].endswith("/message_templates") or (r["body"] or {}).get("type") == "template"
    ]
    kinds = {(r["method"], r["path"].rsplit("/", 1)[-1]) for r in template_calls}
    assert kinds == {
        ("GET", "message_templates"),
        ("POST", "message_templates"),
        ("DELETE", "message_templates"),
        ("POST", "messages"),
    }
    lists = [r for r in template_calls if r["method"] == "GET"]
    assert lists
    for listing in lists:
        query = dict(listing["query"])
        assert set(query.pop("fields").split(",")) <= TEMPLATE_FIELDS
        assert 1 <= int(query.pop("limit")) <= 100
        query.pop("after", None)  # the cursor of the page before, when there is one
        listing["query"] = query
    sends = [r for r in template_calls if r["path"].endswith("/messages")]
    assert len(sends) == 3
    for send_request in sends:
        for component in send_request["body"]["template"].get("components", []):
            if component["type"] == "button":
                assert re.fullmatch(r"[0-9]", component["index"])
                component["index"] = "2"  # a value the spec's pattern accepts
    problems = [(f"{r['method']} {r['path']}", spec.request_errors(r)) for r in template_calls]
    assert [(where, errors) for where, errors in problems if errors] == []
