"""The seller answers on WhatsApp through the inbox's reply path: text quoting a message, photos
uploaded to WhatsApp first, reactions, templates; statuses tick sent -> delivered -> read with
pricing; the 24-hour window is enforced before WhatsApp is called; reading the thread marks it
read on WhatsApp."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.inbox.models import Message
from socialsell.settings import Settings
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import rows, wait_until
from tests.helpers.tenancy import assert_other_workspace_gets_404
from tests.inbox.helpers import age_last_message
from tests.publishing.helpers import image_bytes, upload_image
from tests.whatsapp.helpers import (
    Number,
    add_persona,
    connect_number,
    conversation_of,
    inbound,
    subscribe,
)
from tests.whatsapp.template_helpers import stored_template

CUSTOMER = "5511987654321"


async def _thread(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
    text: str = "Oi! Tem o vestido azul?",
) -> tuple[Number, uuid.UUID, dict[str, Any]]:
    number = await connect_number(client, sandbox, seller)
    subscribe(sandbox, live_server.url, settings)
    add_persona(sandbox, CUSTOMER, "Maria Souza")
    wrote = inbound(sandbox, number, CUSTOMER, "text", text=text)
    conversation_id = await conversation_of(app, number)

    async def stored() -> list[Message]:
        return await rows(app, select(Message).where(Message.external_id == wrote["id"]))

    await wait_until(stored, what="the customer's message")
    return number, conversation_id, wrote


def _sent(sandbox: Sandbox, number: Number) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = sandbox.client.get(
        "/_sandbox/whatsapp/sent", params={"phone_number_id": number.phone_number_id}
    ).json()["data"]
    return data


async def _send(
    client: httpx.AsyncClient, seller: ApiUser, conversation_id: uuid.UUID, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json=body,
        headers={**seller.headers, "Idempotency-Key": uuid.uuid4().hex},
    )


async def _status_of(app: FastAPI, message_id: str) -> Message:
    (message,) = await rows(app, select(Message).where(Message.id == uuid.UUID(message_id)))
    return message


async def test_a_quoted_text_is_sent_ticks_to_read_and_its_pricing_is_recorded(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    number, conversation_id, wrote = await _thread(
        client, app, sandbox, seller, live_server, settings
    )
    (quoted,) = await rows(app, select(Message).where(Message.external_id == wrote["id"]))
    key = uuid.uuid4().hex
    body = {"text": "Tem sim! Tamanho M?", "reply_to_message_id": str(quoted.id)}
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json=body,
        headers={**seller.headers, "Idempotency-Key": key},
    )
    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["status"] == "sent"
    assert sent["reply_to_external_id"] == wrote["id"]
    (on_meta,) = _sent(sandbox, number)
    assert on_meta["id"] == sent["external_id"]
    assert on_meta["text"] == "Tem sim! Tamanho M?"
    assert on_meta["context_message_id"] == wrote["id"]
    assert on_meta["to"] == CUSTOMER

    # The same Idempotency-Key replays the message and sends nothing.
    replay = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json=body,
        headers={**seller.headers, "Idempotency-Key": key},
    )
    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert len(_sent(sandbox, number)) == 1

    sandbox.advance(1)  # delivered
    sandbox.advance(2)  # read
    sandbox.client.post("/_sandbox/whatsapp/tick").raise_for_status()

    async def read() -> Message | None:
        message = await _status_of(app, sent["id"])
        return message if message.status == "read" else None

    message = await wait_until(read, what="the read tick")
    assert message.read_at is not None
    assert message.pricing_category == "service"
    assert message.pricing_type == "free_customer_service"
    assert message.pricing_billable is False
    assert message.priced_at is not None
    assert {"delivered", "read"} <= set(message.details["statuses"])


async def test_a_photo_is_uploaded_to_whatsapp_and_sent_by_id_with_its_caption(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    number, conversation_id, _ = await _thread(client, app, sandbox, seller, live_server, settings)
    upload = await client.post(
        "/api/v1/inbox/uploads",
        files={"file": ("dress.png", image_bytes(fmt="PNG", width=64, height=64), "image/png")},
        headers=seller.headers,
    )
    assert upload.status_code == 201, upload.text
    response = await _send(
        client, seller, conversation_id, {"image_key": upload.json()["key"], "text": "Azul"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "sent"
    assert response.json()["kind"] == "image"
    asset_id = await upload_image(client, seller, width=320, height=320)
    from_library = await _send(client, seller, conversation_id, {"media_id": asset_id})
    assert from_library.status_code == 201, from_library.text
    assert from_library.json()["status"] == "sent"

    first, second = _sent(sandbox, number)
    assert first["type"] == "image"
    assert first["request"]["image"]["caption"] == "Azul"
    media_id = first["request"]["image"]["id"]
    # The id names a file WhatsApp holds: the one we uploaded.
    info = sandbox.client.get(
        f"/v23.0/{media_id}",
        headers={"Authorization": f"Bearer {number.account['access_token']}"},
    ).json()
    assert info["mime_type"] == "image/png"
    assert second["type"] == "image"
    assert "id" in second["request"]["image"]


async def test_the_business_reacts_to_a_message(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    number, _, wrote = await _thread(client, app, sandbox, seller, live_server, settings)
    (target,) = await rows(app, select(Message).where(Message.external_id == wrote["id"]))
    response = await client.post(
        f"/api/v1/messages/{target.id}/reactions", json={"emoji": "❤️"}, headers=seller.headers
    )
    assert response.status_code == 200, response.text
    assert [r["emoji"] for r in response.json()["reactions"] if r["by"] == "business"] == ["❤️"]
    (reaction,) = _sent(sandbox, number)
    assert reaction["type"] == "reaction"
    assert reaction["request"]["reaction"] == {"message_id": wrote["id"], "emoji": "❤️"}
    removed = await client.post(
        f"/api/v1/messages/{target.id}/reactions", json={"emoji": ""}, headers=seller.headers
    )
    assert removed.json()["reactions"] == []
    await assert_other_workspace_gets_404(
        client, "POST", f"/api/v1/messages/{target.id}/reactions", json={"emoji": "👍"}
    )

    # The customer reacts to our reply: the reaction is attached to it.
    reply = await _send(client, seller, target.conversation_id, {"text": "Obrigada!"})
    wamid = reply.json()["external_id"]
    inbound(sandbox, number, CUSTOMER, "reaction", reaction={"message_id": wamid, "emoji": "👍"})

    async def reacted() -> list[dict[str, Any]]:
        message = await _status_of(app, reply.json()["id"])
        return [r for r in message.reactions if r["by"] == "contact"]

    (by_customer,) = await wait_until(reacted, what="the customer's reaction")
    assert by_customer["emoji"] == "👍"


async def test_outside_the_window_free_text_is_refused_before_whatsapp_is_called(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    number, conversation_id, wrote = await _thread(
        client, app, sandbox, seller, live_server, settings
    )
    # A message that failed on WhatsApp while the window was open...
    earlier = (await _send(client, seller, conversation_id, {"text": "Temos sim!"})).json()
    sandbox.client.post(
        f"/_sandbox/whatsapp/messages/{earlier['external_id']}/fail", json={"code": 131026}
    ).raise_for_status()

    async def failed() -> Message | None:
        message = await _status_of(app, earlier["id"])
        return message if message.status == "failed" else None

    await wait_until(failed, what="the failed status")
    await age_last_message(app, conversation_id, timedelta(hours=25))
    read = await client.get(f"/api/v1/conversations/{conversation_id}", headers=seller.headers)
    assert read.json()["window"]["can_reply"] is False
    # ...cannot be retried once it closed.
    retry = await client.post(f"/api/v1/messages/{earlier['id']}/retry", headers=seller.headers)
    assert retry.status_code == 409
    assert retry.json()["code"] == "whatsapp_window_closed"

    refused = await _send(client, seller, conversation_id, {"text": "Ainda quer?"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "whatsapp_window_closed"
    assert "template" in refused.json()["message"]
    (target,) = await rows(app, select(Message).where(Message.external_id == wrote["id"]))
    reaction = await client.post(
        f"/api/v1/messages/{target.id}/reactions", json={"emoji": "👍"}, headers=seller.headers
    )
    assert reaction.status_code == 409
    assert len(_sent(sandbox, number)) == 1  # the earlier message only
    assert len(await rows(app, select(Message))) == 2

    # A template may be sent at any time.
    token = {"Authorization": f"Bearer {number.account['access_token']}"}
    created = sandbox.client.post(
        f"/v23.0/{number.waba_id}/message_templates",
        headers=token,
        json={
            "name": "still_interested",
            "language": "en_US",
            "category": "UTILITY",
            "components": [
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, your {{2}} is still reserved.",
                    "example": {"body_text": [["Maria", "blue dress"]]},
                }
            ],
        },
    ).json()
    sandbox.client.post(
        f"/_sandbox/whatsapp/templates/{created['id']}/decision", json={"status": "APPROVED"}
    ).raise_for_status()
    template_id = await stored_template(
        app,
        number.channel_id,
        name="still_interested",
        external_id=created["id"],
        components=[{"type": "BODY", "text": "Hi {{1}}, your {{2}} is still reserved."}],
    )
    response = await _send(
        client,
        seller,
        conversation_id,
        {
            "template": {
                "template_id": str(template_id),
                "parameters": {"body": ["Maria", "blue dress"]},
            }
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "sent"
    assert response.json()["kind"] == "template"
    assert response.json()["text"] == "Hi Maria, your blue dress is still reserved."
    on_meta = _sent(sandbox, number)[-1]
    assert on_meta["type"] == "template"
    assert on_meta["text"] == "Hi Maria, your blue dress is still reserved."


async def test_meta_131047_is_said_in_words(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    number, conversation_id, _ = await _thread(client, app, sandbox, seller, live_server, settings)
    # WhatsApp's clock says the window closed while ours says it is open.
    sandbox.advance(25 * 3600)
    sandbox.client.patch(
        f"/_sandbox/whatsapp/phone_numbers/{number.phone_number_id}",
        json={"window_enforcement": "sync"},
    ).raise_for_status()
    response = await _send(client, seller, conversation_id, {"text": "Ainda quer?"})
    assert response.status_code == 201, response.text
    failed = response.json()
    assert failed["status"] == "failed"
    assert failed["error_code"] == "meta_131047"
    assert "24-hour customer service window is closed" in failed["error_message"]
    assert failed["actions"] == ["retry"]

    # As WhatsApp usually does it: accepted, then a failed status with 131047.
    sandbox.client.patch(
        f"/_sandbox/whatsapp/phone_numbers/{number.phone_number_id}",
        json={"window_enforcement": "status"},
    ).raise_for_status()
    accepted = await _send(client, seller, conversation_id, {"text": "Oi?"})
    assert accepted.json()["status"] == "sent"

    async def failed_later() -> Message | None:
        message = await _status_of(app, accepted.json()["id"])
        return message if message.status == "failed" else None

    message = await wait_until(failed_later, within=15, what="the failed status")
    assert message.error_code == "meta_131047"
    assert "only templates" in (message.error_message or "")


async def test_reading_the_thread_marks_it_read_on_whatsapp(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    number, conversation_id, wrote = await _thread(
        client, app, sandbox, seller, live_server, settings
    )

    def is_read() -> bool:
        items = sandbox.client.get(
            f"/_sandbox/whatsapp/phone_numbers/{number.phone_number_id}/inbound"
        ).json()["data"]
        return bool(next(i for i in items if i["id"] == wrote["id"])["is_read"])

    assert not is_read()
    response = await client.patch(
        f"/api/v1/conversations/{conversation_id}", json={"read": True}, headers=seller.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["unread_count"] == 0
    assert is_read()


async def test_a_sent_status_that_overtakes_the_answer_is_applied_once_the_send_is_stored(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    from socialsell.webhooks.models import WebhookDelivery

    number, conversation_id, _ = await _thread(client, app, sandbox, seller, live_server, settings)
    # WhatsApp's `sent` webhook reaches us while its API answer is still on the way.
    sandbox.client.patch(
        f"/_sandbox/whatsapp/phone_numbers/{number.phone_number_id}",
        json={"answer_delay_seconds": 1.0},
    ).raise_for_status()
    response = await _send(client, seller, conversation_id, {"text": "Já separei o seu!"})
    assert response.json()["status"] == "sent"
    wamid = response.json()["external_id"]
    deliveries = await rows(app, select(WebhookDelivery))
    overtaking = [d for d in deliveries if wamid.encode() in d.body]
    assert overtaking  # it did arrive before the answer...
    # ...waited for the message, and was applied as soon as the send was stored: no tick ran.
    assert {d.status for d in overtaking} == {"processed"}
    assert all(d.attempts == 2 for d in overtaking)
