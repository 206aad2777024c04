"""What the publishing API reads and writes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from socialsell.publishing.models import MediaKind, PostKind, PostStatus

# The schema bounds only what no request may exceed; Instagram's rules (2,200 characters, ...)
# are checked when a post is scheduled, with a message naming the field and the rule.
Caption = Annotated[str, Field(max_length=20_000)]
MediaIds = Annotated[list[uuid.UUID], Field(max_length=20)]


class MediaRead(BaseModel):
    id: uuid.UUID
    kind: MediaKind
    content_type: str
    url: str
    thumbnail_url: str | None
    original_filename: str
    converted_from: str | None
    size_bytes: int
    width: int | None
    height: int | None
    aspect_ratio: float | None
    duration_seconds: float | None
    created_at: datetime


class PostCreate(BaseModel):
    """One composer request: the same post on one or more channels (one post per channel).
    ``draft: true`` saves it unchecked and unscheduled; otherwise it is validated and scheduled
    at ``scheduled_at``."""

    model_config = ConfigDict(extra="forbid")

    channel_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=50)]
    kind: PostKind
    caption: Caption = ""
    media_ids: MediaIds = Field(default_factory=list)
    scheduled_at: AwareDatetime | None = None
    share_to_feed: bool = True
    draft: bool = False


class PostUpdate(BaseModel):
    """Change a post that has not started publishing. ``draft: true`` unschedules it; ``draft:
    false`` schedules it (after validation)."""

    model_config = ConfigDict(extra="forbid")

    kind: PostKind | None = None
    caption: Caption | None = None
    media_ids: MediaIds | None = None
    scheduled_at: AwareDatetime | None = None
    share_to_feed: bool | None = None
    draft: bool | None = None


class PostItemRead(BaseModel):
    position: int
    media: MediaRead


class PostRead(BaseModel):
    id: uuid.UUID
    group_id: uuid.UUID
    channel_id: uuid.UUID
    kind: PostKind
    caption: str
    share_to_feed: bool
    status: PostStatus
    scheduled_at: datetime | None
    items: list[PostItemRead]
    progress: str | None
    attempts: int
    external_media_id: str | None
    permalink: str | None
    # Published, but Instagram has not told us the link yet: a success, the link follows.
    permalink_pending: bool
    published_at: datetime | None
    failure_code: str | None
    failure_reason: str | None
    failure_detail: str | None
    failed_at: datetime | None
    can_edit: bool
    can_retry: bool
    created_at: datetime
    updated_at: datetime


class PostsCreated(BaseModel):
    items: list[PostRead]


class CalendarDay(BaseModel):
    date: date
    posts: list[PostRead]


class CalendarRead(BaseModel):
    timezone: str
    days: list[CalendarDay]
