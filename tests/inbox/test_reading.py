"""Reading: conversation lists with filters and keyset pages, threads with older pages, marking
read/unread and done, and the 404 tenancy check on every route."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from meta_sandbox.testing import Sandbox
from socialsell.settings import Settings
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import Shop, connect_shop, post_delivery
from tests.helpers.tenancy import assert_other_workspace_gets_404
from tests.webhooks import payloads


async def _inbox(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, shop: Shop, customers: int
) -> None:
    secret = settings.meta_app_secret.get_secret_value()
    for i in range(customers):
        for j in range(i + 1):  # customer i wrote i+1 messages
            body = payloads.text(
                shop.ig_id, f"cust{i}", f"msg {i}.{j}", at_ms=payloads.BASE_MS + i * 1000 + j
            )
            assert (await post_delivery(client, secret, body)).status_code == 200
    await app.state.jobs.drain()


async def test_lists_filter_and_page_by_last_activity(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    await _inbox(client, app, settings, shop, customers=5)
    h = seller.headers
    first = (await client.get("/api/v1/conversations?limit=2", headers=h)).json()
    assert [c["last_message_preview"] for c in first["items"]] == ["msg 4.4", "msg 3.3"]
    second = (
        await client.get(f"/api/v1/conversations?limit=2&cursor={first['next_cursor']}", headers=h)
    ).json()
    assert [c["last_message_preview"] for c in second["items"]] == ["msg 2.2", "msg 1.1"]
    third = (
        await client.get(f"/api/v1/conversations?limit=2&cursor={second['next_cursor']}", headers=h)
    ).json()
    assert [c["last_message_preview"] for c in third["items"]] == ["msg 0.0"]
    assert third["next_cursor"] is None

    top = first["items"][0]
    assert top["unread_count"] == 5
    assert top["contact"]["external_id"] == "cust4"
    assert top["window"]["can_reply"] in (True, False)
    read = await client.patch(
        f"/api/v1/conversations/{top['id']}", json={"read": True, "status": "done"}, headers=h
    )
    assert read.status_code == 200, read.text
    assert (read.json()["unread_count"], read.json()["status"]) == (0, "done")
    unread = (await client.get("/api/v1/conversations?unread=true", headers=h)).json()["items"]
    assert len(unread) == 4
    done = (await client.get("/api/v1/conversations?status=done", headers=h)).json()["items"]
    assert [c["id"] for c in done] == [top["id"]]
    again = await client.patch(
        f"/api/v1/conversations/{top['id']}", json={"read": False}, headers=h
    )
    assert again.json()["unread_count"] == 1
    assigned = await client.patch(
        f"/api/v1/conversations/{top['id']}", json={"assignee_id": seller.user_id}, headers=h
    )
    assert assigned.json()["assignee_id"] == seller.user_id
    mine = (
        await client.get(f"/api/v1/conversations?assignee_id={seller.user_id}", headers=h)
    ).json()["items"]
    assert [c["id"] for c in mine] == [top["id"]]
    by_channel = (
        await client.get(f"/api/v1/conversations?channel_id={shop.channel_id}&kind=dm", headers=h)
    ).json()["items"]
    assert len(by_channel) == 5
    comments = (await client.get("/api/v1/conversations?kind=comments", headers=h)).json()
    assert comments["items"] == []

    # A customer writing again reopens a done conversation.
    secret = settings.meta_app_secret.get_secret_value()
    body = payloads.text(shop.ig_id, "cust4", "one more", at_ms=payloads.BASE_MS + 99_000)
    await post_delivery(client, secret, body)
    await app.state.jobs.drain()
    reopened = (await client.get(f"/api/v1/conversations/{top['id']}", headers=h)).json()
    assert reopened["status"] == "open"


async def test_threads_page_to_older_messages(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    await _inbox(client, app, settings, shop, customers=5)
    top = (await client.get("/api/v1/conversations?limit=1", headers=seller.headers)).json()
    url = f"/api/v1/conversations/{top['items'][0]['id']}/messages"
    page = (await client.get(f"{url}?limit=3", headers=seller.headers)).json()
    assert [m["text"] for m in page["items"]] == ["msg 4.4", "msg 4.3", "msg 4.2"]
    older = (
        await client.get(f"{url}?limit=3&cursor={page['next_cursor']}", headers=seller.headers)
    ).json()
    assert [m["text"] for m in older["items"]] == ["msg 4.1", "msg 4.0"]
    assert older["next_cursor"] is None


async def test_another_workspace_gets_404_on_every_route(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    await _inbox(client, app, settings, shop, customers=1)
    conversation = (await client.get("/api/v1/conversations", headers=seller.headers)).json()
    conversation_id = conversation["items"][0]["id"]
    messages = (
        await client.get(
            f"/api/v1/conversations/{conversation_id}/messages", headers=seller.headers
        )
    ).json()
    message_id = messages["items"][0]["id"]
    from tests.helpers.factories import register

    outsider = (await register(client, name="Outsider")).headers
    for method, path, body in [
        ("GET", f"/api/v1/conversations/{conversation_id}", None),
        ("PATCH", f"/api/v1/conversations/{conversation_id}", {"read": True}),
        ("GET", f"/api/v1/conversations/{conversation_id}/messages", None),
        ("POST", f"/api/v1/conversations/{conversation_id}/messages", {"text": "hi"}),
        ("GET", f"/api/v1/messages/{message_id}", None),
        ("POST", f"/api/v1/messages/{message_id}/retry", None),
    ]:
        await assert_other_workspace_gets_404(
            client, method, path, json=body, outsider_headers=outsider
        )
    # Lists and search show the outsider nothing of ours.
    assert (await client.get("/api/v1/conversations", headers=outsider)).json()["items"] == []
    found = await client.get("/api/v1/messages/search?q=msg", headers=outsider)
    assert found.json()["items"] == []
