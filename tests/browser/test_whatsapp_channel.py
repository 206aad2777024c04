"""A seller connects a WhatsApp Business number from the Channels page, told as stories: the
product served over HTTP, the number created in the Meta sandbox (its WhatsApp Cloud API)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from meta_sandbox.testing import Sandbox
from socialsell.settings import Settings
from tests.browser.conftest import ARTIFACTS, nav_link, register
from tests.helpers.instagram import sandbox_settings
from tests.whatsapp.helpers import create_account

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return sandbox_settings(settings, sandbox)


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"whatsapp-channel-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def field_error(dialog: Locator, label: str) -> Locator:
    """The error shown under a field (the input points at it with aria-describedby)."""
    return dialog.locator(".field", has=dialog.page.get_by_label(label, exact=True)).locator(
        ".field__error"
    )


async def test_a_seller_connects_a_whatsapp_number_and_sees_its_health(
    browser_page: Page, sandbox: Sandbox
) -> None:
    page = browser_page
    account = create_account(
        sandbox,
        business_name="Sunny Shop",
        verified_name="Sunny Shop",
        quality_rating="GREEN",
        messaging_limit_tier="TIER_1K",
    )
    await register(page)
    await nav_link(page, "Channels").click()
    await expect(page.get_by_role("heading", name="No WhatsApp number yet")).to_be_visible()

    await page.get_by_role("button", name="Connect WhatsApp number").click()
    dialog = page.get_by_role("dialog", name="Connect a WhatsApp number")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_text("docs/whatsapp.md")).to_be_visible()

    # A value that is not an id at all is refused before Meta is asked.
    await dialog.get_by_label("WhatsApp Business Account ID").fill("my account")
    await dialog.get_by_label("Phone number ID").fill(account["phone_number_id"])
    await dialog.get_by_label("System user access token").fill(account["access_token"])
    await dialog.get_by_role("button", name="Connect number").click()
    await expect(field_error(dialog, "WhatsApp Business Account ID")).to_have_text(
        "Enter the ID as Meta shows it: digits only, no spaces."
    )
    await expect(dialog.get_by_label("WhatsApp Business Account ID")).to_be_focused()

    # A phone number id Meta does not know: said next to that field, the others kept.
    await dialog.get_by_label("WhatsApp Business Account ID").fill(account["waba_id"])
    await dialog.get_by_label("Phone number ID").fill("100000000000001")
    await dialog.get_by_label("System user access token").fill(account["access_token"])
    await dialog.get_by_role("button", name="Connect number").click()
    await expect(field_error(dialog, "Phone number ID")).to_contain_text(
        "Meta does not know this phone number id"
    )
    await expect(field_error(dialog, "WhatsApp Business Account ID")).to_have_count(0)
    await expect(dialog.get_by_label("WhatsApp Business Account ID")).to_have_value(
        account["waba_id"]
    )
    # The token is never sent back into the page.
    await expect(dialog.get_by_label("System user access token")).to_have_value("")
    await screenshot(page, "wrong-id")

    await dialog.get_by_label("Phone number ID").fill(account["phone_number_id"])
    await dialog.get_by_label("System user access token").fill(account["access_token"])
    await dialog.get_by_role("button", name="Connect number").click()

    await expect(page.get_by_text("WhatsApp number Sunny Shop is connected.")).to_be_visible()
    card = page.get_by_role("article", name="Sunny Shop")
    await expect(card.get_by_text("Active", exact=True)).to_be_visible()
    await expect(card.locator("[data-wa-number]")).to_have_text(account["display_phone_number"])
    await expect(card.locator("[data-wa-quality]")).to_contain_text("High")
    await expect(card.locator("[data-wa-limit]")).to_have_text("1,000 customers a day")
    await expect(card.get_by_role("link", name="Templates", exact=True)).to_have_attribute(
        "href", re.compile(r"^/whatsapp/[0-9a-f-]{36}/templates$")
    )
    await expect(card.get_by_role("link", name="Costs", exact=True)).to_have_attribute(
        "href", "/whatsapp/costs"
    )
    await screenshot(page, "connected-light")
    await page.emulate_media(color_scheme="dark")
    await screenshot(page, "connected-dark")
    await page.emulate_media(color_scheme="light")

    # Meta lowers the number's quality and raises its limit: Sync shows both.
    response = sandbox.client.patch(
        f"/_sandbox/whatsapp/phone_numbers/{account['phone_number_id']}",
        json={"quality_rating": "RED", "messaging_limit_tier": "TIER_10K"},
    )
    response.raise_for_status()
    await card.get_by_role("button", name="Sync").click()
    await expect(page.get_by_text("Sunny Shop is up to date.")).to_be_visible()
    await expect(card.locator("[data-wa-quality]")).to_contain_text("Low")
    await expect(card.locator("[data-wa-limit]")).to_have_text("10,000 customers a day")

    await page.set_viewport_size({"width": 375, "height": 740})
    await expect(card.locator("[data-wa-quality]")).to_be_visible()
    await screenshot(page, "375")


async def test_a_seller_disconnects_a_whatsapp_number(browser_page: Page, sandbox: Sandbox) -> None:
    page = browser_page
    account = create_account(sandbox, business_name="Corner Store", verified_name="Corner Store")
    await register(page)
    await page.goto("/channels")
    await page.get_by_role("button", name="Connect WhatsApp number").click()
    dialog = page.get_by_role("dialog", name="Connect a WhatsApp number")
    await dialog.get_by_label("WhatsApp Business Account ID").fill(account["waba_id"])
    await dialog.get_by_label("Phone number ID").fill(account["phone_number_id"])
    await dialog.get_by_label("System user access token").fill(account["access_token"])
    await dialog.get_by_label("System user access token").press("Enter")
    card = page.get_by_role("article", name="Corner Store")
    await expect(card.get_by_text("Active", exact=True)).to_be_visible()

    await card.get_by_role("button", name="Disconnect").click()
    confirm = page.get_by_role("dialog", name="Disconnect Corner Store?")
    await confirm.get_by_role("button", name="Disconnect").click()
    await expect(page.get_by_text("Corner Store is disconnected.")).to_be_visible()
    await expect(card.get_by_text("Disconnected", exact=True)).to_be_visible()
    await expect(card.get_by_role("button", name="Sync")).to_have_count(0)
