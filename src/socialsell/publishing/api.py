"""JSON API: the media library, posts (compose, schedule, edit, retry) and the calendar."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile

from socialsell.core.constants import API_PREFIX
from socialsell.core.deps import CurrentPrincipal, SessionDep, SettingsDep
from socialsell.core.pagination import Page, PageParams, page_params
from socialsell.core.storage import Storage, get_storage
from socialsell.publishing import service
from socialsell.publishing.errors import UploadTooLarge
from socialsell.publishing.models import MediaKind, PostStatus
from socialsell.publishing.schemas import (
    CalendarRead,
    MediaRead,
    PostCreate,
    PostRead,
    PostsCreated,
    PostUpdate,
)

router = APIRouter(prefix=API_PREFIX, tags=["publishing"])
StorageDep = Annotated[Storage, Depends(get_storage)]
PageDep = Annotated[PageParams, Depends(page_params)]
CHUNK = 1024 * 1024
# Room for the multipart envelope around the file.
MULTIPART_OVERHEAD = 64 * 1024


async def _chunks(file: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await file.read(CHUNK):
        yield chunk


@router.post("/media", response_model=MediaRead, status_code=201)
async def upload_media(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    file: Annotated[UploadFile, File(description="A photo (JPEG, PNG, WebP, HEIC) or video.")],
) -> MediaRead:
    """Upload a photo or video. Its type is read from its content; photos are converted to JPEG
    where Instagram needs it; size, ratio and duration are recorded; a thumbnail is made."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.publishing_max_upload_bytes + MULTIPART_OVERHEAD:
        raise UploadTooLarge(
            f"The file is larger than {settings.publishing_max_upload_bytes // (1024 * 1024)} MB, "
            "the upload limit."
        )
    asset = await service.store_upload(
        session, settings, storage, principal, _chunks(file), file.filename or ""
    )
    return service.media_read(settings, storage, asset)


@router.get("/media", response_model=Page[MediaRead])
async def list_media(
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    params: PageDep,
    kind: Annotated[MediaKind | None, Query(alias="type")] = None,
) -> Page[MediaRead]:
    rows, cursor = await service.list_media(session, principal, params, kind)
    return Page(items=[service.media_read(settings, storage, m) for m in rows], next_cursor=cursor)


@router.get("/media/{media_id}", response_model=MediaRead)
async def read_media(
    media_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> MediaRead:
    asset = await service.get_media(session, principal, media_id)
    return service.media_read(settings, storage, asset)


@router.delete("/media/{media_id}", status_code=204)
async def delete_media(
    media_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, storage: StorageDep
) -> Response:
    """Delete a media file; refused while a post not yet published uses it."""
    await service.delete_media(session, storage, principal, media_id)
    return Response(status_code=204)


@router.post("/posts", response_model=PostsCreated, status_code=201)
async def create_posts(
    data: PostCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> PostsCreated:
    """Compose a post for one or more channels (one post each): a draft, or scheduled (checked
    against Instagram's rules first; each broken rule names its field)."""
    posts = await service.create_posts(session, settings, principal, data)
    return PostsCreated(items=[service.post_read(settings, storage, p) for p in posts])


@router.get("/posts", response_model=Page[PostRead])
async def list_posts(
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    params: PageDep,
    status: PostStatus | None = None,
    channel_id: uuid.UUID | None = None,
) -> Page[PostRead]:
    rows, cursor = await service.list_posts(
        session, principal, params, status=status, channel_id=channel_id
    )
    return Page(items=[service.post_read(settings, storage, p) for p in rows], next_cursor=cursor)


@router.get("/posts/{post_id}", response_model=PostRead)
async def read_post(
    post_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> PostRead:
    return service.post_read(settings, storage, await service.get_post(session, principal, post_id))


@router.patch("/posts/{post_id}", response_model=PostRead)
async def update_post(
    post_id: uuid.UUID,
    data: PostUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> PostRead:
    """Edit or reschedule a post until publishing starts (409 after that)."""
    post = await service.update_post(session, settings, principal, post_id, data)
    return service.post_read(settings, storage, post)


@router.delete("/posts/{post_id}", status_code=204)
async def delete_post(
    post_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    """Delete a post until publishing starts (409 after that)."""
    await service.delete_post(session, principal, post_id)
    return Response(status_code=204)


@router.post("/posts/{post_id}/retry", response_model=PostRead)
async def retry_post(
    post_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> PostRead:
    """Publish a failed post again, now. Instagram is asked first about anything the last
    attempt made, so a post is never published twice."""
    post = await service.retry_post(session, settings, principal, post_id)
    return service.post_read(settings, storage, post)


@router.get("/calendar", response_model=CalendarRead)
async def calendar(
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    start: Annotated[date, Query(alias="from", description="First day (workspace time zone).")],
    end: Annotated[date, Query(alias="to", description="Last day, included.")],
) -> CalendarRead:
    """Posts scheduled or published per day, days in the workspace's time zone."""
    return await service.calendar(session, settings, storage, principal, start, end)
