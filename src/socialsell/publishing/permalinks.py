"""Filling in what Instagram did not say at publishing time: the post's link (and, for a post
recognised after a crash without finding its media, the media id)."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.channels import service as channels
from socialsell.channels.errors import ChannelDisconnected, ChannelUnavailable
from socialsell.core.crypto import SecretBox
from socialsell.meta import MetaClient, MetaError
from socialsell.publishing.models import PostStatus
from socialsell.publishing.repository import GlobalPosts

log = structlog.get_logger(__name__)


async def fill(session: AsyncSession, meta: MetaClient, box: SecretBox, post_id: uuid.UUID) -> None:
    repo = GlobalPosts(session)
    post = await repo.post(post_id)
    if post is None or post.status != PostStatus.published or post.permalink:
        return
    channel = await repo.channel(post.channel_id)
    if channel is None:
        return
    try:
        if post.external_media_id is not None:
            media_id = post.external_media_id
            media = await channels.call_meta(
                session, meta, box, channel, lambda c: c.get_media(media_id, ("id", "permalink"))
            )
            post.permalink = media.permalink
        else:
            page = await channels.call_meta(session, meta, box, channel, lambda c: c.list_media())
            for candidate in page.data:
                if (candidate.caption or "") == post.caption and not await repo.media_id_taken(
                    candidate.id, post.id
                ):
                    post.external_media_id = candidate.id
                    post.permalink = candidate.permalink
                    break
    except (MetaError, ChannelUnavailable, ChannelDisconnected) as exc:
        log.info("permalink_still_pending", post_id=str(post_id), error=str(exc))
    await session.flush()
