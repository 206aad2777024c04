"""WhatsApp Cloud API: request shapes as the reference and the OpenAPI spec state."""

from __future__ import annotations

import httpx
import pytest
import respx

from socialsell.meta import (
    MetaClient,
    MetaConfig,
    OutsideMessagingWindow,
    TemplateNotFound,
    TemplateParamMismatch,
    WhatsAppClient,
)

from .helpers import FB, TOKEN, graph_error, json_body

PHONE_ID = "106853218861309"
WABA_ID = "102290129340398"
TO = "+16505551234"

SENT = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": TO, "wa_id": "16505551234"}],
    "messages": [{"id": "wamid.ABC", "message_status": "accepted"}],
}


@pytest.fixture
def wa(meta: MetaClient) -> WhatsAppClient:
    return meta.whatsapp(TOKEN, PHONE_ID, WABA_ID)


def ok(payload: object) -> httpx.Response:
    return httpx.Response(200, json=payload)


@pytest.fixture
def messages(router: respx.MockRouter) -> respx.Route:
    return router.post(f"{FB}/{PHONE_ID}/messages").mock(return_value=ok(SENT))


# --- phone number and subscription -----------------------------------------------------------


async def test_phone_number(wa: WhatsAppClient, router: respx.MockRouter) -> None:
    route = router.get(f"{FB}/{PHONE_ID}").mock(
        return_value=ok(
            {
                "id": PHONE_ID,
                "display_phone_number": "+1 631-555-5555",
                "verified_name": "Jasper's Market",
                "quality_rating": "GREEN",
                "messaging_limit_tier": "TIER_1K",
            }
        )
    )

    phone = await wa.get_phone_number()

    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.url.params["fields"] == (
        "id,display_phone_number,verified_name,quality_rating,messaging_limit_tier"
    )
    assert phone.display_phone_number == "+1 631-555-5555"
    assert phone.verified_name == "Jasper's Market"
    assert phone.quality_rating == "GREEN"
    assert phone.messaging_limit_tier == "TIER_1K"


async def test_subscribe_app_to_waba(wa: WhatsAppClient, router: respx.MockRouter) -> None:
    route = router.post(f"{FB}/{WABA_ID}/subscribed_apps").mock(return_value=ok({"success": True}))

    await wa.subscribe_app()
    await wa.subscribe_app(override_callback_uri="https://hook.test/wa", verify_token="vt")

    assert route.calls[0].request.content == b""
    assert json_body(route.calls[1].request) == {
        "override_callback_uri": "https://hook.test/wa",
        "verify_token": "vt",
    }


async def test_list_subscribed_apps_unwraps_app_data(
    wa: WhatsAppClient, router: respx.MockRouter
) -> None:
    router.get(f"{FB}/{WABA_ID}/subscribed_apps").mock(
        return_value=ok(
            {"data": [{"whatsapp_business_api_data": {"id": "1234", "name": "socialsell"}}]}
        )
    )

    [app] = await wa.list_subscribed_apps()

    assert (app.id, app.name) == ("1234", "socialsell")


async def test_waba_calls_need_waba_id(meta: MetaClient) -> None:
    with pytest.raises(ValueError, match="waba_id"):
        await meta.whatsapp(TOKEN, PHONE_ID).list_templates()


# --- sending ---------------------------------------------------------------------------------


async def test_send_text_with_reply_context(wa: WhatsAppClient, messages: respx.Route) -> None:
    result = await wa.send_text(TO, "Yes, in stock", reply_to="wamid.IN")

    assert json_body(messages.calls.last.request) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"body": "Yes, in stock", "preview_url": False},
        "context": {"message_id": "wamid.IN"},
    }
    assert result.message_id == "wamid.ABC"
    assert result.contacts[0].wa_id == "16505551234"
    assert result.messages[0].message_status == "accepted"


async def test_send_text_without_reply_has_no_context(
    wa: WhatsAppClient, messages: respx.Route
) -> None:
    await wa.send_text(TO, "hi")

    assert "context" not in json_body(messages.calls.last.request)


async def test_send_media_by_link_and_by_id(wa: WhatsAppClient, messages: respx.Route) -> None:
    await wa.send_media(TO, "image", link="https://cdn.test/p.jpg", caption="Red bag")
    await wa.send_media(TO, "document", media_id="m-1", filename="invoice.pdf")

    first, second = (json_body(call.request) for call in messages.calls)
    assert first["type"] == "image"
    assert first["image"] == {"link": "https://cdn.test/p.jpg", "caption": "Red bag"}
    assert second["type"] == "document"
    assert second["document"] == {"id": "m-1", "filename": "invoice.pdf"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "image"},
        {"kind": "image", "link": "https://x", "media_id": "1"},
        {"kind": "audio", "link": "https://x", "caption": "no captions on audio"},
        {"kind": "image", "link": "https://x", "filename": "only for documents"},
        {"kind": "image", "link": "https://x", "caption": "x" * 1025},
    ],
)
async def test_send_media_rejects_shapes_meta_refuses(
    wa: WhatsAppClient, kwargs: dict[str, str]
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        await wa.send_media(TO, **kwargs)  # type: ignore[arg-type]


async def test_send_template(wa: WhatsAppClient, messages: respx.Route) -> None:
    components = [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x/h.jpg"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Alice"}]},
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "0",
            "parameters": [{"type": "payload", "payload": "STOP"}],
        },
    ]

    await wa.send_template(TO, "order_update", "en_US", components=components)

    body = json_body(messages.calls.last.request)
    assert body["type"] == "template"
    assert body["template"] == {
        "name": "order_update",
        "language": {"policy": "deterministic", "code": "en_US"},
        "components": components,
    }


async def test_send_reply_buttons(wa: WhatsAppClient, messages: respx.Route) -> None:
    await wa.send_reply_buttons(
        TO, "Which size?", [("s", "Small"), ("m", "Medium")], footer="Reply to choose"
    )

    body = json_body(messages.calls.last.request)
    assert body["type"] == "interactive"
    assert body["interactive"] == {
        "type": "button",
        "body": {"text": "Which size?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "s", "title": "Small"}},
                {"type": "reply", "reply": {"id": "m", "title": "Medium"}},
            ]
        },
        "footer": {"text": "Reply to choose"},
    }


async def test_reply_buttons_limits(wa: WhatsAppClient) -> None:
    with pytest.raises(ValueError, match="1 to 3"):
        await wa.send_reply_buttons(TO, "?", [(str(i), str(i)) for i in range(4)])
    with pytest.raises(ValueError, match="20 characters"):
        await wa.send_reply_buttons(TO, "?", [("a", "x" * 21)])


async def test_send_list_interactive_passes_through(
    wa: WhatsAppClient, messages: respx.Route
) -> None:
    interactive = {
        "type": "list",
        "body": {"text": "Pick"},
        "action": {
            "button": "Options",
            "sections": [{"title": "A", "rows": [{"id": "1", "title": "One"}]}],
        },
    }

    await wa.send_interactive(TO, interactive, reply_to="wamid.IN")

    body = json_body(messages.calls.last.request)
    assert body["interactive"] == interactive
    assert body["context"] == {"message_id": "wamid.IN"}


async def test_send_reaction(wa: WhatsAppClient, messages: respx.Route) -> None:
    await wa.send_reaction(TO, "wamid.IN", "👍")

    body = json_body(messages.calls.last.request)
    assert body["type"] == "reaction"
    assert body["reaction"] == {"message_id": "wamid.IN", "emoji": "👍"}


async def test_mark_as_read_with_and_without_typing(
    wa: WhatsAppClient, router: respx.MockRouter
) -> None:
    route = router.post(f"{FB}/{PHONE_ID}/messages").mock(return_value=ok({"success": True}))

    await wa.mark_as_read("wamid.IN")
    await wa.mark_as_read("wamid.IN", typing_indicator=True)

    assert json_body(route.calls[0].request) == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN",
    }
    assert json_body(route.calls[1].request)["typing_indicator"] == {"type": "text"}


async def test_outside_window_error(wa: WhatsAppClient, router: respx.MockRouter) -> None:
    router.post(f"{FB}/{PHONE_ID}/messages").mock(
        return_value=graph_error(
            131047,
            message="Re-engagement message",
            error_data={"messaging_product": "whatsapp", "details": "More than 24 hours"},
        )
    )

    with pytest.raises(OutsideMessagingWindow) as info:
        await wa.send_text(TO, "late")

    assert info.value.details == "More than 24 hours"


@pytest.mark.parametrize(
    ("code", "expected"), [(132000, TemplateParamMismatch), (132001, TemplateNotFound)]
)
async def test_template_errors(
    wa: WhatsAppClient,
    router: respx.MockRouter,
    code: int,
    expected: type[Exception],
) -> None:
    router.post(f"{FB}/{PHONE_ID}/messages").mock(return_value=graph_error(code))

    with pytest.raises(expected):
        await wa.send_template(TO, "nope", "en_US")


# --- media -----------------------------------------------------------------------------------


async def test_upload_media_is_multipart(wa: WhatsAppClient, router: respx.MockRouter) -> None:
    route = router.post(f"{FB}/{PHONE_ID}/media").mock(return_value=ok({"id": "4490709327384033"}))

    media_id = await wa.upload_media(b"\xff\xd8jpegbytes", mime_type="image/jpeg", filename="p.jpg")

    request = route.calls.last.request
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    content = request.content
    assert b'name="messaging_product"\r\n\r\nwhatsapp' in content
    assert b'name="type"\r\n\r\nimage/jpeg' in content
    assert b'name="file"; filename="p.jpg"' in content
    assert b"\xff\xd8jpegbytes" in content
    assert media_id == "4490709327384033"


async def test_get_and_download_media(wa: WhatsAppClient, router: respx.MockRouter) -> None:
    url = "https://lookaside.fbsbx.test/whatsapp_business/attachments/?mid=1"
    info_route = router.get(f"{FB}/media-1").mock(
        return_value=ok(
            {
                "messaging_product": "whatsapp",
                "url": url,
                "mime_type": "image/jpeg",
                "sha256": "abc",
                "file_size": 303833,
                "id": "media-1",
            }
        )
    )
    download = router.get(url).mock(return_value=httpx.Response(200, content=b"JPEG"))

    info = await wa.get_media("media-1")
    content = await wa.download_media(info.url)

    assert info_route.calls.last.request.url.params["phone_number_id"] == PHONE_ID
    assert info.file_size == 303833
    assert content == b"JPEG"
    assert download.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_token_goes_over_plain_http_only_to_a_configured_base(
    router: respx.MockRouter,
) -> None:
    config = MetaConfig.single_host("http://127.0.0.1:8100", app_id="1", app_secret="s")
    async with MetaClient(config) as meta:
        wa = meta.whatsapp(TOKEN, PHONE_ID)
        with pytest.raises(ValueError, match="refusing"):
            await wa.download_media("http://evil.test/steal")
        router.get("http://127.0.0.1:8100/media/1").mock(
            return_value=httpx.Response(200, content=b"x")
        )

        assert await wa.download_media("http://127.0.0.1:8100/media/1") == b"x"


async def test_delete_media(wa: WhatsAppClient, router: respx.MockRouter) -> None:
    route = router.delete(f"{FB}/media-1").mock(return_value=ok({"success": True}))

    await wa.delete_media("media-1")

    assert route.calls.last.request.url.params["phone_number_id"] == PHONE_ID


# --- templates -------------------------------------------------------------------------------


async def test_list_templates_with_paging(wa: WhatsAppClient, router: respx.MockRouter) -> None:
    route = router.get(f"{FB}/{WABA_ID}/message_templates").mock(
        return_value=ok(
            {
                "data": [
                    {
                        "id": "t1",
                        "name": "order_update",
                        "language": "en_US",
                        "status": "APPROVED",
                        "category": "UTILITY",
                        "components": [{"type": "BODY", "text": "Hi {{1}}"}],
                    }
                ],
                "paging": {"cursors": {"before": "b", "after": "a"}, "next": "https://next"},
            }
        )
    )

    page = await wa.list_templates(name="order_update", limit=10)

    params = route.calls.last.request.url.params
    assert params["name"] == "order_update"
    assert params["limit"] == "10"
    assert page.data[0].status == "APPROVED"
    assert page.data[0].components[0]["text"] == "Hi {{1}}"
    assert page.next_cursor == "a"


async def test_create_template(wa: WhatsAppClient, router: respx.MockRouter) -> None:
    route = router.post(f"{FB}/{WABA_ID}/message_templates").mock(
        return_value=ok({"id": "t9", "status": "PENDING", "category": "MARKETING"})
    )
    components = [{"type": "BODY", "text": "Sale {{1}}", "example": {"body_text": [["50%"]]}}]

    created = await wa.create_template(
        name="sale", category="MARKETING", language="en_US", components=components
    )

    assert json_body(route.calls.last.request) == {
        "name": "sale",
        "category": "MARKETING",
        "language": "en_US",
        "components": components,
    }
    assert (created.id, created.status) == ("t9", "PENDING")


async def test_delete_template(wa: WhatsAppClient, router: respx.MockRouter) -> None:
    route = router.delete(f"{FB}/{WABA_ID}/message_templates").mock(
        return_value=ok({"success": True})
    )

    await wa.delete_template("sale")
    await wa.delete_template("sale", template_id="t9")

    assert dict(route.calls[0].request.url.params) == {"name": "sale"}
    assert dict(route.calls[1].request.url.params) == {"name": "sale", "hsm_id": "t9"}
