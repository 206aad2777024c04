"""Keeping channels alive: the daily token refresh."""

from __future__ import annotations

import uuid
from datetime import timedelta

from socialsell.channels import service
from socialsell.core.jobs import JobContext, job
from socialsell.core.tick import periodic
from socialsell.integrations import build_meta_client, secret_box


@periodic("channels.refresh_expiring_tokens", every=timedelta(days=1))
async def refresh_expiring_tokens(ctx: JobContext) -> None:
    """Ring one job per channel whose token expires within 7 days: one slow or failing account
    does not hold up the others, and each is retried on its own."""
    async with ctx.unit_of_work() as session:
        for channel_id in await service.channels_due_for_refresh(session):
            ctx.enqueue(session, refresh_channel_token, str(channel_id))


@job("channels.refresh_token", max_attempts=3)
async def refresh_channel_token(ctx: JobContext, channel_id: str) -> None:
    async with build_meta_client(ctx.settings) as meta, ctx.unit_of_work() as session:
        refreshed = await service.refresh_token(
            session, meta, secret_box(ctx.settings), uuid.UUID(channel_id)
        )
        ctx.log.info("token_refresh", channel_id=channel_id, refreshed=refreshed)
