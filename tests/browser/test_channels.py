"""A seller connects an Instagram account, told as stories: the product served over HTTP, the
consent page served by the Meta sandbox, in the same browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell.channels.models import Channel
from socialsell.db import create_engine
from socialsell.integrations import secret_box
from socialsell.settings import Settings
from tests.browser.conftest import ARTIFACTS, nav_link, register
from tests.helpers.instagram import sandbox_settings

pytestmark = pytest.mark.browser

DECLINED = (
    "You declined the permissions socialsell asked for, so nothing was connected. "
    "Connect again and accept them to use this account here."
)


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return sandbox_settings(settings, sandbox)


async def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """For a person to look at (test-artifacts/channels-*.png): light, dark, phone."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"channels-{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


async def consent(page: Page, sandbox: Sandbox, username: str, *, allow: bool = True) -> None:
    """On Instagram's (the sandbox's) consent page: pick the account, then allow or cancel."""
    await expect(page).to_have_url(re.compile(re.escape(sandbox.url) + r"/oauth/authorize\?"))
    await expect(page.get_by_role("heading", name=re.compile("wants to access"))).to_be_visible()
    await page.get_by_role("radio", name=re.compile(f"@{username}")).check()
    await page.get_by_role("button", name="Allow" if allow else "Cancel").click()


def card(page: Page, label: str) -> Locator:
    return page.get_by_role("article", name=label)


async def test_a_seller_connects_instagram_and_sees_its_health(
    browser_page: Page, sandbox: Sandbox
) -> None:
    page = browser_page
    sandbox.create_account("sunny_shop", name="Sunny Shop", followers_count=1234)
    await register(page)

    await nav_link(page, "Channels").click()
    await expect(page.get_by_role("heading", name="Connect your Instagram account")).to_be_visible()
    await expect(page.get_by_text("stored encrypted")).to_be_visible()
    await screenshot(page, "empty")
    await page.get_by_role("link", name="Connect Instagram").click()

    await consent(page, sandbox, "sunny_shop")

    await expect(page).to_have_url(re.compile(r"/channels$"))
    await expect(page.get_by_text("@sunny_shop is connected.")).to_be_visible()
    shop = card(page, "@sunny_shop")
    await expect(shop.get_by_text("Active", exact=True)).to_be_visible()
    await expect(shop.get_by_text("1,234 followers")).to_be_visible()
    await expect(shop.get_by_text("59 days left")).to_be_visible()
    await expect(shop.get_by_text("To read and answer DMs")).to_be_visible()
    await expect(shop.get_by_text("New messages and comments arrive at once.")).to_be_visible()
    await screenshot(page, "connected-light")

    await page.emulate_media(color_scheme="dark")
    await screenshot(page, "connected-dark")
    await page.emulate_media(color_scheme="light")
    await page.set_viewport_size({"width": 375, "height": 740})
    await screenshot(page, "connected-375")


async def test_declining_on_instagram_is_explained_on_the_channels_page(
    browser_page: Page, sandbox: Sandbox
) -> None:
    page = browser_page
    sandbox.create_account("shy_shop")
    await register(page)
    await page.goto("/channels")

    await page.get_by_role("link", name="Connect Instagram").click()
    await consent(page, sandbox, "shy_shop", allow=False)

    await expect(page).to_have_url(re.compile(r"/channels$"))
    await expect(page.get_by_role("alert")).to_contain_text(DECLINED)
    await expect(page.get_by_role("heading", name="Connect your Instagram account")).to_be_visible()
    await screenshot(page, "declined")

    # The alert offers the way out: connecting again, this time allowing.
    await page.get_by_role("link", name="Connect Instagram again").click()
    await consent(page, sandbox, "shy_shop")
    await expect(card(page, "@shy_shop")).to_be_visible()
    await expect(page.get_by_role("alert")).to_have_count(0)


async def test_reconnecting_keeps_the_same_card(browser_page: Page, sandbox: Sandbox) -> None:
    page = browser_page
    sandbox.create_account("loyal_shop")
    await register(page)
    await page.goto("/channels/instagram/connect")
    await consent(page, sandbox, "loyal_shop")
    await expect(card(page, "@loyal_shop")).to_be_visible()

    await card(page, "@loyal_shop").get_by_role("button", name="Sync profile").click()
    await expect(page.get_by_text("@loyal_shop is up to date.")).to_be_visible()
    await screenshot(page, "synced")

    await card(page, "@loyal_shop").get_by_role("link", name="Reconnect").click()
    await consent(page, sandbox, "loyal_shop")

    await expect(page.get_by_text("@loyal_shop is connected.")).to_be_visible()
    await expect(page.locator("article.channel")).to_have_count(1)


async def test_disconnecting_asks_first_and_keeps_the_history(
    browser_page: Page, sandbox: Sandbox
) -> None:
    page = browser_page
    sandbox.create_account("tidy_shop")
    await register(page)
    await page.goto("/channels/instagram/connect")
    await consent(page, sandbox, "tidy_shop")
    shop = card(page, "@tidy_shop")

    await shop.get_by_role("button", name="Disconnect").click()
    dialog = page.get_by_role("dialog", name="Disconnect @tidy_shop?")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("deletes this account's access token")
    await expect(dialog).to_contain_text("stay here, read-only")
    await expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    await screenshot(page, "dialog", full_page=False)
    await page.keyboard.press("Escape")  # changed their mind
    await expect(dialog).to_be_hidden()
    await expect(shop.get_by_role("button", name="Disconnect")).to_be_focused()

    await shop.get_by_role("button", name="Disconnect").click()
    await dialog.get_by_role("button", name="Disconnect").click()

    await expect(page.get_by_text("Its token was deleted")).to_be_visible()
    await expect(shop.get_by_text("Disconnected", exact=True)).to_be_visible()
    await expect(shop.get_by_text("stay here, read-only")).to_be_visible()
    await expect(shop.get_by_role("button", name="Sync profile")).to_have_count(0)
    await screenshot(page, "disconnected")


async def test_a_dead_token_rings_the_bell_and_leads_to_reconnect(
    browser_page: Page, sandbox: Sandbox, settings: Settings
) -> None:
    page = browser_page
    sandbox.create_account("sleepy_shop")
    await register(page)
    await page.goto("/channels/instagram/connect")
    await consent(page, sandbox, "sleepy_shop")
    shop = card(page, "@sleepy_shop")
    await expect(shop).to_be_visible()
    # Instagram stops accepting the token (it expired while nobody was looking).
    engine = create_engine(settings.db_url)
    try:
        async with engine.connect() as db:
            encrypted = (await db.scalars(select(Channel.token_encrypted))).one()
    finally:
        await engine.dispose()
    assert encrypted is not None
    token = secret_box(settings).decrypt(encrypted)
    sandbox.client.post(f"/_sandbox/tokens/{token}/expire").raise_for_status()

    await shop.get_by_role("button", name="Sync profile").click()

    await expect(page.get_by_role("alert")).to_contain_text("Reconnect it on the Channels page.")
    await expect(shop.get_by_text("Token expired", exact=True)).to_be_visible()
    bell = page.get_by_label("Notifications, 1 unread")
    await expect(bell).to_be_visible()
    await bell.click()
    await screenshot(page, "bell", full_page=False)
    await page.get_by_role(
        "button", name=re.compile("@sleepy_shop needs to be reconnected")
    ).click()

    await expect(page).to_have_url(re.compile(r"/channels$"))
    await expect(page.get_by_label("Notifications", exact=True)).to_be_visible()  # read now
    await shop.get_by_role("link", name="Reconnect").click()
    await consent(page, sandbox, "sleepy_shop")
    await expect(shop.get_by_text("Active", exact=True)).to_be_visible()


async def test_a_seller_names_and_colours_an_account(
    browser_page: Page, sandbox: Sandbox, settings: Settings
) -> None:
    page = browser_page
    sandbox.create_account("busy_shop")
    await register(page)
    await page.goto("/channels/instagram/connect")
    await consent(page, sandbox, "busy_shop")
    # Busy hours: two thirds of the hourly call budget used (as the Meta client records it).
    engine = create_engine(settings.db_url)
    try:
        async with engine.begin() as db:
            await db.execute(update(Channel).values(api_usage={"percent": 68}))
    finally:
        await engine.dispose()
    await page.reload()
    shop = card(page, "@busy_shop")

    await shop.get_by_text("Name and colour").click()
    await shop.get_by_label("Name in socialsell").fill("")
    await shop.get_by_role("button", name="Save").click()
    await expect(shop.get_by_text("This field is required.")).to_be_visible()
    await expect(shop.get_by_label("Name in socialsell")).to_be_focused()
    await screenshot(page, "edit")
    await shop.get_by_label("Name in socialsell").fill("Main shop")
    await shop.get_by_label("Colour").fill("#0e9f6e")
    await shop.get_by_role("button", name="Save").click()

    await expect(page.get_by_text("Main shop is saved.")).to_be_visible()
    main = card(page, "Main shop")
    await expect(main.get_by_text("@busy_shop")).to_be_visible()
    await expect(main.locator("meter.usage")).to_have_attribute("value", "68")
    await expect(main.locator(".channel__swatch circle")).to_have_attribute("fill", "#0e9f6e")
