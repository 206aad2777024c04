"""Playwright on Debian's chromium: one browser for the session, a fresh context (cookies,
storage) per test, against the app served by uvicorn on a fresh database (``live_server``).

A failing test leaves a full-page screenshot in ``test-artifacts/`` named after the test.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    async_playwright,
    expect,
)

from tests.conftest import LiveServer
from tests.helpers.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
_emails = itertools.count(1)

expect.set_options(timeout=10_000)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # Remember each phase's report on the test, so the page fixture knows whether it failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def browser_page(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer
) -> AsyncIterator[Page]:
    context = await browser.new_context(
        base_url=live_server.url,
        locale="en-US",
        viewport={"width": 1280, "height": 800},
    )
    page = await context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_console(message: ConsoleMessage) -> None:
        # 4xx answers are part of the stories (422 forms, 403 expired forms): Chromium and htmx
        # log each one. Anything else on the console (CSP violations, exceptions) is a bug.
        expected = ("Failed to load resource", "Response Status Error Code")
        if message.type == "error" and not message.text.startswith(expected):
            errors.append(message.text)

    page.on("console", on_console)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    await context.close()
    # A CSP violation or a JavaScript error is a bug even when the story still worked.
    assert not errors, f"browser console errors: {errors}"


def new_email() -> str:
    return f"seller{next(_emails)}@example.com"


async def register(page: Page, *, name: str = "Ana Lima", email: str | None = None) -> str:
    """Create an account through the sign-up page, as a new seller would; returns the e-mail."""
    email = email or new_email()
    await page.goto("/register")
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    return email


def nav_link(page: Page, name: str) -> Locator:
    """A link of the sidebar (the main navigation), not a same-named button on the page."""
    return page.get_by_role(
        "navigation", name=re.compile("Main navigation|Navegação principal")
    ).get_by_role("link", name=name, exact=True)
