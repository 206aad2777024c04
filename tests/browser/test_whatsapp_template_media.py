"""A seller creates a template with a photo header on the Templates page: the sample file is
chosen in the form, a file that is not a photo is said next to the field, a photo is uploaded
to Meta (the sandbox's Resumable Upload API) and the template goes to review."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from meta_sandbox.testing import Sandbox
from socialsell.settings import Settings
from tests.browser.conftest import register
from tests.browser.test_whatsapp_templates import connect, meta_templates, settings
from tests.conftest import LiveServer
from tests.publishing.helpers import image_bytes
from tests.whatsapp.helpers import create_account, subscribe

pytestmark = pytest.mark.browser
__all__ = ["settings"]  # the sandbox-bound settings fixture of the templates story


async def test_a_photo_header_template_is_submitted_with_its_sample(
    browser_page: Page,
    sandbox: Sandbox,
    live_server: LiveServer,
    settings: Settings,
    tmp_path: Path,
) -> None:
    page = browser_page
    account = create_account(sandbox, business_name="Sunny Shop", verified_name="Sunny Shop")
    subscribe(sandbox, live_server.url, settings)
    await register(page)
    await connect(page, account)
    await page.get_by_role("link", name="Templates").first.click()
    await page.get_by_role("link", name="New template").first.click()
    form = page.locator("[data-template-form]")
    sample = form.get_by_label("Upload a file")
    await expect(sample).to_be_hidden()
    await form.get_by_label("Name").fill("new_in")
    await form.get_by_label("Category").select_option("MARKETING")
    await form.get_by_label("Language").select_option("en_US")
    await form.get_by_label("Header", exact=True).select_option("IMAGE")
    await expect(sample).to_be_visible()
    await expect(sample).to_have_attribute("accept", "image/jpeg,image/png")
    await expect(page.locator("[data-preview-header]")).to_have_text("[photo]")
    await form.get_by_label("Message").fill("New in this week: come and see.")

    not_a_photo = tmp_path / "notes.png"
    not_a_photo.write_text("just some text")
    await sample.set_input_files(str(not_a_photo))
    await form.get_by_role("button", name="Submit for review").click()
    await expect(form.locator("#f-header_media_id-error")).to_contain_text("JPEG or PNG")
    assert meta_templates(sandbox, account) == []

    photo = tmp_path / "shoes.jpg"
    photo.write_bytes(image_bytes(320, 320))
    await form.get_by_label("Upload a file").set_input_files(str(photo))
    await form.get_by_role("button", name="Submit for review").click()
    await expect(page.get_by_text("Template new_in was sent to Meta for review.")).to_be_visible()
    card = page.locator("article", has=page.get_by_role("heading", name="new_in"))
    await expect(card.locator("[data-status]")).to_have_text("In review")
    (on_meta,) = meta_templates(sandbox, account)
    header = on_meta["components"][0]
    assert header["format"] == "IMAGE"
    assert header["example"]["header_handle"][0].startswith("4::")
