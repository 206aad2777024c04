"""Keeping templates current: the tick claims requested syncs (a webhook about an unknown
template, the periodic sync) and rings one sync job per number."""

from __future__ import annotations

import uuid
from datetime import timedelta

from socialsell.channels.models import Channel, ChannelStatus, Platform
from socialsell.core.errors import AppError
from socialsell.core.jobs import JobContext, job
from socialsell.core.tick import claimer, periodic
from socialsell.db import utcnow
from socialsell.whatsapp.templates.manage import sync_number_templates
from socialsell.whatsapp.templates.repository import GlobalTemplates

# Meta's template webhooks keep statuses current; the periodic sync catches what they missed.
SYNC_EVERY = timedelta(hours=6)
# A claimed sync whose job never finished is claimed again after this long.
CLAIM_FOR = timedelta(minutes=10)
CLAIM_BATCH = 20


@periodic("whatsapp.templates.sync_all", every=SYNC_EVERY)
async def request_all_syncs(ctx: JobContext) -> None:
    async with ctx.unit_of_work() as session:
        repo = GlobalTemplates(session)
        now = utcnow()
        for channel_id in await repo.whatsapp_channel_ids():
            channel = await session.get(Channel, channel_id)
            if channel is not None:
                await repo.request_sync(channel, now)


@claimer("whatsapp.templates.requested_syncs")
async def claim_requested_syncs(ctx: JobContext) -> int:
    now = utcnow()
    async with ctx.unit_of_work() as session:
        ids = await GlobalTemplates(session).claim_requested(now, now + CLAIM_FOR, CLAIM_BATCH)
        for channel_id in ids:
            ctx.enqueue(session, sync_templates, str(channel_id))
    return len(ids)


# One attempt: a failure is recorded on the sync row and the next periodic sync tries again.
@job("whatsapp.templates.sync", max_attempts=1)
async def sync_templates(ctx: JobContext, channel_id: str) -> None:
    async with ctx.unit_of_work() as session:
        channel = await session.get(Channel, uuid.UUID(channel_id))
        state = await GlobalTemplates(session).sync_state(uuid.UUID(channel_id))
        if channel is None or state is None:
            return
        if channel.platform != Platform.whatsapp or channel.status != ChannelStatus.active:
            state.requested_at = None
            state.claimed_until = None
            return
    async with ctx.unit_of_work() as session:
        channel = await session.get(Channel, uuid.UUID(channel_id))
        if channel is None:
            return
        try:
            result = await sync_number_templates(session, ctx.settings, channel)
        except AppError as exc:
            # Kept with what led to it (a dead token marks the channel); the request is dropped
            # until the next periodic sync, and the Templates page shows the error.
            state = await GlobalTemplates(session).sync_state(uuid.UUID(channel_id))
            if state is not None:
                state.requested_at = None
                state.claimed_until = None
                state.last_error = exc.message
            ctx.log.warning(
                "whatsapp_templates_sync_failed", channel_id=channel_id, error=exc.message
            )
            return
        ctx.log.info("whatsapp_templates_sync", channel_id=channel_id, **result.model_dump())
