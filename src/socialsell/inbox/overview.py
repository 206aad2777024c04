"""Small reads the Inbox page needs beyond service.py: the unread total (sidebar badge, tab
title), a contact's other conversations (contact panel), and a reply looked up by its
Idempotency-Key (so an image send retried with the same key replays instead of uploading twice).

Added by the inbox UI; scoped by the principal's workspace like every inbox query. Candidates to
move into repository.py/service.py when the inbox backend settles.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from socialsell.accounts.service import Principal
from socialsell.inbox.models import Conversation, ConversationStatus, InboxEvent, Message


async def unread_conversations(session: AsyncSession, principal: Principal) -> int:
    """Open conversations with something unread: the number on the Inbox link."""
    found = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.workspace_id == principal.workspace_id,
            Conversation.status == ConversationStatus.open,
            Conversation.unread_count > 0,
        )
    )
    return int(found or 0)


async def contact_conversations(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID, *, limit: int = 20
) -> Sequence[Conversation]:
    """Every conversation of one contact (its DM thread and its comment threads), newest first."""
    rows = await session.scalars(
        select(Conversation)
        .options(joinedload(Conversation.contact), joinedload(Conversation.channel))
        .where(
            Conversation.workspace_id == principal.workspace_id,
            Conversation.contact_id == contact_id,
        )
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    return rows.all()


async def message_by_idempotency_key(
    session: AsyncSession, principal: Principal, key: str
) -> Message | None:
    found: Message | None = await session.scalar(
        select(Message).where(
            Message.workspace_id == principal.workspace_id, Message.idempotency_key == key
        )
    )
    return found


async def latest_event_id(session: AsyncSession, principal: Principal) -> int:
    """Where a page's live stream starts: the events before it are already in the page."""
    found = await session.scalar(
        select(func.max(InboxEvent.id)).where(InboxEvent.workspace_id == principal.workspace_id)
    )
    return int(found or 0)


async def oldest_event_id(session: AsyncSession, principal: Principal) -> int | None:
    """The oldest event the log still keeps for the workspace (older ones were pruned)."""
    found = await session.scalar(
        select(func.min(InboxEvent.id)).where(InboxEvent.workspace_id == principal.workspace_id)
    )
    return int(found) if found is not None else None
