"""Helpers for view tests: a browser-like httpx client that keeps cookies, reads the CSRF token
out of the page it was given, and signs up through the real forms."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers.factories import PASSWORD

_counter = itertools.count(1)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


@dataclass
class Browser:
    """One person's browser: its cookie jar, and the CSRF token of the last page it read."""

    client: httpx.AsyncClient
    email: str = ""
    name: str = ""

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        return await self.client.get(path, **kwargs)  # type: ignore[arg-type]

    async def token(self, path: str = "/settings") -> str:
        return csrf_from((await self.client.get(path)).text)

    async def post(
        self,
        path: str,
        data: dict[str, str] | None = None,
        *,
        page: str = "/settings",
        htmx: bool = False,
    ) -> httpx.Response:
        """Submit a form the way the page would: with the token the page carries."""
        form = {"csrf_token": await self.token(page), **(data or {})}
        headers = {"HX-Request": "true"} if htmx else {}
        return await self.client.post(path, data=form, headers=headers)


BrowserFactory = Callable[..., Awaitable[Browser]]
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


@pytest.fixture
async def browser_factory(app: FastAPI) -> AsyncIterator[BrowserFactory]:
    clients: list[httpx.AsyncClient] = []

    async def make(*, accept_language: str = "en", user_agent: str = FIREFOX_LINUX) -> Browser:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Accept-Language": accept_language, "User-Agent": user_agent},
        )
        clients.append(client)
        return Browser(client)

    yield make
    for client in clients:
        await client.aclose()


async def sign_up(browser: Browser, *, name: str = "Ana Lima", email: str | None = None) -> Browser:
    email = email or f"shop{next(_counter)}@example.com"
    response = await browser.post(
        "/register",
        {"name": name, "email": email, "password": PASSWORD},
        page="/register",
    )
    assert response.status_code == 303, response.text
    browser.email, browser.name = email, name
    return browser


async def sign_in(browser: Browser, email: str, password: str = PASSWORD) -> httpx.Response:
    return await browser.post("/login", {"email": email, "password": password}, page="/login")


@pytest.fixture
async def anonymous(browser_factory: BrowserFactory) -> Browser:
    return await browser_factory()


@pytest.fixture
async def seller(browser_factory: BrowserFactory) -> Browser:
    """A signed-in seller with a fresh account and personal workspace."""
    return await sign_up(await browser_factory())
