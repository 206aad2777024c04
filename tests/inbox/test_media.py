"""Attachments are copied into our storage; a failed copy is retried with a bound and never
drops the message; oversized files are refused."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell.core.tick import Tick
from socialsell.db import utcnow
from socialsell.inbox.media import MAX_ATTEMPTS
from socialsell.inbox.models import Message
from socialsell.settings import Settings
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import connect_shop, post_delivery, rows
from tests.webhooks import payloads


async def _image_message(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, ig_id: str, url: str
) -> Message:
    event = payloads.incoming(
        ig_id,
        "c1",
        payloads.BASE_MS,
        message={
            "mid": payloads.mid(),
            "attachments": [{"type": "image", "payload": {"url": url}}],
        },
    )
    body = payloads.body(payloads.messaging(ig_id, event))
    await post_delivery(client, settings.meta_app_secret.get_secret_value(), body)
    await app.state.jobs.drain()
    (message,) = await rows(app, select(Message))
    return message


async def _retry_due(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(Message).values(media_next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    await Tick(app.state.jobs, claimers=["inbox.retry_media"], periodics=[]).run_once()
    await app.state.jobs.drain()


async def test_a_failed_copy_is_retried_and_the_message_kept(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    message = await _image_message(
        client, app, settings, shop.ig_id, f"{sandbox.url}/_sandbox/cdn/not-there-yet"
    )
    assert message.media_pending
    assert message.media[0]["status"] == "pending"
    assert "404" in message.media[0]["error"]
    for _ in range(MAX_ATTEMPTS - 1):
        await _retry_due(app)
    (message,) = await rows(app, select(Message))
    assert message.media_attempts == MAX_ATTEMPTS
    assert not message.media_pending
    assert message.media[0]["status"] == "failed"
    # Shown with Meta's URL while it may still work; the message is all there.
    listed = await client.get(
        f"/api/v1/conversations/{message.conversation_id}/messages", headers=seller.headers
    )
    assert listed.json()["items"][0]["media"][0]["status"] == "failed"


async def test_a_copied_attachment_is_served_by_a_signed_url(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    message = await _image_message(
        client, app, settings, shop.ig_id, f"{sandbox.url}/_sandbox/samples/image.jpg"
    )
    assert message.media[0]["status"] == "stored"
    page = await client.get(
        f"/api/v1/conversations/{message.conversation_id}/messages", headers=seller.headers
    )
    url = page.json()["items"][0]["media"][0]["url"]
    served = await client.get(url.replace(settings.base_url, ""))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"


async def test_files_over_the_size_limit_are_not_copied(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    app.state.jobs.settings = settings.model_copy(update={"media_max_bytes": 1000})
    shop = await connect_shop(client, sandbox, consent, seller)
    message = await _image_message(
        client, app, settings, shop.ig_id, f"{sandbox.url}/_sandbox/samples/image.jpg"
    )
    assert message.media[0]["status"] == "too_large"
    assert not message.media_pending
