"""A burst of concurrent deliveries: every one answered 200 is stored, and processed once.

On PostgreSQL the intake writes a burst in shared INSERTs (group commit) and, with Redis, rings
one doorbell for the deliveries stored while the previous one was on its way; a real
``socialsell worker`` processes those batches. On SQLite (embedded) each delivery is its own
INSERT and job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.inbox.models import Conversation, Message
from socialsell.settings import Settings
from socialsell.webhooks.models import WebhookDelivery
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import connect_shop, count, post_delivery, rows, wait_until
from tests.webhooks import payloads
from tests.webhooks.processes import REDIS, Processes

CUSTOMERS = ("5550101", "5550102", "5550103")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # With Redis, jobs go to a worker process; embedded, they run in this one.
    return settings.model_copy(update={"embedded_jobs": not REDIS})


@pytest.fixture
def processes(settings: Settings) -> Iterator[Processes]:
    procs = Processes(settings)
    yield procs
    procs.stop()


async def test_a_burst_is_stored_whole_and_processed_once(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
    processes: Processes,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    if REDIS:
        processes.spawn(["worker"])
    bodies = [
        payloads.text(
            shop.ig_id, CUSTOMERS[n % 3], f"message {n}", at_ms=payloads.BASE_MS + n * 1000
        )
        for n in range(60)
    ]
    repeated = bodies[:10]  # Meta sends some twice
    secret = settings.meta_app_secret.get_secret_value()
    answers = await asyncio.gather(
        *(post_delivery(client, secret, body) for body in [*bodies, *repeated])
    )
    assert [a.status_code for a in answers] == [200] * 70
    assert await count(app, WebhookDelivery) == 70, "every acknowledged delivery is stored"

    async def processed() -> bool:
        await app.state.jobs.drain()
        done = WebhookDelivery.status == "processed"
        return await count(app, WebhookDelivery, done) == 70

    # A worker process starting on a loaded machine can take a while.
    await wait_until(processed, within=120, what="the burst to be processed")
    assert await count(app, Message) == 60, "the repeated deliveries made no second message"
    conversations = await rows(app, select(Conversation))
    assert sorted(c.unread_count for c in conversations) == [20, 20, 20]
    first = await rows(
        app,
        select(Message.text)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .order_by(Message.sent_at)
        .limit(3),
    )
    assert first == ["message 0", "message 1", "message 2"]
