"""Every query of the publishing domain. :class:`PublishingRepository` is scoped by workspace
(routes); :class:`GlobalPosts` serves the tick and the publisher, which act on ids they claimed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from socialsell.accounts.models import Workspace
from socialsell.channels.models import Channel
from socialsell.core.pagination import PageParams, paginate
from socialsell.publishing.models import MediaAsset, MediaKind, Post, PostItem, PostStatus

# Posts that may still go out: what a media file cannot be deleted from under.
UNPUBLISHED = (PostStatus.draft, PostStatus.scheduled, PostStatus.publishing, PostStatus.failed)


def _with_items() -> tuple[object, ...]:
    return (selectinload(Post.items).selectinload(PostItem.media),)


class PublishingRepository:
    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    # --- media --------------------------------------------------------------------------------

    async def media(self, media_id: uuid.UUID) -> MediaAsset | None:
        return await self.session.scalar(
            select(MediaAsset).where(
                MediaAsset.id == media_id, MediaAsset.workspace_id == self.workspace_id
            )
        )

    async def media_many(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, MediaAsset]:
        if not ids:
            return {}
        rows = await self.session.scalars(
            select(MediaAsset).where(
                MediaAsset.id.in_(ids), MediaAsset.workspace_id == self.workspace_id
            )
        )
        return {m.id: m for m in rows}

    async def media_page(
        self, params: PageParams, kind: MediaKind | None
    ) -> tuple[Sequence[MediaAsset], str | None]:
        stmt = select(MediaAsset).where(MediaAsset.workspace_id == self.workspace_id)
        if kind is not None:
            stmt = stmt.where(MediaAsset.kind == kind)
        return await paginate(
            self.session,
            stmt,
            order_by=MediaAsset.created_at,
            id_column=MediaAsset.id,
            params=params,
            descending=True,
        )

    async def posts_using_media(self, media_id: uuid.UUID) -> int:
        count = await self.session.scalar(
            select(func.count(func.distinct(PostItem.post_id)))
            .join(Post, Post.id == PostItem.post_id)
            .where(
                PostItem.media_id == media_id,
                Post.workspace_id == self.workspace_id,
                Post.status.in_(UNPUBLISHED),
            )
        )
        return int(count or 0)

    # --- posts --------------------------------------------------------------------------------

    async def post(self, post_id: uuid.UUID) -> Post | None:
        return await self.session.scalar(
            select(Post)
            .where(Post.id == post_id, Post.workspace_id == self.workspace_id)
            .options(*_with_items())  # type: ignore[arg-type]
        )

    async def posts_page(
        self,
        params: PageParams,
        *,
        status: PostStatus | None,
        channel_id: uuid.UUID | None,
    ) -> tuple[Sequence[Post], str | None]:
        stmt = (
            select(Post).where(Post.workspace_id == self.workspace_id).options(*_with_items())  # type: ignore[arg-type]
        )
        if status is not None:
            stmt = stmt.where(Post.status == status)
        if channel_id is not None:
            stmt = stmt.where(Post.channel_id == channel_id)
        return await paginate(
            self.session,
            stmt,
            order_by=Post.created_at,
            id_column=Post.id,
            params=params,
            descending=True,
        )

    async def posts_between(self, start: datetime, end: datetime) -> Sequence[Post]:
        """Posts of the calendar: due (or published) in [start, end)."""
        moment = func.coalesce(Post.published_at, Post.scheduled_at)
        rows = await self.session.scalars(
            select(Post)
            .where(Post.workspace_id == self.workspace_id, moment >= start, moment < end)
            .order_by(moment, Post.id)
            .options(*_with_items())  # type: ignore[arg-type]
        )
        return rows.all()

    async def channels(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Channel]:
        rows = await self.session.scalars(
            select(Channel).where(Channel.id.in_(ids), Channel.workspace_id == self.workspace_id)
        )
        return {c.id: c for c in rows}

    async def workspace_timezone(self) -> str:
        tz = await self.session.scalar(
            select(Workspace.timezone).where(Workspace.id == self.workspace_id)
        )
        return tz or "UTC"


class GlobalPosts:
    """Above tenancy: the claimer and the publisher. Nothing here is reachable from a route."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim_due(
        self, now: datetime, lease_until: datetime, owner: str, limit: int
    ) -> Sequence[uuid.UUID]:
        """The claim: due scheduled posts and posts whose lease has run out become this owner's,
        in one UPDATE. Concurrent ticks cannot both win a row: PostgreSQL re-checks the WHERE on
        a row another tick changed meanwhile (and finds it no longer due); SQLite runs one
        writer at a time. ``version`` moves too, so a concurrent edit of the post fails."""
        due = or_(
            and_(Post.status == PostStatus.scheduled, Post.scheduled_at <= now),
            and_(Post.status == PostStatus.publishing, Post.lease_until <= now),
        )
        batch = select(Post.id).where(due).order_by(Post.scheduled_at).limit(limit)
        result = await self.session.execute(
            update(Post)
            .where(Post.id.in_(batch.scalar_subquery()), due)
            .values(
                status=PostStatus.publishing,
                lease_owner=owner,
                lease_until=lease_until,
                version=Post.version + 1,
            )
            .returning(Post.id)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars().all())

    async def post(self, post_id: uuid.UUID) -> Post | None:
        return await self.session.scalar(
            select(Post)
            .where(Post.id == post_id)
            .options(*_with_items())  # type: ignore[arg-type]
            .execution_options(populate_existing=True)
        )

    async def channel(self, channel_id: uuid.UUID) -> Channel | None:
        return await self.session.get(Channel, channel_id)

    async def media_id_taken(self, external_media_id: str, but: uuid.UUID) -> bool:
        found = await self.session.scalar(
            select(Post.id).where(Post.external_media_id == external_media_id, Post.id != but)
        )
        return found is not None

    async def missing_permalinks(self, since: datetime, limit: int) -> Sequence[uuid.UUID]:
        rows = await self.session.scalars(
            select(Post.id)
            .where(
                Post.status == PostStatus.published,
                Post.permalink.is_(None),
                Post.published_at >= since,
            )
            .limit(limit)
        )
        return rows.all()
