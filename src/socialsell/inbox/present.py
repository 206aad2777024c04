"""Rows to API shapes (shared by the API, live events and, later, the pages)."""

from __future__ import annotations

from datetime import timedelta

from socialsell.channels.models import Platform
from socialsell.core.storage import signed_url
from socialsell.db import utcnow
from socialsell.inbox.models import (
    Contact,
    Conversation,
    ConversationKind,
    Message,
    MessageStatus,
)
from socialsell.inbox.schemas import (
    ContactRead,
    ConversationRead,
    MediaRead,
    MessageRead,
    WindowRead,
)
from socialsell.settings import Settings

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)


def window(conversation: Conversation, settings: Settings) -> WindowRead | None:
    """Whether a free-form reply is possible now. ``conversation.channel`` must be loaded."""
    if conversation.kind != ConversationKind.dm:
        return None
    whatsapp = conversation.channel.platform == Platform.whatsapp
    last = conversation.last_inbound_at
    if last is None:
        return WindowRead(
            standard_until=None,
            human_agent_until=None,
            can_reply=False,
            needs_human_agent_tag=False,
        )
    now = utcnow()
    standard_until = last + STANDARD_WINDOW
    human_until = (
        last + HUMAN_AGENT_WINDOW if settings.inbox_human_agent_tag and not whatsapp else None
    )
    in_standard = now <= standard_until
    in_human = human_until is not None and now <= human_until
    return WindowRead(
        standard_until=standard_until,
        human_agent_until=human_until,
        can_reply=in_standard or in_human,
        needs_human_agent_tag=not in_standard and in_human,
    )


def contact_read(contact: Contact, platform: Platform) -> ContactRead:
    read = ContactRead.model_validate(contact)
    if platform == Platform.whatsapp:
        read.phone = contact.external_id
    return read


def conversation_read(conversation: Conversation, settings: Settings) -> ConversationRead:
    platform = conversation.channel.platform
    return ConversationRead(
        id=conversation.id,
        channel_id=conversation.channel_id,
        channel_platform=platform,
        contact=contact_read(conversation.contact, platform),
        kind=conversation.kind,
        media_id=conversation.media_id,
        status=conversation.status,
        unread_count=conversation.unread_count,
        last_message_at=conversation.last_message_at,
        last_message_preview=conversation.last_message_preview,
        last_inbound_at=conversation.last_inbound_at,
        assignee_id=conversation.assignee_id,
        window=window(conversation, settings),
    )


def media_read(item: dict[str, object], settings: Settings) -> MediaRead:
    key = item.get("key")
    status = str(item.get("status") or "pending")
    url: str | None = None
    if isinstance(key, str) and status == "stored":
        url = signed_url(settings, key)
    elif status in {"pending", "failed"} and item.get("source_url"):
        # Meta's own URL while it may still work; never a URL we refused to fetch.
        url = str(item["source_url"])
    size = item.get("size")
    return MediaRead(
        type=str(item.get("type") or "file"),
        status=status,
        url=url,
        content_type=str(item.get("content_type") or item.get("mime_type") or "") or None,
        size=size if isinstance(size, int) else None,
    )


def message_read(message: Message, settings: Settings) -> MessageRead:
    return MessageRead(
        id=message.id,
        conversation_id=message.conversation_id,
        direction=message.direction,
        kind=message.kind,
        status=message.status,
        text=None if message.deleted_at else message.text,
        media=[] if message.deleted_at else [media_read(m, settings) for m in message.media or []],
        details=message.details or {},
        reactions=message.reactions or [],
        external_id=message.external_id,
        reply_to_external_id=message.reply_to_external_id,
        sent_at=message.sent_at,
        received_at=message.received_at,
        edited_at=message.edited_at,
        deleted_at=message.deleted_at,
        read_at=message.read_at,
        error_code=message.error_code,
        error_message=message.error_message,
        author_id=message.author_id,
        actions=["retry"] if message.status == MessageStatus.failed else [],
    )


def preview_of(message: Message) -> str:
    if message.text:
        return message.text[:200]
    return {
        "image": "[photo]",
        "video": "[video]",
        "audio": "[voice message]",
        "file": "[file]",
        "share": "[shared post]",
        "story_mention": "[mentioned you in their story]",
        "story_reply": "[replied to your story]",
        "unsupported": "[message not supported]",
        "sticker": "[sticker]",
        "location": "[location]",
        "contacts": "[contact card]",
        "interactive": "[reply]",
        "button": "[button reply]",
        "reaction": "[reaction]",
        "order": "[order]",
        "system": "[system message]",
        "template": "[template]",
    }.get(message.kind.value, "")
