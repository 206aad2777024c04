"""Insights refresh: the tick's claimer finds channels that are due (never refreshed — a new
connection — or past their daily time) and rings one job per channel."""

from __future__ import annotations

import uuid

from socialsell import db
from socialsell.analytics import service
from socialsell.analytics.cache import build_cache
from socialsell.core.jobs import JobContext, job
from socialsell.core.tick import claimer
from socialsell.integrations import build_meta_client, secret_box


@claimer("analytics.due_refreshes")
async def claim_due_refreshes(ctx: JobContext) -> int:
    """Claims with a lease: a lost job's channel is claimed again once the lease expires. The
    daily times are spread by a random delay per channel (see service.next_daily_run), so the
    channels of one timezone do not all call Meta on the same tick."""
    async with ctx.unit_of_work() as session:
        ids = await service.claim_due_channels(session, ctx.settings, db.utcnow())
        for channel_id in ids:
            ctx.enqueue(session, refresh_channel_insights, str(channel_id))
    return len(ids)


@job("analytics.refresh_channel", max_attempts=2)
async def refresh_channel_insights(ctx: JobContext, channel_id: str, days: int = 0) -> None:
    """Idempotent: the rows are upserted, so a second run stores the same numbers. ``days``
    (0: the channel's own schedule) lets the demo fetch a longer history."""
    async with build_meta_client(ctx.settings) as meta, ctx.unit_of_work() as session:
        report = await service.refresh_channel(
            session,
            meta,
            secret_box(ctx.settings),
            ctx.settings,
            build_cache(ctx.settings),
            uuid.UUID(channel_id),
            days=days or None,
        )
    if report is not None:
        ctx.log.info(
            "insights_refreshed",
            channel_id=channel_id,
            days=report.days,
            stored=report.stored,
            missing=report.missing,
            media=report.media,
            stopped=report.stopped,
        )
