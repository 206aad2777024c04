"""Processing: deliveries into contacts, conversations and messages, every inbound kind,
idempotent by Meta's ids, ordered by Meta's time, and never lost."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell.core.tick import Tick
from socialsell.db import utcnow
from socialsell.inbox.models import Contact, Conversation, Message
from socialsell.settings import Settings
from socialsell.webhooks.models import WebhookDelivery
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import Shop, connect_shop, count, post_delivery, rows
from tests.webhooks import payloads

CUSTOMER = "5550001"


async def _shop(
    client: httpx.AsyncClient, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> Shop:
    return await connect_shop(client, sandbox, consent, seller)


async def _post(client: httpx.AsyncClient, app: FastAPI, settings: Settings, body: bytes) -> None:
    response = await post_delivery(client, settings.meta_app_secret.get_secret_value(), body)
    assert response.status_code == 200
    await app.state.jobs.drain()


async def _messages(app: FastAPI) -> list[Message]:
    return await rows(app, select(Message).order_by(Message.sent_at, Message.id))


async def test_a_text_message_lands_in_the_customers_conversation(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await _shop(client, sandbox, consent, seller)
    await _post(
        client,
        app,
        settings,
        payloads.text(shop.ig_id, CUSTOMER, "Is it in blue?", at_ms=payloads.BASE_MS),
    )
    (message,) = await _messages(app)
    assert (message.direction, message.kind, message.status) == ("inbound", "text", "received")
    assert message.text == "Is it in blue?"
    (conversation,) = await rows(app, select(Conversation))
    assert conversation.kind == "dm"
    assert conversation.unread_count == 1
    assert conversation.last_message_preview == "Is it in blue?"
    assert conversation.workspace_id == message.workspace_id
    (contact,) = await rows(app, select(Contact))
    assert contact.external_id == CUSTOMER
    (delivery,) = await rows(app, select(WebhookDelivery))
    assert delivery.status == "processed"


async def test_every_inbound_kind(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await _shop(client, sandbox, consent, seller)
    ig = shop.ig_id
    url = f"{sandbox.url}/_sandbox/samples/image.jpg"
    t = payloads.BASE_MS
    ids = {
        kind: payloads.mid()
        for kind in ("image", "video", "audio", "file", "share", "mention", "story", "echo", "app")
    }

    def att(kind: str) -> dict[str, object]:
        return {"type": kind, "payload": {"url": url}}

    events = [
        payloads.incoming(
            ig, CUSTOMER, t + 1, message={"mid": ids["image"], "attachments": [att("image")]}
        ),
        payloads.incoming(
            ig, CUSTOMER, t + 2, message={"mid": ids["video"], "attachments": [att("video")]}
        ),
        payloads.incoming(
            ig, CUSTOMER, t + 3, message={"mid": ids["audio"], "attachments": [att("audio")]}
        ),
        payloads.incoming(
            ig, CUSTOMER, t + 4, message={"mid": ids["file"], "attachments": [att("file")]}
        ),
        payloads.incoming(
            ig, CUSTOMER, t + 5, message={"mid": ids["share"], "attachments": [att("share")]}
        ),
        payloads.incoming(
            ig,
            CUSTOMER,
            t + 6,
            message={"mid": ids["mention"], "attachments": [att("story_mention")]},
        ),
        payloads.incoming(
            ig,
            CUSTOMER,
            t + 7,
            message={
                "mid": ids["story"],
                "text": "Love this!",
                "reply_to": {"story": {"url": url, "id": "st1"}},
            },
        ),
        # The seller answered from the Instagram app: an echo, shown as outbound.
        payloads.echo(
            ig, CUSTOMER, t + 8, message={"mid": ids["app"], "text": "Thanks!", "is_echo": True}
        ),
    ]
    await _post(client, app, settings, payloads.body(payloads.messaging(ig, *events)))
    stored = {m.external_id: m for m in await _messages(app)}
    assert {stored[ids[k]].kind for k in ("image", "video", "audio", "file", "share")} == {
        "image",
        "video",
        "audio",
        "file",
        "share",
    }
    assert stored[ids["mention"]].kind == "story_mention"
    assert stored[ids["story"]].kind == "story_reply"
    assert stored[ids["story"]].details["story"]["id"] == "st1"
    app_echo = stored[ids["app"]]
    assert (app_echo.direction, app_echo.status, app_echo.text) == ("outbound", "sent", "Thanks!")
    # Attachments were copied into our storage (Meta's URLs expire).
    image = stored[ids["image"]]
    assert image.media[0]["status"] == "stored"
    assert image.media[0]["content_type"] == "image/jpeg"
    assert not image.media_pending
    (conversation,) = await rows(app, select(Conversation))
    assert conversation.unread_count == 7  # the echo is ours, not unread
    assert conversation.last_message_preview == "Thanks!"

    # Reactions, edits, unsends and reads change the messages they name.
    later = [
        payloads.incoming(
            ig,
            CUSTOMER,
            t + 10,
            reaction={"mid": ids["app"], "action": "react", "reaction": "love", "emoji": "❤️"},
        ),
        payloads.incoming(
            ig,
            CUSTOMER,
            t + 11,
            message_edit={"mid": ids["story"], "text": "Love this one!", "num_edit": 1},
        ),
        payloads.incoming(ig, CUSTOMER, t + 12, message={"mid": ids["video"], "is_deleted": True}),
        payloads.incoming(ig, CUSTOMER, t + 13, read={"mid": ids["app"]}),
    ]
    await _post(client, app, settings, payloads.body(payloads.messaging(ig, *later)))
    stored = {m.external_id: m for m in await _messages(app)}
    assert stored[ids["app"]].reactions[0]["emoji"] == "❤️"
    assert stored[ids["app"]].status == "read"
    assert stored[ids["story"]].text == "Love this one!"
    assert stored[ids["story"]].edited_at is not None
    assert stored[ids["video"]].deleted_at is not None
    assert stored[ids["video"]].text is None
    unreact = payloads.incoming(
        ig, CUSTOMER, t + 14, reaction={"mid": ids["app"], "action": "unreact"}
    )
    await _post(client, app, settings, payloads.body(payloads.messaging(ig, unreact)))
    assert (await rows(app, select(Message).where(Message.external_id == ids["app"])))[
        0
    ].reactions == []


async def test_comments_arrive_as_a_comments_conversation_linked_to_the_post(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await _shop(client, sandbox, consent, seller)
    body = payloads.comment(
        shop.ig_id, CUSTOMER, "maria", "media-1", "Price?", "c-1", 1_790_000_000
    )
    await _post(client, app, settings, body)
    await _post(client, app, settings, body)  # Meta repeats it
    (conversation,) = await rows(app, select(Conversation))
    assert (conversation.kind, conversation.media_id) == ("comments", "media-1")
    (message,) = await _messages(app)
    assert (message.kind, message.text, message.external_id) == ("comment", "Price?", "c-1")
    (contact,) = await rows(app, select(Contact))
    assert contact.username == "maria"


async def test_duplicates_and_reordering_make_one_thread_in_metas_order(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await _shop(client, sandbox, consent, seller)
    first = payloads.text(shop.ig_id, CUSTOMER, "first", at_ms=payloads.BASE_MS)
    second = payloads.text(shop.ig_id, CUSTOMER, "second", at_ms=payloads.BASE_MS + 1000)
    for body in [second, first, second, first]:  # reordered and repeated
        await _post(client, app, settings, body)
    assert [m.text for m in await _messages(app)] == ["first", "second"]
    (conversation,) = await rows(app, select(Conversation))
    assert conversation.last_message_preview == "second"
    assert conversation.unread_count == 2
    page = (
        await client.get(
            f"/api/v1/conversations/{conversation.id}/messages", headers=shop.seller.headers
        )
    ).json()
    assert [m["text"] for m in page["items"]] == ["second", "first"]  # newest first


async def test_a_reaction_that_overtakes_its_message_waits_for_it(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await _shop(client, sandbox, consent, seller)
    message_id = payloads.mid()
    reaction = payloads.body(
        payloads.messaging(
            shop.ig_id,
            payloads.incoming(
                shop.ig_id,
                CUSTOMER,
                payloads.BASE_MS + 5,
                message_edit={"mid": message_id, "text": "edited", "num_edit": 1},
            ),
        )
    )
    await _post(client, app, settings, reaction)
    (waiting,) = await rows(app, select(WebhookDelivery))
    assert waiting.status == "pending"
    await _post(
        client,
        app,
        settings,
        payloads.text(shop.ig_id, CUSTOMER, "orig", at_ms=payloads.BASE_MS, message_id=message_id),
    )
    await _rekick(app, settings)
    assert [m.text for m in await _messages(app)] == ["edited"]
    assert await count(app, WebhookDelivery, WebhookDelivery.status == "processed") == 2


async def _rekick(app: FastAPI, settings: Settings) -> int:
    # 60 s later, without waiting 60 s: move the kicks back in time.
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(WebhookDelivery).values(
                kicked_at=utcnow() - timedelta(seconds=settings.webhook_reprocess_after_seconds + 1)
            )
        )
        await session.commit()
    report = await Tick(
        app.state.jobs, claimers=["webhooks.rekick_stale_deliveries"], periodics=[]
    ).run_once()
    await app.state.jobs.drain()
    return report.claimed.get("webhooks.rekick_stale_deliveries", 0)


async def test_a_delivery_stored_but_never_processed_is_picked_up_by_the_tick(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    """The job was lost (Redis lost the message, or the process died before it ran): the row
    exists, no job does. test_crash.py kills a real process in the middle of processing."""
    shop = await _shop(client, sandbox, consent, seller)
    from socialsell.webhooks import service

    async with app.state.sessionmaker() as session:
        await service.store_delivery(
            session,
            "instagram",
            payloads.text(shop.ig_id, CUSTOMER, "lost doorbell", at_ms=payloads.BASE_MS),
        )
        await session.commit()
    # Not yet 60 s old: the tick leaves it to its job.
    report = await Tick(
        app.state.jobs, claimers=["webhooks.rekick_stale_deliveries"], periodics=[]
    ).run_once()
    assert report.claimed["webhooks.rekick_stale_deliveries"] == 0
    assert await _rekick(app, settings) == 1
    assert [m.text for m in await _messages(app)] == ["lost doorbell"]
    # Processed rows are never claimed again.
    assert await _rekick(app, settings) == 0


async def test_urls_outside_allowed_hosts_are_never_fetched(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await _shop(client, sandbox, consent, seller)
    ig = shop.ig_id
    events = [
        payloads.incoming(
            ig,
            CUSTOMER,
            payloads.BASE_MS + i,
            message={
                "mid": payloads.mid(),
                "attachments": [{"type": "image", "payload": {"url": url}}],
            },
        )
        for i, url in enumerate(
            [
                "http://169.254.169.254/latest/meta-data/",
                "http://10.0.0.7/inside.jpg",
                "file:///etc/passwd",
                "https://evil.example.com/x.jpg",
            ]
        )
    ]
    await _post(client, app, settings, payloads.body(payloads.messaging(ig, *events)))
    stored = await _messages(app)
    assert len(stored) == 4  # the messages are kept
    assert {m.media[0]["status"] for m in stored} == {"refused"}


async def test_old_deliveries_are_pruned_but_pending_ones_kept(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await _shop(client, sandbox, consent, seller)
    await _post(
        client, app, settings, payloads.text(shop.ig_id, CUSTOMER, "a", at_ms=payloads.BASE_MS)
    )
    await _post(client, app, settings, b"{broken")
    from socialsell.webhooks import service

    async with app.state.sessionmaker() as session:
        await service.store_delivery(session, "instagram", b"{}")  # never processed
        await session.execute(
            update(WebhookDelivery).values(received_at=utcnow() - timedelta(days=20))
        )
        await session.commit()
    await Tick(app.state.jobs, claimers=[], periodics=["webhooks.prune_deliveries"]).run_once()
    left = {d.status for d in await rows(app, select(WebhookDelivery))}
    assert left == {"unprocessable", "pending"}  # kept longer, and never deleted
    assert await count(app, Message) == 1  # what a delivery produced stays


async def test_an_oversized_delivery_is_refused_before_it_is_read(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    body = b"x" * (settings.webhook_max_body_bytes + 1)
    response = await post_delivery(client, settings.meta_app_secret.get_secret_value(), body)
    assert response.status_code == 413
    assert await count(app, WebhookDelivery) == 0
