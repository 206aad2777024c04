"""The WhatsApp costs page: month picker, totals, tables, and the rate card form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from meta_sandbox.testing import Sandbox
from tests.helpers.factories import ApiUser
from tests.web.conftest import Browser, sign_in
from tests.whatsapp.helpers import connect_number
from tests.whatsapp.test_costs import _message
from tests.whatsapp.test_templates_page import errors_of


@pytest.fixture
async def browser(app: FastAPI, seller: ApiUser) -> AsyncIterator[Browser]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        browser = Browser(client)
        assert (await sign_in(browser, seller.email)).status_code == 303
        yield browser


def stat(html: str, name: str) -> str:
    match = re.search(rf"data-{name}>([^<]*)<", html)
    assert match, name
    return match.group(1)


async def test_costs_page_rates_form_and_month(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, seller: ApiUser, browser: Browser
) -> None:
    number = await connect_number(client, sandbox, seller, verified_name="Shop SP")
    at = datetime(2026, 10, 5, tzinfo=UTC)
    for _ in range(3):
        await _message(app, number, "5511987654321", at, "marketing", "regular", True)
    await _message(app, number, "5511987654321", at, "service", "free_customer_service", False)
    await _message(app, number, "14155550100", at, "utility", "free_entry_point", False)

    page = await browser.get("/whatsapp/costs", params={"month": "2026-10"})
    assert page.status_code == 200
    assert "Enter your rates below" in page.text
    assert stat(page.text, "billable") == "3"
    assert stat(page.text, "free-service") == "1"
    assert stat(page.text, "free-entry") == "1"
    assert stat(page.text, "total") == "—"

    bad = await browser.post(
        "/whatsapp/costs/rates",
        {"month": "2026-10", "rates.0.market": "", "rates.0.currency": "USD",
         "rates.0.marketing": "0.025", "rates.1.market": "55", "rates.1.label": "Brasil",
         "rates.1.currency": "reais", "rates.1.marketing": "0,0625",
         "rates.2.market": "", "rates.2.label": ""},
        page="/whatsapp/costs",
    )  # fmt: skip
    assert bad.status_code == 422
    assert set(errors_of(bad.text)) == {"rates.1.currency"}
    assert 'value="Brasil"' in bad.text

    saved = await browser.post(
        "/whatsapp/costs/rates",
        {"month": "2026-10", "rates.0.market": "", "rates.0.currency": "USD",
         "rates.0.marketing": "0.025", "rates.1.market": "55", "rates.1.label": "Brasil",
         "rates.1.currency": "brl", "rates.1.marketing": "0,0625"},
        page="/whatsapp/costs",
    )  # fmt: skip
    assert saved.status_code == 303
    assert saved.headers["location"] == "/whatsapp/costs?month=2026-10"
    page = await browser.get("/whatsapp/costs", params={"month": "2026-10"})
    # 3 x 0.0625 BRL = 0.1875
    assert stat(page.text, "total") in ("R$0.1875", "R$\xa00.1875", "BRL\xa00.1875")
    assert 'value="0.0625"' in page.text

    november = await browser.get("/whatsapp/costs", params={"month": "2026-11"})
    assert "No priced message this month" in november.text
    wrong = await browser.get("/whatsapp/costs", params={"month": "October"})
    assert wrong.status_code == 200
    assert "Give the month as YYYY-MM" in wrong.text
