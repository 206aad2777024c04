"""A seller keeps photos in the media library: drops several at once (each with its progress
bar), filters by type, deletes one, and is told why a photo a scheduled post uses cannot go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Dialog, Page, expect

from meta_sandbox.testing import Sandbox
from socialsell.settings import Settings
from tests.browser.conftest import nav_link, register
from tests.browser.test_calendar import _channel_id, _create, connect, upload_in_library
from tests.helpers.instagram import sandbox_settings

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return sandbox_settings(settings, sandbox)


async def test_photos_are_dropped_filtered_and_deleted_unless_a_post_uses_them(
    browser_page: Page, sandbox: Sandbox
) -> None:
    page = browser_page
    sandbox.create_account("sunny_shop", name="Sunny Shop")
    await register(page)
    await connect(page)
    await nav_link(page, "Media").click()
    await expect(page.get_by_role("heading", name="No media yet")).to_be_visible()

    await upload_in_library(page, [("bowl.png", 1080, 1080), ("vase.png", 1080, 1350)])
    cards = page.locator("[data-media-card][data-media-id]")
    await expect(cards).to_have_count(2)
    await expect(page.get_by_role("heading", name="No media yet")).to_be_hidden()
    await expect(cards.filter(has_text="vase.png")).to_contain_text("1080×1350")
    await expect(cards.filter(has_text="vase.png")).to_contain_text("Photo")

    await page.reload()
    await expect(cards).to_have_count(2)
    await page.get_by_role("link", name="Videos").click()
    await expect(page.get_by_role("heading", name="Nothing of this type")).to_be_visible()
    await page.get_by_role("link", name="Photos").click()
    await expect(cards).to_have_count(2)

    # A post scheduled for tomorrow uses the vase.
    await nav_link(page, "Calendar").click()
    await expect(page.get_by_role("button", name="New post", exact=True)).to_be_visible()
    library = await (await page.request.get("/media-library/items")).json()
    vase_id = next(i["id"] for i in library["items"] if i["original_filename"] == "vase.png")
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    await _create(
        page,
        {
            "channel_ids": [await _channel_id(page)],
            "kind": "feed",
            "caption": "The tall vase",
            "media_ids": [vase_id],
            "date": tomorrow.isoformat(),
            "time": "12:00",
            "action": "schedule",
        },
    )

    async def accept(dialog: Dialog) -> None:
        assert dialog.message == "Delete this file? This cannot be undone."
        await dialog.accept()

    page.on("dialog", accept)
    await nav_link(page, "Media").click()
    await page.wait_for_load_state("load")
    vase_card = cards.filter(has_text="vase.png")
    await vase_card.get_by_role("button", name="Delete vase.png").click()
    reason = "This file is used by 1 post not published yet (scheduled, draft or failed)."
    await expect(vase_card.locator("[data-media-error]")).to_contain_text(reason)
    await expect(cards).to_have_count(2)

    await cards.filter(has_text="bowl.png").get_by_role("button", name="Delete bowl.png").click()
    await expect(page.get_by_text("Deleted.", exact=True)).to_be_visible()
    await expect(cards).to_have_count(1)
    await page.reload()
    await expect(cards).to_have_count(1)
    await expect(cards).to_contain_text("vase.png")
