"""A seller plans Instagram posts on the calendar, told as stories: a carousel composed from the
library, reordered by dragging, scheduled, then published by the product's own tick against the
Meta sandbox and shown green without a reload; a post dragged to another day; the rules
Instagram would refuse shown next to their fields before anything is scheduled."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell import db
from socialsell.publishing.models import Post
from socialsell.settings import Settings
from tests.browser.conftest import ARTIFACTS, nav_link, register
from tests.helpers.instagram import sandbox_settings

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    # The served app runs its own tick, as `socialsell serve` does; the test only makes posts
    # due (the product's clock is the real one) and moves the sandbox's clock.
    return sandbox_settings(settings, sandbox).model_copy(
        update={
            "embedded_tick": True,
            "tick_seconds": 0.3,
            "publishing_inline_poll_seconds": 0.0,
            "publishing_poll_later_seconds": 0.3,
        }
    )


async def connect(page: Page, username: str = "sunny_shop") -> None:
    await nav_link(page, "Channels").click()
    await page.get_by_role("link", name="Connect Instagram").first.click()
    await page.get_by_role("radio", name=re.compile(f"@{username}")).check()
    await page.get_by_role("button", name="Allow").click()
    await expect(page.get_by_text(f"@{username} is connected.")).to_be_visible()


async def drop_images(page: Page, sizes: list[tuple[str, int, int]]) -> None:
    """Drop files on the library's drop zone, as from the desktop (drawn in the page)."""
    await page.evaluate(
        """async (sizes) => {
          const dt = new DataTransfer();
          for (const [name, w, h] of sizes) {
            const canvas = document.createElement("canvas");
            canvas.width = w; canvas.height = h;
            const ctx = canvas.getContext("2d");
            ctx.fillStyle = "#" + (name.length * 1234567).toString(16).slice(0, 6).padEnd(6, "3");
            ctx.fillRect(0, 0, w, h);
            const blob = await new Promise((done) => canvas.toBlob(done, "image/png"));
            dt.items.add(new File([blob], name, { type: "image/png" }));
          }
          const zone = document.querySelector("[data-dropzone]");
          zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
        }""",
        [list(s) for s in sizes],
    )


async def upload_in_library(page: Page, sizes: list[tuple[str, int, int]]) -> None:
    await nav_link(page, "Media").click()
    await expect(page.get_by_text("Drop photos and videos here")).to_be_visible()
    await page.wait_for_load_state("load")  # the page's script listens for the drop
    await drop_images(page, sizes)
    rows = page.locator(".upload-row.is-done")
    await expect(rows).to_have_count(len(sizes))
    for index in range(len(sizes)):
        await expect(rows.nth(index).locator("progress")).to_have_js_property("value", 100)


async def rows_of(settings: Settings, **where: Any) -> list[Post]:
    engine = db.create_engine(settings.db_url)
    try:
        async with db.create_sessionmaker(engine)() as session:
            stmt = select(Post)
            for key, value in where.items():
                stmt = stmt.where(getattr(Post, key) == value)
            return list((await session.scalars(stmt)).all())
    finally:
        await engine.dispose()


async def make_due(settings: Settings, post_id: uuid.UUID) -> None:
    """The scheduled time arrives."""
    engine = db.create_engine(settings.db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(Post)
                .where(Post.id == post_id)
                .values(scheduled_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        await engine.dispose()


async def wait_for(settings: Settings, post_id: uuid.UUID, predicate: Any) -> Post:
    for _ in range(150):
        [row] = await rows_of(settings, id=post_id)
        if predicate(row):
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"post {post_id} never reached the expected state: {row.status}")


async def drag(page: Page, source: Locator, target: Locator) -> None:
    """Drag with the mouse as a person does: press, move a little (a drag starts), then over
    the target, release."""
    await source.scroll_into_view_if_needed()
    await source.hover()
    start = await source.bounding_box()
    end = await target.bounding_box()
    assert start is not None
    assert end is not None
    await page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(
        start["x"] + start["width"] / 2 + 8, start["y"] + start["height"] / 2 + 8, steps=4
    )
    await page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=10)
    await page.mouse.up()


async def media_order(page: Page) -> list[str]:
    ids = await page.locator("[data-composer-media] li").evaluate_all(
        "(items) => items.map((li) => li.getAttribute('data-media-id'))"
    )
    return [str(i) for i in ids]


async def test_a_carousel_is_composed_scheduled_and_published_while_the_seller_watches(
    browser_page: Page, sandbox: Sandbox, settings: Settings
) -> None:
    page = browser_page
    account = sandbox.create_account("sunny_shop", name="Sunny Shop")
    await register(page)
    await nav_link(page, "Calendar").click()
    await expect(
        page.get_by_role("heading", name="Connect Instagram to plan posts")
    ).to_be_visible()
    await connect(page)

    await upload_in_library(
        page, [("mug-1.png", 1080, 1080), ("mug-2.png", 1080, 1350), ("mug-3.png", 1080, 1080)]
    )
    await expect(page.locator("[data-media-card]")).to_have_count(3)
    await expect(page.get_by_text("1080×1350")).to_be_visible()

    await nav_link(page, "Calendar").click()
    await expect(page.get_by_text("Nothing planned in this period.")).to_be_visible()
    await page.wait_for_load_state("load")
    await page.get_by_role("button", name="New post", exact=True).click()
    composer = page.get_by_role("dialog", name="New post")
    await expect(composer).to_be_visible()
    await composer.get_by_text("Carousel (2-10)").click()
    await composer.get_by_role("button", name="Add from library").click()
    picks = composer.locator("[data-pick]")
    await expect(picks).to_have_count(3)
    # Newest first in the library: mug-3, mug-2, mug-1.
    for name in ("mug-1.png", "mug-2.png", "mug-3.png"):
        await composer.get_by_role("button", name=name).click()
    items = composer.locator("[data-composer-media] li")
    await expect(items).to_have_count(3)
    before = await media_order(page)

    # The last photo becomes the cover: dragged before the first.
    await items.nth(2).drag_to(items.nth(0), target_position={"x": 5, "y": 48})
    after = await media_order(page)
    assert after == [before[2], before[0], before[1]]
    await expect(composer.locator(".ig-frame__dot")).to_have_count(3)

    await composer.get_by_label("Caption").fill("Three new mugs #ceramics @friend")
    await expect(
        composer.get_by_text("2 / 30 hashtags").or_(composer.get_by_text("1 / 30 hashtags"))
    ).to_be_visible()
    await expect(composer.get_by_text("1 / 20 mentions")).to_be_visible()
    await expect(composer.locator("[data-preview-caption]")).to_contain_text("Three new mugs")
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    await composer.get_by_label("Date").fill(tomorrow.isoformat())
    await composer.get_by_label("Time").fill("10:00")
    await composer.get_by_label("Caption").press("Control+Enter")
    await expect(composer).to_be_hidden()
    await expect(page.get_by_text("Scheduled.", exact=True)).to_be_visible()

    [post] = await rows_of(settings)
    assert post.status == "scheduled"
    detail = await (await page.request.get(f"/calendar/posts/{post.id}")).json()
    assert [i["media"]["id"] for i in detail["items"]] == after, "the dragged order is kept"
    assert detail["local_time"] == "10:00"

    # The seller watches the calendar of today while the post falls due and is published.
    await page.goto(f"/calendar?date={datetime.now(UTC).date().isoformat()}")
    await page.wait_for_timeout(300)  # the live stream connects
    await make_due(settings, post.id)
    await wait_for(settings, post.id, lambda r: r.container_id is not None)
    sandbox.advance(6)  # Instagram finishes processing the carousel
    await wait_for(settings, post.id, lambda r: r.status == "published")

    await expect(page.get_by_text("A post was published on Instagram.")).to_be_visible()
    chip = page.locator(f'[data-post-id="{post.id}"]')
    await expect(chip).to_have_class(re.compile("post-chip--published"))
    link = chip.get_by_role("link")
    await expect(link).to_have_attribute("href", re.compile(r"^https://www\.instagram\.com/p/"))
    [row] = await rows_of(settings, id=post.id)
    assert await link.get_attribute("href") == row.permalink
    feed = sandbox.client.get(f"/_sandbox/instagram/accounts/{account['id']}/published").json()
    [album] = feed["data"]
    assert album["media_type"] == "CAROUSEL_ALBUM"
    assert album["caption"] == "Three new mugs #ceramics @friend"
    assert len(album["children"]) == 3


async def _create(page: Page, body: dict[str, Any]) -> dict[str, Any]:
    token = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    response = await page.request.post(
        "/calendar/posts",
        data=body,
        headers={"X-CSRF-Token": token or "", "Accept": "application/json"},
    )
    assert response.status == 201, await response.text()
    items: list[dict[str, Any]] = (await response.json())["items"]
    return items[0]


async def _library_ids(page: Page) -> list[str]:
    data = await (await page.request.get("/media-library/items")).json()
    return [str(i["id"]) for i in data["items"]]


async def _channel_id(page: Page) -> str:
    raw = await page.locator("#composer-channels").text_content()
    import json

    channels: list[dict[str, Any]] = json.loads(raw or "[]")
    return str(channels[0]["id"])


async def test_a_post_is_dragged_to_another_day_and_a_move_to_the_past_snaps_back(
    browser_page: Page, sandbox: Sandbox, settings: Settings
) -> None:
    page = browser_page
    sandbox.create_account("sunny_shop", name="Sunny Shop")
    await register(page)
    await connect(page)
    await upload_in_library(page, [("tote.png", 1080, 1080)])
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    await page.goto(f"/calendar?date={tomorrow.isoformat()}")
    [media_id] = await _library_ids(page)
    post = await _create(
        page,
        {
            "channel_ids": [await _channel_id(page)],
            "kind": "feed",
            "caption": "Totes in autumn colours",
            "media_ids": [media_id],
            "date": tomorrow.isoformat(),
            "time": "16:45",
            "action": "schedule",
        },
    )
    await page.reload()
    chip = page.locator(f'[data-post-id="{post["id"]}"]')
    source = page.locator(f'[data-drop-date="{tomorrow.isoformat()}"]')
    await expect(source.locator(f'[data-post-id="{post["id"]}"]')).to_be_visible()
    await expect(chip).to_contain_text("16:45")
    await expect(chip).to_contain_text("@sunny_shop")
    await expect(chip).to_contain_text("Scheduled")

    target_day = tomorrow + timedelta(days=1)
    target = page.locator(f'[data-drop-date="{target_day.isoformat()}"]')
    await drag(page, chip, target)
    await expect(page.get_by_text("Rescheduled.")).to_be_visible()
    await expect(target.locator(f'[data-post-id="{post["id"]}"]')).to_be_visible()
    detail = await (await page.request.get(f"/calendar/posts/{post['id']}")).json()
    assert detail["local_date"] == target_day.isoformat()
    assert detail["local_time"] == "16:45"
    [row] = await rows_of(settings, id=uuid.UUID(post["id"]))
    assert row.scheduled_at is not None
    assert row.scheduled_at.replace(tzinfo=UTC) == datetime.combine(
        target_day, datetime.min.time().replace(hour=16, minute=45), UTC
    )

    # The first cell of the grid is in the past: Instagram cannot publish yesterday.
    first_cell = page.locator("[data-drop-date]").first
    first_day = date.fromisoformat(await first_cell.get_attribute("data-drop-date") or "")
    assert first_day < datetime.now(UTC).date()
    chip = page.locator(f'[data-post-id="{post["id"]}"]')
    await drag(page, chip, first_cell)
    await expect(page.get_by_text(re.compile("The time must be in the future"))).to_be_visible()
    await expect(target.locator(f'[data-post-id="{post["id"]}"]')).to_be_visible()
    assert (await first_cell.locator("[data-post-chip]").count()) == 0
    detail = await (await page.request.get(f"/calendar/posts/{post['id']}")).json()
    assert detail["local_date"] == target_day.isoformat(), "nothing changed"

    # The week view: the chip sits in its hour row, and can be moved to another hour.
    await page.goto(f"/calendar?view=week&date={target_day.isoformat()}")
    await expect(page.get_by_role("link", name="Week", exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    slot = page.locator(f'[data-drop-date="{target_day.isoformat()}"][data-drop-hour="16"]')
    chip = slot.locator(f'[data-post-id="{post["id"]}"]')
    await expect(chip).to_be_visible()
    morning = page.locator(f'[data-drop-date="{target_day.isoformat()}"][data-drop-hour="9"]')
    await drag(page, chip, morning)
    await expect(morning.locator(f'[data-post-id="{post["id"]}"]')).to_contain_text("09:45")
    detail = await (await page.request.get(f"/calendar/posts/{post['id']}")).json()
    assert (detail["local_date"], detail["local_time"]) == (target_day.isoformat(), "09:45")

    # A click opens it in the composer; Enter on the chip does the same, from the keyboard.
    await morning.get_by_role("button", name=re.compile("Edit post of 09:45")).focus()
    await page.keyboard.press("Enter")
    composer = page.get_by_role("dialog", name="Edit post")
    await expect(composer).to_be_visible()
    await expect(composer.get_by_label("Caption")).to_have_value("Totes in autumn colours")
    await expect(composer.get_by_label("Time")).to_have_value("09:45")
    await expect(composer.locator("[data-composer-media] li")).to_have_count(1)
    await composer.get_by_label("Time").fill("08:05")
    await composer.get_by_role("button", name="Schedule").click()
    await expect(composer).to_be_hidden()
    eight = page.locator(f'[data-drop-date="{target_day.isoformat()}"][data-drop-hour="8"]')
    await expect(eight.locator(f'[data-post-id="{post["id"]}"]')).to_contain_text("08:05")


async def test_broken_rules_show_next_to_their_fields(
    browser_page: Page, sandbox: Sandbox, settings: Settings
) -> None:
    page = browser_page
    sandbox.create_account("sunny_shop", name="Sunny Shop")
    await register(page)
    await connect(page)
    await nav_link(page, "Calendar").click()
    await page.wait_for_load_state("load")
    await page.get_by_role("button", name="New post", exact=True).click()
    composer = page.get_by_role("dialog", name="New post")

    # A panorama uploaded from the composer, with its own progress bar.
    from tests.publishing.helpers import image_bytes

    await composer.locator("[data-composer-upload]").set_input_files(
        [{"name": "banner.jpg", "mimeType": "image/jpeg", "buffer": image_bytes(1500, 300)}]
    )
    await expect(composer.locator("[data-composer-media] li")).to_have_count(1)
    caption = composer.get_by_label("Caption")
    await caption.fill(" ".join(f"#mug{i}" for i in range(31)))
    counter = composer.locator('[data-counter="hashtags"]')
    await expect(counter).to_have_text("31 / 30 hashtags")
    await expect(counter).to_have_class(re.compile("is-over"))
    await composer.get_by_role("button", name="Schedule").click()

    caption_error = composer.locator('[data-error-for="caption"]')
    await expect(caption_error).to_have_text(
        "The caption has 31 hashtags; Instagram allows at most 30."
    )
    media_error = composer.locator('[data-error-for="media_ids"]')
    await expect(media_error).to_contain_text(
        "Feed photos must be between 4:5 (portrait) and 1.91:1"
    )
    await expect(caption).to_have_attribute("aria-invalid", "true")
    await expect(composer).to_be_visible()
    assert await rows_of(settings) == []

    # A story has no caption; the same panorama is fine there.
    await composer.get_by_text("Story", exact=True).click()
    await expect(composer.locator(".ig-frame--story")).to_be_visible()
    await composer.get_by_role("button", name="Schedule").click()
    await expect(caption_error).to_contain_text(
        "Instagram stories have no caption; remove it to schedule."
    )
    await expect(media_error).to_be_hidden()

    # Esc closes the composer; nothing was saved.
    await page.keyboard.press("Escape")
    await expect(composer).to_be_hidden()
    assert await rows_of(settings) == []


async def screenshot(page: Page, name: str) -> None:
    """For a person to look at (test-artifacts/calendar-*.png)."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"calendar-{name}.png"), full_page=True)


async def test_a_post_instagram_refuses_turns_red_with_the_reason_and_retry_publishes_it(
    browser_page: Page, sandbox: Sandbox, settings: Settings
) -> None:
    page = browser_page
    account = sandbox.create_account("sunny_shop", name="Sunny Shop")
    await register(page)
    await connect(page)
    await upload_in_library(page, [("plate.png", 1080, 1080)])
    await nav_link(page, "Calendar").click()
    await page.wait_for_load_state("load")
    await page.keyboard.press("n")  # the shortcut of "New post"
    composer = page.get_by_role("dialog", name="New post")
    await expect(composer).to_be_visible()
    await composer.get_by_role("button", name="Add from library").click()
    await composer.get_by_role("button", name="plate.png").click()
    # Within our 30, but Instagram (the sandbox, as Instagram since Dec 2025) takes 5.
    await composer.get_by_label("Caption").fill("Plates! #a1 #b2 #c3 #d4 #e5 #f6")
    await expect(composer.get_by_text("6 / 30 hashtags")).to_be_visible()
    await screenshot(page, "composer")
    await composer.get_by_role("button", name="Publish now").click()
    await expect(composer).to_be_hidden()
    await expect(page.get_by_text("Publishing now.")).to_be_visible()

    [post] = await rows_of(settings)
    await wait_for(settings, post.id, lambda r: r.status == "failed")
    await expect(page.get_by_text(re.compile("^A post could not be published:"))).to_be_visible()
    chip = page.locator(f'[data-post-id="{post.id}"]')
    await expect(chip).to_have_class(re.compile("post-chip--failed"))
    [row] = await rows_of(settings, id=post.id)
    assert row.failure_reason
    await expect(chip.locator("[data-chip-reason]")).to_have_text(row.failure_reason)
    await screenshot(page, "failed")

    sandbox.configure(caption_max_hashtags=30)
    await chip.get_by_role("button", name="Retry").click()
    await expect(page.get_by_text("Trying again now.")).to_be_visible()
    await wait_for(settings, post.id, lambda r: r.container_id is not None)
    sandbox.advance(6)
    await wait_for(settings, post.id, lambda r: r.status == "published")
    await expect(chip).to_have_class(re.compile("post-chip--published"))
    await expect(chip.get_by_role("link")).to_have_attribute("href", re.compile("instagram.com/p/"))
    feed = sandbox.client.get(f"/_sandbox/instagram/accounts/{account['id']}/published").json()
    assert [m["caption"] for m in feed["data"]] == ["Plates! #a1 #b2 #c3 #d4 #e5 #f6"]

    # Dark theme and a phone's width, for a person to look at.
    await page.emulate_media(color_scheme="dark")
    await screenshot(page, "month-dark")
    await page.set_viewport_size({"width": 375, "height": 800})
    await page.reload()
    await expect(chip).to_be_visible()
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "nothing wider than the phone"
    await screenshot(page, "month-phone")
    await page.get_by_role("button", name="New post", exact=True).click()
    await expect(page.get_by_role("dialog", name="New post")).to_be_visible()
    await screenshot(page, "composer-phone")
