"""Computed analytics, cached for an hour in memory (embedded) or Redis (production).

Keys carry a per-workspace generation number; a refresh that stores new numbers bumps it, so
every cached figure of that workspace is dropped at once without listing keys.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from typing import Any, Protocol

from redis.asyncio import Redis

from socialsell.settings import Settings

PREFIX = "socialsell:analytics"
MEMORY_MAX_ENTRIES = 2000


class Cache(Protocol):
    async def get(self, workspace_id: uuid.UUID, key: str) -> Any | None: ...
    async def set(self, workspace_id: uuid.UUID, key: str, value: Any) -> None: ...
    async def invalidate(self, workspace_id: uuid.UUID) -> None: ...


class MemoryCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._generations: dict[uuid.UUID, int] = {}

    def _key(self, workspace_id: uuid.UUID, key: str) -> str:
        return f"{workspace_id}:{self._generations.get(workspace_id, 0)}:{key}"

    async def get(self, workspace_id: uuid.UUID, key: str) -> Any | None:
        entry = self._entries.get(self._key(workspace_id, key))
        if entry is None or entry[0] < time.monotonic():
            return None
        return json.loads(entry[1])

    async def set(self, workspace_id: uuid.UUID, key: str, value: Any) -> None:
        if self.ttl <= 0:
            return
        full = self._key(workspace_id, key)
        self._entries[full] = (time.monotonic() + self.ttl, json.dumps(value))
        self._entries.move_to_end(full)
        while len(self._entries) > MEMORY_MAX_ENTRIES:
            self._entries.popitem(last=False)

    async def invalidate(self, workspace_id: uuid.UUID) -> None:
        self._generations[workspace_id] = self._generations.get(workspace_id, 0) + 1


class RedisCache:
    """One short-lived connection per call: the cache is used from web requests and jobs in
    many event loops (and tests), and a pooled client belongs to the loop that created it."""

    def __init__(self, url: str, ttl: int) -> None:
        self.url = url
        self.ttl = ttl

    async def _full_key(self, redis: Redis, workspace_id: uuid.UUID, key: str) -> str:
        generation = await redis.get(f"{PREFIX}:gen:{workspace_id}")
        return f"{PREFIX}:{workspace_id}:{int(generation or 0)}:{key}"

    async def get(self, workspace_id: uuid.UUID, key: str) -> Any | None:
        async with Redis.from_url(self.url) as redis:
            raw = await redis.get(await self._full_key(redis, workspace_id, key))
        return None if raw is None else json.loads(raw)

    async def set(self, workspace_id: uuid.UUID, key: str, value: Any) -> None:
        if self.ttl <= 0:
            return
        async with Redis.from_url(self.url) as redis:
            full = await self._full_key(redis, workspace_id, key)
            await redis.set(full, json.dumps(value), ex=self.ttl)

    async def invalidate(self, workspace_id: uuid.UUID) -> None:
        async with Redis.from_url(self.url) as redis:
            await redis.incr(f"{PREFIX}:gen:{workspace_id}")


_memory: dict[int, MemoryCache] = {}


def build_cache(settings: Settings) -> Cache:
    if settings.redis_url:
        return RedisCache(settings.redis_url, settings.analytics_cache_seconds)
    # One memory cache per TTL for the process: web requests and embedded jobs share it, so a
    # refresh's invalidation reaches the pages.
    ttl = settings.analytics_cache_seconds
    if ttl not in _memory:
        _memory[ttl] = MemoryCache(ttl)
    return _memory[ttl]
