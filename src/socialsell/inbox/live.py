"""Live inbox events: logged in ``inbox_events`` (for ``Last-Event-ID`` resume) in the same
transaction as the change they describe, and published through core/pubsub only after that
transaction commits. Fan-out across processes goes through Redis when it is configured.

Event ids come from the table's sequence, so they increase, but on PostgreSQL two
transactions can commit (and publish) in the opposite order of their ids, and a rolled-back
transaction leaves a hole. A stream therefore does not keep "the highest id sent" as its
position (the later-committed, lower id would be skipped as already seen: messages of a burst
went missing live); it keeps a ``StreamCursor``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.core.pubsub import MemoryPubSub, PubSub, RedisPubSub, publish_after_commit
from socialsell.inbox.models import InboxEvent
from socialsell.settings import Settings

MESSAGE_CREATED = "message.created"
MESSAGE_UPDATED = "message.updated"
CONVERSATION_UPDATED = "conversation.updated"

# How long a hole below a sent id may stay open before it is taken as a rolled-back
# transaction's: longer than any transaction that emits events stays open after its flush.
GAP_SECONDS = 30.0

_memory = MemoryPubSub()
_redis: dict[tuple[str, int], PubSub] = {}


def get_pubsub(settings: Settings) -> PubSub:
    """The process's pub/sub: one in-memory hub shared by jobs and SSE streams in embedded
    mode; with Redis, one client per event loop (redis-py connections belong to a loop)."""
    if settings.redis_url is None:
        return _memory
    key = (settings.redis_url, id(asyncio.get_running_loop()))
    found = _redis.get(key)
    if found is None:
        found = _redis[key] = RedisPubSub(settings.redis_url)
    return found


def channel_name(workspace_id: uuid.UUID) -> str:
    return f"workspace:{workspace_id}:inbox"


async def emit(
    session: AsyncSession,
    settings: Settings,
    workspace_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
) -> None:
    event = InboxEvent(workspace_id=workspace_id, kind=kind, payload=payload)
    session.add(event)
    await session.flush()
    publish_after_commit(
        session,
        get_pubsub(settings),
        channel_name(workspace_id),
        {"id": event.id, "kind": kind, "payload": payload},
    )


class StreamCursor:
    """What one stream has sent. ``floor``: every event up to it was sent (or its id is a hole
    that stayed empty for ``GAP_SECONDS``), so it is the safe resume position to hand the client
    as the SSE id; the ids sent above it are kept until the holes below them fill or expire."""

    def __init__(
        self,
        floor: int,
        *,
        gap_seconds: float = GAP_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.floor = floor
        self._gap_seconds = gap_seconds
        self._clock = clock
        self._sent: dict[int, float] = {}

    def wants(self, event_id: int) -> bool:
        return event_id > self.floor and event_id not in self._sent

    def sent(self, event_id: int) -> None:
        self._sent[event_id] = self._clock()
        self._advance()

    @property
    def highest(self) -> int:
        return max(self._sent, default=self.floor)

    def expire_holes(self) -> None:
        now = self._clock()
        while self._sent:
            lowest = min(self._sent)
            if now - self._sent[lowest] < self._gap_seconds:
                return
            self.floor = lowest - 1
            self._advance()

    def _advance(self) -> None:
        while self.floor + 1 in self._sent:
            del self._sent[self.floor + 1]
            self.floor += 1
