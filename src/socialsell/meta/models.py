"""Typed results of Meta calls.

Models keep fields Meta adds later (``extra="allow"``) so a new field never breaks parsing, and
only declare what the product reads. Field names follow Meta's, except where Meta's name is a
Python keyword (``from`` becomes ``sender``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

T = TypeVar("T")
ModelT = TypeVar("ModelT", bound=BaseModel)


class MetaModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class Page(MetaModel, Generic[T]):
    """One page of a Graph listing.

    ``next_cursor`` is the ``after`` cursor when Meta says there is a next page (a ``paging.next``
    link), else None: Meta also returns an ``after`` cursor on the last page of some edges, and
    following it would cost a call for an empty page.
    """

    data: list[T]
    next_cursor: str | None = None
    previous_cursor: str | None = None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def parse_page(body: Any, item: type[ModelT]) -> Page[ModelT]:
    """Read ``{"data": [...], "paging": {"cursors": {"before", "after"}, "next"?, "previous"?}}``."""
    body = _mapping(body)
    items = body.get("data")
    paging = _mapping(body.get("paging"))
    cursors = _mapping(paging.get("cursors"))
    after = cursors.get("after")
    before = cursors.get("before")
    return Page(
        data=[item.model_validate(x) for x in items] if isinstance(items, list) else [],
        next_cursor=after if isinstance(after, str) and paging.get("next") else None,
        previous_cursor=before if isinstance(before, str) and paging.get("previous") else None,
    )


# --- OAuth -------------------------------------------------------------------------------------


class TokenResult(MetaModel):
    """An access token and what Meta said about it.

    ``access_token`` is a ``SecretStr`` so it never shows in a repr, a log line or a traceback;
    call ``.get_secret_value()`` to use it. ``expires_at`` is computed from ``expires_in`` when
    the response was received (or the documented one-hour lifetime of a short-lived token).
    """

    access_token: SecretStr
    token_type: str | None = None
    expires_in: int | None = None
    expires_at: datetime | None = None
    user_id: str | None = None
    permissions: list[str] = Field(default_factory=list)

    @field_validator("user_id", mode="before")
    @classmethod
    def _id_as_str(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("permissions", mode="before")
    @classmethod
    def _split_permissions(cls, value: Any) -> Any:
        # The code exchange joins permissions with commas; be lenient with a list too.
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value


# --- Instagram ---------------------------------------------------------------------------------


class UserProfile(MetaModel):
    """A person who messaged the account (Instagram User Profile API, ``GET /{IGSID}``)."""

    id: str
    name: str | None = None
    username: str | None = None
    profile_pic: str | None = None
    follower_count: int | None = None
    is_user_follow_business: bool | None = None
    is_business_follow_user: bool | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_str(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class Profile(MetaModel):
    id: str
    user_id: str | None = None
    username: str | None = None
    name: str | None = None
    account_type: str | None = None
    profile_picture_url: str | None = None
    followers_count: int | None = None
    follows_count: int | None = None
    media_count: int | None = None

    @field_validator("id", "user_id", mode="before")
    @classmethod
    def _id_as_str(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class Media(MetaModel):
    id: str
    caption: str | None = None
    media_type: str | None = None
    media_product_type: str | None = None
    media_url: str | None = None
    permalink: str | None = None
    thumbnail_url: str | None = None
    timestamp: datetime | None = None
    username: str | None = None
    like_count: int | None = None
    comments_count: int | None = None


class UserRef(MetaModel):
    id: str
    username: str | None = None


class Conversation(MetaModel):
    id: str
    updated_time: datetime | None = None


class Attachment(MetaModel):
    type: str | None = None
    payload: dict[str, Any] | None = None
    image_data: dict[str, Any] | None = None
    video_data: dict[str, Any] | None = None


class Message(MetaModel):
    id: str
    created_time: datetime | None = None
    sender: UserRef | None = Field(default=None, alias="from")
    recipients: list[UserRef] = Field(default_factory=list, alias="to")
    message: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)

    @field_validator("recipients", "attachments", mode="before")
    @classmethod
    def _unwrap_data(cls, value: Any) -> Any:
        # Meta wraps these lists as {"data": [...]}.
        if isinstance(value, Mapping):
            return value.get("data", [])
        return value


class SendResult(MetaModel):
    recipient_id: str | None = None
    message_id: str


class Container(MetaModel):
    """A publishing container; ``status`` carries Meta's error subcode text when ``ERROR``."""

    id: str
    status_code: str | None = None
    status: str | None = None


class PublishingLimit(MetaModel):
    quota_usage: int
    quota_total: int | None = None
    quota_duration: int | None = None


class InsightValue(MetaModel):
    """One point of a time series, or the single lifetime value of a media metric."""

    value: Any
    end_time: datetime | None = None


class InsightBreakdownResult(MetaModel):
    dimension_values: list[str]
    value: Any


class InsightBreakdown(MetaModel):
    dimension_keys: list[str]
    results: list[InsightBreakdownResult] = Field(default_factory=list)


class InsightTotal(MetaModel):
    value: Any = None
    breakdowns: list[InsightBreakdown] = Field(default_factory=list)


class InsightMetric(MetaModel):
    """One metric of an insights response: a series (``values``) and/or a ``total_value``."""

    name: str
    period: str | None = None
    title: str | None = None
    description: str | None = None
    id: str | None = None
    values: list[InsightValue] = Field(default_factory=list)
    total_value: InsightTotal | None = None


class Comment(MetaModel):
    id: str
    text: str | None = None
    timestamp: datetime | None = None
    username: str | None = None
    sender: UserRef | None = Field(default=None, alias="from")
    like_count: int | None = None
    hidden: bool | None = None
    parent_id: str | None = None


class SubscribedApp(MetaModel):
    id: str | None = None
    name: str | None = None
    subscribed_fields: list[str] = Field(default_factory=list)

    @field_validator("subscribed_fields", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        # Some Graph versions return [{"name": "messages", "version": "v23.0"}].
        if isinstance(value, list):
            return [v.get("name") if isinstance(v, Mapping) else v for v in value]
        return value


# --- WhatsApp ----------------------------------------------------------------------------------


class PhoneNumber(MetaModel):
    id: str
    display_phone_number: str | None = None
    verified_name: str | None = None
    quality_rating: str | None = None
    messaging_limit_tier: str | None = None
    whatsapp_business_manager_messaging_limit: Any = None
    status: str | None = None
    name_status: str | None = None
    code_verification_status: str | None = None


class WhatsAppContact(MetaModel):
    input: str | None = None
    wa_id: str | None = None


class WhatsAppMessageRef(MetaModel):
    id: str
    message_status: str | None = None


class WhatsAppSendResult(MetaModel):
    messaging_product: str | None = None
    contacts: list[WhatsAppContact] = Field(default_factory=list)
    messages: list[WhatsAppMessageRef]

    @property
    def message_id(self) -> str:
        return self.messages[0].id


class MediaInfo(MetaModel):
    """A WhatsApp media object; ``url`` is valid for 5 minutes and needs the bearer token."""

    id: str
    url: str
    mime_type: str | None = None
    sha256: str | None = None
    file_size: int | None = None
    messaging_product: str | None = None


class Template(MetaModel):
    id: str
    name: str
    language: str | None = None
    status: str | None = None
    category: str | None = None
    components: list[dict[str, Any]] = Field(default_factory=list)
    parameter_format: str | None = None
    previous_category: str | None = None
    quality_score: Any = None
    rejected_reason: str | None = None


class TemplateCreated(MetaModel):
    id: str
    status: str | None = None
    category: str | None = None
