"""What a seller does in the web UI, told as short stories."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import nav_link, register
from tests.helpers.factories import PASSWORD

pytestmark = pytest.mark.browser


async def test_a_new_seller_signs_up_and_lands_on_the_dashboard(browser_page: Page) -> None:
    page = browser_page

    await register(page, name="Ana Lima")

    await expect(page.get_by_role("heading", name="Welcome, Ana")).to_be_visible()
    await expect(
        page.get_by_text("Welcome to socialsell! Your workspace is ready.")
    ).to_be_visible()
    await expect(nav_link(page, "Dashboard")).to_have_attribute("aria-current", "page")
    await expect(page.get_by_role("link", name="Connect a channel").first).to_be_visible()


async def test_signing_out_returns_to_the_sign_in_page(browser_page: Page) -> None:
    page = browser_page
    await register(page)

    await page.get_by_label("Account menu").click()
    await page.get_by_role("button", name="Sign out").click()

    await expect(page).to_have_url(re.compile(r"/login$"))
    await expect(page.get_by_text("You are signed out.")).to_be_visible()
    await page.goto("/settings")
    await expect(page).to_have_url(re.compile(r"/login\?next="))


async def test_a_wrong_password_is_explained_next_to_the_form(browser_page: Page) -> None:
    page = browser_page
    email = await register(page)
    await page.context.clear_cookies()

    await page.goto("/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill("Not-my-password-1")
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_role("alert")).to_have_text("The e-mail or password is wrong.")
    await expect(page.get_by_label("E-mail")).to_have_value(email)
    await expect(page).to_have_url(re.compile(r"/login$"))  # swapped in place by htmx

    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Welcome, Ana")).to_be_visible()


async def test_a_weak_new_password_is_refused_next_to_the_field(browser_page: Page) -> None:
    page = browser_page
    await register(page)
    await page.goto("/settings")

    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password").fill("weakpassword")
    await page.get_by_role("button", name="Change password").click()

    await expect(page.locator("#f-new_password-error")).to_have_text("Add an upper-case letter.")
    await expect(page.get_by_label("New password")).to_be_focused()


async def test_the_chosen_timezone_is_still_there_after_a_reload(browser_page: Page) -> None:
    page = browser_page
    await register(page)
    await nav_link(page, "Settings").click()

    await page.get_by_label("Timezone").fill("America/Sao_Paulo")
    await page.get_by_role("button", name="Save preferences").click()
    await expect(page.get_by_text("Preferences saved.")).to_be_visible()
    await page.reload()

    await expect(page.get_by_label("Timezone")).to_have_value("America/Sao_Paulo")


async def test_switching_to_portuguese_translates_the_app(browser_page: Page) -> None:
    page = browser_page
    await register(page)
    await page.goto("/settings")

    await page.get_by_label("Language").select_option("pt_BR")
    await page.get_by_role("button", name="Save preferences").click()

    await expect(page.get_by_text("Preferências salvas.")).to_be_visible()
    await expect(page.get_by_role("heading", name="Configurações", exact=True)).to_be_visible()
    await nav_link(page, "Painel").click()
    await expect(page.get_by_role("heading", name="Olá, Ana")).to_be_visible()
    assert await page.locator("html").get_attribute("lang") == "pt-BR"


async def test_on_a_phone_the_menu_opens_and_takes_you_to_a_section(browser_page: Page) -> None:
    page = browser_page
    await page.set_viewport_size({"width": 375, "height": 740})
    await register(page)
    inbox = nav_link(page, "Inbox")
    await expect(inbox).to_be_hidden()  # the sidebar is tucked away

    await page.get_by_role("button", name="Open menu").click()
    await expect(inbox).to_be_visible()
    await inbox.click()

    await expect(page).to_have_url(re.compile(r"/inbox$"))
    await expect(page.get_by_role("heading", name="Connect a channel to start")).to_be_visible()
    await expect(nav_link(page, "Inbox")).to_be_hidden()  # closed again


async def test_the_theme_toggle_is_remembered(browser_page: Page) -> None:
    page = browser_page
    await register(page)
    html = page.locator("html")
    await expect(html).to_have_attribute("data-theme", "system")

    async with page.expect_response(re.compile(r"/settings/theme$")):
        await page.get_by_role("button", name="Change theme").click()
    await page.reload()

    await expect(html).to_have_attribute("data-theme", "light")


async def test_an_expired_form_explains_itself_instead_of_failing_silently(
    browser_page: Page,
) -> None:
    page = browser_page
    await register(page)
    await page.goto("/settings")
    # As if the page had been left open while the session was replaced elsewhere.
    await page.evaluate(
        """() => {
            document.querySelector('meta[name="csrf-token"]').content = "stale";
            document.querySelectorAll('input[name="csrf_token"]').forEach(i => i.value = "stale");
        }"""
    )

    await page.get_by_label("Name").fill("Ana Paula")
    await page.get_by_role("button", name="Save profile").click()

    await expect(page.get_by_role("status")).to_contain_text(
        "The form has expired; reload the page and try again."
    )
    await page.reload()
    await expect(page.get_by_label("Name")).to_have_value("Ana Lima")


async def test_the_phone_menu_closes_with_escape_and_gives_focus_back(browser_page: Page) -> None:
    page = browser_page
    await page.set_viewport_size({"width": 375, "height": 740})
    await register(page)
    menu_button = page.get_by_role("button", name="Open menu")

    await menu_button.click()
    await expect(nav_link(page, "Dashboard")).to_be_focused()
    await page.keyboard.press("Escape")

    await expect(nav_link(page, "Dashboard")).to_be_hidden()
    await expect(menu_button).to_be_focused()
    await expect(menu_button).to_have_attribute("aria-expanded", "false")
