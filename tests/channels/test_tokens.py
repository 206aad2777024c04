"""Tokens that never lapse: refreshed before they expire, and a dead token noticed at once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell.channels.models import Channel
from socialsell.core.crypto import SecretBox
from socialsell.core.tick import Tick
from socialsell.db import utcnow
from socialsell.integrations import secret_box
from socialsell.settings import Settings
from tests.channels.conftest import Consent, connect_instagram
from tests.helpers.factories import ApiUser

DAY = 24 * 3600


async def _channel(app: FastAPI, channel_id: str) -> Channel:
    async with app.state.sessionmaker() as db:
        channel = await db.get(Channel, uuid.UUID(channel_id))
        assert channel is not None
        return channel


async def _run_refresh(app: FastAPI) -> None:
    await Tick(
        app.state.jobs, claimers=[], periodics=["channels.refresh_expiring_tokens"]
    ).run_once()
    await app.state.jobs.drain()


async def test_tokens_expiring_within_7_days_are_refreshed(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    account = sandbox.create_account("ageing_shop")
    channel = (await connect_instagram(client, consent, seller, account["id"])).json()
    before = await _channel(app, channel["id"])
    old_token = secret_box(settings).decrypt(before.token_encrypted or "")

    # 55 days later on Meta's side, the token has 5 days left; our record agrees.
    sandbox.advance(55 * DAY)
    async with app.state.sessionmaker() as db:
        await db.execute(update(Channel).values(token_expires_at=utcnow() + timedelta(days=5)))
        await db.commit()
    await _run_refresh(app)

    after = await _channel(app, channel["id"])
    assert after.status == "active"
    assert after.token_expires_at is not None
    assert after.token_expires_at > utcnow() + timedelta(days=59)
    new_token = secret_box(settings).decrypt(after.token_encrypted or "")
    info = sandbox.client.get(f"/_sandbox/tokens/{new_token}").json()
    assert info["expires_at"] > sandbox.now() + 59 * DAY
    assert old_token  # the old value is whatever Meta said; the stored one is Meta's newest


async def test_tokens_not_yet_due_are_left_alone(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    account = sandbox.create_account("fresh_shop")
    channel = (await connect_instagram(client, consent, seller, account["id"])).json()
    before = await _channel(app, channel["id"])
    await _run_refresh(app)
    after = await _channel(app, channel["id"])
    assert after.token_refreshed_at == before.token_refreshed_at
    calls = sandbox.client.get("/_sandbox/calls").json()["data"]
    assert not any("refresh_access_token" in c["path"] for c in calls)


async def test_a_refresh_refused_for_good_marks_the_channel_and_notifies(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    account = sandbox.create_account("lapsed_shop")
    channel = (await connect_instagram(client, consent, seller, account["id"])).json()
    token = secret_box(settings).decrypt((await _channel(app, channel["id"])).token_encrypted or "")
    sandbox.client.post(f"/_sandbox/tokens/{token}/expire").raise_for_status()
    async with app.state.sessionmaker() as db:
        await db.execute(update(Channel).values(token_expires_at=utcnow() + timedelta(days=1)))
        await db.commit()
    await _run_refresh(app)

    after = await _channel(app, channel["id"])
    assert after.status == "token_expired"
    notes = (await client.get("/api/v1/notifications", headers=seller.headers)).json()["items"]
    assert notes[0]["kind"] == "channel_needs_reconnect"
    assert "lapsed_shop" in notes[0]["title"]


async def test_a_token_revoked_mid_session_is_noticed_on_the_next_call(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    account = sandbox.create_account("revoked_shop")
    channel = (await connect_instagram(client, consent, seller, account["id"])).json()
    token = secret_box(settings).decrypt((await _channel(app, channel["id"])).token_encrypted or "")
    sandbox.client.post(f"/_sandbox/tokens/{token}/revoke").raise_for_status()

    response = await client.post(f"/api/v1/channels/{channel['id']}/sync", headers=seller.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "channel_needs_reconnect"
    assert "Reconnect" in response.json()["message"]
    state = (await client.get(f"/api/v1/channels/{channel['id']}", headers=seller.headers)).json()
    assert state["status"] == "revoked"
    # From now on nothing is even attempted through it.
    calls_before = len(sandbox.client.get("/_sandbox/calls").json()["data"])
    again = await client.post(f"/api/v1/channels/{channel['id']}/sync", headers=seller.headers)
    assert again.status_code == 409
    assert len(sandbox.client.get("/_sandbox/calls").json()["data"]) == calls_before
    # Reconnecting brings it back.
    back = await connect_instagram(client, consent, seller, account["id"])
    assert back.json()["status"] == "active"


async def test_encryption_keys_rotate_without_losing_tokens(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    from cryptography.fernet import Fernet

    from socialsell.channels.service import rotate_encryption

    account = sandbox.create_account("rotating_shop")
    channel = (await connect_instagram(client, consent, seller, account["id"])).json()
    old_keys = settings.secret_box_keys()
    new_key = Fernet.generate_key().decode()
    rotated_box = SecretBox([new_key, *old_keys])
    async with app.state.sessionmaker() as db:
        assert await rotate_encryption(db, rotated_box) == 1
        await db.commit()
        stored = (await db.scalars(select(Channel.token_encrypted))).one()
    assert stored is not None
    # Readable with the new key alone: the old key can now be dropped.
    token = SecretBox([new_key]).decrypt(stored)
    assert sandbox.client.get("/me", params={"access_token": token}).status_code == 200
    assert channel["status"] == "active"
