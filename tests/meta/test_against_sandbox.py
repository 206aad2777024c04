"""The Meta client against the sandbox, over real HTTP (no respx).

These check that the client and the emulator agree on the reference's shapes; the unit tests
check each shape in isolation. The sandbox's control API (``/_sandbox/...``) plays the test user
and inspects what the client did.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from meta_sandbox.testing import Sandbox
from socialsell.meta import (
    InstagramClient,
    InstagramOAuth,
    MetaClient,
    MetaConfig,
    OutsideMessagingWindow,
    RateLimited,
    TokenExpired,
    TransientError,
    WhatsAppClient,
)

REDIRECT = "https://app.test/channels/instagram/callback"
SCOPES = [
    "instagram_business_basic",
    "instagram_business_manage_messages",
    "instagram_business_content_publish",
]


@pytest.fixture
async def meta(sandbox: Sandbox) -> AsyncIterator[MetaClient]:
    config = MetaConfig.single_host(
        sandbox.url,
        app_id=sandbox.app_id,
        app_secret=sandbox.app_secret,
        backoff_base_seconds=0.01,
        backoff_max_seconds=0.05,
    )
    async with MetaClient(config) as client:
        yield client


@pytest.fixture
def shop(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.create_account("shop_test")


@pytest.fixture
def account(meta: MetaClient, shop: dict[str, Any]) -> InstagramClient:
    return meta.instagram(shop["access_token"], shop["id"])


async def test_oauth_code_to_long_lived_token_to_profile_and_refresh(
    meta: MetaClient,
    sandbox: Sandbox,
    shop: dict[str, Any],
) -> None:
    authorize = httpx.URL(
        meta.oauth.authorize_url(redirect_uri=REDIRECT, scopes=SCOPES, state="csrf-1")
    )
    page = sandbox.client.get(str(authorize))
    assert page.status_code == 200
    # Play the user: pick the account and allow, as the consent form would post.
    decision = sandbox.client.post(
        "/oauth/authorize",
        data={**dict(authorize.params), "account_id": shop["id"], "decision": "allow"},
    )
    assert decision.status_code == 302
    redirect = httpx.URL(decision.headers["location"])
    assert redirect.params["state"] == "csrf-1"
    code = InstagramOAuth.code_from_redirect(dict(redirect.params))

    short = await meta.oauth.exchange_code(code=code, redirect_uri=REDIRECT)
    long = await meta.oauth.exchange_for_long_lived(short.access_token.get_secret_value())
    profile = await meta.instagram(long.access_token.get_secret_value()).get_profile()

    assert set(SCOPES) <= set(short.permissions)
    assert long.expires_in is not None
    assert long.expires_in > 50 * 86400
    assert profile.user_id == shop["id"]
    assert profile.username == "shop_test"

    sandbox.advance(25 * 3600)  # Meta refreshes only tokens at least 24 h old
    refreshed = await meta.oauth.refresh_long_lived(long.access_token.get_secret_value())
    assert refreshed.expires_in is not None


async def test_send_text_and_image_to_a_customer(
    account: InstagramClient,
    sandbox: Sandbox,
    shop: dict[str, Any],
) -> None:
    inbound = sandbox.inbound(shop["id"], "alice_buyer", "Is the red bag in stock?")
    customer_id = inbound["persona"]["id"]

    text = await account.send_text(customer_id, "Yes! 2 left.", reply_to=inbound["message_id"])
    image = await account.send_image(customer_id, f"{sandbox.url}/_sandbox/samples/image.jpg")

    sent = sandbox.client.get(f"/_sandbox/instagram/accounts/{shop['id']}/sent").json()["data"]
    assert [m["id"] for m in sent] == [text.message_id, image.message_id]
    assert sent[0]["text"] == "Yes! 2 left."
    conversations = await account.list_conversations()
    assert len(conversations.data) == 1
    messages = await account.list_messages(conversations.data[0].id)
    assert text.message_id in {m.id for m in messages.data}


async def test_container_then_publish(
    account: InstagramClient,
    sandbox: Sandbox,
    shop: dict[str, Any],
) -> None:
    container_id = await account.create_image_container(
        f"{sandbox.url}/_sandbox/samples/image.jpg", caption="New arrivals"
    )
    assert (await account.get_container(container_id)).status_code == "IN_PROGRESS"

    sandbox.advance(10)
    assert (await account.get_container(container_id)).status_code == "FINISHED"
    media_id = await account.publish(container_id)

    published = sandbox.client.get(f"/_sandbox/instagram/accounts/{shop['id']}/published")
    assert [m["id"] for m in published.json()["data"]] == [media_id]
    assert (await account.get_container(container_id)).status_code == "PUBLISHED"
    limit = await account.get_publishing_limit()
    assert limit.quota_usage == 1
    assert limit.quota_total is not None


async def test_insights(
    account: InstagramClient,
    sandbox: Sandbox,
) -> None:
    container_id = await account.create_image_container(f"{sandbox.url}/_sandbox/samples/image.jpg")
    sandbox.advance(10)
    media_id = await account.publish(container_id)

    account_metrics = await account.get_account_insights(
        ["reach", "views"], metric_type="total_value"
    )
    media_metrics = await account.get_media_insights(media_id, ["likes", "reach"])

    assert {m.name for m in account_metrics} <= {"reach", "views"}
    assert all(m.total_value is not None for m in account_metrics)
    assert {m.name for m in media_metrics} == {"likes", "reach"}


async def test_rate_limit_fault_is_typed_with_retry_after(
    account: InstagramClient,
    sandbox: Sandbox,
) -> None:
    sandbox.fault("rate_limit", code=4, count=1)

    with pytest.raises(RateLimited) as info:
        await account.get_profile()

    assert info.value.code == 4
    assert info.value.called is True
    assert info.value.retry_after_seconds > 0


async def test_transient_faults_are_retried_until_success(
    account: InstagramClient,
    sandbox: Sandbox,
) -> None:
    sandbox.fault("transient", count=2)

    profile = await account.get_profile()

    assert profile.username == "shop_test"
    calls = sandbox.client.get("/_sandbox/calls").json()["data"]
    assert [c["status"] for c in calls if c["path"].endswith("/me")][-3:] == [500, 500, 200]


async def test_persistent_transient_fault_gives_up_after_four_attempts(
    account: InstagramClient,
    sandbox: Sandbox,
) -> None:
    sandbox.fault("transient", count=10)

    with pytest.raises(TransientError):
        await account.get_profile()

    calls = sandbox.client.get("/_sandbox/calls").json()["data"]
    assert len([c for c in calls if c["path"].endswith("/me")]) == 4


async def test_expired_token(
    account: InstagramClient,
    sandbox: Sandbox,
    shop: dict[str, Any],
) -> None:
    sandbox.client.post(f"/_sandbox/tokens/{shop['access_token']}/expire").raise_for_status()

    with pytest.raises(TokenExpired):
        await account.get_profile()


# --- WhatsApp ------------------------------------------------------------------------------------


@pytest.fixture
def wa_account(sandbox: Sandbox) -> dict[str, Any]:
    response = sandbox.client.post("/_sandbox/whatsapp/accounts", json={"quality_rating": "GREEN"})
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def wa(meta: MetaClient, wa_account: dict[str, Any]) -> WhatsAppClient:
    return meta.whatsapp(
        wa_account["access_token"], wa_account["phone_number_id"], wa_account["waba_id"]
    )


async def test_whatsapp_phone_number_and_subscription(
    wa: WhatsAppClient, wa_account: dict[str, Any]
) -> None:
    phone = await wa.get_phone_number()
    await wa.subscribe_app()
    apps = await wa.list_subscribed_apps()

    assert phone.id == wa_account["phone_number_id"]
    assert phone.display_phone_number == wa_account["display_phone_number"]
    assert phone.quality_rating == "GREEN"
    assert phone.messaging_limit_tier is not None
    assert len(apps) == 1


async def test_whatsapp_reply_inside_window_and_template_outside(
    wa: WhatsAppClient,
    sandbox: Sandbox,
    wa_account: dict[str, Any],
) -> None:
    customer = sandbox.client.post("/_sandbox/whatsapp/personas", json={}).json()["wa_id"]
    stranger = sandbox.client.post("/_sandbox/whatsapp/personas", json={}).json()["wa_id"]
    inbound = sandbox.client.post(
        f"/_sandbox/whatsapp/phone_numbers/{wa_account['phone_number_id']}/inbound",
        json={"from": customer, "type": "text", "text": {"body": "Price of the red bag?"}},
    )
    inbound.raise_for_status()
    incoming_id = inbound.json()["id"]

    await wa.mark_as_read(incoming_id)
    reply = await wa.send_text(customer, "29 EUR", reply_to=incoming_id)
    # Like the Cloud API, the sandbox accepts a send outside the window and fails it later by a
    # status webhook (131047); configured to refuse synchronously, the client types the error.
    accepted = await wa.send_text(stranger, "Hello out of the blue")
    sandbox.client.patch(
        f"/_sandbox/whatsapp/phone_numbers/{wa_account['phone_number_id']}",
        json={"window_enforcement": "sync"},
    ).raise_for_status()
    with pytest.raises(OutsideMessagingWindow):
        await wa.send_text(stranger, "Hello again")

    assert reply.message_id.startswith("wamid.")
    assert accepted.message_id.startswith("wamid.")
    written = sandbox.client.get(
        f"/_sandbox/whatsapp/phone_numbers/{wa_account['phone_number_id']}/inbound"
    ).json()["data"]
    assert [m["is_read"] for m in written if m["id"] == incoming_id] == [True]


async def test_whatsapp_templates_lifecycle(wa: WhatsAppClient) -> None:
    created = await wa.create_template(
        name="order_ready",
        category="UTILITY",
        language="en_US",
        components=[
            {
                "type": "BODY",
                "text": "Your order {{1}} is ready",
                "example": {"body_text": [["42"]]},
            }
        ],
    )
    listed = await wa.list_templates(name="order_ready")
    await wa.delete_template("order_ready")
    after_delete = await wa.list_templates(name="order_ready")

    assert created.status == "PENDING"
    assert [t.id for t in listed.data] == [created.id]
    assert all(t.status in {"DELETED", "PENDING_DELETION"} for t in after_delete.data)


async def test_whatsapp_media_upload_and_download(wa: WhatsAppClient) -> None:
    content = b"%PDF-1.4 sandbox invoice"

    media_id = await wa.upload_media(content, mime_type="application/pdf", filename="invoice.pdf")
    info = await wa.get_media(media_id)
    downloaded = await wa.download_media(info.url)

    assert info.mime_type == "application/pdf"
    assert info.file_size == len(content)
    assert downloaded == content
