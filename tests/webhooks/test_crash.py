"""A real process killed (SIGKILL) in the middle of processing a stored delivery — its message
written, not committed — and then restarted: the delivery is processed once, into the right
thread, and nothing is lost or counted twice.

PostgreSQL + Redis: this test's app stores the delivery and sends the job through Redis to a real
``socialsell worker`` process, which dies at the crash point; after the restart the tick re-kicks
the delivery to a new worker. SQLite (embedded): a real ``socialsell serve`` process receives the
delivery over HTTP and processes it in-process, dies there, and a restarted ``serve`` finds the
delivery on its first tick.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
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
from tests.helpers.instagram import connect_shop, count, post_delivery, rows, wait_until
from tests.webhooks import payloads
from tests.webhooks.processes import REDIS, Processes

CUSTOMER = "5550077"
REKICK = "webhooks.rekick_stale_deliveries"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # With Redis, jobs go to the worker processes; embedded, they run in the serve process.
    return settings.model_copy(update={"embedded_jobs": not REDIS})


@pytest.fixture
def processes(settings: Settings) -> Iterator[Processes]:
    procs = Processes(settings)
    yield procs
    procs.stop()


async def _killed(proc: subprocess.Popen[bytes]) -> None:
    # Polled, not proc.wait(): this event loop still has the doorbell to send (Redis).
    async def exited() -> bool:
        return proc.poll() is not None

    await wait_until(exited, within=60, what="the process to reach the crash point")
    assert proc.returncode == -signal.SIGKILL, "the process was to die at the crash point"


async def _sixty_seconds_later(app: FastAPI, settings: Settings) -> None:
    # The re-kick delay, without waiting for it: move the kick back in time.
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(WebhookDelivery).values(
                kicked_at=utcnow() - timedelta(seconds=settings.webhook_reprocess_after_seconds + 1)
            )
        )
        await session.commit()


@pytest.mark.slow
async def test_a_worker_killed_while_processing_a_delivery_processes_it_after_restart(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
    processes: Processes,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    secret = settings.meta_app_secret.get_secret_value()
    body = payloads.text(shop.ig_id, CUSTOMER, "is the blue one back?", at_ms=payloads.BASE_MS)

    if REDIS:
        doomed = processes.spawn(["worker"], crash_at="after_apply")
        response = await post_delivery(client, secret, body)
    else:
        url = await processes.serve(crash_at="after_apply")
        doomed = processes.started[-1]
        async with httpx.AsyncClient(base_url=url) as http:
            response = await post_delivery(http, secret, body)
    assert response.status_code == 200, "stored and acknowledged before processing"
    await _killed(doomed)

    (delivery,) = await rows(app, select(WebhookDelivery))
    assert delivery.status == "pending"
    assert await count(app, Message) == 0, "the half-done processing was rolled back"

    await _sixty_seconds_later(app, settings)
    if REDIS:
        processes.spawn(["worker"])
        report = await Tick(app.state.jobs, claimers=[REKICK], periodics=[]).run_once()
        assert report.claimed[REKICK] == 1
    else:
        await processes.serve(tick=True)  # the restarted web process ticks at once

    async def processed() -> bool:
        (row,) = await rows(app, select(WebhookDelivery))
        return row.status == "processed"

    await wait_until(processed, within=120, what="the delivery to be processed after restart")
    (message,) = await rows(app, select(Message))
    assert (message.text, message.direction) == ("is the blue one back?", "inbound")
    (conversation,) = await rows(app, select(Conversation))
    assert message.conversation_id == conversation.id
    assert conversation.kind == "dm"
    assert conversation.unread_count == 1, "counted once, not once per attempt"
    (contact,) = await rows(app, select(Contact))
    assert (contact.external_id, contact.id) == (CUSTOMER, conversation.contact_id)
