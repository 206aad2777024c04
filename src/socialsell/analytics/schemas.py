"""What the analytics API answers (the pages render the same objects)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel


class MetricTotal(BaseModel):
    metric: str
    value: float | None
    previous: float | None
    change_pct: float | None
    # Days of the range with no stored value for this metric (missing, late or not served).
    missing_days: int


class Series(BaseModel):
    """Daily values for a chart; ``None`` where nothing is known (never 0)."""

    days: list[date]
    followers: list[float | None]
    new_followers: list[float | None]
    reach: list[float | None]
    views: list[float | None]
    interactions: list[float | None]
    engagement_rate: list[float | None]


class FollowersSummary(BaseModel):
    current: float | None
    change: float | None
    previous_change: float | None


class EngagementSummary(BaseModel):
    rate: float | None
    previous: float | None
    change_pct: float | None


class MissingMetric(BaseModel):
    metric: str
    days: int
    reason: str


class PostRead(BaseModel):
    id: uuid.UUID
    channel_id: uuid.UUID
    external_id: str
    media_type: str | None
    media_product_type: str | None
    caption: str | None
    permalink: str | None
    thumbnail_url: str | None
    posted_at: datetime | None
    metrics: dict[str, float | None]
    missing: dict[str, str]
    engagement_rate: float | None


class ChannelSummary(BaseModel):
    id: uuid.UUID
    label: str
    status: str
    followers: float | None
    last_refreshed_at: datetime | None
    next_refresh_at: datetime | None
    last_error: str | None


class Overview(BaseModel):
    start: date
    end: date
    previous_start: date
    previous_end: date
    channel_id: uuid.UUID | None
    channels: list[ChannelSummary]
    totals: list[MetricTotal]
    followers: FollowersSummary
    engagement: EngagementSummary
    series: Series
    top_posts: list[PostRead]
    missing: list[MissingMetric]
    days_with_data: int
    has_data: bool


class ChannelAnalytics(BaseModel):
    channel: ChannelSummary
    overview: Overview


class PostPoint(BaseModel):
    day: date
    value: float | None
    missing_reason: str | None


class PostAnalytics(BaseModel):
    post: PostRead
    history: dict[str, list[PostPoint]]


class RefreshQueued(BaseModel):
    channel_id: uuid.UUID
    queued: bool
