"""Demo posts for `make run`, so that the calendar is not empty: photos uploaded to the library
through the same service as an upload, posts scheduled for the next days, a draft, and three
posts due at once that the running app's own tick publishes to the sandbox with the real
publisher: two are published (with permalinks), one is refused by Instagram (the sandbox, like
Instagram since December 2025, takes at most 5 hashtags) and ends `failed` with the reason.
Nothing is marked published or failed by hand."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialsell.accounts import service as accounts
from socialsell.accounts.repository import AccountsRepository
from socialsell.accounts.service import Principal
from socialsell.channels.models import Platform
from socialsell.channels.repository import GlobalChannels
from socialsell.core.storage import build_storage
from socialsell.db import unit_of_work, utcnow
from socialsell.publishing import service
from socialsell.publishing.models import MediaAsset, Post, PostKind
from socialsell.publishing.repository import PublishingRepository
from socialsell.publishing.schemas import PostCreate
from socialsell.settings import Settings

# (file name, colour, width, height)
PHOTOS = (
    ("mugs.jpg", (196, 86, 60), 1080, 1080),
    ("studio.jpg", (64, 112, 160), 1080, 1350),
    ("totes.jpg", (220, 170, 60), 1080, 1080),
    ("bowls.jpg", (90, 140, 100), 1080, 1080),
    ("glaze.jpg", (150, 90, 170), 1080, 1920),
)
# Due a few seconds after the seed: the app's tick publishes them.
DUE_SOON = timedelta(seconds=3)
TOO_MANY_HASHTAGS = (
    "Sale weekend! #ceramics #handmade #mugs #pottery #studio #gifts #autumn #shoplocal"
)


@dataclass(frozen=True, slots=True)
class DemoPosts:
    created: int
    scheduled: int
    drafts: int
    due_now: int


def _photo(colour: tuple[int, int, int], width: int, height: int, label: str) -> bytes:
    img = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(img)
    for step in range(0, width, 120):
        draw.line([(step, 0), (step + height // 3, height)], fill=(255, 255, 255), width=6)
    draw.text((40, 40), label, fill=(255, 255, 255))
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def _principal(session: AsyncSession, settings: Settings, email: str) -> Principal | None:
    repo = AccountsRepository(session)
    user = await repo.user_by_email(email)
    if user is None:
        return None
    login = await accounts.start_browser_session(
        session, settings, user, user_agent="socialsell demo seed", ip_address="127.0.0.1"
    )
    membership = (await repo.memberships(user.id))[0]
    return Principal(user=user, session=login.session, membership=membership)


async def seed_demo_posts(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    email: str,
    instagram_account_id: str,
) -> DemoPosts:
    """Once per workspace: a second run finds posts and adds nothing."""
    async with unit_of_work(sessionmaker) as session:
        channel = await GlobalChannels(session).by_external_id(
            Platform.instagram, instagram_account_id
        )
        if channel is None:
            return DemoPosts(0, 0, 0, 0)
        existing = await session.scalar(
            select(func.count()).select_from(Post).where(Post.workspace_id == channel.workspace_id)
        )
        if existing:
            return DemoPosts(0, 0, 0, 0)
        principal = await _principal(session, settings, email)
        if principal is None or principal.workspace_id != channel.workspace_id:
            return DemoPosts(0, 0, 0, 0)
        storage = build_storage(settings)
        photos: list[MediaAsset] = []
        for name, colour, width, height in PHOTOS:
            data = _photo(colour, width, height, name)
            photos.append(
                await service.store_upload(session, settings, storage, principal, _once(data), name)
            )
        mugs, studio, totes, bowls, glaze = (p.id for p in photos)
        tz = _zone(await PublishingRepository(session, principal.workspace_id).workspace_timezone())
        today = utcnow().astimezone(tz).date()

        def at(days: int, hour: int, minute: int = 0) -> datetime:
            return datetime.combine(today + timedelta(days=days), time(hour, minute), tz)

        now = utcnow()
        plans: list[tuple[PostKind, str, list[uuid.UUID], datetime | None, bool]] = [
            (
                PostKind.carousel,
                "Three new mugs, three glazes. Which one is yours? #ceramics",
                [mugs, bowls, totes],
                at(1, 10),
                False,
            ),
            (
                PostKind.feed,
                "Behind the scenes in the studio this week #handmade",
                [studio],
                at(2, 18, 30),
                False,
            ),
            (PostKind.story, "", [glaze], at(4, 9, 15), False),
            (PostKind.feed, "Autumn totes, first look (draft)", [totes], at(3, 12), True),
            # Due now: published by the app's tick through the sandbox.
            (
                PostKind.feed,
                "Hand-painted mugs, back in stock #mugs",
                [mugs],
                now + DUE_SOON,
                False,
            ),
            (
                PostKind.carousel,
                "Packing your orders this morning #smallbusiness",
                [bowls, studio],
                now + DUE_SOON,
                False,
            ),
            # Instagram takes 5 hashtags at most (the sandbox's default): refused, `failed`.
            (PostKind.feed, TOO_MANY_HASHTAGS, [totes], now + DUE_SOON, False),
        ]
        for kind, caption, media, when, draft in plans:
            await service.create_posts(
                session,
                settings,
                principal,
                PostCreate(
                    channel_ids=[channel.id],
                    kind=kind,
                    caption=caption,
                    media_ids=media,
                    scheduled_at=when,
                    draft=draft,
                ),
            )
        await accounts.end_session(session, principal.session, "demo_seed")
    drafts = sum(1 for p in plans if p[4])
    due_now = sum(1 for p in plans if p[3] is not None and p[3] <= now + DUE_SOON)
    return DemoPosts(len(plans), len(plans) - drafts - due_now, drafts, due_now)
