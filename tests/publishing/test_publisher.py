"""The publisher against the sandbox: a due post is claimed by the tick and published once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell import db
from socialsell.app import create_app
from socialsell.core.tick import Tick
from socialsell.inbox import live
from socialsell.notifications.models import Notification
from socialsell.publishing import events
from socialsell.publishing.models import Post
from socialsell.publishing.publisher import _container_failure
from tests.conftest import LiveServer
from tests.helpers.instagram import Shop, rows
from tests.publishing.helpers import (
    CLAIMER,
    expire_lease,
    make_due,
    post_row,
    published,
    schedule,
    tick,
    upload,
    upload_image,
)


async def test_scheduled_post_is_published_once_when_due(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    shop: Shop,
    media_server: LiveServer,
) -> None:
    media_id = await upload_image(client, shop.seller)
    [post] = await schedule(client, shop.seller, [shop.channel_id], [media_id])
    assert post["status"] == "scheduled"

    assert await tick(app) == 0, "not due yet"
    await make_due(app, post["id"])
    assert await tick(app) == 1
    row = await post_row(app, post["id"])
    assert row.status == "publishing"
    assert row.container_id is not None, "the container id is stored before publishing"
    assert row.progress == "Instagram is processing the media."
    assert published(sandbox, shop.ig_id) == []

    sandbox.advance(6)  # the container finishes processing
    await expire_lease(app, post["id"])  # time to look again
    assert await tick(app) == 1

    row = await post_row(app, post["id"])
    assert row.status == "published"
    feed = published(sandbox, shop.ig_id)
    assert len(feed) == 1
    assert feed[0]["container_id"] == row.container_id
    assert feed[0]["caption"] == "Spring drop #new"
    assert row.external_media_id == feed[0]["id"]
    assert row.permalink
    assert row.permalink.startswith("https://www.instagram.com/p/")
    assert row.lease_owner is None

    # Nothing more to do, however often the tick runs.
    await expire_lease(app, post["id"])
    assert await tick(app) == 0
    assert len(published(sandbox, shop.ig_id)) == 1


async def _publish_now(app: FastAPI, sandbox: Sandbox, post_id: str) -> None:
    """Due, claimed (container made), processed, claimed again (published)."""
    await make_due(app, post_id)
    await tick(app)
    sandbox.advance(6)
    await expire_lease(app, post_id)
    await tick(app)


async def test_carousel_children_are_created_first_then_the_carousel(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    shop: Shop,
    media_server: LiveServer,
) -> None:
    photo = await upload_image(client, shop.seller)
    video_bytes = sandbox.client.get("/_sandbox/samples/video.mp4", params={"duration": 10})
    video = (await upload(client, shop.seller, video_bytes.content, "v.mp4")).json()["id"]
    [post] = await schedule(
        client, shop.seller, [shop.channel_id], [photo, video, photo], kind="carousel"
    )
    await _publish_now(app, sandbox, post["id"])

    row = await post_row(app, post["id"])
    assert row.status == "published", row.failure_reason
    calls = sandbox.client.get("/_sandbox/calls").json()["data"]
    creations = [c for c in calls if c["method"] == "POST" and c["path"].endswith("/media")]
    assert len(creations) == 4, "three children, then the carousel"
    [album] = published(sandbox, shop.ig_id)
    assert album["media_type"] == "CAROUSEL_ALBUM"
    assert album["container_id"] == row.container_id
    assert len(album["children"]) == 3


async def test_a_refused_container_fails_with_advice_and_retry_publishes_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    shop: Shop,
    settings: Any,
    media_port: int,
) -> None:
    media_id = await upload_image(client, shop.seller)
    [post] = await schedule(client, shop.seller, [shop.channel_id], [media_id])
    # Nothing serves the media yet: Instagram cannot download it.
    await make_due(app, post["id"])
    await tick(app)

    body = (await client.get(f"/api/v1/posts/{post['id']}", headers=shop.seller.headers)).json()
    assert body["status"] == "failed"
    assert body["failure_code"] == "meta_9004_2207052"
    assert body["failure_reason"].startswith(
        "Instagram could not download the media from socialsell."
    )
    assert "could not be fetched" in body["failure_detail"]
    assert body["can_retry"] is True
    [note] = await rows(app, select(Notification))
    assert note.kind == "post_failed"
    assert note.body == body["failure_reason"]
    assert published(sandbox, shop.ig_id) == []

    server = LiveServer(create_app(settings), media_port)
    server.start()
    try:
        response = await client.post(
            f"/api/v1/posts/{post['id']}/retry", headers=shop.seller.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "scheduled"
        assert response.json()["failure_reason"] is None
        await tick(app)
        sandbox.advance(6)
        await expire_lease(app, post["id"])
        await tick(app)
    finally:
        server.stop()
    assert (await post_row(app, post["id"])).status == "published"
    assert len(published(sandbox, shop.ig_id)) == 1
    response = await client.post(f"/api/v1/posts/{post['id']}/retry", headers=shop.seller.headers)
    assert response.status_code == 409


async def test_a_throttled_media_publish_is_retried_after_asking_the_container(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    shop: Shop,
    media_server: LiveServer,
) -> None:
    media_id = await upload_image(client, shop.seller)
    [post] = await schedule(client, shop.seller, [shop.channel_id], [media_id])
    await make_due(app, post["id"])
    await tick(app)
    sandbox.advance(6)
    # Meta throttles the publish call (the client itself retries only 5xx, never a throttle).
    sandbox.fault("rate_limit", code=17, count=1, path_contains="media_publish")
    await expire_lease(app, post["id"])
    before = datetime.now(UTC)
    await tick(app)

    row = await post_row(app, post["id"])
    assert row.status == "publishing"
    assert row.attempts == 1
    assert row.publish_attempted_at is not None, "the outcome is unknown until Meta is asked"
    assert row.lease_until is not None
    assert row.lease_until >= before + timedelta(seconds=59), "Meta's default retry-after"
    assert row.progress
    assert "trying again in 60 s" in row.progress

    await expire_lease(app, post["id"])
    await tick(app)
    row = await post_row(app, post["id"])
    assert row.status == "published"
    assert len(published(sandbox, shop.ig_id)) == 1


async def test_transient_failures_end_in_failed_after_three_retries(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    shop: Shop,
    media_server: LiveServer,
) -> None:
    media_id = await upload_image(client, shop.seller)
    [post] = await schedule(client, shop.seller, [shop.channel_id], [media_id])
    await make_due(app, post["id"])
    await tick(app)
    sandbox.advance(6)
    sandbox.fault("rate_limit", code=17, count=10, path_contains="media_publish")
    attempts = []
    for _ in range(4):
        await expire_lease(app, post["id"])
        await tick(app)
        attempts.append((await post_row(app, post["id"])).attempts)
    assert attempts == [1, 2, 3, 3]
    row = await post_row(app, post["id"])
    assert row.status == "failed"
    assert row.failure_reason == (
        "Instagram kept failing while publishing (it may be down). Retry in a few minutes."
    )
    assert published(sandbox, shop.ig_id) == []


async def test_deleted_and_rescheduled_posts_are_not_published_at_their_old_time(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    shop: Shop,
    media_server: LiveServer,
) -> None:
    media_id = await upload_image(client, shop.seller)
    [deleted, moved] = [
        (await schedule(client, shop.seller, [shop.channel_id], [media_id], caption=c))[0]
        for c in ("deleted", "moved")
    ]
    response = await client.delete(f"/api/v1/posts/{deleted['id']}", headers=shop.seller.headers)
    assert response.status_code == 204
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    response = await client.patch(
        f"/api/v1/posts/{moved['id']}",
        json={"scheduled_at": tomorrow},
        headers=shop.seller.headers,
    )
    assert response.status_code == 200, response.text

    # The old time (an hour from the test's start) passes; the new one (tomorrow) does not.
    async with db.unit_of_work(app.state.sessionmaker) as session:
        await session.execute(
            update(Post)
            .where(Post.scheduled_at < db.utcnow() + timedelta(hours=2))
            .values(scheduled_at=db.utcnow() - timedelta(seconds=1))
        )
    assert await tick(app) == 0
    assert (await post_row(app, moved["id"])).status == "scheduled"
    assert published(sandbox, shop.ig_id) == []


async def test_two_ticks_racing_claim_a_post_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    shop: Shop,
    media_server: LiveServer,
) -> None:
    media_id = await upload_image(client, shop.seller)
    posts = await schedule(client, shop.seller, [shop.channel_id], [media_id])
    for post in posts:
        await make_due(app, post["id"])
    ticks = [Tick(app.state.jobs, claimers=[CLAIMER], periodics=[]) for _ in range(4)]
    reports = await asyncio.gather(*(t.run_once() for t in ticks))
    await app.state.jobs.drain()
    assert sorted(r.claimed.get(CLAIMER, 0) for r in reports) == [0, 0, 0, 1]
    calls = sandbox.client.get("/_sandbox/calls").json()["data"]
    assert sum(1 for c in calls if c["path"].endswith("/media")) == 1


async def test_published_event_is_sent_after_commit(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    shop: Shop,
    media_server: LiveServer,
    settings: Any,
) -> None:
    media_id = await upload_image(client, shop.seller)
    [post] = await schedule(client, shop.seller, [shop.channel_id], [media_id])
    row = await post_row(app, post["id"])
    subscription = live.get_pubsub(settings).subscribe(events.channel_name(row.workspace_id))
    first = asyncio.ensure_future(subscription.__anext__())
    await asyncio.sleep(0.05)  # the subscription is live
    await _publish_now(app, sandbox, post["id"])
    message = await asyncio.wait_for(first, timeout=5)
    await subscription.aclose()
    assert message["kind"] == "post.published"
    assert message["payload"]["post_id"] == post["id"]


def test_container_error_status_is_translated() -> None:
    failure = _container_failure("Error: Media upload has failed with error code 2207026")
    assert failure.code == "container_error_2207026"
    assert failure.reason.startswith("Instagram refused the video")


async def test_a_publisher_that_keeps_crashing_ends_failed_not_claimed_for_ever(
    app: FastAPI,
    client: httpx.AsyncClient,
    shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from socialsell.publishing.publisher import Publisher

    async def broken(*args: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Publisher, "_advance", broken)
    media_id = await upload_image(client, shop.seller)
    [post] = await schedule(client, shop.seller, [shop.channel_id], [media_id])
    await make_due(app, post["id"])
    states = []
    for _ in range(4):
        await expire_lease(app, post["id"])
        await tick(app)
        row = await post_row(app, post["id"])
        states.append((row.status.value, row.attempts))
    assert states == [("publishing", 1), ("publishing", 2), ("publishing", 3), ("failed", 3)]
    assert row.failure_code == "internal_error"


async def test_under_a_burst_the_tick_claims_only_while_few_posts_are_under_way(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    shop: Shop,
    media_server: LiveServer,
) -> None:
    """Started posts finish before more are claimed (bench/publish_bench.py: claiming a whole
    burst at once left every post's second half queued behind everyone's first); a post
    waiting half an hour for its quota does not hold the others up."""
    media_id = await upload_image(client, shop.seller)
    ids = []
    for n in range(3):
        [post] = await schedule(client, shop.seller, [shop.channel_id], [media_id], caption=f"Drop {n}")  # fmt: skip
        await make_due(app, post["id"])
        ids.append(post["id"])
    runtime = app.state.jobs
    runtime.settings = runtime.settings.model_copy(update={"publishing_max_in_flight": 2})

    assert await tick(app) == 2
    first, second, third = [await post_row(app, i) for i in ids]
    assert third.status == "scheduled", "the oldest due are claimed first"
    for row in (first, second):
        assert row.container_id is not None
        assert row.lease_until is not None
        # Not ready at the first look: looked at again in 2 s, without holding a job slot.
        assert row.lease_until - db.utcnow() <= timedelta(seconds=2.5)
    assert await tick(app) == 0, "two posts under way: no room"

    async with db.unit_of_work(app.state.sessionmaker) as session:
        await session.execute(
            update(Post)
            .where(Post.id == second.id)
            .values(lease_until=db.utcnow() + timedelta(minutes=30))
        )
    assert await tick(app) == 1, "a post waiting for its quota does not count"
    assert (await post_row(app, ids[2])).container_id is not None

    sandbox.advance(6)
    await expire_lease(app, ids[0])
    await expire_lease(app, ids[2])
    assert await tick(app) == 2
    assert (await post_row(app, ids[0])).status == "published"
    assert (await post_row(app, ids[2])).status == "published"
    assert len(published(sandbox, shop.ig_id)) == 2
