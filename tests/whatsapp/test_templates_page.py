"""The Templates page over HTTP as a browser uses it: empty state, create with errors shown next
to the fields, the list with statuses and the rejection reason, filter, sync and delete."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from meta_sandbox.testing import Sandbox
from tests.web.conftest import Browser, sign_up
from tests.whatsapp.helpers import connect_body, create_account
from tests.whatsapp.test_templates_api import decide


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[Browser]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield await sign_up(Browser(client))


async def connect(browser: Browser, sandbox: Sandbox) -> tuple[str, dict[str, str]]:
    account = create_account(sandbox)
    response = await browser.post(
        "/channels/whatsapp/connect", connect_body(account), page="/channels"
    )
    assert response.status_code == 303, response.text
    page = (await browser.get("/channels")).text
    match = re.search(r'href="/whatsapp/([0-9a-f-]{36})/templates"', page)
    assert match, "the WhatsApp card links to its templates"
    return match.group(1), account


def errors_of(html: str) -> dict[str, str]:
    """Field name -> the error shown under it."""
    found = re.findall(
        r'id="f-([^"]+)-error"><svg.*?</svg><span>(.*?)</span>', html, flags=re.DOTALL
    )
    return dict(found)


async def test_templates_page_create_list_filter_delete(browser: Browser, sandbox: Sandbox) -> None:
    channel_id, _account = await connect(browser, sandbox)
    page_url = f"/whatsapp/{channel_id}/templates"
    empty = await browser.get(page_url)
    assert empty.status_code == 200
    assert "No templates yet" in empty.text

    bad = await browser.post(
        page_url,
        {"name": "Big Sale", "category": "MARKETING", "language": "en_US",
         "body": "Hi {{1}}, {{2}} off everything", "body_examples.0": "Ann",
         "footer": "Reply {{1}}",
         "buttons.0.type": "URL", "buttons.0.text": "Shop", "buttons.0.url": "shop.example"},
        page=page_url,
    )  # fmt: skip
    assert bad.status_code == 422
    shown = errors_of(bad.text)
    assert set(shown) == {"name", "body_examples.1", "footer", "buttons.0.url"}
    assert "lowercase letters" in shown["name"]
    # What was typed stays in the form.
    assert "Hi {{1}}, {{2}} off everything" in bad.text
    assert 'value="Ann"' in bad.text

    good = await browser.post(
        page_url,
        {"name": "big_sale", "category": "MARKETING", "language": "en_US",
         "header_format": "TEXT", "header_text": "Sale for {{1}}", "header_example.0": "Ann",
         "body": "Hi {{1}}, {{2}} off everything today.", "body_examples.0": "Ann",
         "body_examples.1": "20%", "footer": "Sunny Shop",
         "buttons.0.type": "QUICK_REPLY", "buttons.0.text": "Stop promotions",
         "buttons.1.type": "", "buttons.1.text": ""},
        page=page_url,
    )  # fmt: skip
    assert good.status_code == 303, good.text
    listed = (await browser.get(page_url)).text
    assert "big_sale" in listed
    assert 'data-status="PENDING"' in listed
    assert '<mark class="wa-var">{{2}}</mark>' in listed

    meta = [t for t in _sandbox_templates(sandbox, _account) if t["name"] == "big_sale"]
    decide(sandbox, meta[0]["id"], "REJECTED", "PROMOTIONAL")
    synced = await browser.post(f"{page_url}/sync", page=page_url)
    assert synced.status_code == 303
    rejected = (await browser.get(page_url, params={"status": "REJECTED"})).text
    assert 'data-status="REJECTED"' in rejected
    assert "Promotional content is not allowed in this category." in rejected
    assert "(PROMOTIONAL)" in rejected
    approved = (await browser.get(page_url, params={"status": "APPROVED"})).text
    assert "No template with this status" in approved

    template_id = re.search(r'id="template-([0-9a-f-]{36})"', rejected)
    assert template_id
    deleted = await browser.post(f"{page_url}/{template_id.group(1)}/delete", page=page_url)
    assert deleted.status_code == 303
    assert "No templates yet" in (await browser.get(page_url)).text
    assert _sandbox_templates(sandbox, _account) == []


def _sandbox_templates(sandbox: Sandbox, account: dict[str, str]) -> list[dict[str, str]]:
    body = sandbox.client.get(
        f"/v23.0/{account['waba_id']}/message_templates",
        headers={"Authorization": f"Bearer {account['access_token']}"},
    ).json()
    data: list[dict[str, str]] = body["data"]
    return data


async def test_another_workspace_gets_404_on_the_page(
    browser: Browser, sandbox: Sandbox, app: FastAPI
) -> None:
    channel_id, _ = await connect(browser, sandbox)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        other = await sign_up(Browser(client))
        response = await other.get(f"/whatsapp/{channel_id}/templates")
        assert response.status_code == 404
