"""Reconciling comments: comment webhooks Meta never delivered are filled in from the comments
of the account's recent media (replies included), once, in the post's comments conversation;
reconciling again, or the late webhook arriving after all, adds nothing."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.core.tick import Tick
from socialsell.inbox.models import Contact, Conversation, Message
from socialsell.settings import Settings
from socialsell.webhooks.models import WebhookDelivery
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import connect_shop, count, post_delivery, rows, wait_until

ON_CONNECT = "inbox.reconcile_new_channels"
PERIODIC = "inbox.reconcile_all_channels"


def _comment(
    sandbox: Sandbox, ig_id: str, who: str, media_id: str, text: str, parent: str | None = None
) -> dict[str, Any]:
    response = sandbox.client.post(
        f"/_sandbox/instagram/accounts/{ig_id}/comments",
        json={"from_username": who, "media_id": media_id, "text": text, "parent_id": parent},
    )
    response.raise_for_status()
    comment: dict[str, Any] = response.json()
    return comment


async def _comments(app: FastAPI) -> dict[str, Message]:
    return {m.external_id: m for m in await rows(app, select(Message)) if m.external_id}


async def test_dropped_comment_webhooks_are_filled_in_once_and_the_late_webhook_adds_nothing(
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
    post = sandbox.client.post(
        f"/_sandbox/instagram/accounts/{shop.ig_id}/media", json={"caption": "Linen dress"}
    ).json()
    older = sandbox.client.post(
        f"/_sandbox/instagram/accounts/{shop.ig_id}/media", json={"caption": "Straw hat"}
    ).json()
    first = _comment(sandbox, shop.ig_id, "lia", post["id"], "How much?")
    await wait_until(lambda: count(app, Message), what="the delivered comment")

    sandbox.fault("webhook_drop", count=3)
    sandbox.advance(1)
    lost = _comment(sandbox, shop.ig_id, "bia", post["id"], "Do you ship to Recife?")
    sandbox.advance(1)
    lost_reply = _comment(sandbox, shop.ig_id, "lia", post["id"], "And in red?", first["id"])
    sandbox.advance(1)
    lost_elsewhere = _comment(sandbox, shop.ig_id, "caio", older["id"], "Size?")

    async def dropped() -> list[dict[str, Any]]:
        # The sandbox may batch the three into fewer deliveries, as Meta does.
        found = [d for d in sandbox.deliveries("instagram") if d["state"] == "dropped"]
        ids = {
            change["value"]["id"]
            for d in found
            for entry in d["payload"]["entry"]
            for change in entry.get("changes", [])
        }
        return found if ids == {lost["id"], lost_reply["id"], lost_elsewhere["id"]} else []

    late = await wait_until(dropped, what="the sandbox to drop the three comment webhooks")
    assert set(await _comments(app)) == {first["id"]}

    # Connecting is what makes a channel "never reconciled": the next tick reconciles it.
    report = await Tick(app.state.jobs, claimers=[ON_CONNECT], periodics=[]).run_once()
    assert report.claimed[ON_CONNECT] == 1
    await app.state.jobs.drain()

    comments = await _comments(app)
    assert set(comments) == {first["id"], lost["id"], lost_reply["id"], lost_elsewhere["id"]}
    assert comments[lost["id"]].text == "Do you ship to Recife?"
    assert comments[lost_reply["id"]].details["parent_id"] == first["id"]
    conversations = {c.id: c for c in await rows(app, select(Conversation))}
    contacts = {c.id: c.username for c in await rows(app, select(Contact))}
    threads = {
        (contacts[c.contact_id], c.media_id): c for c in conversations.values()
    }  # one comments thread per commenter and post
    assert set(threads) == {("lia", post["id"]), ("bia", post["id"]), ("caio", older["id"])}
    assert {c.kind for c in conversations.values()} == {"comments"}
    lia = threads[("lia", post["id"])]
    assert comments[lost_reply["id"]].conversation_id == lia.id
    assert comments[first["id"]].conversation_id == lia.id
    assert lia.unread_count == 2
    assert lia.last_message_preview == "And in red?"
    assert all(m.kind == "comment" and m.direction == "inbound" for m in comments.values())

    # The periodic run finds nothing more to add.
    await Tick(app.state.jobs, claimers=[], periodics=[PERIODIC]).run_once()
    await app.state.jobs.drain()
    assert await count(app, Message) == 4

    # Meta delivers the lost webhooks after all: stored, processed, nothing duplicated.
    secret = settings.meta_app_secret.get_secret_value()
    for delivery in late:
        body = delivery["body"].encode()
        response = await post_delivery(client, secret, body, signature=delivery["signature_256"])
        assert response.status_code == 200
    await app.state.jobs.drain()
    assert await count(app, WebhookDelivery, WebhookDelivery.status == "processed") == 1 + len(late)
    assert await count(app, Message) == 4
    assert await count(app, Conversation) == 3
    lia_after = (await rows(app, select(Conversation).where(Conversation.id == lia.id)))[0]
    assert lia_after.unread_count == 2, "the late webhook did not count the reply again"
