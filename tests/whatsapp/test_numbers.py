"""Connecting a WhatsApp number with the three values a self-hoster has, over the sandbox."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.channels.models import Channel
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import rows
from tests.helpers.tenancy import assert_other_workspace_gets_404
from tests.whatsapp.helpers import connect_body, connect_number, create_account


async def test_a_number_is_connected_verified_subscribed_and_its_token_encrypted(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(
        client,
        sandbox,
        seller,
        verified_name="Sunny Shop",
        quality_rating="YELLOW",
        messaging_limit_tier="TIER_1K",
    )
    channel = number.channel
    assert channel["platform"] == "whatsapp"
    assert channel["external_id"] == number.phone_number_id
    assert channel["label"] == "Sunny Shop"
    details = channel["details"]
    assert details["waba_id"] == number.waba_id
    assert details["display_phone_number"] == number.account["display_phone_number"]
    assert details["verified_name"] == "Sunny Shop"
    assert details["quality_rating"] == "YELLOW"
    assert details["messaging_limit_tier"] == "TIER_1K"
    assert channel["webhook_subscribed"] is True
    apps = sandbox.client.get(
        f"/v23.0/{number.waba_id}/subscribed_apps",
        headers={"Authorization": f"Bearer {number.account['access_token']}"},
    ).json()["data"]
    assert [a["whatsapp_business_api_data"]["id"] for a in apps] == [sandbox.app_id]
    (stored,) = await rows(app, select(Channel))
    assert stored.token_encrypted
    assert number.account["access_token"] not in stored.token_encrypted

    listed = await client.get("/api/v1/whatsapp/numbers", headers=seller.headers)
    assert [c["id"] for c in listed.json()["items"]] == [channel["id"]]

    # Meta lowers the quality: a sync reads it again.
    sandbox.client.patch(
        f"/_sandbox/whatsapp/phone_numbers/{number.phone_number_id}",
        json={"quality_rating": "RED", "messaging_limit_tier": "TIER_250"},
    ).raise_for_status()
    synced = await client.post(
        f"/api/v1/whatsapp/numbers/{channel['id']}/sync", headers=seller.headers
    )
    assert synced.status_code == 200, synced.text
    assert synced.json()["details"]["quality_rating"] == "RED"
    assert synced.json()["details"]["messaging_limit_tier"] == "TIER_250"


async def test_values_meta_refuses_are_said_next_to_their_field(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, seller: ApiUser
) -> None:
    account = create_account(sandbox)
    other = create_account(sandbox, business_name="Someone Else")

    async def refused(**override: str) -> dict[str, str]:
        response = await client.post(
            "/api/v1/whatsapp/numbers",
            json=connect_body(account, **override),
            headers=seller.headers,
        )
        assert response.status_code == 422, response.text
        return {e["field"]: e["message"] for e in response.json()["errors"]}

    bad_token = await refused(access_token="EAAG" + "x" * 40)
    assert "access token" in bad_token["access_token"]
    unknown_number = await refused(phone_number_id="999999999999")
    assert "phone number id" in unknown_number["phone_number_id"]
    not_theirs = await refused(phone_number_id=other["phone_number_id"])
    assert "another business" in not_theirs["phone_number_id"]
    wrong_waba = await refused(waba_id="123456789012")
    assert set(wrong_waba) == {"waba_id"}
    malformed = await refused(waba_id="abc")
    assert "waba_id" in malformed
    assert await rows(app, select(Channel)) == []


async def test_another_workspace_gets_404(
    client: httpx.AsyncClient, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(client, sandbox, seller)
    base = f"/api/v1/whatsapp/numbers/{number.channel_id}"
    await assert_other_workspace_gets_404(client, "GET", base)
    await assert_other_workspace_gets_404(client, "POST", f"{base}/sync")


async def test_a_dead_token_marks_the_number_and_the_channels_api_handles_whatsapp(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(client, sandbox, seller)
    channel_path = f"/api/v1/channels/{number.channel_id}"
    synced = await client.post(f"{channel_path}/sync", headers=seller.headers)
    assert synced.status_code == 200, synced.text
    assert synced.json()["details"]["verified_name"] == number.channel["details"]["verified_name"]

    token = number.account["access_token"]
    sandbox.client.post(f"/_sandbox/tokens/{token}/revoke").raise_for_status()
    refused = await client.post(
        f"/api/v1/whatsapp/numbers/{number.channel_id}/sync", headers=seller.headers
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "channel_needs_reconnect"
    read = await client.get(channel_path, headers=seller.headers)
    assert read.json()["status"] in {"token_expired", "revoked"}
    assert "system-user token" in read.json()["status_reason"]

    # Disconnecting forgets the token; the app stays subscribed to the business account.
    gone = await client.post(f"{channel_path}/disconnect", headers=seller.headers)
    assert gone.status_code == 200, gone.text
    assert gone.json()["status"] == "disconnected"
    (stored,) = await rows(app, select(Channel))
    assert stored.token_encrypted is None
