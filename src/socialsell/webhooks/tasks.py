"""Processing stored deliveries, and finding the ones whose job was lost."""

from __future__ import annotations

import uuid
from datetime import timedelta

from socialsell.core.jobs import JobContext, job
from socialsell.core.tick import claimer, periodic
from socialsell.db import utcnow
from socialsell.inbox.ingest import Ingest
from socialsell.webhooks import service


@job("webhooks.process_delivery", max_attempts=3)
async def process_delivery(ctx: JobContext, delivery_id: str) -> None:
    try:
        async with ctx.unit_of_work() as session:
            status = await service.process_delivery(
                session,
                Ingest(ctx.settings, ctx.runtime),
                uuid.UUID(delivery_id),
                max_attempts=ctx.settings.webhook_max_attempts,
            )
    except Exception as exc:
        if ctx.attempt < ctx.max_attempts:
            raise
        # A delivery that crashes its job on every attempt would be re-kicked by the tick every
        # minute forever: mark it failed (body kept, for a human to replay after a fix).
        async with ctx.unit_of_work() as session:
            await service.fail_delivery(session, uuid.UUID(delivery_id), repr(exc)[:500])
        raise
    ctx.log.debug("webhook_processed", delivery_id=delivery_id, status=status)


@job("webhooks.process_deliveries", max_attempts=3)
async def process_deliveries(ctx: JobContext, delivery_ids: list[str]) -> None:
    """One doorbell for a burst of deliveries (webhooks/intake.py). Each is processed in its own
    transaction; one that fails holds none of the others back, and a retry finds the processed
    ones done."""
    failures: list[Exception] = []
    for delivery_id in delivery_ids:
        try:
            await process_delivery(ctx, delivery_id)
        except Exception as exc:  # noqa: BLE001 - raised once the others had their turn
            failures.append(exc)
    if failures:
        raise failures[0]


@claimer("webhooks.rekick_stale_deliveries")
async def rekick_stale_deliveries(ctx: JobContext) -> int:
    now = utcnow()
    async with ctx.unit_of_work() as session:
        ids = await service.claim_stale(
            session,
            older_than=now - timedelta(seconds=ctx.settings.webhook_reprocess_after_seconds),
            now=now,
        )
        for delivery_id in ids:
            ctx.enqueue(session, process_delivery, str(delivery_id))
    return len(ids)


@periodic("webhooks.prune_deliveries", every=timedelta(hours=6))
async def prune_deliveries(ctx: JobContext) -> None:
    async with ctx.unit_of_work() as session:
        removed = await service.prune(
            session, now=utcnow(), retention=timedelta(days=ctx.settings.webhook_retention_days)
        )
    ctx.log.info("webhook_deliveries_pruned", removed=removed)
