"""Reconciliation: Meta sometimes never delivers a webhook, so each channel's conversations are
read from the Conversations API, and the comments on its recent media from the media's comments
edge (on connect, then periodically); whatever is missing is stored through the same idempotent
path as webhooks — a message or comment seen by both is stored once (unique Meta id).

Meta serves details only for the 20 most recent messages of a conversation, so reconciliation
fills gaps in recent history; older losses stay lost (Meta's limit, not ours). Comments are read
on the account's most recent media only, a bounded number of pages each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC
from typing import Any

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
from socialsell.inbox.models import ConversationKind, Direction, MessageKind
from socialsell.inbox.repository import GlobalInbox
from socialsell.meta import (
    Comment,
    Conversation,
    InstagramClient,
    Media,
    Message,
    MetaClient,
    MetaError,
    Page,
)
from socialsell.meta.instagram import COMMENT_FIELDS

log = structlog.get_logger(__name__)

MAX_PAGES = 10
READABLE_MESSAGES = 20
# Comments: the newest media of the account, and at most this many pages of comments on each
# (and of replies under each comment); older comments come from webhooks only.
RECENT_MEDIA = 25
COMMENT_PAGES = 4
COMMENT_PAGE_SIZE = 50
# `replies` lists the ids under a top-level comment, so that replies are read (with their
# authors) only under comments where one is missing.
_LISTED_COMMENT_FIELDS = (*COMMENT_FIELDS, "replies")


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
    """Fill in what webhooks missed (messages, then comments); returns how many were added."""
    added = await _reconcile_messages(
        session, meta, box, ingest, channel, max_conversations=max_conversations
    )
    return added + await _reconcile_comments(session, meta, box, ingest, channel)


async def _reconcile_messages(
    session: AsyncSession,
    meta: MetaClient,
    box: SecretBox,
    ingest: Ingest,
    channel: Channel,
    *,
    max_conversations: int,
) -> int:
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


async def _reconcile_comments(
    session: AsyncSession, meta: MetaClient, box: SecretBox, ingest: Ingest, channel: Channel
) -> int:
    repo = GlobalInbox(session)
    added = 0
    media_page = await channels.call_meta(session, meta, box, channel, _recent_media())
    for media in media_page.data:
        if media.comments_count == 0:
            continue  # nothing to read: spare the call
        after: str | None = None
        for _ in range(COMMENT_PAGES):
            page = await channels.call_meta(session, meta, box, channel, _comments_of(media, after))
            replies = {c.id: _reply_ids(c) for c in page.data}
            known = await repo.known_external_ids(
                channel.id, [*replies, *(r for ids in replies.values() for r in ids)]
            )
            for comment in page.data:
                if comment.id not in known:
                    added += await _apply_comment(session, ingest, channel, media, comment)
                if any(r not in known for r in replies[comment.id]):
                    added += await _reconcile_replies(
                        session, meta, box, ingest, channel, media, comment.id, known
                    )
            if not page.has_next:
                break
            after = page.next_cursor
    return added


async def _reconcile_replies(
    session: AsyncSession,
    meta: MetaClient,
    box: SecretBox,
    ingest: Ingest,
    channel: Channel,
    media: Media,
    parent_id: str,
    known: set[str],
) -> int:
    added = 0
    after: str | None = None
    for _ in range(COMMENT_PAGES):
        page = await channels.call_meta(session, meta, box, channel, _replies_of(parent_id, after))
        for reply in page.data:
            if reply.id not in known:
                added += await _apply_comment(
                    session, ingest, channel, media, reply, parent_id=parent_id
                )
        if not page.has_next:
            break
        after = page.next_cursor
    return added


async def _apply_comment(
    session: AsyncSession,
    ingest: Ingest,
    channel: Channel,
    media: Media,
    comment: Comment,
    *,
    parent_id: str | None = None,
) -> int:
    event = comment_event(channel, media, comment, parent_id=parent_id)
    if event is None:
        return 0
    return 1 if await apply(session, ingest, channel, event) else 0


def comment_event(
    channel: Channel, media: Media, comment: Comment, *, parent_id: str | None = None
) -> MessageEvent | None:
    """The event a ``comments`` webhook for this comment makes (webhooks/instagram.py), so that
    either path stores it once, in the same conversation."""
    author = comment.sender
    if author is None or author.id == channel.external_id:
        # The account's own comments: replies sent from here are stored when sent; the webhook
        # path skips them too.
        return None
    at = comment.timestamp or utcnow()
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    details: dict[str, Any] = {"media_product_type": media.media_product_type}
    parent = comment.parent_id or parent_id
    if parent:
        details["parent_id"] = parent
    return MessageEvent(
        contact=Party(author.id, username=author.username or comment.username),
        direction=Direction.inbound,
        external_id=comment.id,
        at=at,
        kind=MessageKind.comment,
        text=comment.text,
        details=details,
        conversation_kind=ConversationKind.comments,
        media_id=media.id,
    )


def _reply_ids(comment: Comment) -> list[str]:
    replies = (comment.model_extra or {}).get("replies")
    data = replies.get("data") if isinstance(replies, Mapping) else None
    if not isinstance(data, list):
        return []
    return [str(r["id"]) for r in data if isinstance(r, Mapping) and r.get("id")]


def _recent_media() -> Callable[[InstagramClient], Awaitable[Page[Media]]]:
    async def read(client: InstagramClient) -> Page[Media]:
        return await client.list_media(limit=RECENT_MEDIA)

    return read


def _comments_of(
    media: Media, after: str | None
) -> Callable[[InstagramClient], Awaitable[Page[Comment]]]:
    async def read(client: InstagramClient) -> Page[Comment]:
        return await client.list_comments(
            media.id, after=after, limit=COMMENT_PAGE_SIZE, fields=_LISTED_COMMENT_FIELDS
        )

    return read


def _replies_of(
    comment_id: str, after: str | None
) -> Callable[[InstagramClient], Awaitable[Page[Comment]]]:
    async def read(client: InstagramClient) -> Page[Comment]:
        return await client.list_comment_replies(comment_id, after=after)

    return read


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
