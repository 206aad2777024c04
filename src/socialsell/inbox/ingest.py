"""Platform events into contacts, conversations and messages.

Parsers (``webhooks/instagram.py``, reconciliation, later WhatsApp) turn payloads into the
channel-agnostic events below; :func:`apply` stores them. Everything here is idempotent by the
platform's ids: a message is inserted with ON CONFLICT DO NOTHING on (channel, external id), so a
repeated, replayed or reordered delivery, or the same message seen by a webhook and by
reconciliation, stores one row. Threads are ordered by the platform's time, never by arrival.

An event about a message we do not have yet (a reaction, edit, unsend or read that overtook the
message itself) raises :class:`TargetMissing`; the delivery stays pending and is tried again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.channels.models import Channel
from socialsell.core.jobs import JobRuntime
from socialsell.db import utcnow
from socialsell.inbox import live
from socialsell.inbox.models import (
    ConversationKind,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
)
from socialsell.inbox.present import conversation_read, message_read, preview_of
from socialsell.inbox.repository import GlobalInbox
from socialsell.inbox.search import fold
from socialsell.settings import Settings

# A job copying attachments is kicked at once; if it is lost, the tick picks the row up after this.
MEDIA_RETRY_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class Party:
    external_id: str
    username: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class IncomingAttachment:
    type: str
    url: str | None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MessageEvent:
    contact: Party
    direction: Direction
    external_id: str
    at: datetime
    kind: MessageKind
    text: str | None = None
    attachments: tuple[IncomingAttachment, ...] = ()
    reply_to_external_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    conversation_kind: ConversationKind = ConversationKind.dm
    media_id: str | None = None
    conversation_external_id: str | None = None


@dataclass(frozen=True)
class ReactionEvent:
    contact: Party
    target_external_id: str
    at: datetime
    reaction: str | None  # None: the reaction was removed
    emoji: str | None = None
    by_business: bool = False


@dataclass(frozen=True)
class EditEvent:
    target_external_id: str
    text: str
    edit_count: int
    at: datetime


@dataclass(frozen=True)
class UnsendEvent:
    target_external_id: str
    at: datetime


@dataclass(frozen=True)
class ReadEvent:
    contact: Party
    target_external_id: str
    at: datetime


Event = MessageEvent | ReactionEvent | EditEvent | UnsendEvent | ReadEvent


class TargetMissing(Exception):
    """The event refers to a message not stored yet; try again later."""


@dataclass
class Ingest:
    """What :func:`apply` needs besides the session: settings (live events) and the job runtime
    (copying attachments) — None in contexts that cannot kick jobs (the tick finds them)."""

    settings: Settings
    runtime: JobRuntime | None = None


async def apply(session: AsyncSession, ingest: Ingest, channel: Channel, event: Event) -> bool:
    """Store one event; True if it changed anything."""
    if isinstance(event, MessageEvent):
        return await _message(session, ingest, channel, event)
    repo = GlobalInbox(session)
    target = await repo.message_by_external_id(channel.id, event.target_external_id)
    if target is None:
        raise TargetMissing(event.target_external_id)
    changed: list[Message] = []
    if isinstance(event, ReactionEvent):
        if _react(target, event):
            changed.append(target)
    elif isinstance(event, EditEvent):
        if event.edit_count > target.edit_count and target.deleted_at is None:
            target.text = event.text
            target.search_text = fold(event.text)
            target.edited_at = event.at
            target.edit_count = event.edit_count
            changed.append(target)
    elif isinstance(event, UnsendEvent):
        if target.deleted_at is None:
            # The customer took it back: keep that it existed, not what it said.
            target.deleted_at = event.at
            target.text = None
            target.search_text = ""
            target.media = []
            target.media_pending = False
            changed.append(target)
    elif isinstance(event, ReadEvent):
        ids = await repo.mark_outbound_read(target.conversation_id, target.sent_at, event.at)
        for message_id in ids:
            message = await repo.message(message_id)
            if message is not None:
                changed.append(message)
    if not changed:
        return False
    await session.flush()
    for message in changed:
        await live.emit(
            session,
            ingest.settings,
            message.workspace_id,
            live.MESSAGE_UPDATED,
            {"message": message_read(message, ingest.settings).model_dump(mode="json")},
        )
    return True


def _react(target: Message, event: ReactionEvent) -> bool:
    by = "business" if event.by_business else "contact"
    stamps: dict[str, str] = dict((target.details or {}).get("reaction_at", {}))
    if by in stamps and datetime.fromisoformat(stamps[by]) > event.at:
        return False  # an older event overtaken by a newer one
    reactions = [r for r in target.reactions or [] if r.get("by") != by]
    if event.reaction is not None:
        reactions.append(
            {"by": by, "reaction": event.reaction, "emoji": event.emoji, "at": event.at.isoformat()}
        )
    stamps[by] = event.at.isoformat()
    target.reactions = reactions
    target.details = {**(target.details or {}), "reaction_at": stamps}
    return True


def _media(event: MessageEvent) -> list[dict[str, Any]]:
    items = []
    for att in event.attachments:
        # WhatsApp names media by id (its URL is asked for, with the token, when copying).
        wa_media_id = att.payload.get("wa_media_id")
        item: dict[str, Any] = {
            "type": att.type,
            "source_url": att.url,
            "status": "pending" if att.url or wa_media_id else "none",
        }
        if wa_media_id:
            item["wa_media_id"] = str(wa_media_id)
            for name in ("mime_type", "sha256", "filename", "voice", "animated"):
                if att.payload.get(name) is not None:
                    item[name] = att.payload[name]
        items.append(item)
    return items


async def _message(
    session: AsyncSession, ingest: Ingest, channel: Channel, event: MessageEvent
) -> bool:
    repo = GlobalInbox(session)
    contact = await repo.upsert_contact(
        channel, event.contact.external_id, username=event.contact.username, name=event.contact.name
    )
    conversation = await repo.upsert_conversation(
        channel,
        contact,
        kind=event.conversation_kind,
        thread_key=event.media_id or "",
        media_id=event.media_id,
        first_at=event.at,
    )
    if event.conversation_external_id and not conversation.external_id:
        conversation.external_id = event.conversation_external_id
    now = utcnow()
    media = _media(event)
    media_pending = any(m["status"] == "pending" for m in media)
    inbound = event.direction == Direction.inbound
    values: dict[str, Any] = {
        "workspace_id": channel.workspace_id,
        "channel_id": channel.id,
        "conversation_id": conversation.id,
        "direction": event.direction,
        "kind": event.kind,
        "status": MessageStatus.received if inbound else MessageStatus.sent,
        "text": event.text,
        "search_text": fold(event.text),
        "media": media,
        "media_pending": media_pending,
        "media_next_attempt_at": now + MEDIA_RETRY_AFTER if media_pending else None,
        "media_attempts": 0,
        "details": event.details,
        "reactions": [],
        "external_id": event.external_id,
        "reply_to_external_id": event.reply_to_external_id,
        "sent_at": event.at,
        "received_at": now,
        "edit_count": 0,
        "created_at": now,
        "updated_at": now,
    }
    new_id = await repo.insert_message(values)
    if new_id is None:
        # Already stored: a duplicate, a replay, or the echo of our own send. An echo carries
        # Meta's time for a message we stamped with ours when sending: adopt it, so the thread
        # is in Meta's order.
        if not inbound:
            return await _adopt_echo_time(session, ingest, channel, event)
        return False
    message = await repo.message(new_id)
    assert message is not None  # noqa: S101 - just inserted
    await repo.touch_conversation(
        conversation.id,
        at=event.at,
        preview=preview_of(message),
        inbound=inbound,
        unread_increment=1 if inbound else 0,
    )
    if media_pending and ingest.runtime is not None:
        ingest.runtime.enqueue(session, "inbox.copy_media", str(new_id))
    await publish_message(session, ingest.settings, message, created=True)
    return True


async def _adopt_echo_time(
    session: AsyncSession, ingest: Ingest, channel: Channel, event: MessageEvent
) -> bool:
    ours = await GlobalInbox(session).message_by_external_id(channel.id, event.external_id)
    if ours is None or ours.direction != Direction.outbound or ours.sent_at == event.at:
        return False
    ours.sent_at = event.at
    if ours.status == MessageStatus.pending:
        ours.status = MessageStatus.sent
    await session.flush()
    await publish_message(session, ingest.settings, ours, created=False)
    return True


async def publish_message(
    session: AsyncSession, settings: Settings, message: Message, *, created: bool
) -> None:
    """Live events for a new or changed message and its conversation (reloaded, so counters
    changed in SQL are current)."""
    await live.emit(
        session,
        settings,
        message.workspace_id,
        live.MESSAGE_CREATED if created else live.MESSAGE_UPDATED,
        {"message": message_read(message, settings).model_dump(mode="json")},
    )
    await publish_conversation(session, settings, message.conversation_id)


async def publish_conversation(
    session: AsyncSession, settings: Settings, conversation_id: uuid.UUID
) -> None:
    conversation = await GlobalInbox(session).conversation(conversation_id)
    if conversation is None:
        return
    await live.emit(
        session,
        settings,
        conversation.workspace_id,
        live.CONVERSATION_UPDATED,
        {"conversation": conversation_read(conversation, settings).model_dump(mode="json")},
    )
