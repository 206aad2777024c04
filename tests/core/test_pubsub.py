"""Live-update pub/sub on both setups: in memory embedded, Redis in production; services publish
after commit only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialsell import db
from socialsell.core.pubsub import (
    MemoryPubSub,
    PubSub,
    RedisPubSub,
    build_pubsub,
    publish_after_commit,
)
from socialsell.settings import Settings
from tests.core.helpers import eventually


@pytest.fixture
async def pubsub(jobs_settings: Settings) -> AsyncIterator[PubSub]:
    bus = build_pubsub(jobs_settings)
    assert isinstance(bus, RedisPubSub if jobs_settings.redis_url else MemoryPubSub)
    yield bus
    await bus.close()


async def subscribed(
    bus: PubSub, channel: str, settings: Settings
) -> tuple[AsyncGenerator[dict[str, Any], None], asyncio.Future[dict[str, Any]]]:
    """Subscribe and wait until the subscription is live; return it and its next message."""
    if not isinstance(bus, RedisPubSub):
        messages = bus.subscribe(channel)
        next_message = asyncio.ensure_future(anext(messages))
        await asyncio.sleep(0)  # the generator registers its queue on its first step
        return messages, next_message
    assert settings.redis_url is not None
    redis = Redis.from_url(settings.redis_url)
    try:

        async def subscribers() -> int:
            [(_, count)] = await redis.pubsub_numsub(bus.prefix + channel)
            return int(count)

        before = await subscribers()
        messages = bus.subscribe(channel)
        next_message = asyncio.ensure_future(anext(messages))

        async def live() -> bool:
            return await subscribers() == before + 1

        await eventually(live)
    finally:
        await redis.aclose()
    return messages, next_message


async def test_subscribers_receive_what_is_published(
    pubsub: PubSub, jobs_settings: Settings
) -> None:
    channel = f"test:{uuid.uuid4().hex}"
    first, first_next = await subscribed(pubsub, channel, jobs_settings)
    second, second_next = await subscribed(pubsub, channel, jobs_settings)

    await pubsub.publish(channel, {"event": "message.created", "id": "42"})
    await pubsub.publish(channel, {"event": "message.read", "id": "42"})
    await pubsub.publish(f"{channel}:other", {"event": "elsewhere"})

    assert await asyncio.wait_for(first_next, 30) == {"event": "message.created", "id": "42"}
    assert await asyncio.wait_for(second_next, 30) == {"event": "message.created", "id": "42"}
    assert await asyncio.wait_for(anext(first), 30) == {"event": "message.read", "id": "42"}
    await first.aclose()
    await second.aclose()


async def test_publish_after_commit_publishes_on_commit_and_never_on_rollback(
    pubsub: PubSub,
    jobs_settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    channel = f"test:{uuid.uuid4().hex}"
    messages, next_message = await subscribed(pubsub, channel, jobs_settings)

    async def rolled_back() -> None:
        async with db.unit_of_work(sessionmaker) as session:
            publish_after_commit(session, pubsub, channel, {"n": 1})
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        await rolled_back()
    async with db.unit_of_work(sessionmaker) as session:
        publish_after_commit(session, pubsub, channel, {"n": 2})
        await asyncio.sleep(0.1)
        assert not next_message.done(), "published before the commit"

    assert await asyncio.wait_for(next_message, 30) == {"n": 2}
    await messages.aclose()


async def test_messages_must_be_json(pubsub: PubSub) -> None:
    with pytest.raises(TypeError):
        await pubsub.publish("test:json", {"id": uuid.uuid4()})
