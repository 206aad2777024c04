"""HTML pages of publishing: the content calendar (month and week, in the workspace's time zone)
with its composer dialog, and the media library. The browser's JSON calls (compose, move, retry,
upload, delete) are routes here too, on the session cookie with the CSRF header, calling the same
service functions as publishing.api; the pages draw them with static/js/calendar.js,
composer.js and media-library.js (the CSP allows no inline script)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime
from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from socialsell.channels import service as channels_service
from socialsell.channels.models import Channel, Platform
from socialsell.core.deps import CsrfProtected, SessionDep, SettingsDep
from socialsell.core.errors import FieldError, ValidationFailed
from socialsell.core.pagination import PageParams
from socialsell.core.storage import Storage, get_storage
from socialsell.db import utcnow
from socialsell.inbox import live
from socialsell.publishing import events, service
from socialsell.publishing.api import MULTIPART_OVERHEAD
from socialsell.publishing.errors import UploadTooLarge
from socialsell.publishing.models import MediaKind, PostKind, PostStatus
from socialsell.publishing.repository import PublishingRepository
from socialsell.publishing.schemas import MediaRead, PostCreate, PostRead, PostUpdate
from socialsell.settings import Settings
from socialsell.web.deps import PageUser, Viewer
from socialsell.web.templating import render, request_translator

router = APIRouter(include_in_schema=False)
StorageDep = Annotated[Storage, Depends(get_storage)]

MEDIA_PAGE = 24
# "Publish now" is a post due in a moment: the tick picks it up like any other.
PUBLISH_NOW_DELAY = timedelta(seconds=2)
KEEPALIVE_SECONDS = 20.0
STATUSES = tuple(s.value for s in PostStatus)


async def _chunks(file: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await file.read(1024 * 1024):
        yield chunk


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def browser_url(settings: Settings, url: str | None) -> str | None:
    """Our own signed URLs as paths: the page may be opened on another host name than
    ``base_url`` (localhost vs 127.0.0.1), and the CSP allows images from 'self'."""
    if url and url.startswith(settings.base_url.rstrip("/") + "/"):
        return url[len(settings.base_url.rstrip("/")) :]
    return url


def media_json(settings: Settings, media: MediaRead) -> dict[str, Any]:
    data = media.model_dump(mode="json")
    data["url"] = browser_url(settings, media.url)
    data["thumbnail_url"] = browser_url(settings, media.thumbnail_url)
    return data


def post_json(settings: Settings, post: PostRead, tz: ZoneInfo) -> dict[str, Any]:
    data = post.model_dump(mode="json")
    for item, read in zip(data["items"], post.items, strict=True):
        item["media"] = media_json(settings, read.media)
    when = post.scheduled_at
    if when is not None:
        local = when.astimezone(tz)
        data["local_date"] = local.date().isoformat()
        data["local_time"] = local.strftime("%H:%M")
    else:
        data["local_date"] = data["local_time"] = None
    return data


@dataclass(slots=True)
class Chip:
    post: PostRead
    channel: Channel | None
    time: str
    thumbnail: str | None
    is_video: bool


@dataclass(slots=True)
class Day:
    date: date
    label: str
    in_month: bool
    is_today: bool
    is_past: bool
    chips: list[Chip] = field(default_factory=list)


def _thumbnail(settings: Settings, post: PostRead) -> tuple[str | None, bool]:
    if not post.items:
        return None, False
    media = post.items[0].media
    is_video = media.kind == MediaKind.video
    url = media.thumbnail_url or (None if is_video else media.url)
    return browser_url(settings, url), is_video


async def _channels(session: SessionDep, viewer: Viewer) -> list[Channel]:
    rows = await channels_service.all_channels(session, viewer.principal)
    return [c for c in rows if c.platform == Platform.instagram]


async def _timezone(session: SessionDep, viewer: Viewer) -> tuple[str, ZoneInfo]:
    name = await PublishingRepository(session, viewer.principal.workspace_id).workspace_timezone()
    return name, _zone(name)


def _parse_day(value: str, today: date) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return today


def _range(view: str, anchor: date) -> tuple[date, date, date, date]:
    """(first cell, last cell, previous anchor, next anchor): a month is shown as whole weeks
    from Monday; a week runs Monday to Sunday."""
    if view == "week":
        start = anchor - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=6), start - timedelta(days=7), start + timedelta(7)
    first = anchor.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    last = following - timedelta(days=1)
    start = first - timedelta(days=first.weekday())
    end = last + timedelta(days=6 - last.weekday())
    previous = (first - timedelta(days=1)).replace(day=1)
    return start, end, previous, following


@router.get("/calendar", name="web.calendar")
async def calendar_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    viewer: PageUser,
    view: Annotated[Literal["month", "week"], Query()] = "month",
    day: Annotated[str, Query(alias="date", max_length=10)] = "",
) -> Response:
    """The calendar; htmx (and the live events) ask for the grid alone."""
    t = request_translator(request)
    tz_name, tz = await _timezone(session, viewer)
    now = utcnow().astimezone(tz)
    today = now.date()
    anchor = _parse_day(day, today)
    start, end, previous, following = _range(view, anchor)
    data = await service.calendar(session, settings, storage, viewer.principal, start, end)
    channels = await _channels(session, viewer)
    by_id = {c.id: c for c in channels}
    posts_by_day = {d.date: d.posts for d in data.days}
    days: list[Day] = []
    posts: list[dict[str, Any]] = []
    cursor = start
    while cursor <= end:
        cell = Day(
            date=cursor,
            label=format_date(cursor, format="EEEE d MMMM", locale=t.language),
            in_month=view == "week" or cursor.month == anchor.month,
            is_today=cursor == today,
            is_past=cursor < today,
        )
        for post in posts_by_day.get(cursor, []):
            moment = post.published_at or post.scheduled_at or now
            thumb, is_video = _thumbnail(settings, post)
            cell.chips.append(
                Chip(
                    post=post,
                    channel=by_id.get(post.channel_id),
                    time=moment.astimezone(tz).strftime("%H:%M"),
                    thumbnail=thumb,
                    is_video=is_video,
                )
            )
            posts.append(post_json(settings, post, tz))
        days.append(cell)
        cursor += timedelta(days=1)
    if view == "week":
        title = t.gettext(
            "Week of %(day)s",
            day=format_date(start, format="d MMMM yyyy", locale=t.language),
        )
    else:
        title = format_date(anchor, format="LLLL yyyy", locale=t.language)
        title = title[:1].upper() + title[1:]
    context = {
        "viewer": viewer,
        "view": view,
        "anchor": anchor,
        "today": today,
        "previous": previous,
        "following": following,
        "title": title,
        "weeks": [days[i : i + 7] for i in range(0, len(days), 7)],
        "days": days,
        "hours": list(range(24)),
        "weekdays": [
            format_date(start + timedelta(days=i), format="EEE", locale=t.language)
            for i in range(7)
        ],
        "timezone": tz_name,
        "has_posts": bool(posts),
        "posts_json": posts,
        "channels": channels,
        "channels_json": [
            {
                "id": str(c.id),
                "label": c.label,
                "username": c.username,
                "name": c.display_name or c.name or c.username,
                "color": c.color,
                "active": c.status == "active",
            }
            for c in channels
        ],
        "limits": {
            "chars": settings.publishing_caption_max_chars,
            "hashtags": settings.publishing_caption_max_hashtags,
            "mentions": settings.publishing_caption_max_mentions,
        },
        "now_date": today.isoformat(),
        "now_time": (now + timedelta(hours=1)).strftime("%H:00"),
        "kinds": [
            ("feed", t.gettext("Feed post (photo or video)")),
            ("carousel", t.gettext("Carousel (2-10)")),
            ("story", t.gettext("Story")),
            ("reel", t.gettext("Reel")),
        ],
        "status_labels": {
            "draft": t.gettext("Draft"),
            "scheduled": t.gettext("Scheduled"),
            "publishing": t.gettext("Publishing"),
            "published": t.gettext("Published"),
            "failed": t.gettext("Failed"),
        },
    }
    return render(request, "publishing/calendar.html", context, block="grid")


# ---------------------------------------------------------------------------- composer


class ComposeForm(BaseModel):
    """What the composer sends: the day and time are in the workspace's time zone."""

    model_config = ConfigDict(extra="forbid")

    channel_ids: Annotated[list[uuid.UUID], Field(max_length=50)] = Field(default_factory=list)
    kind: PostKind = PostKind.feed
    caption: Annotated[str, Field(max_length=20_000)] = ""
    media_ids: Annotated[list[uuid.UUID], Field(max_length=20)] = Field(default_factory=list)
    date: str = ""
    time: str = ""
    share_to_feed: bool = True
    action: Literal["draft", "schedule", "now"] = "schedule"


class MoveForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date
    # Week view: the hour row the chip was dropped on (minutes kept); month view keeps the time.
    hour: Annotated[int | None, Field(ge=0, le=23)] = None


def _when(form: ComposeForm, tz: ZoneInfo) -> datetime | None:
    if form.action == "now":
        return utcnow() + PUBLISH_NOW_DELAY
    if not form.date and not form.time:
        return None
    try:
        day = date.fromisoformat(form.date)
        clock = time.fromisoformat(form.time or "09:00")
    except ValueError as exc:
        raise ValidationFailed(
            "Choose a valid date and time.",
            errors=[FieldError("scheduled_at", "Choose a valid date and time.")],
        ) from exc
    return datetime.combine(day, clock.replace(second=0, microsecond=0), tz).astimezone(UTC)


async def _post_response(
    session: SessionDep, settings: Settings, viewer: Viewer, posts: Sequence[PostRead]
) -> dict[str, Any]:
    _, tz = await _timezone(session, viewer)
    return {"items": [post_json(settings, p, tz) for p in posts]}


@router.post("/calendar/posts", name="publishing.compose", dependencies=[CsrfProtected])
async def compose(
    form: ComposeForm,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    viewer: PageUser,
) -> JSONResponse:
    """The composer's new post(s): one per channel, as a draft, scheduled, or due now."""
    if not form.channel_ids:
        raise ValidationFailed(
            "Choose at least one channel.",
            errors=[FieldError("channel_ids", "Choose at least one channel.")],
        )
    _, tz = await _timezone(session, viewer)
    posts = await service.create_posts(
        session,
        settings,
        viewer.principal,
        PostCreate(
            channel_ids=form.channel_ids,
            kind=form.kind,
            caption=form.caption,
            media_ids=form.media_ids,
            scheduled_at=_when(form, tz),
            share_to_feed=form.share_to_feed,
            draft=form.action == "draft",
        ),
    )
    reads = [service.post_read(settings, storage, p) for p in posts]
    return JSONResponse(await _post_response(session, settings, viewer, reads), status_code=201)


@router.get("/calendar/posts/{post_id}", name="publishing.post")
async def read_post(
    post_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    viewer: PageUser,
) -> JSONResponse:
    post = await service.get_post(session, viewer.principal, post_id)
    read = service.post_read(settings, storage, post)
    return JSONResponse((await _post_response(session, settings, viewer, [read]))["items"][0])


@router.patch("/calendar/posts/{post_id}", name="publishing.edit", dependencies=[CsrfProtected])
async def edit_post(
    post_id: uuid.UUID,
    form: ComposeForm,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    viewer: PageUser,
) -> JSONResponse:
    """The composer on an existing post (its channel stays)."""
    _, tz = await _timezone(session, viewer)
    post = await service.update_post(
        session,
        settings,
        viewer.principal,
        post_id,
        PostUpdate(
            kind=form.kind,
            caption=form.caption,
            media_ids=form.media_ids,
            scheduled_at=_when(form, tz),
            share_to_feed=form.share_to_feed,
            draft=form.action == "draft",
        ),
    )
    read = service.post_read(settings, storage, post)
    return JSONResponse((await _post_response(session, settings, viewer, [read]))["items"][0])


@router.post("/calendar/posts/{post_id}/move", name="publishing.move", dependencies=[CsrfProtected])
async def move_post(
    post_id: uuid.UUID,
    form: MoveForm,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    viewer: PageUser,
) -> JSONResponse:
    """A chip dropped on another day (or hour): same time of day, new date. Checked like any
    reschedule (in the future, not publishing yet)."""
    _, tz = await _timezone(session, viewer)
    post = await service.get_post(session, viewer.principal, post_id)
    current = (post.scheduled_at or utcnow()).astimezone(tz)
    clock = current.time().replace(tzinfo=None)
    if form.hour is not None:
        clock = clock.replace(hour=form.hour)
    moved = datetime.combine(form.date, clock, tz).astimezone(UTC)
    post = await service.update_post(
        session, settings, viewer.principal, post_id, PostUpdate(scheduled_at=moved)
    )
    read = service.post_read(settings, storage, post)
    return JSONResponse((await _post_response(session, settings, viewer, [read]))["items"][0])


@router.post(
    "/calendar/posts/{post_id}/retry", name="publishing.retry", dependencies=[CsrfProtected]
)
async def retry_post(
    post_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    viewer: PageUser,
) -> JSONResponse:
    post = await service.retry_post(session, settings, viewer.principal, post_id)
    read = service.post_read(settings, storage, post)
    return JSONResponse((await _post_response(session, settings, viewer, [read]))["items"][0])


@router.delete("/calendar/posts/{post_id}", name="publishing.delete", dependencies=[CsrfProtected])
async def delete_post(post_id: uuid.UUID, session: SessionDep, viewer: PageUser) -> Response:
    await service.delete_post(session, viewer.principal, post_id)
    return Response(status_code=204)


@router.get("/calendar/events", name="publishing.events")
async def live_events(request: Request, settings: SettingsDep, viewer: PageUser) -> Response:
    """``post.published`` and ``post.failed`` of this workspace, as server-sent events. Nothing
    is replayed: after a break the page reloads its grid from the database."""
    pubsub = live.get_pubsub(settings)
    channel = events.channel_name(viewer.principal.workspace_id)

    async def stream() -> AsyncIterator[bytes]:
        subscription = pubsub.subscribe(channel)
        queue: asyncio.Queue[dict[str, object]] = asyncio.Queue(maxsize=100)

        async def pump() -> None:
            async for message in subscription:
                await queue.put(message)

        task = asyncio.create_task(pump())
        try:
            await asyncio.sleep(0)
            yield b": connected\nretry: 3000\n\n"
            while not await request.is_disconnected():
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                data = json.dumps(message.get("payload"), separators=(",", ":"))
                yield f"event: {message.get('kind')}\ndata: {data}\n\n".encode()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            await subscription.aclose()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# ---------------------------------------------------------------------------- media library


def _media_card(settings: Settings, media: MediaRead, language: str) -> dict[str, Any]:
    data = media_json(settings, media)
    data["size_label"] = _size(media.size_bytes)
    data["created_label"] = format_datetime(media.created_at, format="short", locale=language)
    return data


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


async def _media_page(
    session: SessionDep,
    settings: Settings,
    storage: Storage,
    viewer: Viewer,
    kind: MediaKind | None,
    cursor: str | None,
    language: str,
) -> tuple[list[dict[str, Any]], str | None]:
    rows, next_cursor = await service.list_media(
        session, viewer.principal, PageParams(limit=MEDIA_PAGE, cursor=cursor), kind
    )
    return [
        _media_card(settings, service.media_read(settings, storage, m), language) for m in rows
    ], next_cursor


@router.get("/media", name="web.media")
async def media_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    viewer: PageUser,
    kind: Annotated[MediaKind | None, Query(alias="type")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """The library; htmx asks for the grid alone (filter) or the next page ("Load more")."""
    t = request_translator(request)
    items, next_cursor = await _media_page(
        session, settings, storage, viewer, kind, cursor, t.language
    )
    context = {
        "viewer": viewer,
        "items": items,
        "kind": kind.value if kind else "",
        "next_cursor": next_cursor,
        "cursor": cursor,
        "max_upload_mb": settings.publishing_max_upload_bytes // (1024 * 1024),
    }
    return render(
        request, "publishing/media.html", context, block="more_items" if cursor else "grid"
    )


@router.get("/media-library/items", name="publishing.media_items")
async def media_items(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    viewer: PageUser,
    kind: Annotated[MediaKind | None, Query(alias="type")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> JSONResponse:
    """The library for the composer's picker."""
    t = request_translator(request)
    items, next_cursor = await _media_page(
        session, settings, storage, viewer, kind, cursor, t.language
    )
    return JSONResponse({"items": items, "next_cursor": next_cursor})


@router.post("/media-library", name="publishing.upload", dependencies=[CsrfProtected])
async def upload(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    viewer: PageUser,
    file: Annotated[UploadFile, File()],
) -> JSONResponse:
    """One file of a drag-and-drop upload (the page sends each with its own progress bar)."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.publishing_max_upload_bytes + MULTIPART_OVERHEAD:
        raise UploadTooLarge(
            f"The file is larger than {settings.publishing_max_upload_bytes // (1024 * 1024)} MB, "
            "the upload limit."
        )
    asset = await service.store_upload(
        session, settings, storage, viewer.principal, _chunks(file), file.filename or ""
    )
    t = request_translator(request)
    card = _media_card(settings, service.media_read(settings, storage, asset), t.language)
    return JSONResponse(card, status_code=201)


@router.delete(
    "/media-library/{media_id}", name="publishing.delete_media", dependencies=[CsrfProtected]
)
async def delete_media(
    media_id: uuid.UUID, session: SessionDep, storage: StorageDep, viewer: PageUser
) -> Response:
    """Refused (409, with the reason) while a post not yet published uses the file."""
    await service.delete_media(session, storage, viewer.principal, media_id)
    return Response(status_code=204)
