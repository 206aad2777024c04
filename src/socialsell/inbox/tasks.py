"""Inbox jobs: copying attachments into our storage, reconciling channels with Meta, pruning
the live-event log."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from socialsell.core.jobs import JobContext, job
from socialsell.core.tick import claimer, periodic
from socialsell.db import utcnow
from socialsell.inbox import media, profiles, reconcile, service
from socialsell.inbox.ingest import Ingest
from socialsell.inbox.repository import GlobalInbox
from socialsell.integrations import build_meta_client, secret_box
from socialsell.meta import MetaError
from socialsell.meta.http import shared_tls_context

MEDIA_CLAIM_LEASE = timedelta(minutes=2)


@job("inbox.copy_media", max_attempts=3)
async def copy_media(ctx: JobContext, message_id: str) -> None:
    """Copy a message's attachments into our storage (Meta's URLs expire). A failure keeps the
    message and the source URL; the tick tries again later, with a bounded number of tries."""
    async with (
        httpx.AsyncClient(timeout=30, follow_redirects=False, verify=shared_tls_context()) as http,
        ctx.unit_of_work() as session,
    ):
        await media.copy_message_media(session, ctx.settings, http, uuid.UUID(message_id))


@claimer("inbox.retry_media")
async def retry_media(ctx: JobContext) -> int:
    now = utcnow()
    async with ctx.unit_of_work() as session:
        ids = await GlobalInbox(session).claim_media_due(now, now + MEDIA_CLAIM_LEASE, 200)
        for message_id in ids:
            ctx.enqueue(session, copy_media, str(message_id))
    return len(ids)


@claimer("inbox.fetch_contact_profiles")
async def fetch_contact_profiles(ctx: JobContext) -> int:
    """New contacts get their profile within a tick; known ones are refreshed weekly."""
    now = utcnow()
    async with ctx.unit_of_work() as session:
        ids = await GlobalInbox(session).claim_contacts_for_profile(
            now - profiles.PROFILE_TTL, now, 50
        )
        for contact_id in ids:
            ctx.enqueue(session, fetch_contact_profile, str(contact_id))
    return len(ids)


@job("inbox.fetch_contact_profile", max_attempts=2)
async def fetch_contact_profile(ctx: JobContext, contact_id: str) -> None:
    async with build_meta_client(ctx.settings) as meta, ctx.unit_of_work() as session:
        await profiles.refresh_contact_profile(
            session, meta, secret_box(ctx.settings), uuid.UUID(contact_id)
        )


@job("inbox.reconcile_channel", max_attempts=2)
async def reconcile_channel(ctx: JobContext, channel_id: str) -> None:
    async with build_meta_client(ctx.settings) as meta, ctx.unit_of_work() as session:
        repo = GlobalInbox(session)
        channel = await repo.channel(uuid.UUID(channel_id))
        if channel is None or channel.token_encrypted is None:
            return
        error: str | None = None
        added = 0
        try:
            added = await reconcile.reconcile_channel(
                session,
                meta,
                secret_box(ctx.settings),
                Ingest(ctx.settings, ctx.runtime),
                channel,
                max_conversations=ctx.settings.inbox_reconcile_max_conversations,
            )
        except MetaError as exc:
            error = str(exc)[:500]
        except Exception as exc:  # ChannelUnavailable and friends: recorded, not retried
            from socialsell.core.errors import AppError

            if not isinstance(exc, AppError):
                raise
            error = exc.message
        await repo.record_reconciled(channel, utcnow(), error)
        ctx.log.info("reconciled", channel_id=channel_id, added=added, error=error)


@claimer("inbox.reconcile_new_channels")
async def reconcile_new_channels(ctx: JobContext) -> int:
    """A channel just connected has no sync row: reconcile it on the next tick."""
    async with ctx.unit_of_work() as session:
        ids = await GlobalInbox(session).claim_unreconciled_channels()
        for channel_id in ids:
            ctx.enqueue(session, reconcile_channel, str(channel_id))
    return len(ids)


@periodic("inbox.reconcile_all_channels", every=timedelta(minutes=30))
async def reconcile_all_channels(ctx: JobContext) -> None:
    async with ctx.unit_of_work() as session:
        for channel_id in await GlobalInbox(session).active_instagram_channels():
            ctx.enqueue(session, reconcile_channel, str(channel_id))


@periodic("inbox.prune_events", every=timedelta(hours=1))
async def prune_events(ctx: JobContext) -> None:
    async with ctx.unit_of_work() as session:
        removed = await GlobalInbox(session).prune_events(
            utcnow() - timedelta(hours=ctx.settings.inbox_event_retention_hours),
            ctx.settings.inbox_event_max_per_workspace,
        )
    ctx.log.info("inbox_events_pruned", removed=removed)


@periodic("inbox.settle_stuck_sends", every=timedelta(minutes=1))
async def settle_stuck_sends(ctx: JobContext) -> None:
    async with ctx.unit_of_work() as session:
        settled = await service.settle_stuck_sends(session, ctx.settings)
    if settled:
        ctx.log.info("stuck_sends_settled", count=settled)
