"""JSON API of analytics: the overview, a channel, a post, exports and a manual refresh."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from socialsell.analytics import service
from socialsell.analytics.cache import Cache, build_cache
from socialsell.analytics.schemas import ChannelAnalytics, Overview, PostAnalytics, RefreshQueued
from socialsell.analytics.tasks import refresh_channel_insights
from socialsell.core.constants import API_PREFIX
from socialsell.core.deps import CurrentPrincipal, RateLimiterDep, SessionDep, SettingsDep
from socialsell.core.jobs import JobRuntime

router = APIRouter(prefix=f"{API_PREFIX}/analytics", tags=["analytics"])

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def get_cache(settings: SettingsDep) -> Cache:
    return build_cache(settings)


CacheDep = Annotated[Cache, Depends(get_cache)]


def date_range(
    start: Annotated[date | None, Query(alias="from", description="First day (inclusive).")] = None,
    end: Annotated[date | None, Query(alias="to", description="Last day (inclusive).")] = None,
) -> service.DateRange:
    """Days are Meta's (midnight to midnight Pacific time); default: the last 30 complete days."""
    return service.resolve_range(start, end)


RangeDep = Annotated[service.DateRange, Depends(date_range)]


@router.get("/overview", response_model=Overview)
async def overview(
    principal: CurrentPrincipal,
    session: SessionDep,
    cache: CacheDep,
    rng: RangeDep,
    channel: uuid.UUID | None = None,
    sort: str = "engagement_rate",
) -> Overview:
    """Totals, engagement rate, follower growth and best posts for the range, with the change
    against the previous range of the same length."""
    return await service.overview(session, cache, principal, rng, channel, sort=sort)


@router.get("/channels/{channel_id}", response_model=ChannelAnalytics)
async def channel_analytics(
    channel_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    cache: CacheDep,
    rng: RangeDep,
) -> ChannelAnalytics:
    return await service.channel_analytics(session, cache, principal, channel_id, rng)


@router.post("/channels/{channel_id}/refresh", response_model=RefreshQueued, status_code=202)
async def refresh_channel(
    request: Request,
    channel_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
) -> RefreshQueued:
    """Fetch the channel's insights now (rate limited per channel)."""
    await service.get_refreshable_channel(session, principal, channel_id)
    await limiter.hit(
        settings.analytics_manual_refresh_rate_limit, "analytics-refresh", str(channel_id)
    )
    queued = await service.request_refresh(session, settings, principal, channel_id)
    if queued:
        jobs: JobRuntime = request.app.state.jobs
        jobs.enqueue(session, refresh_channel_insights, str(channel_id))
    return RefreshQueued(channel_id=channel_id, queued=queued)


@router.get("/posts/{media_id}", response_model=PostAnalytics)
async def post_analytics(
    media_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> PostAnalytics:
    """A post's latest metrics and how each grew, reading by reading."""
    return await service.post_analytics(session, principal, media_id)


def _filename(rng: service.DateRange, ext: str) -> str:
    return f"socialsell-analytics-{rng.start}-{rng.end}.{ext}"


@router.get("/export.csv", response_class=Response)
async def export_csv(
    principal: CurrentPrincipal,
    session: SessionDep,
    rng: RangeDep,
    channel: uuid.UUID | None = None,
) -> Response:
    """One row per channel and day; empty cells where Instagram gave no number."""
    header, rows = await service.export_rows(session, principal, rng, channel)
    return Response(
        csv_bytes(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(rng, "csv")}"'},
    )


@router.get("/export.xlsx", response_class=Response)
async def export_xlsx(
    principal: CurrentPrincipal,
    session: SessionDep,
    rng: RangeDep,
    channel: uuid.UUID | None = None,
) -> Response:
    header, rows = await service.export_rows(session, principal, rng, channel)
    return Response(
        xlsx_bytes(header, rows),
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{_filename(rng, "xlsx")}"'},
    )


def _safe_cell(value: Any) -> Any:
    # A channel name starting with = + - @ would run as a formula when the file is opened.
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


def csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else _safe_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook  # imported on use: only exports need it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Daily")
    sheet.append(header)
    for row in rows:
        sheet.append([_safe_cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
