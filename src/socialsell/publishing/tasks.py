"""Publishing jobs: the tick's claimer of due posts, the publish job, the permalink filler."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.core.jobs import JobContext, job
from socialsell.core.storage import build_storage
from socialsell.core.tick import claimer, periodic
from socialsell.db import utcnow
from socialsell.integrations import build_meta_client, meta_config, secret_box, usage_tracker
from socialsell.meta import MetaClient
from socialsell.meta.http import shared_tls_context
from socialsell.publishing import permalinks
from socialsell.publishing.models import Post, PostStatus
from socialsell.publishing.publisher import Publisher
from socialsell.publishing.repository import GlobalPosts


@claimer("publishing.due_posts")
async def claim_due_posts(ctx: JobContext) -> int:
    """Claim due posts (and posts whose publisher's lease ran out) in one UPDATE, and ring one
    publish job per post. The claim names its owner, so a doorbell of an older claim that
    arrives late (Redis redelivery) finds the post no longer its own and does nothing."""
    now = utcnow()
    owner = uuid.uuid4().hex
    lease_until = now + timedelta(seconds=ctx.settings.publishing_lease_seconds)
    async with ctx.unit_of_work() as session:
        room = ctx.settings.publishing_claim_batch
        if ctx.settings.publishing_in_flight_limit > 0:
            room = min(
                room,
                ctx.settings.publishing_in_flight_limit
                - await _in_flight(session, now, lease_until),
            )
        if room <= 0:
            return 0
        ids = await GlobalPosts(session).claim_due(now, lease_until, owner, room)
        for post_id in ids:
            ctx.enqueue(session, publish_post, str(post_id), owner)
    return len(ids)


async def _in_flight(session: AsyncSession, now: datetime, horizon: datetime) -> int:
    """Posts a publisher holds (lease up to ``publishing_lease_seconds`` ahead) or that wait a
    few seconds to be looked at again. Under a burst, claiming every due post at once queues
    the second half of each started post (after Meta's processing) behind the first half of
    all the others, and every post ends late; claiming only while fewer than
    ``publishing_max_in_flight`` are under way finishes the started ones first (the claim takes
    the oldest due first). Posts waiting longer than a lease (a full quota: 30 minutes) do not
    count: they must not hold up the others."""
    found = await session.scalar(
        select(func.count())
        .select_from(Post)
        .where(
            Post.status == PostStatus.publishing,
            Post.lease_until > now,
            Post.lease_until <= horizon,
        )
    )
    return int(found or 0)


# One attempt: the publisher retries transient failures itself, by handing the post back to
# the tick with a back-off (durable, unlike an in-memory retry loop), and a crash is recovered
# by the lease.
@job("publishing.publish_post", max_attempts=1)
async def publish_post(ctx: JobContext, post_id: str, owner: str) -> None:
    config = meta_config(ctx.settings)
    async with (
        httpx.AsyncClient(timeout=config.httpx_timeout(), verify=shared_tls_context()) as http,
        MetaClient(config, http_client=http, usage_tracker=usage_tracker()) as meta,
    ):
        publisher = Publisher(
            ctx.settings,
            ctx.sessionmaker,
            meta,
            secret_box(ctx.settings),
            build_storage(ctx.settings),
        )
        await publisher.run(uuid.UUID(post_id), owner)


@periodic("publishing.fill_permalinks", every=timedelta(minutes=10))
async def fill_permalinks(ctx: JobContext) -> None:
    """Published posts whose link Instagram did not give at once ("permalink pending")."""
    async with ctx.unit_of_work() as session:
        ids = await GlobalPosts(session).missing_permalinks(utcnow() - timedelta(days=2), 100)
        for post_id in ids:
            ctx.enqueue(session, fill_permalink, str(post_id))


@job("publishing.fill_permalink", max_attempts=2)
async def fill_permalink(ctx: JobContext, post_id: str) -> None:
    async with build_meta_client(ctx.settings) as meta, ctx.unit_of_work() as session:
        await permalinks.fill(session, meta, secret_box(ctx.settings), uuid.UUID(post_id))
