"""Connecting an Instagram account through OAuth against the sandbox, over the API."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select, text

from meta_sandbox.testing import Sandbox
from socialsell.channels.models import Channel
from socialsell.channels.service import INSTAGRAM_SCOPES, WEBHOOK_FIELDS
from socialsell.integrations import secret_box
from socialsell.settings import Settings
from tests.channels.conftest import Consent, connect_instagram
from tests.helpers.factories import ApiUser, register
from tests.helpers.tenancy import assert_other_workspace_gets_404


async def test_connect_stores_the_account_and_subscribes_webhooks(
    client: httpx.AsyncClient, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    account = sandbox.create_account("sunny_shop", followers_count=1234)
    response = await connect_instagram(client, consent, seller, account["id"])
    assert response.status_code == 200, response.text
    channel = response.json()
    assert channel["platform"] == "instagram"
    assert channel["external_id"] == account["id"]
    assert channel["username"] == "sunny_shop"
    assert channel["followers_count"] == 1234
    assert channel["status"] == "active"
    assert sorted(channel["scopes"]) == sorted(INSTAGRAM_SCOPES)
    assert channel["missing_scopes"] == []
    assert set(WEBHOOK_FIELDS) <= set(channel["webhook_fields"])
    assert channel["webhook_subscribed"] is True
    assert channel["token_expires_at"] is not None

    # Meta recorded the subscription, for this account and these fields.
    subs = sandbox.client.get(
        f"/{account['id']}/subscribed_apps", params={"access_token": account["access_token"]}
    ).json()
    assert set(WEBHOOK_FIELDS) <= set(subs["data"][0]["subscribed_fields"])

    listing = await client.get("/api/v1/channels", headers=seller.headers)
    assert [c["id"] for c in listing.json()["items"]] == [channel["id"]]


async def test_tokens_are_encrypted_at_rest(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    account = sandbox.create_account("cipher_shop")
    channel = (await connect_instagram(client, consent, seller, account["id"])).json()
    async with app.state.sessionmaker() as db:
        stored = (
            await db.execute(
                text("SELECT token_encrypted FROM channels WHERE id = :id"),
                {
                    "id": uuid.UUID(channel["id"])
                    if not settings.is_sqlite
                    else uuid.UUID(channel["id"]).hex
                },
            )
        ).scalar_one()
    token = secret_box(settings).decrypt(stored)
    assert token.startswith("IG")
    assert token not in stored
    # The stored token is the one Meta issued: it works against the Graph API.
    me = sandbox.client.get("/me", params={"fields": "username", "access_token": token})
    assert me.json()["username"] == "cipher_shop"


async def test_denied_consent_connects_nothing(
    client: httpx.AsyncClient, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    account = sandbox.create_account("shy_shop")
    response = await connect_instagram(client, consent, seller, account["id"], allow=False)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "connect_denied"
    assert "declined" in body["message"]
    assert (await client.get("/api/v1/channels", headers=seller.headers)).json()["items"] == []


async def test_a_missing_scope_is_named_and_refused(
    client: httpx.AsyncClient, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    account = sandbox.create_account("partial_shop")
    granted = [s for s in INSTAGRAM_SCOPES if s != "instagram_business_manage_messages"]
    response = await connect_instagram(client, consent, seller, account["id"], granted=granted)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "connect_missing_scope"
    assert "instagram_business_manage_messages" in body["message"]
    assert "DMs" in body["message"]


async def test_tampered_reused_and_foreign_states_are_refused(
    client: httpx.AsyncClient, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    account = sandbox.create_account("state_shop")
    start = await client.get("/api/v1/channels/instagram/authorize", headers=seller.headers)
    query = consent.decide(start.json()["authorize_url"], account["id"])

    tampered = {**query, "state": query["state"][:-2] + "xx"}
    response = await client.get(
        "/api/v1/channels/instagram/callback", params=tampered, headers=seller.headers
    )
    assert response.json()["code"] == "connect_state_invalid"

    # The state belongs to the seller's sign-in: another user cannot complete it.
    other = await register(client)
    response = await client.get(
        "/api/v1/channels/instagram/callback", params=query, headers=other.headers
    )
    assert response.json()["code"] == "connect_state_invalid"

    ok = await client.get(
        "/api/v1/channels/instagram/callback", params=query, headers=seller.headers
    )
    assert ok.status_code == 200
    replay = await client.get(
        "/api/v1/channels/instagram/callback", params=query, headers=seller.headers
    )
    assert replay.status_code == 400
    assert replay.json()["code"] == "connect_state_reused"


async def test_an_expired_state_is_refused(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from socialsell.channels.models import OAuthState
    from socialsell.db import utcnow

    account = sandbox.create_account("slow_shop")
    start = await client.get("/api/v1/channels/instagram/authorize", headers=seller.headers)
    query = consent.decide(start.json()["authorize_url"], account["id"])
    async with app.state.sessionmaker() as db:
        await db.execute(update(OAuthState).values(expires_at=utcnow() - timedelta(seconds=1)))
        await db.commit()
    response = await client.get(
        "/api/v1/channels/instagram/callback", params=query, headers=seller.headers
    )
    assert response.json()["code"] == "connect_state_expired"


async def test_a_meta_error_during_the_exchange_is_explained(
    client: httpx.AsyncClient, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    account = sandbox.create_account("faulty_shop")
    start = await client.get("/api/v1/channels/instagram/authorize", headers=seller.headers)
    query = consent.decide(start.json()["authorize_url"], account["id"])
    # Spend the code first, as a second tab would: Meta answers "code already used".
    reused = {**query}
    assert (
        await client.get(
            "/api/v1/channels/instagram/callback", params=reused, headers=seller.headers
        )
    ).status_code == 200
    start = await client.get("/api/v1/channels/instagram/authorize", headers=seller.headers)
    fresh_state = consent.decide(start.json()["authorize_url"], account["id"])["state"]
    response = await client.get(
        "/api/v1/channels/instagram/callback",
        params={"code": query["code"], "state": fresh_state},
        headers=seller.headers,
    )
    assert response.status_code == 502
    body = response.json()
    assert body["code"] == "connect_meta_error"
    assert "Instagram refused the connection" in body["message"]


async def test_reconnecting_updates_the_same_channel(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    account = sandbox.create_account("loyal_shop")
    first = (await connect_instagram(client, consent, seller, account["id"])).json()
    await client.post(f"/api/v1/channels/{first['id']}/disconnect", headers=seller.headers)
    again = (await connect_instagram(client, consent, seller, account["id"])).json()
    assert again["id"] == first["id"]
    assert again["status"] == "active"
    async with app.state.sessionmaker() as db:
        assert len((await db.scalars(select(Channel))).all()) == 1


async def test_an_account_of_another_workspace_is_refused(
    client: httpx.AsyncClient, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    account = sandbox.create_account("popular_shop")
    assert (await connect_instagram(client, consent, seller, account["id"])).status_code == 200
    rival = await register(client)
    response = await connect_instagram(client, consent, rival, account["id"])
    assert response.status_code == 409
    assert response.json()["code"] == "channel_in_other_workspace"


async def test_update_sync_and_disconnect(
    client: httpx.AsyncClient, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    account = sandbox.create_account("tidy_shop", followers_count=10)
    channel = (await connect_instagram(client, consent, seller, account["id"])).json()
    url = f"/api/v1/channels/{channel['id']}"

    bad = await client.patch(url, json={"color": "red"}, headers=seller.headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "color"
    renamed = await client.patch(
        url, json={"display_name": "Main shop", "color": "#FF0066"}, headers=seller.headers
    )
    assert renamed.json()["label"] == "Main shop"
    assert renamed.json()["color"] == "#ff0066"

    synced = await client.post(f"{url}/sync", headers=seller.headers)
    assert synced.status_code == 200
    assert synced.json()["last_api_success_at"] is not None
    # Meta's usage headers for this account are kept for the health panel.
    assert 0 <= synced.json()["api_usage"]["percent"] <= 100

    gone = await client.post(f"{url}/disconnect", headers=seller.headers)
    assert gone.json()["status"] == "disconnected"
    assert gone.json()["webhook_fields"] == []
    refused = await client.post(f"{url}/sync", headers=seller.headers)
    assert refused.status_code == 409
    assert refused.json()["code"] == "channel_disconnected"
    # History stays: the channel is still listed, read-only.
    assert (await client.get(url, headers=seller.headers)).json()["status"] == "disconnected"


async def test_channel_routes_answer_404_to_other_workspaces(
    client: httpx.AsyncClient, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    account = sandbox.create_account("private_shop")
    channel = (await connect_instagram(client, consent, seller, account["id"])).json()
    outsider = (await register(client)).headers
    base = f"/api/v1/channels/{channel['id']}"
    for method, path, body in [
        ("GET", base, None),
        ("PATCH", base, {"display_name": "Mine now"}),
        ("POST", f"{base}/sync", None),
        ("POST", f"{base}/webhooks", None),
        ("POST", f"{base}/disconnect", None),
    ]:
        await assert_other_workspace_gets_404(
            client, method, path, json=body, outsider_headers=outsider
        )
    still = await client.get(base, headers=seller.headers)
    assert still.json()["status"] == "active"
    assert still.json()["display_name"] is None
