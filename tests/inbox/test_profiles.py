"""Contacts get their name, username and picture from Meta's User Profile API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell.core.tick import Tick
from socialsell.db import utcnow
from socialsell.inbox.models import Contact, Message
from socialsell.settings import Settings
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import connect_shop, count, rows, wait_until


async def _fetch_profiles(app: FastAPI) -> int:
    report = await Tick(
        app.state.jobs, claimers=["inbox.fetch_contact_profiles"], periodics=[]
    ).run_once()
    await app.state.jobs.drain()
    return report.total_claimed


async def test_a_new_contact_gets_its_profile_once_then_weekly(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    sandbox.subscribe_webhooks(
        "instagram",
        f"{live_server.url}/webhooks/instagram",
        settings.meta_webhook_verify_token.get_secret_value(),
    )
    sandbox.inbound(shop.ig_id, "maria_buys", "Hello!")

    async def arrived() -> bool:
        return await count(app, Message) == 1

    await wait_until(arrived, what="the message")
    assert await _fetch_profiles(app) == 1
    contact = (await rows(app, select(Contact)))[0]
    persona = next(
        p
        for p in sandbox.client.get("/_sandbox/instagram/personas").json()["data"]
        if p["username"] == "maria_buys"
    )
    assert contact.username == "maria_buys"
    assert contact.name == persona["name"]
    assert contact.profile_picture_url is not None
    assert contact.profile_picture_url.startswith(sandbox.url)
    conversation = (await client.get("/api/v1/conversations", headers=shop.seller.headers)).json()[
        "items"
    ][0]
    assert conversation["contact"]["username"] == "maria_buys"

    # Fetched once: the next tick asks Meta nothing.
    assert await _fetch_profiles(app) == 0
    # A week later it is refreshed.
    async with app.state.sessionmaker() as db:
        await db.execute(update(Contact).values(profile_fetched_at=utcnow() - timedelta(days=8)))
        await db.commit()
    assert await _fetch_profiles(app) == 1
