"""A seller connects Instagram and reads the numbers, told as a story: the first refresh, the
charts for 7, 30 and 90 days, the best posts, and the exports."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.async_api import Page, expect

from meta_sandbox.testing import Sandbox
from socialsell.settings import Settings
from tests.browser.conftest import ARTIFACTS, nav_link, register
from tests.helpers.instagram import sandbox_settings


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return sandbox_settings(settings, sandbox)


async def screenshot(page: Page, name: str) -> Path:
    """For a person to look at (test-artifacts/analytics-*.png): light, dark, phone."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"analytics-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def connect(page: Page, sandbox: Sandbox, username: str) -> None:
    await nav_link(page, "Channels").click()
    await page.get_by_role("link", name="Connect Instagram").first.click()
    await page.get_by_role("radio", name=re.compile(f"@{username}")).check()
    await page.get_by_role("button", name="Allow").click()
    await expect(page.get_by_text(f"@{username} is connected.")).to_be_visible()


async def points(page: Page, chart: str) -> str | None:
    return await page.locator(f'canvas[data-chart="{chart}"]').get_attribute("data-points")


async def test_a_seller_reads_the_numbers_and_exports_them(
    browser_page: Page, sandbox: Sandbox
) -> None:
    page = browser_page
    account = sandbox.create_account("sunny_shop", name="Sunny Shop", followers_count=1500)
    for caption, kind in (("Blue mugs are back", "FEED"), ("Studio tour", "REELS")):
        sandbox.client.post(
            f"/_sandbox/instagram/accounts/{account['id']}/media",
            json={"caption": caption, "media_product_type": kind},
        ).raise_for_status()
    sandbox.advance(8 * 3600)
    await register(page)

    await nav_link(page, "Analytics").click()
    await expect(page.get_by_role("heading", name="No channel to measure yet")).to_be_visible()
    await connect(page, sandbox, "sunny_shop")

    await nav_link(page, "Analytics").click()
    await expect(
        page.get_by_role("heading", name="The first numbers are on their way")
    ).to_be_visible()
    await page.get_by_role("button", name="Refresh @sunny_shop now").click()
    await expect(page.get_by_text("Refreshing; new numbers appear")).to_be_visible()
    # The refresh runs in the background (30 days, one call a day); the page shows it on reload.
    followers = page.locator('canvas[data-chart="followers"]')
    for _ in range(100):
        if await followers.count():
            break
        await page.wait_for_timeout(100)
        await page.reload()
    await expect(followers).to_have_attribute("data-points", "30")
    assert await points(page, "engagement") == "30"
    assert await points(page, "posts") == "2"
    rows = page.locator("table.posts-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(page.get_by_text("Blue mugs are back")).to_be_visible()
    await screenshot(page, "light")
    await page.emulate_media(color_scheme="dark")
    await screenshot(page, "dark")
    await page.emulate_media(color_scheme="light")

    await page.get_by_role("link", name="7 days").click()
    await expect(followers).to_have_attribute("data-points", "7")
    assert await points(page, "engagement") == "7"
    await page.get_by_role("link", name="90 days").click()
    await expect(followers).to_have_attribute("data-points", "90")
    # Before the 30 fetched days there is nothing: said so, not drawn as zeros.
    await expect(page.get_by_text("days missing").first).to_be_visible()

    await page.get_by_role("link", name="30 days").click()
    await page.get_by_role("link", name="Reach", exact=True).click()
    await expect(page.locator('th[aria-sort="descending"]')).to_have_text("Reach")

    async with page.expect_download() as csv_info:
        await page.locator('[data-export="csv"]').click()
    download = await csv_info.value
    assert download.suggested_filename.endswith(".csv")
    text = await asyncio.to_thread(Path(await download.path()).read_text)
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:4] == ["date", "channel", "channel_id", "reach"]
    assert len(table) == 1 + 30
    assert all(row[1] == "sunny_shop" for row in table[1:])

    async with page.expect_download() as xlsx_info:
        await page.locator('[data-export="xlsx"]').click()
    xlsx = await xlsx_info.value
    assert xlsx.suggested_filename.endswith(".xlsx")
    # openpyxl goes by the file name's extension, which Playwright's download path lacks.
    book = load_workbook(io.BytesIO(await asyncio.to_thread(Path(await xlsx.path()).read_bytes)))
    sheet = book.active
    assert sheet is not None
    values = list(sheet.values)
    assert values[0][:4] == ("date", "channel", "channel_id", "reach")
    assert len(values) == 1 + 30

    await page.set_viewport_size({"width": 375, "height": 740})
    await page.reload()
    await expect(followers).to_have_attribute("data-points", "30")
    await screenshot(page, "375")

    await page.set_viewport_size({"width": 1280, "height": 800})
    await nav_link(page, "Dashboard").click()
    await expect(page.locator('canvas[data-chart="spark"]')).to_have_attribute("data-points", "30")
    await expect(page.locator('[data-stat="followers"] .stat__value')).to_have_text("1,500")
    await screenshot(page, "dashboard-light")
    await page.emulate_media(color_scheme="dark")
    await screenshot(page, "dashboard-dark")
    await page.emulate_media(color_scheme="light")
    await page.set_viewport_size({"width": 375, "height": 740})
    await page.reload()
    await expect(page.locator('canvas[data-chart="spark"]')).to_have_attribute("data-points", "30")
    await screenshot(page, "dashboard-375")
