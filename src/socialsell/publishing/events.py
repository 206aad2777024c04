"""Live publishing events (``post.published``, ``post.failed``), published after commit on the
workspace's ``workspace:<id>:publishing`` channel.

The inbox's event log (``inbox/live.py``) is specific to conversations, so publishing does not
write to it; it shares only the process's pub/sub hub (``get_pubsub``: one in-memory hub in
embedded mode, Redis otherwise), so that a page subscribed in this process hears jobs run here.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.core.pubsub import publish_after_commit
from socialsell.inbox import live
from socialsell.settings import Settings

POST_PUBLISHED = "post.published"
POST_FAILED = "post.failed"


def channel_name(workspace_id: uuid.UUID) -> str:
    return f"workspace:{workspace_id}:publishing"


def emit(
    session: AsyncSession,
    settings: Settings,
    workspace_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
) -> None:
    publish_after_commit(
        session,
        live.get_pubsub(settings),
        channel_name(workspace_id),
        {"kind": kind, "payload": payload},
    )
