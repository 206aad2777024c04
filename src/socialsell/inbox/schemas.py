"""What the inbox API reads and writes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from socialsell.channels.models import Platform
from socialsell.inbox.models import (
    ConversationKind,
    ConversationStatus,
    Direction,
    MessageKind,
    MessageStatus,
)
from socialsell.whatsapp.templates.schemas import TemplateSend


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel_id: uuid.UUID
    external_id: str
    username: str | None
    name: str | None
    profile_picture_url: str | None
    # WhatsApp: the contact's number (its wa_id, digits with the country code); None elsewhere.
    phone: str | None = None


class ConversationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel_id: uuid.UUID
    channel_platform: Platform
    contact: ContactRead
    kind: ConversationKind
    media_id: str | None
    status: ConversationStatus
    unread_count: int
    last_message_at: datetime
    last_message_preview: str
    last_inbound_at: datetime | None
    assignee_id: uuid.UUID | None
    # Whether a standard reply is possible now, and until when (DMs; None for comments).
    window: WindowRead | None = None


class WindowRead(BaseModel):
    # Instagram: 24 h, or 7 days with the Human Agent tag. WhatsApp: the 24 h customer service
    # window; once it closes only templates may be sent (never a human agent tag).
    standard_until: datetime | None
    human_agent_until: datetime | None
    can_reply: bool
    needs_human_agent_tag: bool


class MediaRead(BaseModel):
    type: str
    status: str
    url: str | None = None  # a signed URL of our copy, or Meta's while not copied
    content_type: str | None = None
    size: int | None = None


class MessageRead(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    direction: Direction
    kind: MessageKind
    status: MessageStatus
    text: str | None
    media: list[MediaRead]
    details: dict[str, Any]
    reactions: list[dict[str, Any]]
    external_id: str | None
    reply_to_external_id: str | None
    sent_at: datetime
    received_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    read_at: datetime | None
    error_code: str | None
    error_message: str | None
    author_id: uuid.UUID | None
    # What the UI may offer: "retry" on failed messages.
    actions: list[str] = Field(default_factory=list)


class MessageCreate(BaseModel):
    """A reply. DMs: ``text`` or ``image_key`` (an upload's key). Comments: ``text`` with
    ``mode`` public (a reply under the comment) or private (a DM to the commenter).

    WhatsApp also takes ``media_id`` (a media asset from ``POST /api/v1/media``), ``text`` with
    ``image_key`` or ``media_id`` as the caption, ``template`` (an approved template with its
    values; allowed after the 24 h window closes) and ``reply_to_message_id`` to quote a
    message of the conversation."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, min_length=1, max_length=4096)
    image_key: str | None = Field(default=None, max_length=400)
    media_id: uuid.UUID | None = None
    template: TemplateSend | None = None
    mode: Literal["public", "private"] | None = None
    # Comments: the comment answered (an inbound message id); default the latest one.
    # WhatsApp: the message quoted (context).
    reply_to_message_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _one_body(self) -> MessageCreate:
        attachments = [a for a in (self.image_key, self.media_id) if a is not None]
        if self.template is not None:
            if self.text is not None or attachments:
                raise ValueError("A template is sent alone: no text, image_key or media_id.")
            return self
        if len(attachments) > 1:
            raise ValueError("Give image_key or media_id, not both.")
        if self.text is None and not attachments:
            raise ValueError("Give text, image_key, media_id or template.")
        return self


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ConversationStatus | None = None
    read: bool | None = None
    assignee_id: uuid.UUID | None = None
    unassign: bool = False


class UploadRead(BaseModel):
    key: str
    url: str
    content_type: str
    size: int


class SearchHit(BaseModel):
    message: MessageRead
    conversation: ConversationRead
    snippet: str


class SearchPage(BaseModel):
    items: list[SearchHit]
    next_offset: int | None = None


ConversationRead.model_rebuild()
