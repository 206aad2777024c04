"""`make run`'s demo posts: scheduled for the next days, a draft, and three due at once that the
served app's own tick publishes to the sandbox with the real publisher (two published with
permalinks, one refused by Instagram for its 8 hashtags and `failed` with the reason)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.app import create_app
from socialsell.db import create_engine, create_sessionmaker
from socialsell.demo import seed_demo
from socialsell.publishing.models import Post
from socialsell.settings import Settings
from tests.conftest import LiveServer, free_port


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return settings.model_copy(
        update={
            "meta_graph_url": sandbox.url,
            "meta_oauth_url": sandbox.url,
            "meta_authorize_url": sandbox.url,
            "meta_facebook_graph_url": sandbox.url,
            "meta_app_id": sandbox.app_id,
            "meta_app_secret": SecretStr(sandbox.app_secret),
            "meta_webhook_verify_token": SecretStr(sandbox.verify_token),
            # As `socialsell serve` in `make run`: the tick runs in the app.
            "embedded_tick": True,
            "tick_seconds": 0.3,
            "publishing_inline_poll_seconds": 0.0,
            "publishing_poll_later_seconds": 0.3,
        }
    )


async def _posts(settings: Settings) -> list[Post]:
    engine = create_engine(settings.db_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return list((await session.scalars(select(Post))).all())
    finally:
        await engine.dispose()


async def test_the_demo_fills_the_calendar_through_the_real_publisher(
    settings: Settings, sandbox: Sandbox
) -> None:
    port = free_port()
    settings = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    server = LiveServer(create_app(settings), port)
    server.start()
    try:
        await seed_demo(settings, sandbox_url=sandbox.url, app_url=server.url)
        posts = await _posts(settings)
        # Three are due seconds after the seed: on a slow machine the tick may have taken them.
        seeded = Counter(p.status for p in posts)
        assert seeded["draft"] == 1
        assert seeded["scheduled"] >= 3
        assert sum(seeded.values()) == 7
        assert set(seeded) <= {"draft", "scheduled", "publishing", "published", "failed"}

        # The served app's tick claims the three due posts; Instagram processes them.
        for _ in range(100):
            posts = await _posts(settings)
            done = Counter(p.status for p in posts)
            if (
                done["published"] == 2
                and done["failed"] == 1
                and all(p.permalink for p in posts if p.status == "published")
            ):
                break
            sandbox.advance(2)
            await asyncio.sleep(0.2)
        assert Counter(p.status for p in posts) == {
            "scheduled": 3,
            "draft": 1,
            "published": 2,
            "failed": 1,
        }
        now = datetime.now(UTC)
        for post in posts:
            if post.status == "scheduled":
                assert post.scheduled_at is not None
                assert post.scheduled_at.replace(tzinfo=UTC) > now, "on the next days"
        [failed] = [p for p in posts if p.status == "failed"]
        assert failed.failure_reason
        assert "hashtag" in (failed.failure_detail or failed.failure_reason).lower()
        account = sandbox.client.get("/_sandbox/instagram/accounts").json()["data"][0]
        feed = sandbox.client.get(f"/_sandbox/instagram/accounts/{account['id']}/published").json()[
            "data"
        ]
        published = [p for p in posts if p.status == "published"]
        assert sorted(f["id"] for f in feed) == sorted(p.external_media_id for p in published)

        # Once: a second seed adds nothing.
        await seed_demo(settings, sandbox_url=sandbox.url, app_url=server.url)
        assert len(await _posts(settings)) == 7
    finally:
        server.stop()
