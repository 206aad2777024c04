"""Live-update pub/sub: in memory in embedded mode, Redis pub/sub in production.

Live updates are a convenience, never the truth (a page reload shows the truth): messages are
fire-and-forget, a subscriber that is not listening misses them, and a subscriber that falls too
far behind loses the oldest ones.

Services publish through :func:`publish_after_commit`, never directly: an event about data that
then rolls back would show the browser something that never happened. Messages are JSON objects;
channel names are ours to choose, e.g. ``f"workspace:{workspace_id}:inbox"``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell import db
from socialsell.settings import Settings

log = structlog.get_logger(__name__)

Message = dict[str, Any]

# Messages a slow subscriber may have waiting before new ones are dropped for it.
MAX_QUEUED = 1000


class PubSub(Protocol):
    async def publish(self, channel: str, message: Message) -> None:
        """Send ``message`` to whoever subscribes to ``channel`` now, in any process."""
        ...

    def subscribe(self, channel: str) -> AsyncGenerator[Message, None]:
        """Messages published on ``channel`` from now on; ``aclose()`` the generator (or leave
        the ``async for``) to unsubscribe. The subscription is live once the first
        ``__anext__`` has started."""
        ...

    async def close(self) -> None: ...


def _encode(message: Message) -> str:
    # Both backends carry JSON, so a message that Redis would refuse fails in embedded mode too.
    return json.dumps(message, allow_nan=False, separators=(",", ":"))


class MemoryPubSub:
    """One process's subscribers, each with its own bounded queue."""

    def __init__(self, max_queued: int = MAX_QUEUED) -> None:
        self._max_queued = max_queued
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = {}

    async def publish(self, channel: str, message: Message) -> None:
        data = _encode(message)
        for queue in list(self._subscribers.get(channel, ())):
            try:
                queue.put_nowait(data)
            except asyncio.QueueFull:
                log.warning("pubsub_subscriber_lagging", channel=channel)

    async def subscribe(self, channel: str) -> AsyncGenerator[Message, None]:
        queue: asyncio.Queue[str] = asyncio.Queue(self._max_queued)
        self._subscribers.setdefault(channel, set()).add(queue)
        try:
            while True:
                # Decoded per subscriber, so no two subscribers share (and mutate) one dict.
                yield json.loads(await queue.get())
        finally:
            subscribers = self._subscribers.get(channel)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[channel]

    async def close(self) -> None:
        self._subscribers.clear()


class RedisPubSub:
    """Redis PUBLISH/SUBSCRIBE; channels are prefixed so several installations can share a
    Redis. Each subscription holds one Redis connection while it lasts."""

    def __init__(self, redis_url: str, *, prefix: str = "socialsell:live:") -> None:
        self._redis = Redis.from_url(redis_url)
        self.prefix = prefix

    async def publish(self, channel: str, message: Message) -> None:
        await self._redis.publish(self.prefix + channel, _encode(message))

    async def subscribe(self, channel: str) -> AsyncGenerator[Message, None]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.prefix + channel)
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    yield json.loads(item["data"])
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped

    async def close(self) -> None:
        await self._redis.aclose()


def build_pubsub(settings: Settings) -> PubSub:
    """Redis whenever it is configured (web processes must see each other's events, even when
    jobs run in-process), memory otherwise."""
    if settings.redis_url is not None:
        return RedisPubSub(settings.redis_url)
    return MemoryPubSub()


def publish_after_commit(
    session: AsyncSession, pubsub: PubSub, channel: str, message: Message
) -> None:
    """Publish once ``session`` commits; drop on rollback. The message is checked now, so a
    message that cannot be sent fails in the service, not silently after the commit."""
    data = json.loads(_encode(message))

    async def send() -> None:
        await pubsub.publish(channel, data)

    send.__qualname__ = f"publish {channel}"
    db.after_commit(session, send)
