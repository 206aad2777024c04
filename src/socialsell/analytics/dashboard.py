"""The dashboard's small reads across domains: messages today, unread conversations, posts
coming up, and the recent activity feed. Each is one scoped query; a domain whose tables are not
there (an older database during an upgrade) makes its card say so instead of failing the page.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy import func, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.accounts.service import Principal
from socialsell.db import utcnow
from socialsell.inbox.models import Contact, Conversation, ConversationStatus, Direction, Message
from socialsell.notifications.models import Notification
from socialsell.publishing.models import Post, PostStatus

log = structlog.get_logger(__name__)
T = TypeVar("T")

ACTIVITY_LIMIT = 10


async def _guarded(session: AsyncSession, read: Callable[[], Awaitable[T]]) -> T | None:
    """Run one read in a savepoint: a missing table (PostgreSQL aborts the transaction on an
    error) then costs that card only."""
    try:
        async with session.begin_nested():
            return await read()
    except DBAPIError:
        log.warning("dashboard_read_failed", exc_info=True)
        return None


def start_of_today(now: datetime, tz_name: str) -> datetime:
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.combine(now.astimezone(zone).date(), time(), zone)


async def messages_today(session: AsyncSession, principal: Principal, tz: str) -> int | None:
    """Messages customers sent since midnight in the person's timezone."""
    since = start_of_today(utcnow(), tz)

    async def read() -> int:
        count = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.workspace_id == principal.workspace_id,
                Message.direction == Direction.inbound,
                Message.sent_at >= since,
            )
        )
        return int(count or 0)

    return await _guarded(session, read)


async def unread_conversations(session: AsyncSession, principal: Principal) -> int | None:
    async def read() -> int:
        count = await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.workspace_id == principal.workspace_id,
                Conversation.status == ConversationStatus.open,
                Conversation.unread_count > 0,
            )
        )
        return int(count or 0)

    return await _guarded(session, read)


async def scheduled_next_week(session: AsyncSession, principal: Principal) -> int | None:
    now = utcnow()

    async def read() -> int:
        count = await session.scalar(
            select(func.count())
            .select_from(Post)
            .where(
                Post.workspace_id == principal.workspace_id,
                Post.status == PostStatus.scheduled,
                Post.scheduled_at >= now,
                Post.scheduled_at < now + timedelta(days=7),
            )
        )
        return int(count or 0)

    return await _guarded(session, read)


@dataclass(frozen=True, slots=True)
class Activity:
    kind: str  # conversation | published | failed | notification
    at: datetime
    title: str
    detail: str
    severity: str  # info | success | error
    link: str | None = None
    object_id: uuid.UUID | None = None


async def recent_activity(session: AsyncSession, principal: Principal) -> list[Activity] | None:
    """New conversations, published and failed posts, and connection problems, newest first.
    Titles are English here and translated by the view (they are fixed phrases)."""
    ws = principal.workspace_id

    async def read() -> list[Activity]:
        items: list[Activity] = []
        conversations = await session.execute(
            select(
                Conversation.id,
                Conversation.created_at,
                Conversation.last_message_preview,
                Contact.username,
                Contact.name,
            )
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(Conversation.workspace_id == ws)
            .order_by(Conversation.created_at.desc())
            .limit(ACTIVITY_LIMIT)
        )
        for cid, created, preview, username, name in conversations:
            who = f"@{username}" if username else (name or "")
            items.append(Activity("conversation", created, who, preview, "info", None, cid))
        posts = await session.execute(
            select(
                Post.id,
                Post.status,
                Post.published_at,
                Post.failed_at,
                Post.caption,
                Post.failure_reason,
                Post.permalink,
            )
            .where(
                Post.workspace_id == ws,
                or_(Post.status == PostStatus.published, Post.status == PostStatus.failed),
            )
            .order_by(func.coalesce(Post.published_at, Post.failed_at).desc())
            .limit(ACTIVITY_LIMIT)
        )
        for pid, status, published_at, failed_at, caption, reason, permalink in posts:
            if status == PostStatus.published and published_at is not None:
                items.append(
                    Activity("published", published_at, caption[:80], "", "success", permalink, pid)
                )
            elif failed_at is not None:
                items.append(
                    Activity("failed", failed_at, caption[:80], reason or "", "error", None, pid)
                )
        notes = await session.execute(
            select(
                Notification.id,
                Notification.created_at,
                Notification.title,
                Notification.body,
                Notification.severity,
                Notification.link,
            )
            .where(Notification.workspace_id == ws, Notification.kind.like("channel%"))
            .order_by(Notification.created_at.desc())
            .limit(ACTIVITY_LIMIT)
        )
        for nid, created, title, body, severity, link in notes:
            items.append(Activity("notification", created, title, body, severity, link, nid))
        items.sort(key=lambda a: a.at, reverse=True)
        return items[:ACTIVITY_LIMIT]

    return await _guarded(session, read)
