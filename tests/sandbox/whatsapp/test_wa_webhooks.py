"""Customers write: every inbound kind arrives signed, shaped as in Meta's reference."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import pytest

from meta_sandbox.testing import Sandbox, WebhookReceiver

from .support import WA, assert_shape, fixture, payload_of

BUTTONS = {
    "type": "button",
    "body": {"text": "Keep the order?"},
    "action": {
        "buttons": [
            {"type": "reply", "reply": {"id": "keep-button", "title": "Keep"}},
            {"type": "reply", "reply": {"id": "cancel-button", "title": "Cancel"}},
        ]
    },
}
LIST = {
    "type": "list",
    "body": {"text": "Shipping?"},
    "action": {
        "button": "Options",
        "sections": [
            {
                "rows": [
                    {
                        "id": "priority_express",
                        "title": "Priority Mail Express",
                        "description": "Next Day to 2 Days",
                    }
                ]
            }
        ],
    },
}


def deliver(wa: WA, wa_id: str, kind: str, **spec: Any) -> dict[str, Any]:
    inbound = wa.customer_writes(wa_id, kind, **spec)
    return wa.wait_message(inbound["id"])


@pytest.mark.parametrize(
    ("kind", "spec", "example"),
    [
        ("text", {"text": "Does it come in another color?"}, "webhook_text"),
        ("image", {"caption": "Taj Mahal"}, "webhook_image"),
        ("audio", {}, "webhook_audio"),
        ("video", {"caption": "My vacation video"}, "webhook_video"),
        ("document", {"caption": "Receipt", "filename": "receipt.pdf"}, "webhook_document"),
        ("sticker", {}, "webhook_sticker"),
        (
            "location",
            {
                "location": {
                    "latitude": 37.44221496582,
                    "longitude": -122.16165924072,
                    "name": "Philz Coffee",
                    "address": "101 Forest Ave, Palo Alto, CA 94301",
                    "url": "https://philzcoffee.com/",
                }
            },
            "webhook_location",
        ),
        ("contacts", {}, "webhook_contacts"),
        ("order", {}, "webhook_order"),
        ("unsupported", {}, "webhook_unsupported"),
    ],
)
def test_inbound_kinds_match_the_reference(
    wa: WA, kind: str, spec: dict[str, Any], example: str
) -> None:
    wa_id = wa.persona("Sheena Nelson")
    change = deliver(wa, wa_id, kind, **spec)
    assert_shape(payload_of(change), fixture(example))
    value = change["value"]
    assert value["contacts"] == [{"profile": {"name": "Sheena Nelson"}, "wa_id": wa_id}]
    assert value["metadata"] == {"display_phone_number": wa.number, "phone_number_id": wa.phone_id}
    assert change["entry"]["id"] == wa.waba_id
    message = value["messages"][0]
    assert message["from"] == wa_id
    assert message["type"] == kind


def test_text_reply_carries_context(wa: WA) -> None:
    wa_id = wa.chatting_persona()
    business = wa.send_ok(wa_id)
    change = deliver(wa, wa_id, "text", text="Is this still available?", reply_to=business)
    message = change["value"]["messages"][0]
    assert message["context"] == {"from": wa.number, "id": business}


@pytest.mark.parametrize(
    ("interactive", "choice", "example", "expected"),
    [
        (
            BUTTONS,
            "cancel-button",
            "webhook_interactive_button_reply",
            {"type": "button_reply", "button_reply": {"id": "cancel-button", "title": "Cancel"}},
        ),
        (
            LIST,
            "priority_express",
            "webhook_interactive_list_reply",
            {
                "type": "list_reply",
                "list_reply": {
                    "id": "priority_express",
                    "title": "Priority Mail Express",
                    "description": "Next Day to 2 Days",
                },
            },
        ),
    ],
)
def test_interactive_replies(
    wa: WA, interactive: dict[str, Any], choice: str, example: str, expected: dict[str, Any]
) -> None:
    wa_id = wa.chatting_persona()
    business = wa.send_ok(wa_id, "interactive", interactive=interactive)
    change = deliver(wa, wa_id, "interactive", reply_to=business, choice=choice)
    assert_shape(payload_of(change), fixture(example))
    message = change["value"]["messages"][0]
    assert message["interactive"] == expected
    assert message["context"] == {"from": wa.number, "id": business}
    bad = wa.sandbox.client.post(
        f"/_sandbox/whatsapp/phone_numbers/{wa.phone_id}/inbound",
        json={"from": wa_id, "type": "interactive", "reply_to": business, "choice": "nope"},
    )
    assert bad.status_code == 422


def test_reaction_to_a_business_message(wa: WA) -> None:
    wa_id = wa.chatting_persona()
    business = wa.send_ok(wa_id)
    change = deliver(wa, wa_id, "reaction", reaction={"message_id": business, "emoji": "❤️"})
    assert_shape(payload_of(change), fixture("webhook_reaction"))
    assert change["value"]["messages"][0]["reaction"] == {"message_id": business, "emoji": "❤️"}


def test_system_message_has_no_contacts_and_moves_the_persona(wa: WA) -> None:
    wa_id = wa.persona("Sheena Nelson")
    change = deliver(wa, wa_id, "system", system={"wa_id": "12195555358"})
    assert_shape(payload_of(change), fixture("webhook_system"))
    assert change["value"]["messages"][0]["system"] == {
        "body": f"User Sheena Nelson changed from {wa_id} to 12195555358",
        "wa_id": "12195555358",
        "type": "user_changed_number",
    }
    personas = wa.control("GET", "/personas")["data"]
    assert {"wa_id": "12195555358", "name": "Sheena Nelson"}.items() <= next(
        p for p in personas if p["wa_id"] == "12195555358"
    ).items()


def test_click_to_whatsapp_referral_is_passed_through(wa: WA) -> None:
    example = fixture("webhook_text_referral")
    ad = example["entry"][0]["changes"][0]["value"]["messages"][0]["referral"]
    wa_id = wa.persona()
    change = deliver(wa, wa_id, "text", text="Hello! Can I get more info on this?", referral=ad)
    assert_shape(payload_of(change), example)
    assert change["value"]["messages"][0]["referral"] == ad


def test_persona_control_errors(wa: WA) -> None:
    client = wa.sandbox.client
    base = f"/_sandbox/whatsapp/phone_numbers/{wa.phone_id}/inbound"
    assert client.post(base, json={"type": "text", "text": "hi"}).status_code == 422
    assert client.post(base, json={"from": "19999999999", "text": "hi"}).status_code == 404
    wa_id = wa.persona()
    assert client.post(base, json={"from": wa_id, "type": "telepathy"}).status_code == 422
    assert client.post(base, json={"from": wa_id, "type": "location"}).status_code == 422
    missing = client.post("/_sandbox/whatsapp/phone_numbers/1/inbound", json={"from": wa_id})
    assert missing.status_code == 404
    assert client.post("/_sandbox/whatsapp/personas", json={"wa_id": wa_id}).status_code == 422


def test_subscribed_apps(sandbox: Sandbox, webhook_receiver: WebhookReceiver) -> None:
    wa = WA(sandbox, webhook_receiver, subscribe=False)
    assert wa.get(f"/{wa.waba_id}/subscribed_apps").json() == {"data": []}

    # Not subscribed: Meta sends the WABA's webhooks nowhere.
    wa_id = wa.persona()
    dropped = wa.customer_writes(wa_id)
    undelivered = wa.control("GET", "/undelivered")["data"]
    assert undelivered[-1]["changes"][0]["value"]["messages"][0]["id"] == dropped["id"]

    subscribed = wa.post(f"/{wa.waba_id}/subscribed_apps")
    assert subscribed.json() == fixture("subscribed_apps_subscribe")
    listed = wa.get(f"/{wa.waba_id}/subscribed_apps").json()
    assert_shape(listed, fixture("subscribed_apps_list"))
    assert listed["data"][0]["whatsapp_business_api_data"]["id"] == sandbox.app_id

    kept = wa.customer_writes(wa_id)
    wa.wait_message(kept["id"])
    assert all(
        m["id"] != dropped["id"] for c in wa.changes() for m in c["value"].get("messages", [])
    )

    override = wa.post(
        f"/{wa.waba_id}/subscribed_apps",
        json={"override_callback_uri": "https://hooks.example/wa", "verify_token": "t"},
    ).json()
    assert override["data"][0]["override_callback_uri"] == "https://hooks.example/wa"
    assert wa.delete(f"/{wa.waba_id}/subscribed_apps").json() == {"success": True}
    assert wa.get(f"/{wa.waba_id}/subscribed_apps").json() == {"data": []}


def test_customer_media_can_be_given_as_bytes(wa: WA) -> None:
    wa_id = wa.persona()
    data = b"%PDF-1.4 price list"
    inbound = wa.customer_writes(
        wa_id,
        "document",
        data_base64=base64.b64encode(data).decode(),
        mime_type="application/pdf",
        filename="prices.pdf",
    )
    document = inbound["message"]["document"]
    assert document["filename"] == "prices.pdf"
    assert document["sha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    url = wa.get(f"/{document['id']}").json()["url"]
    assert httpx.get(url, headers=wa.headers).content == data


def test_tick_emits_what_is_due(wa: WA, sandbox: Sandbox) -> None:
    wa_id = wa.chatting_persona()
    message_id = wa.send_ok(wa_id)
    sandbox.advance(1)
    assert wa.control("POST", "/tick") == {"success": True}
    wa.wait_status(message_id, "delivered")
