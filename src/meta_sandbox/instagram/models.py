"""The Instagram part of the sandbox state: accounts, personas, conversations, media, containers,
comments and OAuth codes. Plain dataclasses so the state file can hold them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCOPES = (
    "instagram_business_basic",
    "instagram_business_content_publish",
    "instagram_business_manage_messages",
    "instagram_business_manage_comments",
    "instagram_business_manage_insights",
)
BASIC = "instagram_business_basic"
PUBLISH = "instagram_business_content_publish"
MESSAGES = "instagram_business_manage_messages"
COMMENTS = "instagram_business_manage_comments"
INSIGHTS = "instagram_business_manage_insights"

WEBHOOK_FIELDS = (
    "comments",
    "live_comments",
    "message_echoes",
    "message_reactions",
    "messages",
    "messaging_handover",
    "messaging_optins",
    "messaging_postbacks",
    "messaging_referral",
    "messaging_seen",
    "message_edit",
    "standby",
)


@dataclass
class IGAccount:
    id: str  # the IG professional account id (user_id, webhook entry.id)
    app_scoped_id: str  # the `id` field of /me
    username: str
    name: str
    created_at: float
    account_type: str = "Business"
    biography: str = ""
    website: str = ""
    followers_count: int = 1200
    follows_count: int = 180
    profile_picture_url: str = ""
    subscribed_fields: list[str] = field(default_factory=list)


@dataclass
class Persona:
    id: str  # IGSID
    username: str
    name: str
    created_at: float
    follower_count: int = 150
    is_verified_user: bool = False
    is_user_follow_business: bool = True
    is_business_follow_user: bool = False


@dataclass
class Message:
    id: str  # mid
    conversation_id: str
    account_id: str
    from_id: str
    to_id: str
    created_at: float
    outgoing: bool  # sent by the business
    text: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    reply_to: dict[str, Any] | None = None
    reactions: list[dict[str, Any]] = field(default_factory=list)
    via_api: bool = False
    is_deleted: bool = False
    read_at: float | None = None


@dataclass
class Conversation:
    id: str
    account_id: str
    persona_id: str
    updated_at: float
    message_ids: list[str] = field(default_factory=list)
    last_user_message_at: float | None = None


@dataclass
class Container:
    id: str
    owner_id: str
    media_type: str  # IMAGE | VIDEO | CAROUSEL | REELS | STORIES
    created_at: float
    ready_at: float
    is_carousel_item: bool = False
    image_url: str | None = None
    video_url: str | None = None
    caption: str = ""
    children: list[str] = field(default_factory=list)
    error_subcode: int | None = None
    error_message: str | None = None
    published_media_id: str | None = None
    file_id: str | None = None  # downloaded bytes kept for the sandbox "CDN"
    share_to_feed: bool = True
    alt_text: str | None = None
    width: int = 0
    height: int = 0


@dataclass
class Media:
    id: str
    owner_id: str
    media_type: str  # IMAGE | VIDEO | CAROUSEL_ALBUM
    media_product_type: str  # FEED | REELS | STORY
    caption: str
    created_at: float
    shortcode: str
    media_url: str = ""
    thumbnail_url: str | None = None
    children: list[str] = field(default_factory=list)
    container_id: str | None = None
    via_api: bool = False
    like_count: int = 0
    alt_text: str | None = None
    is_carousel_child: bool = False


@dataclass
class Comment:
    id: str
    media_id: str
    account_id: str  # owner of the media
    from_id: str
    username: str
    text: str
    created_at: float
    parent_id: str | None = None
    hidden: bool = False
    like_count: int = 0
    private_reply_sent: bool = False


@dataclass
class AuthCode:
    code: str
    account_id: str
    scopes: list[str]
    redirect_uri: str
    created_at: float
    used: bool = False


@dataclass
class StoredFile:
    id: str
    content_type: str
    data_b64: str


@dataclass
class InstagramState:
    accounts: dict[str, IGAccount] = field(default_factory=dict)
    app_scoped: dict[str, str] = field(default_factory=dict)  # app-scoped id -> account id
    personas: dict[str, Persona] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    containers: dict[str, Container] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    comments: dict[str, Comment] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    publish_times: dict[str, list[float]] = field(default_factory=dict)  # account -> times

    def account_by_username(self, username: str) -> IGAccount | None:
        return next((a for a in self.accounts.values() if a.username == username), None)

    def persona_by_username(self, username: str) -> Persona | None:
        return next((p for p in self.personas.values() if p.username == username), None)

    def conversation_for(self, account_id: str, persona_id: str) -> Conversation | None:
        return next(
            (
                c
                for c in self.conversations.values()
                if c.account_id == account_id and c.persona_id == persona_id
            ),
            None,
        )
