"""A seller creates WhatsApp message templates on the Templates page, told as a story: the first
is rejected by Meta (the sandbox's review) and the page says why; the second is approved. The
status arrives with Meta's webhook at the product served over HTTP."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from meta_sandbox.testing import Sandbox
from socialsell.settings import Settings
from tests.browser.conftest import ARTIFACTS, nav_link, register
from tests.conftest import LiveServer
from tests.helpers.instagram import sandbox_settings
from tests.whatsapp.helpers import create_account, subscribe

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return sandbox_settings(settings, sandbox)


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"whatsapp-templates-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def field_error(scope: Locator, label: str) -> Locator:
    return scope.locator(".field", has=scope.page.get_by_label(label, exact=True)).locator(
        ".field__error"
    )


def meta_templates(sandbox: Sandbox, account: dict[str, Any]) -> list[dict[str, Any]]:
    body = sandbox.client.get(
        f"/v23.0/{account['waba_id']}/message_templates",
        headers={"Authorization": f"Bearer {account['access_token']}"},
    ).json()
    data: list[dict[str, Any]] = body["data"]
    return data


async def until_shown(page: Page, locator: Locator, tries: int = 20) -> None:
    """Reload until Meta's webhook has reached the product and the page shows it."""
    for _ in range(tries):
        if await locator.count():
            break
        await page.wait_for_timeout(250)
        await page.reload()
    await expect(locator).to_be_visible()


async def connect(page: Page, account: dict[str, Any]) -> None:
    await nav_link(page, "Channels").click()
    await page.get_by_role("button", name="Connect WhatsApp number").click()
    dialog = page.get_by_role("dialog", name="Connect a WhatsApp number")
    await dialog.get_by_label("WhatsApp Business Account ID").fill(account["waba_id"])
    await dialog.get_by_label("Phone number ID").fill(account["phone_number_id"])
    await dialog.get_by_label("System user access token").fill(account["access_token"])
    await dialog.get_by_role("button", name="Connect number").click()
    await expect(page.get_by_text("is connected.")).to_be_visible()


async def test_a_rejected_template_shows_its_reason_and_another_is_approved(
    browser_page: Page, sandbox: Sandbox, live_server: LiveServer, settings: Settings
) -> None:
    page = browser_page
    account = create_account(sandbox, business_name="Sunny Shop", verified_name="Sunny Shop")
    subscribe(sandbox, live_server.url, settings)
    await register(page)
    await connect(page, account)
    await page.get_by_role("link", name="Templates").first.click()
    await expect(page.get_by_role("heading", name="No templates yet")).to_be_visible()

    # The form: a name Meta would refuse is said next to the field; the preview follows typing.
    await page.get_by_role("link", name="New template").first.click()
    form = page.locator("[data-template-form]")
    await form.get_by_label("Name").fill("Summer Sale")
    await form.get_by_label("Category").select_option("MARKETING")
    await form.get_by_label("Language").select_option("en_US")
    await form.get_by_label("Message").fill("Hi {{1}}, everything is 20% off today.")
    sample = form.get_by_label("Sample for {{1}}")
    await expect(sample).to_be_visible()
    preview = page.locator("[data-preview-body]")
    await expect(preview.locator("mark")).to_have_text("{{1}}")
    await sample.fill("Ann")
    await expect(preview).to_have_text("Hi Ann, everything is 20% off today.")
    await form.get_by_label("Footer (optional)").fill("Sunny Shop")
    await form.get_by_label("Button 1").select_option("QUICK_REPLY")
    await form.get_by_label("Label").first.fill("Stop promotions")
    await expect(page.locator("[data-preview-buttons] li")).to_have_text(["Stop promotions"])
    await form.get_by_role("button", name="Submit for review").click()
    await expect(field_error(form, "Name")).to_contain_text("lowercase letters")
    await expect(form.get_by_label("Message")).to_have_value(
        "Hi {{1}}, everything is 20% off today."
    )
    await expect(form.get_by_label("Sample for {{1}}")).to_have_value("Ann")

    await form.get_by_label("Name").fill("summer_sale")
    await form.get_by_role("button", name="Submit for review").click()
    await expect(
        page.get_by_text("Template summer_sale was sent to Meta for review.")
    ).to_be_visible()
    card = page.locator("article", has=page.get_by_role("heading", name="summer_sale"))
    await expect(card.locator("[data-status]")).to_have_text("In review")

    # Meta's review rejects it; its webhook reaches the product and the page says why.
    (on_meta,) = meta_templates(sandbox, account)
    sandbox.client.post(
        f"/_sandbox/whatsapp/templates/{on_meta['id']}/decision",
        json={"status": "REJECTED", "reason": "INCORRECT_CATEGORY"},
    ).raise_for_status()
    await until_shown(page, card.locator('[data-status="REJECTED"]'))
    await expect(card.locator("[data-reason]")).to_contain_text(
        "The category does not match the content"
    )
    await expect(card.locator("[data-reason]")).to_contain_text("INCORRECT_CATEGORY")
    await screenshot(page, "rejected")

    # A second template, a utility one with a named variable, passes review.
    await page.get_by_role("link", name="New template").first.click()
    await form.get_by_label("Name").fill("order_update")
    await form.get_by_label("Category").select_option("UTILITY")
    await form.get_by_label("Language").select_option("pt_BR")
    await form.get_by_label("Message").fill("Oi {{first_name}}, seu pedido saiu para entrega.")
    await form.get_by_label("Sample for {{first_name}}").fill("Ana")
    await form.get_by_role("button", name="Submit for review").click()
    await expect(
        page.get_by_text("Template order_update was sent to Meta for review.")
    ).to_be_visible()
    sandbox.advance(60)  # the review delay passes: approved, and webhooked
    approved = page.locator("article", has=page.get_by_role("heading", name="order_update"))
    await until_shown(page, approved.locator('[data-status="APPROVED"]'))

    # The filter shows one status at a time.
    await page.get_by_role("link", name=re.compile(r"^Rejected")).click()
    await expect(page.get_by_role("heading", name="summer_sale")).to_be_visible()
    await expect(page.get_by_role("heading", name="order_update")).to_have_count(0)

    # Delete, after confirming.
    await card.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete summer_sale (en_US)?")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Delete").click()
    await expect(page.get_by_text("Template summer_sale was deleted.")).to_be_visible()
    assert [t["name"] for t in meta_templates(sandbox, account)] == ["order_update"]

    # Small screens and the dark theme.
    await page.goto(page.url.split("?")[0])
    await page.set_viewport_size({"width": 375, "height": 800})
    await page.emulate_media(color_scheme="dark")
    await expect(page.get_by_role("heading", name="order_update")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    await screenshot(page, "narrow-dark")
