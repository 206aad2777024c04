"""Sending messages: every type, replies, mark as read, the service window, statuses, errors."""

from __future__ import annotations

import pytest

from meta_sandbox.testing import Sandbox

from .support import WA, assert_shape, expect_error, expect_wa_error, fixture, payload_of

LIST = {
    "type": "list",
    "header": {"type": "text", "text": "Shipping"},
    "body": {"text": "How fast do you need it?"},
    "footer": {"text": "Prices include tax"},
    "action": {
        "button": "Options",
        "sections": [
            {
                "title": "Fast",
                "rows": [
                    {
                        "id": "priority_express",
                        "title": "Priority Mail Express",
                        "description": "Next Day to 2 Days",
                    }
                ],
            },
            {"title": "Cheap", "rows": [{"id": "ground", "title": "Ground"}]},
        ],
    },
}
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


def test_text_reply_in_window_goes_sent_delivered_read(wa: WA, sandbox: Sandbox) -> None:
    wa_id = wa.persona()
    inbound = wa.customer_writes(wa_id)
    response = wa.send(
        wa_id,
        "text",
        text={"body": "Yes, in blue", "preview_url": False},
        context={"message_id": inbound["id"]},
    )
    assert response.status_code == 200
    body = response.json()
    assert_shape(body, fixture("send_response"))
    assert body["contacts"] == [{"input": wa_id, "wa_id": wa_id}]
    message_id = body["messages"][0]["id"]
    assert message_id.startswith("wamid.")

    sent = wa.wait_status(message_id, "sent")
    assert_shape(payload_of(sent), fixture("webhook_status_sent"))
    status = sent["value"]["statuses"][0]
    assert status["recipient_id"] == wa_id
    assert status["pricing"] == {
        "billable": False,
        "pricing_model": "PMP",
        "category": "service",
        "type": "free_customer_service",
    }
    assert status["conversation"]["origin"] == {"type": "service"}
    assert sent["value"]["metadata"] == {
        "display_phone_number": wa.number,
        "phone_number_id": wa.phone_id,
    }

    sandbox.advance(1)
    delivered = wa.wait_status(message_id, "delivered")
    assert_shape(payload_of(delivered), fixture("webhook_status_delivered"))
    sandbox.advance(2)
    wa.wait_status(message_id, "read")
    assert wa.statuses_of(message_id) == ["sent", "delivered", "read"]

    [record] = wa.sent()
    assert record["context_message_id"] == inbound["id"]
    assert record["text"] == "Yes, in blue"
    assert [s["status"] for s in record["statuses"]] == ["sent", "delivered", "read"]


def test_persona_without_auto_read_stops_at_delivered_until_it_reads(
    wa: WA, sandbox: Sandbox
) -> None:
    wa_id = wa.chatting_persona(auto_read=False)
    message_id = wa.send_ok(wa_id)
    sandbox.advance(10)
    wa.wait_status(message_id, "delivered")
    assert wa.statuses_of(message_id) == ["sent", "delivered"]
    wa.control("POST", f"/messages/{message_id}/read")
    wa.wait_status(message_id, "read")


def test_free_form_outside_window_fails_with_131047(wa: WA, sandbox: Sandbox) -> None:
    never_wrote = wa.persona("Silent Sam")
    message_id = wa.send_ok(never_wrote)
    failed = wa.wait_status(message_id, "failed")
    assert_shape(payload_of(failed), fixture("webhook_status_failed"))
    assert failed["value"]["statuses"][0]["errors"][0]["code"] == 131047

    wrote_long_ago = wa.chatting_persona("Old Olga")
    sandbox.advance(24 * 3600 + 1)
    late = wa.send_ok(wrote_long_ago)
    error = wa.wait_status(late, "failed")["value"]["statuses"][0]["errors"][0]
    assert error["title"] == "Re-engagement message"


def test_window_can_be_enforced_synchronously(wa: WA) -> None:
    wa.patch_number(window_enforcement="sync")
    error = expect_wa_error(wa.send(wa.persona()), 131047)
    assert "24 hours" in error["error_data"]["details"]


def test_unknown_or_unreachable_recipient_fails_with_131026(wa: WA) -> None:
    wa_id = wa.chatting_persona()
    wa.control("PATCH", f"/personas/{wa_id}", json={"reachable": False})
    message_id = wa.send_ok(wa_id)
    error = wa.wait_status(message_id, "failed")["value"]["statuses"][0]["errors"][0]
    assert error["code"] == 131026
    assert error["title"] == "Message Undeliverable"


def test_control_makes_a_status_fail(wa: WA) -> None:
    wa_id = wa.chatting_persona()
    message_id = wa.send_ok(wa_id)
    wa.wait_status(message_id, "sent")
    result = wa.control("POST", f"/messages/{message_id}/fail", json={"code": 131049})
    assert result["status"] == "failed"
    failed = wa.wait_status(message_id, "failed")
    assert failed["value"]["statuses"][0]["errors"][0]["code"] == 131049
    response = wa.sandbox.client.post(f"/_sandbox/whatsapp/messages/{message_id}/fail", json={})
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("image", {"image": {"link": "https://example.com/p.jpg", "caption": "New in"}}),
        ("video", {"video": {"link": "https://example.com/v.mp4"}}),
        ("audio", {"audio": {"link": "https://example.com/a.ogg"}}),
        ("document", {"document": {"link": "https://example.com/i.pdf", "filename": "i.pdf"}}),
        ("sticker", {"sticker": {"link": "https://example.com/s.webp"}}),
        ("location", {"location": {"latitude": 37.44, "longitude": -122.16, "name": "Shop"}}),
        ("contacts", {"contacts": [{"name": {"formatted_name": "Shop Support"}}]}),
        ("interactive", {"interactive": BUTTONS}),
        ("interactive", {"interactive": LIST}),
        (
            "interactive",
            {
                "interactive": {
                    "type": "cta_url",
                    "body": {"text": "See the catalog"},
                    "action": {
                        "name": "cta_url",
                        "parameters": {"display_text": "Open", "url": "https://example.com"},
                    },
                }
            },
        ),
    ],
)
def test_every_message_type_is_accepted(wa: WA, kind: str, content: dict[str, object]) -> None:
    wa_id = wa.chatting_persona()
    message_id = wa.send_ok(wa_id, kind, **content)
    wa.wait_status(message_id, "sent")
    [record] = wa.sent()
    assert record["type"] == kind
    assert record["request"][kind] == content[kind]


def test_media_message_by_uploaded_id(wa: WA) -> None:
    wa_id = wa.chatting_persona()
    upload = wa.post(
        f"/{wa.phone_id}/media",
        data={"messaging_product": "whatsapp", "type": "image/png"},
        files={"file": ("dot.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "image/png")},
    )
    media_id = upload.json()["id"]
    wa.send_ok(wa_id, "image", image={"id": media_id})
    expect_wa_error(wa.send(wa_id, "image", image={"id": "999"}), 131009)
    expect_wa_error(wa.send(wa_id, "image", image={}), 131008)


def test_reaction_targets_a_message_of_the_chat(wa: WA) -> None:
    wa_id = wa.persona()
    inbound = wa.customer_writes(wa_id)
    wa.send_ok(wa_id, "reaction", reaction={"message_id": inbound["id"], "emoji": "\U0001f44d"})
    expect_wa_error(
        wa.send(wa_id, "reaction", reaction={"message_id": "wamid.nope", "emoji": "x"}), 131009
    )


def test_mark_as_read_with_typing_indicator(wa: WA) -> None:
    wa_id = wa.persona()
    first = wa.customer_writes(wa_id, text="one")
    second = wa.customer_writes(wa_id, text="two")
    third = wa.customer_writes(wa_id, text="three")
    response = wa.post(
        f"/{wa.phone_id}/messages",
        json={
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": second["id"],
            "typing_indicator": {"type": "text"},
        },
    )
    assert response.status_code == 200
    assert response.json() == fixture("mark_read_response")
    listed = {
        m["id"]: m["is_read"]
        for m in wa.control("GET", f"/phone_numbers/{wa.phone_id}/inbound")["data"]
    }
    assert listed == {first["id"]: True, second["id"]: True, third["id"]: False}

    bad_indicator = wa.post(
        f"/{wa.phone_id}/messages",
        json={
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": third["id"],
            "typing_indicator": {"type": "audio"},
        },
    )
    expect_error(bad_indicator, 100)

    unknown = wa.post(
        f"/{wa.phone_id}/messages",
        json={"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"},
    )
    expect_error(unknown, 100)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"to": "16505551234", "type": "text", "text": {"body": "x"}}, 100),
        ({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, 100),
        ({"messaging_product": "whatsapp", "to": "1650", "type": "text"}, 100),
        ({"messaging_product": "whatsapp", "to": "16505551234", "type": "carrier_pigeon"}, 100),
        ({"messaging_product": "whatsapp", "to": "16505551234", "type": "text"}, 131008),
        (
            {"messaging_product": "whatsapp", "to": "16505551234", "text": {"body": "x" * 4097}},
            131009,
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": "16505551234",
                "type": "interactive",
                "interactive": {
                    **BUTTONS,
                    "action": {
                        "buttons": [
                            {"type": "reply", "reply": {"id": str(i), "title": f"B{i}"}}
                            for i in range(4)
                        ]
                    },
                },
            },
            131009,
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": "16505551234",
                "type": "interactive",
                "interactive": {
                    **BUTTONS,
                    "action": {
                        "buttons": [{"type": "reply", "reply": {"id": "a", "title": "x" * 21}}]
                    },
                },
            },
            131009,
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": "16505551234",
                "type": "location",
                "location": {"latitude": 95, "longitude": 0},
            },
            131009,
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": "16505551234",
                "type": "text",
                "text": {"body": "x"},
                "context": {},
            },
            131008,
        ),
    ],
)
def test_invalid_send_bodies(wa: WA, body: dict[str, object], code: int) -> None:
    response = wa.post(f"/{wa.phone_id}/messages", json=body)
    error = expect_error(response, code)
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert "error_subcode" not in error


def test_recipient_cannot_be_sender(wa: WA) -> None:
    expect_wa_error(wa.send(wa.number), 131021)


def test_pair_rate_limit_131056(wa: WA, sandbox: Sandbox) -> None:
    wa.patch_number(pair_burst=2, pair_refill_seconds=6)
    wa_id = wa.chatting_persona()
    wa.send_ok(wa_id)
    wa.send_ok(wa_id)
    expect_wa_error(wa.send(wa_id), 131056)
    other = wa.chatting_persona("Other customer")
    wa.send_ok(other)  # the limit is per (business, customer) pair
    sandbox.advance(6)
    wa.send_ok(wa_id)


def test_throughput_limit_130429(wa: WA, sandbox: Sandbox) -> None:
    wa.patch_number(throughput_mps=3)
    customers = [wa.chatting_persona(f"Customer {i}") for i in range(4)]
    for wa_id in customers[:3]:
        wa.send_ok(wa_id)
    expect_wa_error(wa.send(customers[3]), 130429)
    sandbox.advance(1)
    wa.send_ok(customers[3])


def test_sent_list_is_oldest_first(wa: WA) -> None:
    wa_id = wa.chatting_persona()
    ids = [wa.send_ok(wa_id, "text", text={"body": f"m{i}"}) for i in range(3)]
    assert [m["id"] for m in wa.sent()] == ids
    assert [m["text"] for m in wa.sent()] == ["m0", "m1", "m2"]


def test_token_in_query_and_unversioned_path(wa: WA) -> None:
    wa_id = wa.chatting_persona()
    response = wa.sandbox.client.post(
        f"/{wa.phone_id}/messages",
        params={"access_token": wa.token},
        json={"messaging_product": "whatsapp", "to": wa_id, "text": {"body": "hi"}},
    )
    assert response.status_code == 200, response.text
