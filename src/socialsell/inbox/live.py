"""Live inbox events: logged in ``inbox_events`` (for ``Last-Event-ID`` resume) in the same
transaction as the change they describe, and published through core/pubsub only after that
transaction commits. Fan-out across processes goes through Redis when it is configured.

Event ids come from the table's sequence, so they increase monotonically. On PostgreSQL two
transactions can commit in the opposite order of their ids; a connected client still receives
both live, and one resuming reads the log, so only a client that disconnects in that instant
(milliseconds) could skip the earlier one — a reload shows the truth, as for every live update.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.core.pubsub import MemoryPubSub, PubSub, RedisPubSub, publish_after_commit
from socialsell.inbox.models import InboxEvent
from socialsell.settings import Settings

MESSAGE_CREATED = "message.created"
MESSAGE_UPDATED = "message.updated"
CONVERSATION_UPDATED = "conversation.updated"

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
