"""The unified inbox: contacts, conversations and messages of every channel kind.

Channel-agnostic on purpose (Chatwoot's channel / contact-inbox split): a contact is a person *as
seen by one channel* (Instagram's scoped id, a WhatsApp number), a conversation is a thread with
one contact on one channel (a DM thread, or the contact's comments under one post), and messages
carry the platform's own id, unique per channel, which is what makes processing idempotent.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from socialsell.channels.models import Channel
from socialsell.db import Base, IdMixin, TimestampMixin, utcnow


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class ConversationKind(enum.StrEnum):
    dm = "dm"
    comments = "comments"


class ConversationStatus(enum.StrEnum):
    open = "open"
    done = "done"


class Direction(enum.StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class MessageKind(enum.StrEnum):
    text = "text"
    image = "image"
    video = "video"
    audio = "audio"
    file = "file"
    share = "share"
    story_mention = "story_mention"
    story_reply = "story_reply"
    comment = "comment"
    unsupported = "unsupported"
    # WhatsApp
    sticker = "sticker"
    location = "location"
    contacts = "contacts"
    interactive = "interactive"  # a button or list reply
    button = "button"  # a template quick-reply button
    reaction = "reaction"  # kept only when its target message is unknown
    order = "order"
    system = "system"
    template = "template"


class MessageStatus(enum.StrEnum):
    received = "received"  # inbound
    pending = "pending"  # outbound, stored, send not confirmed
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"


class Contact(IdMixin, TimestampMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    # Instagram: the scoped user id (IGSID). WhatsApp: the wa_id.
    external_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(String(120), default=None)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    profile_picture_url: Mapped[str | None] = mapped_column(Text, default=None)
    profile_fetched_at: Mapped[datetime | None] = mapped_column(default=None)


class Conversation(IdMixin, TimestampMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # One DM thread per contact (thread_key ""), one comments thread per contact and post.
        UniqueConstraint("channel_id", "contact_id", "kind", "thread_key"),
        Index("ix_conversations_workspace_activity", "workspace_id", "last_message_at", "id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ConversationKind] = mapped_column(_enum(ConversationKind))
    thread_key: Mapped[str] = mapped_column(String(64), default="")
    # Meta's conversation id (DMs, learnt by reconciliation); the post's media id (comments).
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    media_id: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[ConversationStatus] = mapped_column(
        _enum(ConversationStatus), default=ConversationStatus.open
    )
    unread_count: Mapped[int] = mapped_column(default=0)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_preview: Mapped[str] = mapped_column(String(200), default="")
    # The customer's last message (Meta's time): the messaging window counts from it.
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    contact: Mapped[Contact] = relationship(lazy="raise")
    # Loaded with the conversation: the API says which platform a thread is on.
    channel: Mapped[Channel] = relationship(lazy="raise")


class Message(IdMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        # Idempotency by Meta's ids: a repeated delivery cannot insert a second row.
        UniqueConstraint("channel_id", "external_id"),
        # The same Idempotency-Key never sends twice.
        UniqueConstraint("workspace_id", "idempotency_key"),
        # Threads are ordered by Meta's time, whatever order deliveries arrive in.
        Index("ix_messages_conversation_sent", "conversation_id", "sent_at", "id"),
        Index("ix_messages_media_pending", "media_pending", "media_next_attempt_at"),
        # Search newest first: for a common word, walking this index backwards finds 25 matches
        # long before the full-text index would have listed them all.
        Index("ix_messages_workspace_sent", "workspace_id", "sent_at"),
        # The WhatsApp cost report: a workspace's priced messages by month.
        Index("ix_messages_workspace_priced", "workspace_id", "priced_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    direction: Mapped[Direction] = mapped_column(_enum(Direction))
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind), default=MessageKind.text)
    status: Mapped[MessageStatus] = mapped_column(_enum(MessageStatus))
    text: Mapped[str | None] = mapped_column(Text, default=None)
    # The text folded for search (lower case, accents removed), indexed by FTS5 / tsvector.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # [{type, source_url, status: pending|stored|failed, key, content_type, size}]
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    media_pending: Mapped[bool] = mapped_column(default=False)
    media_next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    media_attempts: Mapped[int] = mapped_column(default=0)
    # Platform facts: story reply/mention, shared post, quick reply payload, comment mode.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # [{"by": contact|business, "reaction", "emoji", "at"}]
    reactions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    reply_to_external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # Meta's time of the message (ordering) and when we learnt of it.
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(default=None)
    edit_count: Mapped[int] = mapped_column(default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    # WhatsApp: the pricing of the first status that carried it (what Meta bills, or not).
    pricing_category: Mapped[str | None] = mapped_column(String(32), default=None)
    pricing_type: Mapped[str | None] = mapped_column(String(32), default=None)
    pricing_billable: Mapped[bool | None] = mapped_column(default=None)
    priced_at: Mapped[datetime | None] = mapped_column(default=None)
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InboxEvent(Base):
    """The bounded log of live events, so an SSE client that reconnects with ``Last-Event-ID``
    misses nothing. The integer id is the event id: monotonically increasing."""

    __tablename__ = "inbox_events"
    __table_args__ = (Index("ix_inbox_events_workspace_id_id", "workspace_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ChannelSync(Base):
    """Reconciliation bookkeeping per channel; a channel without a row was never reconciled
    (just connected), which the tick notices."""

    __tablename__ = "inbox_channel_syncs"

    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    last_reconciled_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
