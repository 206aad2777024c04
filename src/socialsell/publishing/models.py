"""Publishing: media assets the workspace uploaded, scheduled posts and their items.

A post is one publication on one channel. Its life: ``draft`` -> ``scheduled`` -> (claimed by the
tick) ``publishing`` -> ``published`` or ``failed`` (-> ``scheduled`` again with Retry). While it
is ``publishing`` it carries a lease (``lease_owner``, ``lease_until``): only the holder may act
on it, and an expired lease is claimed again by the tick (see :mod:`socialsell.publishing.tasks`).

``version`` is SQLAlchemy's version counter: an edit flushes ``UPDATE ... WHERE version = :seen``,
and the claimer bumps it, so an edit racing a claim loses instead of changing a post that is
already being published.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from socialsell.db import Base, IdMixin, TimestampMixin, utcnow


class MediaKind(enum.StrEnum):
    image = "image"
    video = "video"


class PostKind(enum.StrEnum):
    feed = "feed"  # one image, or one video (published as a reel shared to the feed)
    carousel = "carousel"  # 2-10 images or videos
    story = "story"  # one image or video, 24 h
    reel = "reel"  # one video


class PostStatus(enum.StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    publishing = "publishing"
    published = "published"
    failed = "failed"


def _enum(cls: type[enum.StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class MediaAsset(IdMixin, Base):
    __tablename__ = "media_assets"
    __table_args__ = (Index("ix_media_assets_workspace_created", "workspace_id", "created_at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[MediaKind] = mapped_column(_enum(MediaKind))
    content_type: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(400))
    thumbnail_key: Mapped[str | None] = mapped_column(String(400), default=None)
    original_filename: Mapped[str] = mapped_column(String(255), default="")
    # What the upload was before it was converted to JPEG (e.g. "image/png"), if it was.
    converted_from: Mapped[str | None] = mapped_column(String(64), default=None)
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(default=None)
    height: Mapped[int | None] = mapped_column(default=None)
    # width / height; None when unknown (a video without ffprobe and without a readable header).
    aspect_ratio: Mapped[float | None] = mapped_column(default=None)
    duration_seconds: Mapped[float | None] = mapped_column(default=None)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Post(IdMixin, TimestampMixin, Base):
    __tablename__ = "posts"
    __table_args__ = (
        # The claimer's scan: due scheduled posts, expired publishing leases.
        Index("ix_posts_status_scheduled_at", "status", "scheduled_at"),
        Index("ix_posts_status_lease_until", "status", "lease_until"),
        Index("ix_posts_workspace_scheduled_at", "workspace_id", "scheduled_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), index=True
    )
    # Posts made by one composer request for several channels share a group.
    group_id: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4)
    kind: Mapped[PostKind] = mapped_column(_enum(PostKind))
    caption: Mapped[str] = mapped_column(Text, default="")
    share_to_feed: Mapped[bool] = mapped_column(default=True)
    status: Mapped[PostStatus] = mapped_column(_enum(PostStatus), default=PostStatus.draft)
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(default=1)

    # The publisher's state. Containers are stored (committed) before anything is published, so
    # that a publisher that dies can ask Meta what became of them.
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    container_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # Set (and committed) right before media_publish: from then on, whether the post is live is
    # only known by asking Meta.
    publish_attempted_at: Mapped[datetime | None] = mapped_column(default=None)
    # What the publisher is waiting for, for people ("Instagram is processing the video").
    progress: Mapped[str | None] = mapped_column(String(300), default=None)

    external_media_id: Mapped[str | None] = mapped_column(String(64), default=None)
    permalink: Mapped[str | None] = mapped_column(Text, default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    failure_code: Mapped[str | None] = mapped_column(String(64), default=None)
    # What the person should do, and what Meta said.
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    failure_detail: Mapped[str | None] = mapped_column(Text, default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    items: Mapped[list[PostItem]] = relationship(
        lazy="raise",
        order_by="PostItem.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own hook


class PostItem(Base):
    """One media of a post, in order; carousel children keep their own container id."""

    __tablename__ = "post_items"

    post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("media_assets.id", ondelete="CASCADE"), index=True
    )
    container_id: Mapped[str | None] = mapped_column(String(64), default=None)

    media: Mapped[MediaAsset] = relationship(lazy="raise")
