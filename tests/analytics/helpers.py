"""Driving refreshes the way production does: the tick's claimer, then the jobs."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from socialsell import db
from socialsell.analytics import service
from socialsell.analytics.cache import build_cache
from socialsell.analytics.models import AccountInsight, AnalyticsMedia, MediaInsight, RefreshState
from socialsell.analytics.service import RefreshReport
from socialsell.core.tick import Tick
from socialsell.integrations import meta_config, secret_box
from socialsell.meta import InMemoryUsageTracker, MetaClient

CLAIMER = "analytics.due_refreshes"


async def tick_and_drain(app: FastAPI) -> int:
    report = await Tick(app.state.jobs, claimers=[CLAIMER], periodics=[]).run_once()
    await app.state.jobs.drain()
    return report.claimed.get(CLAIMER, 0)


async def refresh_now(app: FastAPI, channel_id: uuid.UUID, **kwargs: Any) -> RefreshReport | None:
    """One refresh with a client that does not wait between retries (tests have no time)."""
    settings = app.state.settings
    config = replace(meta_config(settings), backoff_base_seconds=0.0, backoff_max_seconds=0.0)
    async with (
        MetaClient(config, usage_tracker=InMemoryUsageTracker()) as meta,
        db.unit_of_work(app.state.sessionmaker) as session,
    ):
        return await service.refresh_channel(
            session, meta, secret_box(settings), settings, build_cache(settings), channel_id,
            **kwargs,
        )  # fmt: skip


async def account_points(app: FastAPI, channel_id: uuid.UUID) -> list[AccountInsight]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(AccountInsight)
            .where(AccountInsight.channel_id == channel_id)
            .order_by(AccountInsight.metric, AccountInsight.day)
        )
        return list(rows.all())


async def media_rows(app: FastAPI, channel_id: uuid.UUID) -> list[AnalyticsMedia]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(AnalyticsMedia).where(AnalyticsMedia.channel_id == channel_id)
        )
        return list(rows.all())


async def media_points(app: FastAPI) -> list[MediaInsight]:
    async with app.state.sessionmaker() as session:
        return list((await session.scalars(select(MediaInsight))).all())


async def refresh_state(app: FastAPI, channel_id: uuid.UUID) -> RefreshState | None:
    async with app.state.sessionmaker() as session:
        return await session.get(RefreshState, channel_id)
