"""Live updates: events logged with the change and published after commit, streamed as SSE,
resumable from Last-Event-ID; the log is pruned."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell.accounts.models import Membership
from socialsell.core.tick import Tick
from socialsell.db import utcnow
from socialsell.inbox import live
from socialsell.inbox.models import InboxEvent
from socialsell.settings import Settings
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import connect_shop, count, post_delivery, rows
from tests.webhooks import payloads


async def _frames(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    frame: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if "id" in frame:
                yield frame
            frame = {}
        elif line.startswith(("id:", "event:", "data:")):
            name, _, value = line.partition(":")
            frame[name] = value.strip()


async def test_sse_resumes_from_last_event_id_then_goes_live(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
    live_server: Any,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    secret = settings.meta_app_secret.get_secret_value()
    for i in range(3):
        body = payloads.text(shop.ig_id, "c1", f"hello {i}", at_ms=payloads.BASE_MS + i)
        await post_delivery(client, secret, body)
    await app.state.jobs.drain()
    logged = await rows(app, select(InboxEvent).order_by(InboxEvent.id))
    kinds = [e.kind for e in logged]
    assert kinds.count("message.created") == 3
    assert "conversation.updated" in kinds
    ids = [e.id for e in logged]
    assert ids == sorted(ids)
    resume_after = ids[1]

    received: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=10) as http,
        asyncio.timeout(15),
        http.stream(
            "GET",
            "/api/v1/events",
            headers={**seller.headers, "Last-Event-ID": str(resume_after)},
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for frame in _frames(response):
            received.append(frame)
            if int(frame["id"]) == ids[-1]:
                # The backlog is in; now something happens while we listen.
                body = payloads.text(shop.ig_id, "c1", "live one", at_ms=payloads.BASE_MS + 9)
                assert (await post_delivery(http, secret, body)).status_code == 200
            if frame["event"] == "message.created" and "live one" in frame["data"]:
                break
    got = [int(f["id"]) for f in received]
    assert got[: len(ids) - 2] == ids[2:]  # exactly what followed Last-Event-ID, in order
    assert got == sorted(got)
    assert len(set(got)) == len(got)
    live_message = json.loads(received[-1]["data"])["message"]
    assert live_message["text"] == "live one"


async def test_the_stream_needs_a_signed_in_caller(
    client: httpx.AsyncClient, seller: ApiUser
) -> None:
    assert (await client.get("/api/v1/events")).status_code == 401
    browser = await client.get("/events", headers={"Accept": "text/html"})
    assert browser.status_code in (302, 303)


async def test_a_refused_change_publishes_nothing(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    secret = settings.meta_app_secret.get_secret_value()
    body = payloads.text(shop.ig_id, "c1", "hi", at_ms=payloads.BASE_MS)
    await post_delivery(client, secret, body)
    await app.state.jobs.drain()
    before = await count(app, InboxEvent)
    conversation = (await client.get("/api/v1/conversations", headers=seller.headers)).json()
    # BASE_MS is long past: the window is closed and the reply is refused (rolled back).
    refused = await client.post(
        f"/api/v1/conversations/{conversation['items'][0]['id']}/messages",
        json={"text": "late"},
        headers=seller.headers,
    )
    assert refused.status_code == 409
    assert await count(app, InboxEvent) == before


async def test_the_event_log_is_pruned(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    secret = settings.meta_app_secret.get_secret_value()
    for i in range(2):
        await post_delivery(
            client, secret, payloads.text(shop.ig_id, "c1", f"m{i}", at_ms=payloads.BASE_MS + i)
        )
    await app.state.jobs.drain()
    total = await count(app, InboxEvent)
    async with app.state.sessionmaker() as session:
        oldest = (await session.scalars(select(InboxEvent.id).order_by(InboxEvent.id))).first()
        await session.execute(
            update(InboxEvent)
            .where(InboxEvent.id == oldest)
            .values(created_at=utcnow() - timedelta(days=2))
        )
        await session.commit()
    await Tick(app.state.jobs, claimers=[], periodics=["inbox.prune_events"]).run_once()
    assert await count(app, InboxEvent) == total - 1


async def test_a_resume_past_the_pruned_log_asks_the_client_to_reload(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
    live_server: Any,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    secret = settings.meta_app_secret.get_secret_value()
    for i in range(2):
        body = payloads.text(shop.ig_id, "c1", f"old {i}", at_ms=payloads.BASE_MS + i)
        await post_delivery(client, secret, body)
    await app.state.jobs.drain()
    ids = [e.id for e in await rows(app, select(InboxEvent).order_by(InboxEvent.id))]
    # The client saw the first event, then went away while the log was pruned past it.
    async with app.state.sessionmaker() as db:
        await db.execute(InboxEvent.__table__.delete().where(InboxEvent.id <= ids[-2]))
        await db.commit()

    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=10) as http,
        asyncio.timeout(15),
        # The page's URL still says where it started (after=0); the header says where it was.
        http.stream(
            "GET",
            "/api/v1/events?after=0",
            headers={**seller.headers, "Last-Event-ID": str(ids[0])},
        ) as response,
    ):
        first = await anext(aiter(_frames(response)))
    assert first["event"] == "reset"
    assert json.loads(first["data"]) == {"reason": "events_pruned"}


async def test_events_published_out_of_id_order_all_reach_a_connected_stream(
    app: FastAPI, seller: ApiUser, settings: Settings, live_server: Any
) -> None:
    """PostgreSQL transactions commit, and so publish, in any order of their event ids; a burst
    of messages once lost the lower ids that arrived after a higher one."""

    async def log(*numbers: int) -> list[InboxEvent]:
        async with app.state.sessionmaker() as session:
            events = [
                InboxEvent(workspace_id=workspace_id, kind="message.created", payload={"n": n})
                for n in numbers
            ]
            session.add_all(events)
            await session.commit()
            return events

    async with app.state.sessionmaker() as session:
        found = await session.scalar(
            select(Membership.workspace_id).where(Membership.user_id == uuid.UUID(seller.user_id))
        )
    assert found is not None
    workspace_id = found
    (first,) = await log(0)
    pubsub = live.get_pubsub(settings)
    received: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=10) as http,
        asyncio.timeout(15),
        http.stream(
            "GET", "/api/v1/events", headers={**seller.headers, "Last-Event-ID": str(first.id - 1)}
        ) as response,
    ):
        frames = _frames(response)
        received.append(await anext(frames))  # from the log: the stream is now live
        later = await log(1, 2)
        for event in reversed(later):  # the higher id commits, and publishes, first
            message = {"id": event.id, "kind": event.kind, "payload": event.payload}
            await pubsub.publish(live.channel_name(workspace_id), message)
        async for frame in frames:
            received.append(frame)
            if len(received) == 3:
                break
    assert [json.loads(f["data"])["n"] for f in received] == [0, 2, 1]
    # Each frame's id is where a reconnect resumes: never past the event still in flight.
    assert [int(f["id"]) for f in received] == [first.id, first.id, later[1].id]


def test_a_stream_cursor_resumes_below_an_event_still_in_flight() -> None:
    now = [0.0]
    cursor = live.StreamCursor(10, gap_seconds=30, clock=lambda: now[0])
    cursor.sent(12)
    assert cursor.floor == 10  # 11 is still in flight: a reconnect must not skip it
    assert cursor.wants(11)
    assert not cursor.wants(12)
    assert not cursor.wants(10)
    cursor.sent(11)
    assert cursor.floor == 12
    cursor.sent(14)  # 13 was rolled back and never comes
    now[0] = 29
    cursor.expire_holes()
    assert cursor.floor == 12
    now[0] = 31
    cursor.expire_holes()
    assert cursor.floor == 14
    assert cursor.wants(15)
    assert not cursor.wants(13)
