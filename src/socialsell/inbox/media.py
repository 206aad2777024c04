"""Copying attachments into our storage when they arrive: Meta's URLs expire (minutes for
stories, days for the rest), and a conversation must still show its photos a year later.

Only allowed hosts are fetched (core/urlsafety), with a size limit; redirects are followed by
hand so that every hop is checked. A failed copy is retried with backoff and never drops the
message: the message is stored first, its media item keeps the source URL and a status.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.core.errors import AppError
from socialsell.core.storage import build_storage, extension_for
from socialsell.core.urlsafety import UnsafeUrl, check_url
from socialsell.db import utcnow
from socialsell.inbox.ingest import publish_message
from socialsell.inbox.models import Message
from socialsell.inbox.repository import GlobalInbox
from socialsell.meta import MetaError
from socialsell.settings import Settings

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 5
MAX_REDIRECTS = 3


class TooLarge(Exception):
    pass


class FetchFailed(Exception):
    pass


async def fetch(http: httpx.AsyncClient, settings: Settings, url: str) -> tuple[bytes, str | None]:
    for _ in range(MAX_REDIRECTS + 1):
        await check_url(url, settings)
        async with http.stream("GET", url) as response:
            if response.is_redirect and response.headers.get("location"):
                url = str(response.url.join(response.headers["location"]))
                continue
            if response.status_code != 200:
                raise FetchFailed(f"HTTP {response.status_code}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > settings.media_max_bytes:
                raise TooLarge(declared)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > settings.media_max_bytes:
                    raise TooLarge(size)
                chunks.append(chunk)
            return b"".join(chunks), response.headers.get("content-type")
    raise FetchFailed("too many redirects")


async def fetch_whatsapp(
    session: AsyncSession, settings: Settings, message: Message, item: dict[str, Any]
) -> tuple[bytes, str | None]:
    """WhatsApp media are named by id: ask Meta for a short-lived URL (valid 5 minutes), then
    download it with the number's token. A new URL is asked for on every attempt."""
    from socialsell.whatsapp.service import call_whatsapp

    channel = await GlobalInbox(session).channel(message.channel_id)
    if channel is None:  # pragma: no cover - the foreign key cascades
        raise FetchFailed("the channel no longer exists")
    media_id = str(item["wa_media_id"])
    info = await call_whatsapp(session, settings, channel, lambda c: c.get_media(media_id))
    declared = int(info.file_size or 0)
    if declared > settings.media_max_bytes:
        raise TooLarge(declared)
    data = await call_whatsapp(session, settings, channel, lambda c: c.download_media(info.url))
    if len(data) > settings.media_max_bytes:
        raise TooLarge(len(data))
    return data, info.mime_type or (str(item["mime_type"]) if item.get("mime_type") else None)


async def copy_message_media(
    session: AsyncSession, settings: Settings, http: httpx.AsyncClient, message_id: uuid.UUID
) -> None:
    repo = GlobalInbox(session)
    message = await repo.message(message_id)
    if message is None or not message.media_pending:
        return
    storage = build_storage(settings)
    items = [dict(item) for item in message.media or []]
    retry = False
    for index, item in enumerate(items):
        if item.get("status") != "pending" or not (
            item.get("source_url") or item.get("wa_media_id")
        ):
            continue
        try:
            if item.get("source_url"):
                data, content_type = await fetch(http, settings, str(item["source_url"]))
            else:
                data, content_type = await fetch_whatsapp(session, settings, message, item)
        except UnsafeUrl as exc:
            item.update(status="refused", error=str(exc))
            log.warning("media_url_refused", message_id=str(message.id), reason=str(exc))
            continue
        except TooLarge:
            item.update(status="too_large", error=f"larger than {settings.media_max_bytes} bytes")
            continue
        except (httpx.HTTPError, FetchFailed, MetaError, AppError) as exc:
            item["error"] = f"{type(exc).__name__}: {exc}"[:300]
            retry = True
            continue
        base_type = (content_type or "").split(";")[0].strip() or None
        key = f"ws/{message.workspace_id}/messages/{message.id}/{index}{extension_for(base_type)}"
        await storage.put(key, data)
        item.update(status="stored", key=key, content_type=base_type, size=len(data))
        item.pop("error", None)
    message.media_attempts += 1
    if retry and message.media_attempts < MAX_ATTEMPTS:
        message.media_next_attempt_at = utcnow() + timedelta(minutes=2**message.media_attempts)
    else:
        for item in items:
            if item.get("status") == "pending":
                item["status"] = "failed"
        message.media_pending = False
        message.media_next_attempt_at = None
    message.media = items
    await session.flush()
    await publish_message(session, settings, message, created=False)
