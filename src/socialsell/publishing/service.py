"""Publishing: the workspace's media library, composing and scheduling posts, the calendar.

No commits here (the route or job commits). Publishing itself is :mod:`.publisher`, run by the
tick (:mod:`.tasks`); this module only puts posts in the state the tick looks for.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from socialsell.accounts.service import Principal
from socialsell.core.errors import FieldError, NotFound, ValidationFailed
from socialsell.core.pagination import PageParams
from socialsell.core.storage import Storage, media_url
from socialsell.db import utcnow
from socialsell.publishing import media as media_files
from socialsell.publishing import rules
from socialsell.publishing.errors import (
    MediaInUse,
    PostLocked,
    PostNotRetryable,
    UnsupportedUpload,
    UploadTooLarge,
)
from socialsell.publishing.models import (
    MediaAsset,
    MediaKind,
    Post,
    PostItem,
    PostStatus,
)
from socialsell.publishing.repository import PublishingRepository
from socialsell.publishing.schemas import (
    CalendarDay,
    CalendarRead,
    MediaRead,
    PostCreate,
    PostItemRead,
    PostRead,
    PostUpdate,
)
from socialsell.settings import Settings

EDITABLE = (PostStatus.draft, PostStatus.scheduled, PostStatus.failed)
CALENDAR_MAX_DAYS = 62
SNIFF_BYTES = 64
UNKNOWN_CHANNEL = "This channel does not exist."


# ---------------------------------------------------------------------------- reading


def media_read(settings: Settings, storage: Storage, asset: MediaAsset) -> MediaRead:
    ttl = settings.media_url_ttl_seconds
    return MediaRead(
        id=asset.id,
        kind=asset.kind,
        content_type=asset.content_type,
        url=media_url(settings, storage, asset.storage_key, ttl_seconds=ttl),
        thumbnail_url=(
            media_url(settings, storage, asset.thumbnail_key, ttl_seconds=ttl)
            if asset.thumbnail_key
            else None
        ),
        original_filename=asset.original_filename,
        converted_from=asset.converted_from,
        size_bytes=asset.size_bytes,
        width=asset.width,
        height=asset.height,
        aspect_ratio=asset.aspect_ratio,
        duration_seconds=asset.duration_seconds,
        created_at=asset.created_at,
    )


def post_read(settings: Settings, storage: Storage, post: Post) -> PostRead:
    return PostRead(
        id=post.id,
        group_id=post.group_id,
        channel_id=post.channel_id,
        kind=post.kind,
        caption=post.caption,
        share_to_feed=post.share_to_feed,
        status=post.status,
        scheduled_at=post.scheduled_at,
        items=[
            PostItemRead(position=i.position, media=media_read(settings, storage, i.media))
            for i in post.items
        ],
        progress=post.progress,
        attempts=post.attempts,
        external_media_id=post.external_media_id,
        permalink=post.permalink,
        permalink_pending=post.status == PostStatus.published and not post.permalink,
        published_at=post.published_at,
        failure_code=post.failure_code,
        failure_reason=post.failure_reason,
        failure_detail=post.failure_detail,
        failed_at=post.failed_at,
        can_edit=post.status in EDITABLE and post.publish_attempted_at is None,
        can_retry=post.status == PostStatus.failed,
        created_at=post.created_at,
        updated_at=post.updated_at,
    )


# ---------------------------------------------------------------------------- media


async def store_upload(
    session: AsyncSession,
    settings: Settings,
    storage: Storage,
    principal: Principal,
    chunks: AsyncIterator[bytes],
    filename: str,
) -> MediaAsset:
    """Stream an upload to a temporary file (hashing and counting as it goes, refusing it past
    the limit), find out what it is from its bytes, convert it where Instagram needs it, and
    store it with a thumbnail."""
    limit = settings.publishing_max_upload_bytes
    with tempfile.TemporaryDirectory(prefix="socialsell-upload-") as tmp:
        workdir = Path(tmp)
        raw = workdir / "upload"
        digest = hashlib.sha256()
        size = 0
        head = b""
        with raw.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(
                        f"The file is larger than {limit // (1024 * 1024)} MB, the upload limit."
                    )
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                await asyncio.to_thread(out.write, chunk)
        if size == 0:
            raise ValidationFailed(
                "The file is empty.", errors=[FieldError("file", "The file is empty.")]
            )
        try:
            sniffed = media_files.sniff(head)
            if sniffed.kind == MediaKind.image and size > settings.publishing_max_image_bytes:
                raise UploadTooLarge(
                    f"Photos are limited to "
                    f"{settings.publishing_max_image_bytes // (1024 * 1024)} MB."
                )
            processed = await asyncio.to_thread(media_files.process, raw, sniffed, workdir)
        except media_files.UnsupportedMedia as exc:
            raise UnsupportedUpload(str(exc)) from exc

        asset = MediaAsset(
            id=uuid.uuid4(),
            workspace_id=principal.workspace_id,
            kind=processed.kind,
            content_type=processed.content_type,
            storage_key="",
            original_filename=(filename or "")[:255],
            converted_from=processed.converted_from,
            size_bytes=processed.path.stat().st_size,
            sha256=digest.hexdigest(),
            width=processed.width,
            height=processed.height,
            aspect_ratio=processed.aspect_ratio,
            duration_seconds=processed.duration_seconds,
            created_by_id=principal.user.id,
        )
        prefix = f"ws/{principal.workspace_id}/media/{asset.id}"
        asset.storage_key = f"{prefix}/original{processed.extension}"
        await storage.put_file(asset.storage_key, processed.path, processed.content_type)
        if processed.thumbnail is not None:
            asset.thumbnail_key = f"{prefix}/thumbnail.jpg"
            await storage.put(asset.thumbnail_key, processed.thumbnail)
    session.add(asset)
    await session.flush()
    return asset


async def list_media(
    session: AsyncSession, principal: Principal, params: PageParams, kind: MediaKind | None
) -> tuple[Sequence[MediaAsset], str | None]:
    return await PublishingRepository(session, principal.workspace_id).media_page(params, kind)


async def get_media(session: AsyncSession, principal: Principal, media_id: uuid.UUID) -> MediaAsset:
    asset = await PublishingRepository(session, principal.workspace_id).media(media_id)
    if asset is None:
        raise NotFound("This media file does not exist.")
    return asset


async def delete_media(
    session: AsyncSession, storage: Storage, principal: Principal, media_id: uuid.UUID
) -> None:
    repo = PublishingRepository(session, principal.workspace_id)
    asset = await get_media(session, principal, media_id)
    using = await repo.posts_using_media(media_id)
    if using:
        raise MediaInUse(
            f"This file is used by {using} post{'s' if using > 1 else ''} not published yet "
            "(scheduled, draft or failed). Remove it from those posts, or delete them, first."
        )
    await session.delete(asset)
    await session.flush()
    # Files go once the row is gone from this transaction; a failed commit leaves orphan files,
    # never a row pointing at nothing.
    for key in (asset.storage_key, asset.thumbnail_key):
        if key:
            await storage.delete(key)


# ---------------------------------------------------------------------------- posts


async def _media_for(
    repo: PublishingRepository, media_ids: Sequence[uuid.UUID]
) -> tuple[list[MediaAsset], list[FieldError]]:
    found = await repo.media_many(media_ids)
    missing = [
        FieldError(f"media_ids.{i}", "This media file does not exist.")
        for i, media_id in enumerate(media_ids)
        if media_id not in found
    ]
    return [found[m] for m in media_ids if m in found], missing


def _check_schedulable(
    settings: Settings, draft: rules.Draft, extra: Sequence[FieldError] = ()
) -> None:
    errors = [*rules.schedule_errors(draft, settings, utcnow()), *extra]
    if errors:
        raise ValidationFailed("This post cannot be scheduled yet.", errors=errors)


async def create_posts(
    session: AsyncSession, settings: Settings, principal: Principal, data: PostCreate
) -> list[Post]:
    """One post per channel, sharing a group. A scheduled post is checked first; the tick
    publishes it when it is due."""
    repo = PublishingRepository(session, principal.workspace_id)
    channel_ids = list(dict.fromkeys(data.channel_ids))
    channels = await repo.channels(channel_ids)
    channel_problems: list[FieldError] = []
    for index, channel_id in enumerate(channel_ids):
        channel = channels.get(channel_id)
        if channel is None:
            channel_problems.append(FieldError(f"channel_ids.{index}", UNKNOWN_CHANNEL))
        elif not data.draft:
            channel_problems += rules.channel_errors(channel, f"channel_ids.{index}")
    media, missing = await _media_for(repo, data.media_ids)
    unknown_channels = [e for e in channel_problems if e.message == UNKNOWN_CHANNEL]
    if unknown_channels or missing:
        raise ValidationFailed(
            "Some channels or media files do not exist.", errors=[*unknown_channels, *missing]
        )
    if not data.draft:
        _check_schedulable(
            settings,
            rules.Draft(data.kind, data.caption, media, data.scheduled_at),
            channel_problems,
        )
    group_id = uuid.uuid4()
    posts = []
    for channel_id in channel_ids:
        post = Post(
            id=uuid.uuid4(),
            workspace_id=principal.workspace_id,
            channel_id=channel_id,
            group_id=group_id,
            kind=data.kind,
            caption=data.caption,
            share_to_feed=data.share_to_feed,
            status=PostStatus.draft if data.draft else PostStatus.scheduled,
            scheduled_at=data.scheduled_at,
            created_by_id=principal.user.id,
            items=[PostItem(position=i, media_id=m.id, media=m) for i, m in enumerate(media)],
        )
        session.add(post)
        posts.append(post)
    await session.flush()
    return posts


async def list_posts(
    session: AsyncSession,
    principal: Principal,
    params: PageParams,
    *,
    status: PostStatus | None = None,
    channel_id: uuid.UUID | None = None,
) -> tuple[Sequence[Post], str | None]:
    return await PublishingRepository(session, principal.workspace_id).posts_page(
        params, status=status, channel_id=channel_id
    )


async def get_post(session: AsyncSession, principal: Principal, post_id: uuid.UUID) -> Post:
    post = await PublishingRepository(session, principal.workspace_id).post(post_id)
    if post is None:
        raise NotFound("This post does not exist.")
    return post


def _ensure_editable(post: Post) -> None:
    if post.status not in EDITABLE:
        raise PostLocked
    if post.publish_attempted_at is not None:
        # A failed attempt whose outcome Instagram never confirmed: the post may be live.
        raise PostLocked(
            "Instagram may already have published this post (its last attempt was cut off). "
            "Use Retry: socialsell asks Instagram first and never publishes it twice."
        )


async def _flush_or_locked(session: AsyncSession) -> None:
    try:
        await session.flush()
    except StaleDataError as exc:
        # The tick claimed the post between our read and this write (its UPDATE moved the
        # version): publishing has started, and this change must not happen.
        raise PostLocked from exc


async def update_post(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    post_id: uuid.UUID,
    data: PostUpdate,
) -> Post:
    repo = PublishingRepository(session, principal.workspace_id)
    post = await get_post(session, principal, post_id)
    _ensure_editable(post)
    changes = data.model_fields_set
    media = [i.media for i in post.items]
    if data.media_ids is not None:
        media, missing = await _media_for(repo, data.media_ids)
        if missing:
            raise ValidationFailed("Some media files do not exist.", errors=missing)
    kind = data.kind or post.kind
    caption = data.caption if data.caption is not None else post.caption
    scheduled_at = data.scheduled_at if "scheduled_at" in changes else post.scheduled_at
    draft = data.draft if data.draft is not None else post.status == PostStatus.draft
    if not draft:
        channel = (await repo.channels([post.channel_id]))[post.channel_id]
        _check_schedulable(
            settings,
            rules.Draft(kind, caption, media, scheduled_at),
            rules.channel_errors(channel, "channel_id"),
        )
    content_changed = bool(changes & {"kind", "caption", "media_ids", "share_to_feed"})
    post.kind = kind
    post.caption = caption
    post.scheduled_at = scheduled_at
    if data.share_to_feed is not None:
        post.share_to_feed = data.share_to_feed
    if data.media_ids is not None:
        post.items.clear()
        await _flush_or_locked(session)
        post.items.extend(PostItem(position=i, media_id=m.id, media=m) for i, m in enumerate(media))
    if content_changed or post.status == PostStatus.failed:
        _forget_attempt(post)
    post.status = PostStatus.draft if draft else PostStatus.scheduled
    await _flush_or_locked(session)
    return post


def _forget_attempt(post: Post) -> None:
    """Containers made for the old content are dropped (they expire unpublished at Meta)."""
    post.container_id = None
    for item in post.items:
        item.container_id = None
    post.attempts = 0
    post.progress = None
    post.failure_code = post.failure_reason = post.failure_detail = None
    post.failed_at = None


async def delete_post(session: AsyncSession, principal: Principal, post_id: uuid.UUID) -> None:
    post = await get_post(session, principal, post_id)
    _ensure_editable(post)
    await session.delete(post)
    await _flush_or_locked(session)


async def retry_post(
    session: AsyncSession, settings: Settings, principal: Principal, post_id: uuid.UUID
) -> Post:
    """A failed post goes back to the tick, due now. Containers already made are kept: the
    publisher asks Instagram about them first (finished ones are reused, a published one is
    recognised, never published again)."""
    repo = PublishingRepository(session, principal.workspace_id)
    post = await get_post(session, principal, post_id)
    if post.status != PostStatus.failed:
        raise PostNotRetryable
    channel = (await repo.channels([post.channel_id]))[post.channel_id]
    problems = rules.channel_errors(channel, "channel_id")
    if problems:
        raise ValidationFailed("This post cannot be retried yet.", errors=problems)
    if post.container_id is None:
        for item in post.items:
            item.container_id = None  # children of a carousel that was never assembled
    post.status = PostStatus.scheduled
    post.scheduled_at = utcnow()
    post.attempts = 0
    post.progress = None
    post.failure_code = post.failure_reason = post.failure_detail = None
    post.failed_at = None
    await _flush_or_locked(session)
    return post


# ---------------------------------------------------------------------------- calendar


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def calendar(
    session: AsyncSession,
    settings: Settings,
    storage: Storage,
    principal: Principal,
    start: date,
    end: date,
) -> CalendarRead:
    """Posts from day ``start`` to day ``end`` (inclusive), days in the workspace's time zone."""
    if end < start:
        raise ValidationFailed(
            "The range is empty.", errors=[FieldError("to", "`to` must not be before `from`.")]
        )
    if (end - start).days >= CALENDAR_MAX_DAYS:
        raise ValidationFailed(
            "The range is too long.",
            errors=[FieldError("to", f"Ask for at most {CALENDAR_MAX_DAYS} days at a time.")],
        )
    repo = PublishingRepository(session, principal.workspace_id)
    tz_name = await repo.workspace_timezone()
    tz = _zone(tz_name)
    since = datetime.combine(start, datetime.min.time(), tz)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), tz)
    days: dict[date, list[PostRead]] = {}
    for post in await repo.posts_between(since, until):
        moment = post.published_at or post.scheduled_at
        if moment is None:  # pragma: no cover - the query selects dated posts only
            continue
        days.setdefault(moment.astimezone(tz).date(), []).append(post_read(settings, storage, post))
    return CalendarRead(
        timezone=tz_name,
        days=[CalendarDay(date=day, posts=posts) for day, posts in sorted(days.items())],
    )
