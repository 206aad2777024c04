"""Reconciliation: Meta sometimes never delivers a webhook, so each channel's conversations are
read from the Conversations API (on connect, then periodically) and whatever is missing is stored
through the same idempotent path as webhooks — a message seen by both is stored once.

Meta serves details only for the 20 most recent messages of a conversation, so reconciliation
fills gaps in recent history; older losses stay lost (Meta's limit, not ours).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.channels import service as channels
from socialsell.channels.models import Channel
from socialsell.core.crypto import SecretBox
from socialsell.db import utcnow
from socialsell.inbox.ingest import (
    IncomingAttachment,
    Ingest,
    MessageEvent,
    Party,
    apply,
)
from socialsell.inbox.models import Direction, MessageKind
from socialsell.inbox.repository import GlobalInbox
from socialsell.meta import Conversation, InstagramClient, Message, MetaClient, MetaError, Page

log = structlog.get_logger(__name__)

MAX_PAGES = 10
READABLE_MESSAGES = 20


def _event(channel: Channel, detail: Message, conversation_id: str) -> MessageEvent | None:
    sender = detail.sender
    if sender is None:
        return None
    outbound = sender.id == channel.external_id
    if outbound:
        other = next((r for r in detail.recipients if r.id != channel.external_id), None)
    else:
        other = sender
    if other is None:
        return None
    attachments: list[IncomingAttachment] = []
    kind = MessageKind.text
    for att in detail.attachments:
        url = None
        att_type = att.type or "file"
        if att.image_data:
            att_type, url = "image", att.image_data.get("url")
        elif att.video_data:
            att_type, url = "video", att.video_data.get("url")
        else:
            extra = att.model_extra or {}
            url = extra.get("file_url") or (att.payload or {}).get("url")
        attachments.append(IncomingAttachment(att_type, str(url) if url else None))
        if kind == MessageKind.text:
            kind = {
                "image": MessageKind.image,
                "video": MessageKind.video,
                "audio": MessageKind.audio,
            }.get(att_type, MessageKind.file)
    at = detail.created_time or utcnow()
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return MessageEvent(
        contact=Party(other.id, username=other.username),
        direction=Direction.outbound if outbound else Direction.inbound,
        external_id=detail.id,
        at=at,
        kind=kind,
        text=detail.message or None,
        attachments=tuple(attachments),
        conversation_external_id=conversation_id,
    )


async def reconcile_channel(
    session: AsyncSession,
    meta: MetaClient,
    box: SecretBox,
    ingest: Ingest,
    channel: Channel,
    *,
    max_conversations: int,
) -> int:
    """Fill in what webhooks missed; returns how many messages were added."""
    repo = GlobalInbox(session)
    added = 0

    after: str | None = None
    seen = 0
    for _ in range(MAX_PAGES):
        page = await channels.call_meta(session, meta, box, channel, _lister(after))
        for conversation in page.data:
            seen += 1
            refs = await channels.call_meta(
                session, meta, box, channel, _messages_of(conversation.id)
            )
            recent = refs.data[:READABLE_MESSAGES]
            known = await repo.known_external_ids(channel.id, [r.id for r in recent])
            for ref in recent:
                if ref.id in known:
                    continue
                try:
                    detail = await channels.call_meta(
                        session, meta, box, channel, _detail_of(ref.id)
                    )
                except MetaError as exc:  # deleted meanwhile, or beyond the 20 readable
                    log.info("reconcile_message_skipped", message_id=ref.id, error=str(exc))
                    continue
                event = _event(channel, detail, conversation.id)
                if event is not None and await apply(session, ingest, channel, event):
                    added += 1
            if seen >= max_conversations:
                return added
        if not page.has_next:
            break
        after = page.next_cursor
    return added


def _lister(after: str | None) -> Callable[[InstagramClient], Awaitable[Page[Conversation]]]:
    async def list_page(client: InstagramClient) -> Page[Conversation]:
        return await client.list_conversations(after=after, limit=25)

    return list_page


def _messages_of(conversation_id: str) -> Callable[[InstagramClient], Awaitable[Page[Message]]]:
    async def read(client: InstagramClient) -> Page[Message]:
        return await client.list_messages(conversation_id)

    return read


def _detail_of(message_id: str) -> Callable[[InstagramClient], Awaitable[Message]]:
    async def read(client: InstagramClient) -> Message:
        return await client.get_message(message_id)

    return read
