"""Comments: a public reply under the comment, or one private reply to the commenter within
7 days."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.inbox.models import Conversation, Message
from socialsell.settings import Settings
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import connect_shop, post_delivery, rows
from tests.webhooks import payloads

DAY = 86_400


async def _commented(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> tuple[Any, Conversation, dict[str, Any]]:
    shop = await connect_shop(client, sandbox, consent, seller)
    media = sandbox.client.post(
        f"/_sandbox/instagram/accounts/{shop.ig_id}/media", json={"caption": "New dress!"}
    ).json()
    comment = sandbox.client.post(
        f"/_sandbox/instagram/accounts/{shop.ig_id}/comments",
        json={"from_username": "lia", "media_id": media["id"], "text": "How much?"},
    ).json()
    body = payloads.comment(
        shop.ig_id,
        comment["persona"]["id"],
        "lia",
        media["id"],
        "How much?",
        comment["id"],
        int(sandbox.now()),
    )
    assert (
        await post_delivery(client, settings.meta_app_secret.get_secret_value(), body)
    ).status_code == 200
    await app.state.jobs.drain()
    (conversation,) = await rows(app, select(Conversation))
    return shop, conversation, comment


async def test_a_public_reply_goes_under_the_comment(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop, conversation, comment = await _commented(client, app, sandbox, consent, seller, settings)
    assert conversation.kind == "comments"
    response = await client.post(
        f"/api/v1/conversations/{conversation.id}/messages",
        json={"text": "R$ 120, DM us!", "mode": "public"},
        headers=seller.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "sent"
    assert response.json()["kind"] == "comment"
    published = sandbox.client.get(f"/_sandbox/instagram/accounts/{shop.ig_id}/media").json()
    replies = [c for c in published["data"][0]["comments"] if c["parent_id"] == comment["id"]]
    assert [r["text"] for r in replies] == ["R$ 120, DM us!"]


async def test_one_private_reply_per_comment_within_7_days(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop, conversation, _ = await _commented(client, app, sandbox, consent, seller, settings)
    url = f"/api/v1/conversations/{conversation.id}/messages"
    first = await client.post(
        url, json={"text": "Sent you the price", "mode": "private"}, headers=seller.headers
    )
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "sent"
    sent = sandbox.client.get(f"/_sandbox/instagram/accounts/{shop.ig_id}/sent").json()["data"]
    assert [m["text"] for m in sent] == ["Sent you the price"]
    second = await client.post(
        url, json={"text": "And again", "mode": "private"}, headers=seller.headers
    )
    assert second.status_code == 409
    assert second.json()["code"] == "private_reply_not_allowed"


async def test_a_private_reply_after_7_days_is_refused(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from socialsell.db import utcnow

    _, conversation, _ = await _commented(client, app, sandbox, consent, seller, settings)
    async with app.state.sessionmaker() as session:
        await session.execute(update(Message).values(sent_at=utcnow() - timedelta(days=8)))
        await session.commit()
    response = await client.post(
        f"/api/v1/conversations/{conversation.id}/messages",
        json={"text": "Hi", "mode": "private"},
        headers=seller.headers,
    )
    assert response.status_code == 409
    assert "7 days" in response.json()["message"]
