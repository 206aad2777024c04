"""The Channels page and the Instagram connect flow, through the pages a browser sees: the
product talks to the sandbox over HTTP, the consent form is the sandbox's."""

from __future__ import annotations

import html as html_module
import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell.channels.models import Channel, OAuthState
from socialsell.channels.service import INSTAGRAM_SCOPES
from socialsell.db import utcnow
from socialsell.integrations import secret_box
from socialsell.settings import Settings
from tests.channels.conftest import Consent
from tests.helpers.instagram import sandbox_settings
from tests.web.conftest import Browser, BrowserFactory, sign_up


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return sandbox_settings(settings, sandbox)


@pytest.fixture
def consent(sandbox: Sandbox) -> Consent:
    return Consent(sandbox)


async def start_connect(seller: Browser) -> str:
    response = await seller.get("/channels/instagram/connect")
    assert response.status_code == 303, response.text
    return response.headers["location"]


async def callback(seller: Browser, query: dict[str, str]) -> httpx.Response:
    return await seller.get("/channels/instagram/callback", params=query)


async def connect(
    seller: Browser, consent: Consent, account_id: str, **decision: Any
) -> httpx.Response:
    """Connect Instagram -> the consent page -> back on the callback."""
    query = consent.decide(await start_connect(seller), account_id, **decision)
    return await callback(seller, query)


async def page_after(seller: Browser, response: httpx.Response) -> str:
    """Follow the callback's redirect to the Channels page, as the browser does."""
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/channels"
    page = await seller.get("/channels")
    assert page.status_code == 200
    return page.text


def alerts(html: str) -> list[str]:
    return [
        html_module.unescape(re.sub(r"\s+", " ", m).strip())
        for m in re.findall(
            r'class="alert alert--error channels-alert" role="alert">.*?<p>(.*?)</p>',
            html,
            re.DOTALL,
        )
    ]


async def channel_id(app: FastAPI) -> uuid.UUID:
    async with app.state.sessionmaker() as db:
        found: uuid.UUID = (await db.scalars(select(Channel.id))).one()
        return found


# ---------------------------------------------------------------------------- the page


async def test_without_channels_the_page_explains_what_connecting_does(seller: Browser) -> None:
    response = await seller.get("/channels")

    assert response.status_code == 200
    html = response.text
    assert "<title>Channels · socialsell</title>" in html
    assert 'href="/channels" aria-current="page"' in html
    assert "Connect your Instagram account" in html
    assert "stored encrypted" in html
    assert "disconnect at any time" in html
    assert 'href="/channels/instagram/connect"' in html


async def test_connect_redirects_to_the_consent_page_with_every_scope(
    seller: Browser, sandbox: Sandbox
) -> None:
    location = await start_connect(seller)

    url = urlsplit(location)
    assert f"{url.scheme}://{url.netloc}" == sandbox.url
    assert url.path == "/oauth/authorize"
    assert "redirect_uri=http%3A%2F%2Ftestserver%2Fchannels%2Finstagram%2Fcallback" in url.query
    for scope in INSTAGRAM_SCOPES:
        assert scope in url.query


async def test_a_connected_account_shows_its_card_and_health(
    seller: Browser, sandbox: Sandbox, consent: Consent
) -> None:
    account = sandbox.create_account("sunny_shop", name="Sunny Shop", followers_count=1234)

    response = await connect(seller, consent, account["id"])

    html = await page_after(seller, response)
    assert "@sunny_shop is connected." in html  # the toast
    assert "@sunny_shop" in html
    assert "Sunny Shop" in html
    assert "1,234 followers" in html
    assert 'class="badge badge--success channel__status">Active<' in html
    assert "59 days left" in html  # a 60-day token, minus the seconds the test took
    for purpose in ("To read the profile", "To read and answer DMs", "To publish posts"):
        assert purpose in html
    assert "scope--missing" not in html
    assert "New messages and comments arrive at once." in html
    assert "None yet" in html  # no webhook event yet
    assert "just now" in html  # the last successful API call was the connection itself
    assert "Disconnect @sunny_shop?" in html  # the confirmation dialog
    assert "read-only" in html


async def test_the_health_panel_warns_about_a_token_near_expiry_and_high_usage(
    seller: Browser, app: FastAPI, sandbox: Sandbox, consent: Consent
) -> None:
    account = sandbox.create_account("busy_shop")
    await page_after(seller, await connect(seller, consent, account["id"]))
    async with app.state.sessionmaker() as db:
        await db.execute(
            update(Channel).values(
                token_expires_at=utcnow() + timedelta(days=3, hours=2),
                api_usage={"percent": 82.4},
                last_webhook_at=utcnow() - timedelta(minutes=5),
            )
        )
        await db.commit()

    html = (await seller.get("/channels")).text

    assert "health__item health__item--warning" in html
    assert "3 days left" in html
    assert "renews it automatically" in html
    assert 'value="82"' in html
    assert "82% of the hourly limit" in html
    assert "5 minutes ago" in html


async def test_a_declined_consent_ends_on_the_page_with_what_to_do(
    seller: Browser, sandbox: Sandbox, consent: Consent
) -> None:
    account = sandbox.create_account("shy_shop")

    html = await page_after(seller, await connect(seller, consent, account["id"], allow=False))

    assert alerts(html) == [
        (
            "You declined the permissions socialsell asked for, so nothing was connected. "
            "Connect again and accept them to use this account here."
        )
    ]
    assert "Connect Instagram again" in html
    assert "Connect your Instagram account" in html  # still the empty state


async def test_a_missing_permission_is_named_with_what_it_is_for(
    seller: Browser, sandbox: Sandbox, consent: Consent
) -> None:
    account = sandbox.create_account("partial_shop")
    granted = [s for s in INSTAGRAM_SCOPES if s != "instagram_business_manage_messages"]

    html = await page_after(seller, await connect(seller, consent, account["id"], granted=granted))

    [message] = alerts(html)
    assert "instagram_business_manage_messages (to read and answer DMs)" in message
    assert "leave every permission switched on" in message


async def test_a_tampered_state_is_refused(
    seller: Browser, sandbox: Sandbox, consent: Consent
) -> None:
    account = sandbox.create_account("state_shop")
    query = consent.decide(await start_connect(seller), account["id"])

    tampered = {**query, "state": query["state"][:-2] + "xx"}
    html = await page_after(seller, await callback(seller, tampered))

    assert alerts(html) == [
        (
            "This connection link is not valid: it was altered or belongs to another sign-in. "
            "Start again from the Channels page."
        )
    ]


async def test_a_reused_state_is_refused_and_the_card_stays(
    seller: Browser, sandbox: Sandbox, consent: Consent
) -> None:
    account = sandbox.create_account("twice_shop")
    query = consent.decide(await start_connect(seller), account["id"])
    await page_after(seller, await callback(seller, query))

    html = await page_after(seller, await callback(seller, query))

    assert alerts(html) == [
        "This connection link was already used. Start again from the Channels page."
    ]
    assert "@twice_shop" in html


async def test_an_expired_state_is_refused(
    seller: Browser, app: FastAPI, sandbox: Sandbox, consent: Consent
) -> None:
    account = sandbox.create_account("slow_shop")
    query = consent.decide(await start_connect(seller), account["id"])
    async with app.state.sessionmaker() as db:
        await db.execute(update(OAuthState).values(expires_at=utcnow() - timedelta(seconds=1)))
        await db.commit()

    html = await page_after(seller, await callback(seller, query))

    assert alerts(html) == [
        (
            "The connection took longer than 10 minutes and expired. "
            "Start again from the Channels page."
        )
    ]


async def test_an_account_of_another_workspace_is_refused(
    seller: Browser, browser_factory: BrowserFactory, sandbox: Sandbox, consent: Consent
) -> None:
    account = sandbox.create_account("popular_shop")
    await page_after(seller, await connect(seller, consent, account["id"]))
    rival = await sign_up(await browser_factory())

    html = await page_after(rival, await connect(rival, consent, account["id"]))

    assert alerts(html) == [
        (
            "This Instagram account is already connected in another socialsell workspace. "
            "Disconnect it there first, or ask that workspace's owner to invite you."
        )
    ]
    assert "@popular_shop" not in html


async def test_a_meta_error_is_explained(
    seller: Browser, sandbox: Sandbox, consent: Consent
) -> None:
    account = sandbox.create_account("faulty_shop")
    first = consent.decide(await start_connect(seller), account["id"])
    await page_after(seller, await callback(seller, first))
    # A second flow comes back with the first flow's code, already spent at Meta.
    fresh = consent.decide(await start_connect(seller), account["id"])

    html = await page_after(
        seller, await callback(seller, {"code": first["code"], "state": fresh["state"]})
    )

    [message] = alerts(html)
    assert message.startswith("Instagram did not connect the account (")
    assert "Start again" in message


async def test_errors_are_said_in_portuguese(
    browser_factory: BrowserFactory, sandbox: Sandbox, consent: Consent
) -> None:
    seller = await sign_up(await browser_factory(accept_language="pt-BR"))
    account = sandbox.create_account("tímida")
    granted = [s for s in INSTAGRAM_SCOPES if s != "instagram_business_manage_insights"]

    html = await page_after(seller, await connect(seller, consent, account["id"], granted=granted))

    [message] = alerts(html)
    assert "O Instagram não concedeu" in message
    assert "instagram_business_manage_insights (para mostrar as análises)" in message


# ---------------------------------------------------------------------------- card actions


async def test_rename_recolour_sync_and_disconnect(
    seller: Browser, app: FastAPI, sandbox: Sandbox, consent: Consent
) -> None:
    account = sandbox.create_account("tidy_shop", followers_count=10)
    await page_after(seller, await connect(seller, consent, account["id"]))
    cid = await channel_id(app)
    base = f"/channels/{cid}"

    bad = await seller.post(base, {"display_name": "", "color": "#ff0066"}, page="/channels")
    assert bad.status_code == 422
    assert "This field is required." in bad.text
    fragment = await seller.post(
        base, {"display_name": "x" * 121, "color": "#ff0066"}, page="/channels", htmx=True
    )
    assert fragment.status_code == 422
    assert fragment.text.lstrip().startswith('<form class="channel-edit"')
    assert "This is too long." in fragment.text

    saved = await seller.post(
        base, {"display_name": "Main shop", "color": "#FF0066"}, page="/channels"
    )
    assert saved.status_code == 303
    html = (await seller.get("/channels")).text
    assert "Main shop is saved." in html
    assert 'fill="#ff0066"' in html

    synced = await seller.post(f"{base}/sync", page="/channels")
    assert synced.status_code == 303
    assert "Main shop is up to date." in (await seller.get("/channels")).text

    gone = await seller.post(f"{base}/disconnect", page="/channels")
    assert gone.status_code == 303
    html = (await seller.get("/channels")).text
    assert "Its token was deleted" in html
    assert ">Disconnected<" in html
    assert "Deleted when the account was disconnected" in html
    assert "Sync profile" not in html


async def test_repair_subscribes_the_webhooks_again(
    seller: Browser, app: FastAPI, sandbox: Sandbox, consent: Consent
) -> None:
    account = sandbox.create_account("deaf_shop")
    await page_after(seller, await connect(seller, consent, account["id"]))
    async with app.state.sessionmaker() as db:
        await db.execute(update(Channel).values(webhook_fields=[]))
        await db.commit()
    html = (await seller.get("/channels")).text
    assert "Not subscribed" in html
    cid = await channel_id(app)

    response = await seller.post(f"/channels/{cid}/webhooks", page="/channels", htmx=True)

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/channels"
    html = (await seller.get("/channels")).text
    assert "New messages and comments arrive at once." in html
    assert "events to socialsell again" in html


async def stored_token(app: FastAPI, settings: Settings) -> str:
    async with app.state.sessionmaker() as db:
        encrypted = (await db.scalars(select(Channel.token_encrypted))).one()
    assert encrypted is not None
    return secret_box(settings).decrypt(encrypted)


async def test_a_dead_token_shows_on_the_card_and_in_the_bell(
    seller: Browser, app: FastAPI, settings: Settings, sandbox: Sandbox, consent: Consent
) -> None:
    account = sandbox.create_account("expired_shop")
    await page_after(seller, await connect(seller, consent, account["id"]))
    cid = await channel_id(app)
    # The token dies at Instagram (it expired, or the person logged out everywhere).
    token = await stored_token(app, settings)
    sandbox.client.post(f"/_sandbox/tokens/{token}/expire").raise_for_status()

    synced = await seller.post(f"/channels/{cid}/sync", page="/channels")

    assert synced.status_code == 303
    html = (await seller.get("/channels")).text
    assert alerts(html) == [
        "This account's connection has expired or was revoked. Reconnect it on the Channels page."
    ]
    assert 'badge--danger channel__status">Token expired<' in html
    assert "The access token expired or is no longer valid." in html
    assert "No longer valid: reconnect the account" in html
    bell = (await seller.get("/notifications/bell")).text
    assert "@expired_shop needs to be reconnected" in bell
    assert 'class="bell__badge" aria-hidden="true">1<' in bell


# ---------------------------------------------------------------------------- protection


async def test_every_post_needs_the_csrf_token(
    seller: Browser, app: FastAPI, sandbox: Sandbox, consent: Consent
) -> None:
    account = sandbox.create_account("guarded_shop")
    await page_after(seller, await connect(seller, consent, account["id"]))
    cid = await channel_id(app)
    for path in ("", "/sync", "/webhooks", "/disconnect"):
        response = await seller.client.post(
            f"/channels/{cid}{path}", data={"display_name": "Mine", "csrf_token": "forged"}
        )
        assert response.status_code == 403, path
    html = (await seller.get("/channels")).text
    assert 'badge--success channel__status">Active<' in html
    assert "Mine" not in html


async def test_channel_routes_answer_404_to_another_workspace(
    seller: Browser,
    browser_factory: BrowserFactory,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
) -> None:
    account = sandbox.create_account("private_shop")
    await page_after(seller, await connect(seller, consent, account["id"]))
    cid = await channel_id(app)
    outsider = await sign_up(await browser_factory())
    for path, data in [
        (f"/channels/{cid}", {"display_name": "Mine now", "color": "#000000"}),
        (f"/channels/{cid}/sync", {}),
        (f"/channels/{cid}/webhooks", {}),
        (f"/channels/{cid}/disconnect", {}),
    ]:
        response = await outsider.post(path, data, page="/channels")
        assert response.status_code == 404, (path, response.status_code)
        assert "Page not found" in response.text or "not exist" in response.text
    html = (await seller.get("/channels")).text
    assert 'badge--success channel__status">Active<' in html
    assert "Mine now" not in html
    assert "@private_shop" not in (await outsider.get("/channels")).text


async def test_anonymous_visitors_are_sent_to_sign_in(anonymous: Browser) -> None:
    for path in ("/channels", "/channels/instagram/connect", "/channels/instagram/callback"):
        response = await anonymous.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
