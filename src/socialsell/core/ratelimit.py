"""Rate limits over `limits`: in memory when embedded, in Redis (shared by every process) when
``SOCIALSELL_REDIS_URL`` is set."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from socialsell.core.errors import RateLimited


class RateLimiter:
    def __init__(self, redis_url: str | None) -> None:
        self.storage: Storage
        if redis_url:
            uri = redis_url.replace("redis://", "async+redis://", 1).replace(
                "rediss://", "async+rediss://", 1
            )
            self.storage = RedisStorage(uri, implementation="redispy")
        else:
            self.storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self.storage)

    async def hit(self, limit: str | RateLimitItem, *keys: str) -> None:
        """Count one attempt against ``limit`` for ``keys``; raise ``RateLimited`` past it."""
        item = parse(limit) if isinstance(limit, str) else limit
        if await self._limiter.hit(item, *keys):
            return
        stats = await self._limiter.get_window_stats(item, *keys)
        raise RateLimited(retry_after=math.ceil(stats.reset_time - time.time()))

    async def clear(self, limit: str, *keys: str) -> None:
        await self._limiter.clear(parse(limit), *keys)

    async def reset(self) -> None:
        await self.storage.reset()
