"""A seller answers customers from the Inbox, told as stories: the product served over HTTP, an
Instagram account connected through the Meta sandbox, whose signed webhooks reach the product
while the seller watches the page."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from meta_sandbox.testing import Sandbox
from socialsell.settings import Settings
from tests.browser.conftest import ARTIFACTS, nav_link, register
from tests.conftest import LiveServer
from tests.helpers.instagram import sandbox_settings

pytestmark = pytest.mark.browser

LIVE = 2_000  # ms: a message shows in the open inbox within two seconds, without a reload


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return sandbox_settings(settings, sandbox)


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"inbox-{name}.png"
    await page.screenshot(path=str(path), full_page=False)
    return path


async def connect_shop(
    page: Page, sandbox: Sandbox, live_server: LiveServer, settings: Settings
) -> dict[str, Any]:
    """The seller signs up and connects @sunny_shop on Instagram's (the sandbox's) consent
    page; Meta's webhooks for the app go to this product."""
    account = sandbox.create_account("sunny_shop", name="Sunny Shop")
    await register(page)
    await page.goto("/channels/instagram/connect")
    await page.get_by_role("radio", name=re.compile("@sunny_shop")).check()
    await page.get_by_role("button", name="Allow").click()
    await expect(page.get_by_text("@sunny_shop is connected.")).to_be_visible()
    sandbox.subscribe_webhooks(
        "instagram",
        f"{live_server.url}/webhooks/instagram",
        settings.meta_webhook_verify_token.get_secret_value(),
    )
    return account


def png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 60), "crimson").save(buffer, format="PNG")
    return buffer.getvalue()


def sent_texts(sandbox: Sandbox, ig_id: str) -> list[str]:
    data = sandbox.client.get(f"/_sandbox/instagram/accounts/{ig_id}/sent").json()["data"]
    return [m["text"] for m in data]


async def test_a_customer_writes_and_the_seller_answers_from_the_open_inbox(
    browser_page: Page, sandbox: Sandbox, live_server: LiveServer, settings: Settings
) -> None:
    page = browser_page
    account = await connect_shop(page, sandbox, live_server, settings)
    ig_id = str(account["id"])

    await nav_link(page, "Inbox").click()
    await expect(page.get_by_role("heading", name="No conversations yet")).to_be_visible()

    # Maria writes on Instagram: her conversation appears at once, unread, in bold.
    sandbox.inbound(ig_id, "maria_buys", "Hi! Is the red dress available?")
    conversations = page.get_by_role("list", name="Conversations")
    maria = conversations.get_by_role("link", name=re.compile("Is the red dress available"))
    await expect(maria).to_be_visible(timeout=LIVE)
    await expect(page.locator(".conv--unread")).to_have_count(1)
    await expect(page).to_have_title("(1) Inbox · socialsell")

    await maria.click()
    thread = page.get_by_role("log", name="Messages")
    await expect(thread.get_by_text("Hi! Is the red dress available?")).to_be_visible()
    await expect(page.get_by_text("Messaging window:")).to_be_visible()
    await expect(page).to_have_title("Inbox · socialsell")

    # While the seller reads, Maria adds something: it appears in the open thread.
    sandbox.advance(1)
    started = time.monotonic()
    sandbox.inbound(ig_id, "maria_buys", "Size M please")
    await expect(thread.get_by_text("Size M please")).to_be_visible(timeout=LIVE)
    assert time.monotonic() - started < 2.5

    # The seller answers: types, presses Enter.
    reply = page.get_by_label("Your reply")
    await reply.fill("Yes! Size M is in stock, R$ 120.")
    await reply.press("Enter")
    mine = thread.locator(".msg--out").filter(has_text="Yes! Size M is in stock, R$ 120.")
    await expect(mine).to_be_visible()
    await expect(mine.get_by_text("Sent", exact=True)).to_be_attached()
    await expect(reply).to_have_value("")
    assert sent_texts(sandbox, ig_id) == ["Yes! Size M is in stock, R$ 120."]

    # Shift+Enter makes a new line instead of sending.
    await reply.fill("Line one")
    await reply.press("Shift+Enter")
    await reply.type("line two")
    await expect(reply).to_have_value("Line one\nline two")
    assert sent_texts(sandbox, ig_id) == ["Yes! Size M is in stock, R$ 120."]
    await reply.fill("")

    # A photo: previewed before sending, sent with Enter, shown in the thread.
    await page.locator("[data-image-input]").set_input_files(
        {"name": "dress-back.png", "mimeType": "image/png", "buffer": png()}
    )
    preview = page.get_by_role("img", name="The image to send")
    await expect(preview).to_be_visible()
    await reply.press("Enter")
    await expect(thread.locator(".msg--out.msg--image img")).to_be_visible()
    await expect(preview).to_be_hidden()
    assert len(sent_texts(sandbox, ig_id)) == 2

    # Someone else writes: a toast says so, and the tab title counts it.
    sandbox.advance(1)
    sandbox.inbound(ig_id, "joao_compra", "Quanto custa o frete?")
    await expect(page.get_by_text(re.compile("New message from"))).to_be_visible(timeout=LIVE)
    await expect(page).to_have_title("(1) Inbox · socialsell")
    await expect(page.locator("[data-inbox-badge]")).to_have_text(re.compile("1"))
    await expect(conversations.get_by_role("link", name=re.compile("Quanto custa"))).to_be_visible()

    await screenshot(page, "thread-light")
    await page.emulate_media(color_scheme="dark")
    await screenshot(page, "thread-dark")
    await page.emulate_media(color_scheme="light")


async def test_on_a_phone_the_list_and_the_thread_are_two_screens(
    browser_page: Page, sandbox: Sandbox, live_server: LiveServer, settings: Settings
) -> None:
    page = browser_page
    account = await connect_shop(page, sandbox, live_server, settings)
    sandbox.inbound(str(account["id"]), "maria_buys", "Do you ship to Recife?")
    await page.set_viewport_size({"width": 375, "height": 740})
    await page.goto("/inbox")

    conversation = page.get_by_role("link", name=re.compile("Do you ship to Recife"))
    await expect(conversation).to_be_visible(timeout=LIVE)
    await screenshot(page, "list-375")
    await conversation.click()

    thread = page.get_by_role("log", name="Messages")
    await expect(thread.get_by_text("Do you ship to Recife?")).to_be_visible()
    await expect(page.get_by_role("list", name="Conversations")).to_be_hidden()
    await expect(page.get_by_label("Your reply")).to_be_visible()
    await screenshot(page, "thread-375")

    await page.get_by_role("link", name="Back to conversations").click()
    await expect(page.get_by_role("list", name="Conversations")).to_be_visible()
    await expect(thread).to_be_hidden()


async def test_searching_finds_the_message_and_opens_it(
    browser_page: Page, sandbox: Sandbox, live_server: LiveServer, settings: Settings
) -> None:
    page = browser_page
    account = await connect_shop(page, sandbox, live_server, settings)
    sandbox.inbound(str(account["id"]), "maria_buys", "Do you ship to Recife?")
    sandbox.advance(1)
    sandbox.inbound(str(account["id"]), "joao_compra", "Bom dia")
    await page.goto("/inbox")
    await expect(page.get_by_role("link", name=re.compile("Bom dia"))).to_be_visible(timeout=LIVE)

    await page.get_by_role("searchbox", name="Search messages").fill("recife")
    hit = page.get_by_role("list", name="Search results").get_by_role("link")
    await expect(hit).to_have_count(1)
    await expect(hit.locator("mark")).to_have_text("Recife")
    await hit.click()
    await expect(
        page.get_by_role("log", name="Messages").get_by_text("Do you ship")
    ).to_be_visible()
    await expect(page.locator(".msg.is-found")).to_have_count(1)
