"""Instagram's rules for a post, checked before it is scheduled so that the person fixes it now
rather than learning at publishing time. Each broken rule is a :class:`FieldError` naming the
field and the rule. Limits are Meta's (shared/reference/meta-api.md section 3); the caption limits
are settings because Meta's figures conflict."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from socialsell.channels.models import Channel, ChannelStatus, Platform
from socialsell.core.errors import FieldError
from socialsell.publishing.models import MediaAsset, MediaKind, PostKind
from socialsell.settings import Settings

PUBLISH_SCOPE = "instagram_business_content_publish"
# The same patterns Instagram counts: a # or @ not glued to a preceding word.
HASHTAG_RE = re.compile(r"(?<![\w&])#\w+")
MENTION_RE = re.compile(r"(?<![\w@])@[\w.]+")

IMAGE_MAX_BYTES = 8 * 1024 * 1024
FEED_RATIO = (0.8, 1.91)  # 4:5 ... 1.91:1
REEL_RATIO = (0.01, 10.0)
REEL_SECONDS = (3.0, 900.0)  # 3 s ... 15 min
STORY_SECONDS = (3.0, 60.0)
CAROUSEL_VIDEO_SECONDS = (3.0, 60.0)
CAROUSEL_ITEMS = (2, 10)
RATIO_SLACK = 1e-3


@dataclass(frozen=True, slots=True)
class Draft:
    """What is checked: a post's content, whatever its origin (create or edit)."""

    kind: PostKind
    caption: str
    media: Sequence[MediaAsset]
    scheduled_at: datetime | None


def caption_errors(caption: str, settings: Settings) -> list[FieldError]:
    errors = []
    if len(caption) > settings.publishing_caption_max_chars:
        errors.append(
            FieldError(
                "caption",
                f"The caption has {len(caption):,} characters; Instagram allows at most "
                f"{settings.publishing_caption_max_chars:,}.",
            )
        )
    hashtags = len(HASHTAG_RE.findall(caption))
    if hashtags > settings.publishing_caption_max_hashtags:
        errors.append(
            FieldError(
                "caption",
                f"The caption has {hashtags} hashtags; Instagram allows at most "
                f"{settings.publishing_caption_max_hashtags}.",
            )
        )
    mentions = len(MENTION_RE.findall(caption))
    if mentions > settings.publishing_caption_max_mentions:
        errors.append(
            FieldError(
                "caption",
                f"The caption mentions {mentions} accounts; Instagram allows at most "
                f"{settings.publishing_caption_max_mentions} @mentions.",
            )
        )
    return errors


def _ratio(media: MediaAsset) -> str:
    if media.width and media.height:
        return f"{media.width}x{media.height} ({media.aspect_ratio or 0:.2f}:1)"
    return "unknown"


def _within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] - RATIO_SLACK <= value <= bounds[1] + RATIO_SLACK


def _media_errors(kind: PostKind, media: Sequence[MediaAsset]) -> list[FieldError]:
    errors: list[FieldError] = []
    count = len(media)
    if kind == PostKind.carousel:
        if not CAROUSEL_ITEMS[0] <= count <= CAROUSEL_ITEMS[1]:
            return [
                FieldError(
                    "media_ids",
                    f"A carousel has 2 to 10 photos or videos; this one has {count}.",
                )
            ]
    elif count != 1:
        return [
            FieldError(
                "media_ids",
                f"A {kind.value} post has exactly one photo or video; this one has {count}.",
            )
        ]
    for index, item in enumerate(media):
        field = f"media_ids.{index}"
        if kind == PostKind.reel and item.kind != MediaKind.video:
            errors.append(FieldError(field, "A reel is a video; this file is a photo."))
            continue
        if item.kind == MediaKind.image:
            if item.size_bytes > IMAGE_MAX_BYTES:
                errors.append(
                    FieldError(
                        field,
                        f"Instagram takes photos up to 8 MB; this one is "
                        f"{item.size_bytes / 1024 / 1024:.1f} MB.",
                    )
                )
            if (
                kind in (PostKind.feed, PostKind.carousel)
                and item.aspect_ratio is not None
                and not _within(item.aspect_ratio, FEED_RATIO)
            ):
                errors.append(
                    FieldError(
                        field,
                        f"Feed photos must be between 4:5 (portrait) and 1.91:1 (landscape); "
                        f"this one is {_ratio(item)}. Crop it and upload it again.",
                    )
                )
            continue
        # A video. A duration or ratio we could not read is left for Instagram to judge.
        if kind == PostKind.story:
            bounds, what = STORY_SECONDS, "Story videos"
        elif kind == PostKind.carousel:
            bounds, what = CAROUSEL_VIDEO_SECONDS, "Carousel videos"
        else:
            bounds, what = REEL_SECONDS, "Reels and feed videos"
        if item.duration_seconds is not None and not _within(item.duration_seconds, bounds):
            errors.append(
                FieldError(
                    field,
                    f"{what} last {bounds[0]:g} to {bounds[1]:g} seconds; this one lasts "
                    f"{item.duration_seconds:.1f} seconds.",
                )
            )
        if (
            kind in (PostKind.reel, PostKind.feed)
            and item.aspect_ratio is not None
            and not _within(item.aspect_ratio, REEL_RATIO)
        ):
            errors.append(
                FieldError(
                    field,
                    f"Reels must be between 1:100 and 10:1; this one is {_ratio(item)}.",
                )
            )
    return errors


def channel_errors(channel: Channel, field: str) -> list[FieldError]:
    if channel.platform != Platform.instagram:
        return [FieldError(field, f"{channel.label} is not an Instagram account.")]
    if channel.status != ChannelStatus.active:
        return [
            FieldError(
                field,
                f"{channel.label} is {channel.status.value.replace('_', ' ')}; reconnect it on "
                "the Channels page before scheduling.",
            )
        ]
    if PUBLISH_SCOPE not in (channel.scopes or []):
        return [
            FieldError(
                field,
                f"{channel.label} did not grant the permission to publish; reconnect it and "
                "leave 'publish posts' switched on.",
            )
        ]
    return []


def schedule_errors(draft: Draft, settings: Settings, now: datetime) -> list[FieldError]:
    """Everything that keeps ``draft`` from being scheduled (empty: it may be)."""
    errors = caption_errors(draft.caption, settings)
    if draft.kind == PostKind.story and draft.caption.strip():
        errors.append(
            FieldError("caption", "Instagram stories have no caption; remove it to schedule.")
        )
    errors += _media_errors(draft.kind, draft.media)
    if draft.scheduled_at is None:
        errors.append(FieldError("scheduled_at", "Choose when to publish."))
    elif draft.scheduled_at <= now:
        errors.append(
            FieldError(
                "scheduled_at",
                f"The time must be in the future (it is {now:%Y-%m-%d %H:%M} UTC now).",
            )
        )
    return errors
